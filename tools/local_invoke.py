"""Run a packaged Lambda function zip in a local process, the way Lambda runs it.

    pipenv run python -m tools.local_invoke --function processor --sample s3-put
    pipenv run python -m tools.local_invoke --function api --sample api-get-v2 \\
        --function-name evpipe-dev-api            # environment from the deployed function
    pipenv run python -m tools.local_invoke --function processor \\
        --zip build/functions/processor.zip --event tests/events/s3-put.json \\
        --env TABLE_NAME=evpipe-dev-records --env RECORD_TTL_DAYS=0

Without ``--zip`` the function's archive and its layer are the assets in
``cdktf.out/stacks/<stack>/cdk.tf.json`` (run ``make synth`` first), i.e. the very files
Terraform deploys; the layer falls back to ``build/layer``. The function runs in a child Python
started with ``-S``, whose import path holds only the extracted zip, the layer's ``python/``
and the libraries the Lambda Python runtime itself provides (boto3, botocore, s3transfer,
jmespath, urllib3, dateutil, six). A dependency missing from the layer therefore fails here as
it would in Lambda. AWS calls go to AWS_ENDPOINT_URL (the emulator) or to real AWS.

``invoke_packaged`` is the importable API. Everything at module level is standard library
only, because the child process re-runs this file without site-packages.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent
EVENTS_DIR = PROJECT_ROOT / "tests" / "events"
SYNTH_DIR = PROJECT_ROOT / "cdktf.out" / "stacks"
BUILT_LAYER_DIR = PROJECT_ROOT / "build" / "layer"
DEFAULT_STACK = "pipeline-dev"
SAMPLES = ("s3-put", "api-get-v1", "api-post-v1", "api-get-v2", "api-post-v2")
# Lambda's own default; the synthesized configuration overrides it.
DEFAULT_TIMEOUT_SECONDS = 30
DEFAULT_MEMORY_MB = 128
# Lambda gives a function's initialization (imports) its own 10 s on top of the timeout.
INIT_ALLOWANCE_SECONDS = 10
# Libraries the python3.12 Lambda runtime ships; everything else must come from the layer.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "urllib3", "dateutil", "six")
# Passed through from this process so the function reaches the same AWS (or emulator).
INHERITED_PREFIXES = ("AWS_ENDPOINT_URL",)
INHERITED_NAMES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "HOME",
    "PATH",
    "LANG",
    "TZ",
)
CHILD_FLAG = "--run-child"


class LocalInvokeError(Exception):
    """The tool could not run the function; the message is one line for the user."""


@dataclass(frozen=True)
class InvokeResult:
    """What one invocation produced, shaped like Lambda's own result."""

    ok: bool
    # The handler's return value, as JSON would carry it back (None when it raised).
    response: Any
    # Everything the function printed: START/END/REPORT lines, its logs and any traceback.
    logs: str
    request_id: str
    duration_ms: float
    error_type: str | None = None
    error_message: str | None = None
    stack_trace: list[str] = field(default_factory=list)

    @property
    def error(self) -> str | None:
        return f"{self.error_type}: {self.error_message}" if not self.ok else None

    def payload(self) -> Any:
        """The response, or Lambda's error object when the handler raised."""
        if self.ok:
            return self.response
        return {
            "errorType": self.error_type,
            "errorMessage": self.error_message,
            "stackTrace": self.stack_trace,
        }


def invoke_packaged(
    zip_path: Path,
    event: Any,
    *,
    environment: Mapping[str, str],
    layer_dir: Path | None = None,
    handler: str | None = None,
    function_name: str | None = None,
    timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS,
    memory_mb: int = DEFAULT_MEMORY_MB,
) -> InvokeResult:
    """Run ``handler`` from the function zip on ``event`` in a child process.

    ``layer_dir`` is an extracted layer (a directory holding ``python/``) or a layer zip.
    ``handler`` defaults to ``<package>.handler.lambda_handler`` for the zip's one package.
    ``environment`` holds the function's variables; AWS endpoint, credentials and region are
    inherited from this process unless it sets them.
    """
    zip_path = Path(zip_path).resolve()
    if not zipfile.is_zipfile(zip_path):
        raise LocalInvokeError(f"{zip_path} is not a zip archive")
    with tempfile.TemporaryDirectory(prefix="local-invoke-") as work:
        root = Path(work)
        code_dir = _extract(zip_path, root / "task")
        handler = handler or _default_handler(code_dir, zip_path)
        name = function_name or environment.get("AWS_LAMBDA_FUNCTION_NAME") or handler.split(".")[0]
        search_path = [code_dir, *_layer_paths(layer_dir, root / "opt"), _runtime_dir(root)]
        request_id = str(uuid.uuid4())
        spec = {
            "handler": handler,
            "event": event,
            "request_id": request_id,
            "function_name": name,
            "memory_mb": memory_mb,
            "timeout_seconds": timeout_seconds,
            "region": _child_environment({}, environment).get("AWS_REGION", "us-east-1"),
            "result_path": str(root / "result.json"),
        }
        spec_path = root / "spec.json"
        spec_path.write_text(json.dumps(spec))
        child_env = _child_environment(_lambda_variables(name, memory_mb, environment), environment)
        child_env["PYTHONPATH"] = os.pathsep.join(str(path) for path in search_path)
        started = time.perf_counter()
        try:
            completed = subprocess.run(
                [sys.executable, "-S", "-P", __file__, CHILD_FLAG, str(spec_path)],
                env=child_env,
                cwd=code_dir,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                timeout=timeout_seconds + INIT_ALLOWANCE_SECONDS,
                check=False,
            )
            logs = completed.stdout.decode("utf-8", errors="replace")
        except subprocess.TimeoutExpired as expired:
            output = expired.stdout or b""
            return InvokeResult(
                ok=False,
                response=None,
                logs=output.decode("utf-8", errors="replace"),
                request_id=request_id,
                duration_ms=(time.perf_counter() - started) * 1000,
                error_type="Sandbox.Timedout",
                error_message=f"Task timed out after {timeout_seconds} seconds",
            )
        duration_ms = (time.perf_counter() - started) * 1000
        result_path = Path(spec["result_path"])
        if not result_path.is_file():
            return InvokeResult(
                ok=False,
                response=None,
                logs=logs,
                request_id=request_id,
                duration_ms=duration_ms,
                error_type="Runtime.ExitError",
                error_message=f"the runtime exited with status {completed.returncode}",
            )
        result = json.loads(result_path.read_text())
    return InvokeResult(
        ok=result["ok"],
        response=result.get("response"),
        logs=logs,
        request_id=request_id,
        duration_ms=duration_ms,
        error_type=result.get("errorType"),
        error_message=result.get("errorMessage"),
        stack_trace=result.get("stackTrace", []),
    )


def _extract(archive: Path, target: Path) -> Path:
    target.mkdir(parents=True)
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(target)  # zipfile drops absolute paths and ".." parts
    return target


def _default_handler(code_dir: Path, zip_path: Path) -> str:
    packages = sorted(path.name for path in code_dir.iterdir() if (path / "handler.py").is_file())
    if len(packages) != 1:
        raise LocalInvokeError(
            f"{zip_path} should hold one <package>/handler.py, found {packages or 'none'}; "
            "pass handler explicitly"
        )
    return f"{packages[0]}.handler.lambda_handler"


def _layer_paths(layer: Path | None, target: Path) -> list[Path]:
    """Where Lambda puts a layer on the import path: /opt/python and its site-packages."""
    if layer is None:
        return []
    layer = Path(layer).resolve()
    if layer.is_file():
        layer = _extract(layer, target)
    if not layer.is_dir():
        raise LocalInvokeError(f"layer {layer} is neither a directory nor a zip archive")
    python = layer / "python" if (layer / "python").is_dir() else layer
    site = python / "lib" / "python3.12" / "site-packages"
    return [site, python] if site.is_dir() else [python]


def _runtime_dir(root: Path) -> Path:
    """A directory exposing only the libraries the Lambda runtime provides."""
    runtime = root / "runtime"
    runtime.mkdir()
    for name in RUNTIME_PROVIDED:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise LocalInvokeError(f"{name} is not installed here; run `make python-deps`")
        source = Path(spec.origin)
        if spec.submodule_search_locations:
            source = source.parent
        (runtime / source.name).symlink_to(source)
    return runtime


def _lambda_variables(name: str, memory_mb: int, environment: Mapping[str, str]) -> dict[str, str]:
    """Variables Lambda sets for every function (tracing stays off: no X-Ray daemon here)."""
    return {
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "local/[$LATEST]local-invoke",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
    }


def _child_environment(base: Mapping[str, str], environment: Mapping[str, str]) -> dict[str, str]:
    inherited = {
        name: value
        for name, value in os.environ.items()
        if name in INHERITED_NAMES or name.startswith(INHERITED_PREFIXES)
    }
    merged = {**inherited, **base, **environment}
    region = merged.get("AWS_REGION") or merged.get("AWS_DEFAULT_REGION")
    if region:  # Lambda always sets both
        merged.setdefault("AWS_REGION", region)
        merged.setdefault("AWS_DEFAULT_REGION", region)
    return merged


# ---------------------------------------------------------------------------------------------
# The child: runs inside the function's import path, standard library only.


class _LocalContext:
    """The attributes and method of Lambda's context object that handlers use."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        name = spec["function_name"]
        self.function_name = name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = spec["memory_mb"]
        self.invoked_function_arn = f"arn:aws:lambda:{spec['region']}:000000000000:function:{name}"
        self.aws_request_id = spec["request_id"]
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = "local/[$LATEST]local-invoke"
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + spec["timeout_seconds"]

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _child_main(spec_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text())
    request_id = spec["request_id"]
    result: dict[str, Any]
    init_started = time.perf_counter()
    module_name, function_name = spec["handler"].rsplit(".", 1)
    try:
        handler = getattr(importlib.import_module(module_name), function_name)
    except ImportError as error:  # reported the way Lambda reports it
        result = _error_result(error)
        result["errorType"] = "Runtime.ImportModuleError"
        result["errorMessage"] = f"Unable to import module '{module_name}': {error}"
    except Exception as error:  # e.g. a settings check at import
        result = _error_result(error)
    else:
        init_ms = (time.perf_counter() - init_started) * 1000
        print(f"START RequestId: {request_id} Version: $LATEST", flush=True)
        started = time.perf_counter()
        try:
            response = handler(spec["event"], _LocalContext(spec))
            result = {"ok": True, "response": json.loads(json.dumps(response))}
        except TypeError as error:
            result = _error_result(error)
            if "JSON serializable" in str(error):
                result["errorType"] = "Runtime.MarshalError"
        except Exception as error:
            result = _error_result(error)
        duration = (time.perf_counter() - started) * 1000
        print(f"END RequestId: {request_id}", flush=True)
        print(
            f"REPORT RequestId: {request_id}\tDuration: {duration:.2f} ms\t"
            f"Init Duration: {init_ms:.2f} ms",
            flush=True,
        )
    if not result["ok"]:
        print(json.dumps({k: v for k, v in result.items() if k != "ok"}), flush=True)
    Path(spec["result_path"]).write_text(json.dumps(result))
    return 0


def _error_result(error: BaseException) -> dict[str, Any]:
    return {
        "ok": False,
        "errorType": type(error).__name__,
        "errorMessage": str(error),
        "stackTrace": traceback.format_exception(error),
    }


# ---------------------------------------------------------------------------------------------
# The command line.


@dataclass(frozen=True)
class DeployedFunction:
    """A function's archive and settings as the synthesized stack declares them."""

    archive: Path
    layer: Path | None
    function_name: str | None
    environment: dict[str, str]
    unresolved: tuple[str, ...]
    timeout_seconds: int
    memory_mb: int


def find_synthesized_function(
    function: str, stack: str, synth_dir: Path = SYNTH_DIR
) -> DeployedFunction:
    stack_dir = synth_dir / stack
    document = stack_dir / "cdk.tf.json"
    if not document.is_file():
        raise LocalInvokeError(f"no synth output at {document}; run `make synth` or pass --zip")
    resources = json.loads(document.read_text()).get("resource", {})
    functions = resources.get("aws_lambda_function", {})
    matches = [
        config
        for config in functions.values()
        if str(config.get("handler", "")).startswith(f"{function}.")
    ]
    if len(matches) != 1:
        known = sorted({str(c.get("handler", "")).split(".")[0] for c in functions.values()})
        raise LocalInvokeError(
            f"stack {stack} has no function with handler {function}.*; "
            f"it has {', '.join(known) or 'no functions'}"
        )
    config = matches[0]
    archive = stack_dir / config["filename"]
    if not archive.is_file():
        raise LocalInvokeError(f"{archive} is missing; run `make synth` again")
    variables = (config.get("environment") or {}).get("variables") or {}
    literal = {k: str(v) for k, v in variables.items() if "${" not in str(v)}
    name = config.get("function_name")
    return DeployedFunction(
        archive=archive,
        layer=_synthesized_layer(config, resources, stack_dir),
        function_name=name if isinstance(name, str) and "${" not in name else None,
        environment=literal,
        unresolved=tuple(sorted(set(variables) - set(literal))),
        timeout_seconds=int(config.get("timeout", DEFAULT_TIMEOUT_SECONDS)),
        memory_mb=int(config.get("memory_size", DEFAULT_MEMORY_MB)),
    )


def _synthesized_layer(
    config: Mapping[str, Any], resources: Mapping[str, Any], stack_dir: Path
) -> Path | None:
    layers = resources.get("aws_lambda_layer_version", {})
    for reference in config.get("layers") or []:
        # "${aws_lambda_layer_version.<name>.arn}"
        parts = str(reference).strip("${}").split(".")
        if len(parts) == 3 and parts[0] == "aws_lambda_layer_version" and parts[1] in layers:
            archive: Path = stack_dir / str(layers[parts[1]]["filename"])
            if archive.is_file():
                return archive
    return None


def deployed_environment(function_name: str) -> dict[str, str]:
    """The deployed function's variables, via lambda:GetFunctionConfiguration."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    try:
        configuration = boto3.client("lambda").get_function_configuration(
            FunctionName=function_name
        )
    except NoCredentialsError:
        raise LocalInvokeError("no AWS credentials; set AWS_PROFILE or AWS_ACCESS_KEY_ID") from None
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code == "ResourceNotFoundException":
            raise LocalInvokeError(f"no deployed function named {function_name}") from None
        raise LocalInvokeError(f"cannot read {function_name}'s configuration: {code}") from None
    except BotoCoreError as error:
        raise LocalInvokeError(f"cannot reach the Lambda API: {error}") from None
    variables: dict[str, str] = configuration.get("Environment", {}).get("Variables", {})
    return dict(variables)


def check_endpoint_reachable(environ: Mapping[str, str] = os.environ) -> None:
    """Fail fast, in one line, when the emulator is not running."""
    url = environ.get("AWS_ENDPOINT_URL")
    if not url:
        return
    parts = urlsplit(url)
    if not parts.hostname:
        raise LocalInvokeError(f"AWS_ENDPOINT_URL {url!r} is not a URL")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=2):
            pass
    except OSError as error:
        raise LocalInvokeError(
            f"AWS_ENDPOINT_URL {url} is unreachable ({error.strerror or error}); "
            "start the emulator with `make emulator`"
        ) from None


def load_event(event_file: Path | None, sample: str | None) -> Any:
    path = event_file or EVENTS_DIR / f"{sample}.json"
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise LocalInvokeError(f"event file {path} does not exist") from None
    except json.JSONDecodeError as error:
        raise LocalInvokeError(f"event file {path} is not JSON: {error}") from None


def parse_assignments(assignments: Sequence[str]) -> dict[str, str]:
    variables = {}
    for assignment in assignments:
        name, sep, value = assignment.partition("=")
        if not sep or not name:
            raise LocalInvokeError(f"--env expects NAME=VALUE, got {assignment!r}")
        variables[name] = value
    return variables


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tools.local_invoke",
        description="Run a packaged Lambda function zip locally on an event.",
    )
    parser.add_argument("--function", required=True, help="package name: processor, api, ...")
    parser.add_argument("--stack", default=DEFAULT_STACK, help="synthesized stack to read")
    parser.add_argument(
        "--synth-dir", type=Path, help="folder holding the stacks (default: cdktf.out/stacks)"
    )
    parser.add_argument("--zip", type=Path, help="function archive (default: the stack's asset)")
    parser.add_argument("--layer", type=Path, help="layer directory or zip (default: the stack's)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--event", type=Path, help="event JSON file")
    source.add_argument("--sample", choices=SAMPLES, help="a sample event from tests/events/")
    parser.add_argument(
        "--function-name", help="deployed function whose environment variables to use"
    )
    parser.add_argument(
        "--env", action="append", default=[], metavar="NAME=VALUE", help="set a variable"
    )
    parser.add_argument("--timeout", type=int, help="seconds (default: the stack's setting)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except LocalInvokeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    event = load_event(args.event, args.sample)
    overrides = parse_assignments(args.env)
    check_endpoint_reachable()
    environment: dict[str, str] = {}
    timeout, memory, name, layer = DEFAULT_TIMEOUT_SECONDS, DEFAULT_MEMORY_MB, None, args.layer
    if args.zip is None:
        deployed = find_synthesized_function(args.function, args.stack, args.synth_dir or SYNTH_DIR)
        archive = deployed.archive
        environment.update(deployed.environment)
        timeout, memory, name = deployed.timeout_seconds, deployed.memory_mb, deployed.function_name
        layer = layer or deployed.layer
        missing = [v for v in deployed.unresolved if v not in overrides]
        if missing and not args.function_name:
            verb = "is" if len(missing) == 1 else "are"
            print(
                f"note: {', '.join(missing)} {verb} known only once deployed; "
                "pass --function-name or --env",
                file=sys.stderr,
            )
    else:
        archive = args.zip
        if not archive.is_file():
            raise LocalInvokeError(f"{archive} does not exist")
    if layer is None:
        if not (BUILT_LAYER_DIR / "python").is_dir():
            raise LocalInvokeError("no dependency layer found; run `make layer` or pass --layer")
        layer = BUILT_LAYER_DIR
    if args.function_name:
        environment.update(deployed_environment(args.function_name))
        name = args.function_name
    environment.update(overrides)
    result = invoke_packaged(
        archive,
        event,
        environment=environment,
        layer_dir=layer,
        handler=f"{args.function}.handler.lambda_handler",
        function_name=name,
        timeout_seconds=args.timeout or timeout,
        memory_mb=memory,
    )
    print(result.logs.rstrip())
    print("--- response ---")
    print(json.dumps(result.payload(), indent=2, ensure_ascii=False))
    return 0 if result.ok else 1


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == CHILD_FLAG:
        sys.exit(_child_main(sys.argv[2]))
    sys.exit(main())

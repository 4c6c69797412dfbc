"""Extension 1: run Lambda functions' deployed code in warm Python 3.12 environments.

What moto 5.2.5 lacks: ``LambdaFunction._invoke_lambda`` runs the code only in Docker, and
``LambdaFunction.invoke`` marks every error ``Handled``. What this adds, behind those two
methods (nothing else in moto changes):

- a pool of warm execution environments per function: each one a Python 3.12 process
  running ``runtime.py`` on the function's deployed zip and deployed layers (the bytes moto
  stored), with the function's environment variables, handler, timeout and a Lambda
  context. Init code runs once per environment; environments are reused; at most the
  function's reserved concurrency (else ``DEFAULT_CONCURRENCY``) run at once, and further
  invocations wait for a free one (Lambda would throttle synchronous calls instead);
- results and errors in Lambda's shape (``errorMessage``/``errorType``/``stackTrace``,
  ``X-Amz-Function-Error: Unhandled``), a timeout that kills the environment and answers
  ``Task timed out after N.00 seconds``;
- the function's output in CloudWatch Logs (``/aws/lambda/<name>``, one stream per
  environment, START/END/REPORT lines as Lambda writes them);
- ``InvocationType=Event`` handed to :mod:`tools.localcloud.async_invoke`, with the ARN the
  caller invoked (``name:live`` stays ``...:function:name:live`` in Lambda's destination
  record, where moto only keeps the version the alias resolved to);
- ``Invoke``'s ``Qualifier`` query parameter honoured: moto reads ``qualifier`` (lower case),
  never finds it, and runs ``$LATEST`` for ``--qualifier live`` (an alias named in the
  function name or ARN, as every trigger does, always worked).

The interpreter is CPython 3.12 (``pyenv root``/versions/3.12.* or ``python3.12`` on PATH);
without it the current interpreter is used and one warning says so. A deployed layer whose
compiled wheels were built for another architecture (our layer is arm64) cannot load on
this host, so the same pinned requirements are installed for the host once
(:func:`host_dependencies`) and put before the layer; boto3 and friends, which Lambda's
runtime provides, are installed the same way and put after it.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import os
import platform
import queue
import shutil
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from moto.awslambda.models import LambdaBackend, LambdaFunction
from moto.awslambda.responses import LambdaResponse
from moto.awslambda.utils import get_backend
from moto.core.exceptions import JsonRESTError

from tools.localcloud.runtime import RESPONSE_MARK

RUNTIME_SCRIPT = Path(__file__).with_name("runtime.py")
PYTHON_MINOR = "3.12"
# Environments per function when it has no reserved concurrency: enough for a burst in
# tests, few enough for a 2-core machine.
DEFAULT_CONCURRENCY = 4
# Lambda allows 10 s of init; importing Powertools under a cold local interpreter on a shared
# machine can take longer, and a slow first import is not the function's fault here.
INIT_TIMEOUT_SECONDS = 30.0
# Libraries the Lambda python3.12 runtime itself provides (the layer leaves them out).
RUNTIME_PROVIDED = (
    "boto3",
    "botocore",
    "s3transfer",
    "jmespath",
    "python-dateutil",
    "six",
    "urllib3",
)
# Credentials every function gets: the local cloud accepts any.
FUNCTION_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_SESSION_TOKEN": "test",
}
_COMPILED_SUFFIXES = (".so", ".pyd")
_FOREIGN_ARCH_TAGS = {"x86_64": ("aarch64", "arm64"), "aarch64": ("x86_64", "amd64")}


class ExecutorError(RuntimeError):
    """The executor could not prepare an environment (one line for the user)."""


class TooManyRequests(JsonRESTError):
    code = 429

    def __init__(self) -> None:
        super().__init__("TooManyRequestsException", "Rate Exceeded.")


@dataclass(frozen=True)
class InvokeResult:
    """One invocation's outcome: the payload bytes, and the error type when it failed."""

    payload: bytes
    function_error: str | None
    log_tail: str
    request_id: str
    executed_version: str

    @property
    def failed(self) -> bool:
        return self.function_error is not None

    def payload_json(self) -> Any:
        return json.loads(self.payload) if self.payload else None


def find_python() -> tuple[str, bool]:
    """The CPython 3.12 to run functions with, and whether it is the current one instead."""
    candidates: list[Path] = []
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        root = subprocess.run(
            ["pyenv", "root"], capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
        if root:
            candidates += sorted(
                Path(root).glob(f"versions/{PYTHON_MINOR}.*/bin/python{PYTHON_MINOR}"),
                reverse=True,
            )
    on_path = shutil.which(f"python{PYTHON_MINOR}")
    if on_path:
        candidates.append(Path(on_path))
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate), False
    return sys.executable, True


def _digest(*parts: bytes | str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode() if isinstance(part, str) else part)
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def _unzip_once(data: bytes, target: Path) -> Path:
    """Unpack a zip into ``target`` unless an earlier call already did."""
    if not target.is_dir():
        staging = target.with_name(target.name + f".tmp{uuid.uuid4().hex[:6]}")
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            archive.extractall(staging)
        try:
            staging.rename(target)
        except OSError:  # another environment unpacked it first
            shutil.rmtree(staging, ignore_errors=True)
    return target


def has_foreign_binaries(root: Path) -> bool:
    """Whether ``root`` holds compiled modules built for another CPU than this host's."""
    foreign = _FOREIGN_ARCH_TAGS.get(platform.machine(), ())
    return any(
        path.suffix in _COMPILED_SUFFIXES and any(tag in path.name for tag in foreign)
        for path in root.rglob("*")
    )


def pinned_requirements(requirements: Path) -> list[str]:
    """``name==version`` of each requirement (hashes dropped: they name one platform's wheel)."""
    text = requirements.read_text().replace("\\\n", " ")
    pins = []
    for line in text.splitlines():
        requirement = line.split("#", 1)[0].strip().split(" ", 1)[0]
        if requirement and not requirement.startswith("-"):
            pins.append(requirement)
    return pins


def _pip_target(python: str, pins: list[str], target: Path) -> Path:
    """Install ``pins`` for ``python`` into ``target`` once (the directory is the cache)."""
    if target.is_dir():
        return target
    staging = target.with_name(target.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    completed = subprocess.run(
        [python, "-m", "pip", "install", "--no-deps", "--only-binary=:all:", "--quiet",
         "--disable-pip-version-check", "--no-input", f"--target={staging}", *pins],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if completed.returncode != 0:
        raise ExecutorError(
            f"pip could not install {' '.join(pins)} for {python}: {completed.stderr.strip()}"
        )
    staging.rename(target)
    return target


def host_dependencies(python: str, requirements: Path, cache_dir: Path) -> Path:
    """The pinned layer requirements built for this host and ``python`` (cached by hash)."""
    pins = pinned_requirements(requirements)
    key = _digest(python_version(python), platform.machine(), *pins)
    return _pip_target(python, pins, cache_dir / f"host-deps-{key}")


def runtime_libraries(python: str, cache_dir: Path) -> Path:
    """What Lambda's runtime provides (boto3 ...), at this project's locked versions."""
    pins = [f"{name}=={metadata.version(name)}" for name in RUNTIME_PROVIDED]
    key = _digest(python_version(python), *pins)
    return _pip_target(python, pins, cache_dir / f"runtime-{key}")


def python_version(python: str) -> str:
    if python == sys.executable:
        return sys.version
    return subprocess.run(
        [python, "-c", "import sys; print(sys.version)"],
        capture_output=True, text=True, check=True, timeout=30,
    ).stdout.strip()  # fmt: skip


def prepare(work_dir: Path, host_requirements: Path | None) -> list[Path]:
    """Install, ahead of the first invocation, what environments may need (``make layer``)."""
    python, _ = find_python()
    if python == sys.executable:
        return []  # the fallback interpreter already has everything
    prepared = [runtime_libraries(python, work_dir / "python")]
    if host_requirements is not None:
        prepared.append(host_dependencies(python, host_requirements, work_dir / "python"))
    return prepared


@dataclass(frozen=True)
class Deployment:
    """What decides an environment: code, layers and configuration of one function version."""

    function_arn: str
    function_name: str
    version: str
    handler: str
    timeout: float
    memory_size: int
    region: str
    code_dir: Path
    layer_dirs: tuple[Path, ...]
    host_dirs: tuple[Path, ...]
    environment: tuple[tuple[str, str], ...]
    log_group: str
    concurrency: int


class Environment:
    """One warm execution environment: a runtime process serving invocations one at a time."""

    def __init__(self, deployment: Deployment, python: str, extra_env: dict[str, str],
                 runtime_dirs: tuple[Path, ...]) -> None:  # fmt: skip
        self.deployment = deployment
        self.log_stream = (
            time.strftime("%Y/%m/%d", time.gmtime()) + f"/[{deployment.version}]{uuid.uuid4().hex}"
        )
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "TZ": ":UTC",
            **FUNCTION_CREDENTIALS,
            **extra_env,
            "AWS_REGION": deployment.region,
            "AWS_DEFAULT_REGION": deployment.region,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_python{PYTHON_MINOR}",
            "AWS_LAMBDA_FUNCTION_NAME": deployment.function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": deployment.version,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(deployment.memory_size),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(int(deployment.timeout)),
            "AWS_LAMBDA_LOG_GROUP_NAME": deployment.log_group,
            "AWS_LAMBDA_LOG_STREAM_NAME": self.log_stream,
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "LAMBDA_TASK_ROOT": str(deployment.code_dir),
            "LAMBDA_RUNTIME_DIR": str(RUNTIME_SCRIPT.parent),
            "_HANDLER": deployment.handler,
            "LOCALCLOUD_LAYER_PATHS": os.pathsep.join(map(str, deployment.layer_dirs)),
            "LOCALCLOUD_HOST_PATHS": os.pathsep.join(map(str, deployment.host_dirs)),
            "LOCALCLOUD_RUNTIME_PATHS": os.pathsep.join(map(str, runtime_dirs)),
            **dict(deployment.environment),
        }
        self._process = subprocess.Popen(
            [python, "-I", "-u", str(RUNTIME_SCRIPT)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            env=env, cwd=deployment.code_dir, text=True, encoding="utf-8", errors="replace",
        )  # fmt: skip
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True, name="localcloud-env-reader").start()
        self.init_logs, self._ready = self._until_answer(time.monotonic() + INIT_TIMEOUT_SECONDS)
        self.invocations = 0

    def _read(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def _until_answer(self, deadline: float) -> tuple[list[str], dict[str, Any] | None]:
        logs: list[str] = []
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return logs, None
            try:
                line = self._lines.get(timeout=remaining)
            except queue.Empty:
                return logs, None
            if line is None:
                return logs, {"error": {"errorMessage": "Runtime exited without providing a reason",
                                        "errorType": "Runtime.ExitError"}}  # fmt: skip
            if line.startswith(RESPONSE_MARK):
                answer: dict[str, Any] = json.loads(line[len(RESPONSE_MARK) :])
                return logs, answer
            if line:
                logs.append(line)

    @property
    def alive(self) -> bool:
        return self._ready is not None and self._process.poll() is None

    def invoke(self, event: Any, request_id: str) -> tuple[dict[str, Any] | None, list[str]]:
        """Run one invocation; ``None`` as answer means it timed out (the process is gone)."""
        assert self._process.stdin is not None
        timeout = self.deployment.timeout
        request = {
            "request_id": request_id,
            "event": event,
            "invoked_function_arn": self.deployment.function_arn,
            "deadline_ms": int((time.time() + timeout) * 1000),
        }
        self.invocations += 1
        try:
            self._process.stdin.write(json.dumps(request) + "\n")
            self._process.stdin.flush()
        except (BrokenPipeError, OSError):
            return {"error": {"errorMessage": "Runtime exited without providing a reason",
                              "errorType": "Runtime.ExitError"}}, []  # fmt: skip
        logs, answer = self._until_answer(time.monotonic() + timeout)
        if answer is None:
            self.stop()
        return answer, logs

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()


class FunctionPool:
    """The warm environments of one deployment, at most ``deployment.concurrency`` at once."""

    def __init__(self, deployment: Deployment, start: Callable[[Deployment], Environment]) -> None:
        self.deployment = deployment
        self._start = start
        self._idle: list[Environment] = []
        self._slots = threading.BoundedSemaphore(deployment.concurrency)
        self._lock = threading.Lock()
        self.started = 0

    @contextlib.contextmanager
    def environment(self) -> Iterator[Environment]:
        self._slots.acquire()
        try:
            with self._lock:
                env = self._idle.pop() if self._idle else None
            if env is None or not env.alive:
                env = self._start(self.deployment)
                with self._lock:
                    self.started += 1
            try:
                yield env
            finally:
                if env.alive:
                    with self._lock:
                        self._idle.append(env)
        finally:
            self._slots.release()

    def stop(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for env in idle:
            env.stop()


class Executor:
    """Runs functions for moto: prepares deployments, keeps pools, writes logs."""

    def __init__(self, *, endpoint_url: str, work_dir: Path, host_requirements: Path | None,
                 default_concurrency: int = DEFAULT_CONCURRENCY) -> None:  # fmt: skip
        self.endpoint_url = endpoint_url
        self.work_dir = work_dir
        self.host_requirements = host_requirements
        self.default_concurrency = default_concurrency
        self.python, fallback = find_python()
        if fallback:
            print(
                f"localcloud: warning: no CPython {PYTHON_MINOR} found (pyenv or PATH); "
                f"functions run under {sys.version.split()[0]} instead",
                file=sys.stderr,
            )
        self._runtime_dirs: tuple[Path, ...] | None = None
        self._pools: dict[str, FunctionPool] = {}
        self._lock = threading.Lock()
        self._logs_lock = threading.Lock()
        self._said_host_deps = False

    # -- preparing ---------------------------------------------------------------------
    def _runtime(self) -> tuple[Path, ...]:
        if self._runtime_dirs is None:
            if self.python == sys.executable:
                self._runtime_dirs = ()  # the current interpreter already has boto3
            else:
                self._runtime_dirs = (runtime_libraries(self.python, self.work_dir / "python"),)
        return self._runtime_dirs

    def _deployment(self, fn: LambdaFunction) -> Deployment:
        backend = get_backend(fn.account_id, fn.region)
        code_dir = _unzip_once(fn.code_bytes, self.work_dir / "code" / fn.code_sha_256[:32])
        layer_dirs: list[Path] = []
        for layer in fn.layers:
            version = backend.layers_versions_by_arn(layer["Arn"])
            if version is None:
                continue
            root = _unzip_once(
                version.code_bytes, self.work_dir / "layers" / _digest(version.code_bytes)
            )
            layer_dirs.append(root / "python")
        host_dirs: list[Path] = []
        if self.host_requirements and any(has_foreign_binaries(d) for d in layer_dirs):
            host_dirs.append(
                host_dependencies(self.python, self.host_requirements, self.work_dir / "python")
            )
            if not self._said_host_deps:
                self._said_host_deps = True
                print(
                    f"localcloud: the deployed layer holds wheels built for another CPU than "
                    f"this {platform.machine()} host; functions use "
                    f"{self.host_requirements.name} installed for the host instead",
                    file=sys.stderr,
                )
        concurrency = self.default_concurrency
        if fn.reserved_concurrency not in (None, ""):
            concurrency = int(fn.reserved_concurrency)
        return Deployment(
            function_arn=fn.function_arn,
            function_name=fn.function_name,
            version=str(fn.version),
            handler=str(fn.handler),
            timeout=float(fn.timeout),
            memory_size=int(fn.memory_size),
            region=fn.region,
            code_dir=code_dir,
            layer_dirs=tuple(layer_dirs),
            host_dirs=tuple(host_dirs),
            environment=tuple(sorted((k, str(v)) for k, v in fn.environment_vars.items())),
            log_group=fn.logs_group_name,
            concurrency=concurrency,
        )

    def _pool(self, fn: LambdaFunction) -> FunctionPool:
        key = _digest(
            fn.function_arn, str(fn.version), fn.code_sha_256, str(fn.handler), str(fn.timeout),
            str(fn.memory_size), json.dumps(fn.environment_vars, sort_keys=True),
            json.dumps(fn.layers, sort_keys=True), str(fn.reserved_concurrency),
        )  # fmt: skip
        with self._lock:
            pool = self._pools.get(key)
            if pool is None:
                stale = [
                    k
                    for k, p in self._pools.items()
                    if p.deployment.function_arn == fn.function_arn
                ]
                for old in stale:
                    self._pools.pop(old).stop()
                pool = FunctionPool(self._deployment(fn), self._start_environment)
                self._pools[key] = pool
        return pool

    def _start_environment(self, deployment: Deployment) -> Environment:
        env = Environment(
            deployment,
            self.python,
            {"AWS_ENDPOINT_URL": self.endpoint_url},
            self._runtime(),
        )
        return env

    def environments_started(self, function_arn: str) -> int:
        """How many environments the function's current deployment has started (cold starts)."""
        with self._lock:
            return sum(
                p.started for p in self._pools.values() if p.deployment.function_arn == function_arn
            )

    # -- invoking ----------------------------------------------------------------------
    def invoke(self, fn: LambdaFunction, event: Any) -> InvokeResult:
        """Run one synchronous invocation of ``fn`` with ``event`` (already decoded)."""
        if fn.reserved_concurrency not in (None, "") and int(fn.reserved_concurrency) == 0:
            raise TooManyRequests()
        request_id = str(uuid.uuid4())
        pool = self._pool(fn)
        started = time.monotonic()
        with pool.environment() as env:
            fresh = env.invocations == 0
            answer, logs = env.invoke(event, request_id)
            stream = env.log_stream
            init_logs = env.init_logs if fresh else []
        duration_ms = (time.monotonic() - started) * 1000
        timeout = pool.deployment.timeout
        if answer is None:
            message = f"RequestId: {request_id} Error: Task timed out after {timeout:.2f} seconds"
            payload = {"errorMessage": message, "errorType": "Sandbox.Timedout"}
            logs.append(
                f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime())}Z {request_id} {message}"
            )
            function_error: str | None = "Unhandled"
            body = json.dumps(payload).encode()
        elif "error" in answer:
            function_error = "Unhandled"
            body = json.dumps(answer["error"]).encode()
        else:
            function_error = None
            body = str(answer["result"]).encode()
        self._write_logs(pool.deployment, stream, request_id, init_logs, logs, duration_ms)
        tail = "\n".join(logs)[-4096:]
        return InvokeResult(body, function_error, tail, request_id, str(fn.version))

    def _write_logs(self, deployment: Deployment, stream: str, request_id: str,
                    init_logs: list[str], logs: list[str], duration_ms: float) -> None:  # fmt: skip
        version = deployment.version
        lines = [
            *init_logs,
            f"START RequestId: {request_id} Version: {version}",
            *logs,
            f"END RequestId: {request_id}",
            f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
            f"Memory Size: {deployment.memory_size} MB",
        ]
        from moto.logs.models import logs_backends

        account = deployment.function_arn.split(":")[4]
        backend = logs_backends[account][deployment.region]
        now = int(time.time() * 1000)
        with self._logs_lock:
            backend.ensure_log_group(deployment.log_group)
            if stream not in backend.groups[deployment.log_group].streams:
                backend.create_log_stream(deployment.log_group, stream)
            backend.put_log_events(
                deployment.log_group,
                stream,
                [{"timestamp": now, "message": line} for line in lines],
            )

    def stop(self) -> None:
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.stop()


_ACTIVE: dict[str, Any] = {}
# The ARN the current request invoked (name, ARN, alias or version, as the caller wrote it),
# and the Invoke request's Qualifier query parameter.
_INVOKED = threading.local()


def invoked_arn(backend: LambdaBackend, function_name: str, qualifier: str | None) -> str:
    """The qualified ARN Lambda reports for an invocation: unqualified means ``$LATEST``."""
    if function_name.startswith("arn:"):
        arn = function_name
    else:
        arn = f"arn:aws:lambda:{backend.region_name}:{backend.account_id}:function:{function_name}"
    if len(arn.split(":")) == 7:
        arn += f":{qualifier or '$LATEST'}"
    return arn


def install(
    executor: Executor, submit_async: Callable[[LambdaFunction, Any, str | None], str]
) -> None:
    """Replace moto's two Lambda methods (once per process; later calls swap the executor)."""
    _ACTIVE["executor"] = executor
    _ACTIVE["submit_async"] = submit_async
    if getattr(LambdaFunction, "_localcloud_installed", False):
        return

    def _invoke_lambda(self: LambdaFunction, event: str | None = None) -> tuple[str, bool, str]:
        result = _ACTIVE["executor"].invoke(self, event if event is not None else {})
        return result.payload.decode(), result.failed, result.log_tail

    def invoke(
        self: LambdaFunction, body: str, request_headers: Any, response_headers: Any
    ) -> str | bytes:
        event = json.loads(body) if body else {}
        headers = request_headers or {}
        invocation_type = headers.get("x-amz-invocation-type") or headers.get(
            "X-Amz-Invocation-Type", "RequestResponse"
        )
        if invocation_type == "Event":
            request_id = _ACTIVE["submit_async"](self, event, getattr(_INVOKED, "arn", None))
            response_headers["x-amzn-RequestId"] = request_id
            return b""
        if invocation_type == "DryRun":
            return b""
        result: InvokeResult = _ACTIVE["executor"].invoke(self, event)
        response_headers["x-amzn-RequestId"] = result.request_id
        response_headers["x-amz-executed-version"] = result.executed_version
        if result.function_error:
            response_headers["x-amz-function-error"] = result.function_error
        response_headers["x-amz-log-result"] = base64.b64encode(
            result.log_tail.encode()[-4096:]
        ).decode()
        return result.payload

    original_backend_invoke = LambdaBackend.invoke

    def backend_invoke(
        self: LambdaBackend,
        function_name: str,
        qualifier: str | None,
        body: Any,
        headers: Any,
        response_headers: Any,
    ) -> str | bytes | None:
        qualifier = qualifier or getattr(_INVOKED, "qualifier", None)
        _INVOKED.arn = invoked_arn(self, function_name, qualifier)
        try:
            return original_backend_invoke(
                self, function_name, qualifier, body, headers, response_headers
            )
        finally:
            _INVOKED.arn = None

    LambdaFunction._invoke_lambda = _invoke_lambda  # type: ignore[method-assign]
    LambdaFunction.invoke = invoke  # type: ignore[method-assign]
    LambdaBackend.invoke = backend_invoke  # type: ignore[method-assign]
    original_response_invoke = LambdaResponse.invoke

    def response_invoke(self: LambdaResponse) -> Any:
        _INVOKED.qualifier = self._get_param("Qualifier")
        try:
            return original_response_invoke(self)
        finally:
            _INVOKED.qualifier = None

    LambdaResponse.invoke = response_invoke  # type: ignore[method-assign]
    LambdaFunction._localcloud_installed = True  # type: ignore[attr-defined]

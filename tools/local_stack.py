"""Deploy the state bootstrap and one environment onto a local cloud, as fast as it safely goes.

    with LocalCloud() as cloud:
        deployment = deploy(cloud, Path("build/run"), environment="dev")
        deployment.client("s3").put_object(...)

The environment stack keeps its S3 backend *inside* the local cloud, as in AWS. Most of the
bootstrap's apply time is the AWS provider waiting for lifecycle rules to settle, which the
environment does not need: it needs the state bucket (versioned), the state key its backend
encrypts with and, when a migration still names one, the DynamoDB lock table. So the bootstrap
applies in a background thread and the environment starts as soon as those exist; both
applies are awaited before this returns.
Terraform runs with ``-parallelism=LOCAL_PARALLELISM``: the default of 10 is a courtesy to
AWS's API rate limits, and on the local cloud most of an apply is the provider waiting.

Each stack's Terraform output goes to ``<run_dir>/logs/<stack>.log`` (lines stamped with the
seconds since that stack's init began); a failure raises
:class:`DeployError` with one line naming the stack, the first error and that log.

Each ``terraform apply`` would start the AWS provider (a 600 MB binary that builds its whole
schema on start) about three times: to read schemas, to plan and to apply; on a busy machine
those starts are the larger part of an apply. So, when the provider comes from the offline
mirror, each stack gets one provider process started in Terraform's debug mode in its
folder, and its applies attach to it (``TF_REATTACH_PROVIDERS``); it is stopped at the end.

``sequential=True, parallelism=None, reattach=False`` deploys the plain way, the bootstrap
fully before the environment, with Terraform's defaults: the baseline of
benchmarks/run_bench.py.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import boto3
from boto3.dynamodb.types import TypeDeserializer

from tools.ci.terraform import StackWorkspace, SynthError, synth_app
from tools.ci.terraform_cli import TerraformError, mirror_dir, terraform
from tools.localcloud.settings import client_env

BOOTSTRAP_STACK = "state-bootstrap"
# How long the environment waits for the bootstrap to create its state bucket.
STATE_READY_TIMEOUT_SECONDS = 300.0
POLL_SECONDS = 0.5
# Concurrent Terraform operations on the local cloud (Terraform's default is 10): enough for
# every independent resource of dev to be in flight, which matters because most of an apply
# is the provider's fixed waits, not work.
LOCAL_PARALLELISM = 32
LOG_DIR_NAME = "logs"
PROVIDER_SOURCE = "registry.terraform.io/hashicorp/aws"
# Starting the provider takes seconds on a quiet machine, a minute on a loaded one.
PROVIDER_START_TIMEOUT_SECONDS = 180.0
PROVIDER_STOP_TIMEOUT_SECONDS = 10.0
# What a provider started with -debug prints for Terraform to attach to it.
_REATTACH_LINE = re.compile(r"TF_REATTACH_PROVIDERS='(?P<value>\{.*\})'")


class Cloud(Protocol):
    """What a deployment needs of the local cloud it runs on."""

    @property
    def endpoint_url(self) -> str: ...

    def client_env(self) -> dict[str, str]: ...


class WaitTimeout(RuntimeError):
    """Something the caller waited for did not happen in time; the message says what."""


class DeployError(RuntimeError):
    """A Terraform command failed; one line: which stack, its first error, where the log is."""


def last_line(output: str) -> str:
    """The last non-empty line of ``output`` (a Python error's message comes last)."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def first_error(output: str) -> str:
    """The first ``Error:`` line Terraform printed (boxes stripped), else its last line."""
    lines = [line.strip().lstrip("│╷╵").strip() for line in output.splitlines()]
    lines = [line for line in lines if line]
    errors = [line for line in lines if line.startswith("Error:")]
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        return errors[0] + more
    return lines[-1] if lines else "no output"


def wait_for(
    what: str, probe: Callable[[], Any], *, timeout: float = 60.0, interval: float = POLL_SECONDS
) -> Any:
    """Poll ``probe`` until it returns something truthy; raise WaitTimeout naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() >= deadline:
            raise WaitTimeout(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


@dataclass
class LocalDeployment:
    """One environment deployed to a local cloud: its outputs and clients to reach it."""

    cloud: Cloud
    environment: str
    stacks_dir: Path
    workspace: StackWorkspace
    outputs: dict[str, Any]
    bootstrap: StackWorkspace
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            env = self.cloud.client_env()
            factory: Callable[..., Any] = boto3.client
            self._clients[service] = factory(
                service,
                endpoint_url=self.cloud.endpoint_url,
                region_name=env["AWS_DEFAULT_REGION"],
                aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
            )
        return self._clients[service]

    def output(self, name: str) -> Any:
        if name not in self.outputs:
            known = ", ".join(sorted(self.outputs))
            raise KeyError(f"pipeline-{self.environment} has no output {name!r} (has: {known})")
        return self.outputs[name]

    def records(self, key: str) -> list[dict[str, Any]]:
        """Every record of the table whose object key is ``key``, deserialized."""
        deserialize = TypeDeserializer().deserialize
        table = self.output("records_table_name")
        paginator = self.client("dynamodb").get_paginator("scan")
        found: list[dict[str, Any]] = []
        for page in paginator.paginate(TableName=table):
            for item in page["Items"]:
                record = {name: deserialize(value) for name, value in item.items()}
                if record.get("object_key") == key:
                    found.append(record)
        return found


def _state_ready(cloud: Cloud, backend: Mapping[str, Any]) -> Callable[[], bool]:
    """A probe: the backend's bucket is versioned, its key exists (and its lock table is active)."""
    env = cloud.client_env()
    session = boto3.session.Session(
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env["AWS_DEFAULT_REGION"],
    )
    s3 = session.client("s3", endpoint_url=cloud.endpoint_url)
    dynamodb = session.client("dynamodb", endpoint_url=cloud.endpoint_url)
    kms = session.client("kms", endpoint_url=cloud.endpoint_url)

    def probe() -> bool:
        try:
            versioning = s3.get_bucket_versioning(Bucket=backend["bucket"])
            if versioning.get("Status") != "Enabled":
                return False
            key = backend.get("kms_key_id")
            if key:
                kms.describe_key(KeyId=key)  # NotFoundException until the alias exists
            table = backend.get("dynamodb_table")
            if table:
                status = dynamodb.describe_table(TableName=table)["Table"]["TableStatus"]
                return bool(status == "ACTIVE")
            return True
        except (
            s3.exceptions.NoSuchBucket,
            dynamodb.exceptions.ResourceNotFoundException,
            kms.exceptions.NotFoundException,
        ):
            return False
        except s3.exceptions.ClientError:
            return False

    return probe


class _Background(threading.Thread):
    """Runs one callable, keeping its exception for the caller to raise."""

    def __init__(self, name: str, target: Callable[[], None]) -> None:
        super().__init__(name=name, daemon=True)
        self._work = target
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self._work()
        except BaseException as error:  # re-raised by result() in the caller's thread
            self.error = error

    def result(self) -> None:
        self.join()
        if self.error is not None:
            raise self.error


def mirrored_provider() -> Path | None:
    """The AWS provider binary of the offline mirror, when it holds exactly one for this host."""
    mirror = mirror_dir()
    machine = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
    if mirror is None:
        return None
    found = sorted(
        (mirror / PROVIDER_SOURCE).glob(
            f"*/{platform.system().lower()}_{machine}/terraform-provider-aws*"
        )
    )
    return found[0] if len(found) == 1 else None


class ProviderServer:
    """One AWS provider process that every Terraform command of one stack attaches to."""

    def __init__(self, binary: Path, log_path: Path) -> None:
        self._binary = binary
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None
        self._env: dict[str, str] | None = None

    def start(self, cwd: Path) -> None:
        """Start in ``cwd``, the stack's folder: the provider reads relative paths (archives)."""
        # Started by us rather than by Terraform, the provider fails to configure with a custom
        # CA bundle ("unable to add custom RootCAs HTTPClient"); the local cloud is plain HTTP.
        env = {key: value for key, value in os.environ.items() if key != "AWS_CA_BUNDLE"}
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                [str(self._binary), "-debug"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=cwd,
            )

    def reattach_env(self) -> dict[str, str]:
        """``TF_REATTACH_PROVIDERS`` for Terraform, once the provider listens."""
        if self._env is not None:
            return self._env
        assert self._process is not None, "start() first"
        deadline = time.monotonic() + PROVIDER_START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            found = _REATTACH_LINE.search(self.log_path.read_text(errors="replace"))
            if found:
                self._env = {"TF_REATTACH_PROVIDERS": found["value"]}
                return self._env
            if self._process.poll() is not None:
                raise DeployError(
                    f"the AWS provider exited with code {self._process.returncode} before "
                    f"listening (see {self.log_path})"
                )
            time.sleep(0.1)
        raise DeployError(
            f"the AWS provider did not listen within {PROVIDER_START_TIMEOUT_SECONDS:.0f} s "
            f"(see {self.log_path})"
        )

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=PROVIDER_STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None


class _StackRun:
    """Terraform init and apply of one stack, its output kept in a log file."""

    def __init__(
        self,
        workspace: StackWorkspace,
        log_dir: Path,
        parallelism: int | None,
        on_line: Callable[[str, str], None] | None,
        provider: ProviderServer | None = None,
    ) -> None:
        self.workspace = workspace
        self.log_path = log_dir / f"{workspace.name}.log"
        self._parallelism = parallelism
        self._on_line = on_line
        self._provider = provider

    def __call__(self) -> None:
        extra = [] if self._parallelism is None else [f"-parallelism={self._parallelism}"]
        with self.log_path.open("a", encoding="utf-8") as log:
            started = time.monotonic()

            def on_line(line: str) -> None:
                log.write(f"[{time.monotonic() - started:6.1f} s] {line}\n")
                if self._on_line is not None:
                    self._on_line(self.workspace.name, line)

            verb = "init"
            try:
                self.workspace.init(on_line=on_line)
                verb = "apply"
                if self._provider is None:
                    self.workspace.apply(*extra, on_line=on_line)
                else:
                    env = {
                        **client_env(str(self.workspace.endpoint_url)),
                        **self._provider.reattach_env(),
                    }
                    terraform(
                        ["apply", "-auto-approve", "-input=false", "-no-color", *extra],
                        cwd=self.workspace.stack_dir,
                        env=env,
                        on_line=on_line,
                    )
            except TerraformError as error:
                raise DeployError(
                    f"terraform {verb} of {self.workspace.name} failed: "
                    f"{first_error(str(error))} (full output: {self.log_path})"
                ) from None


def deploy(
    cloud: Cloud,
    run_dir: Path,
    *,
    environment: str = "dev",
    environ: Mapping[str, str] | None = None,
    on_phase: Callable[[str], None] = lambda _: None,
    on_line: Callable[[str, str], None] | None = None,
    sequential: bool = False,
    parallelism: int | None = LOCAL_PARALLELISM,
    reattach: bool = True,
) -> LocalDeployment:
    """Synthesize, bootstrap remote state and apply ``environment`` onto ``cloud``.

    ``on_phase`` hears each phase as it starts; ``on_line`` every line of Terraform's
    output, with the name of the stack it came from (two stacks apply at once).
    """
    shutil.rmtree(run_dir, ignore_errors=True)
    log_dir = run_dir / LOG_DIR_NAME
    log_dir.mkdir(parents=True)
    stacks = (BOOTSTRAP_STACK, f"pipeline-{environment}")
    binary = mirrored_provider() if reattach else None
    providers = (
        {stack: ProviderServer(binary, log_dir / f"provider-{stack}.log") for stack in stacks}
        if binary is not None
        else {}
    )
    on_phase("synth")
    try:
        return _deploy(
            cloud,
            run_dir,
            log_dir,
            environment,
            environ,
            on_phase,
            on_line,
            sequential,
            parallelism,
            providers,
        )
    finally:
        for provider in providers.values():
            provider.stop()


def _deploy(
    cloud: Cloud,
    run_dir: Path,
    log_dir: Path,
    environment: str,
    environ: Mapping[str, str] | None,
    on_phase: Callable[[str], None],
    on_line: Callable[[str, str], None] | None,
    sequential: bool,
    parallelism: int | None,
    providers: Mapping[str, ProviderServer],
) -> LocalDeployment:
    try:
        stacks_dir = synth_app(
            run_dir / "cdktf.out",
            {**cloud.client_env(), "PIPELINE_ENVIRONMENTS": environment, **(environ or {})},
        )
    except SynthError as error:
        log = log_dir / "synth.log"
        log.write_text(str(error) + "\n", encoding="utf-8")
        raise DeployError(f"synth failed: {last_line(str(error))} (full output: {log})") from None
    bootstrap = StackWorkspace(stacks_dir / BOOTSTRAP_STACK, cloud.endpoint_url)
    workspace = StackWorkspace(stacks_dir / f"pipeline-{environment}", cloud.endpoint_url)
    document = json.loads((workspace.stack_dir / "cdk.tf.json").read_text())
    backend = document["terraform"]["backend"]["s3"]
    for stack, provider in providers.items():
        provider.start(stacks_dir / stack)
    apply_bootstrap = _StackRun(
        bootstrap, log_dir, parallelism, on_line, providers.get(bootstrap.name)
    )
    apply_environment = _StackRun(
        workspace, log_dir, parallelism, on_line, providers.get(workspace.name)
    )

    on_phase("bootstrap apply")
    if sequential:
        apply_bootstrap()
        on_phase(f"pipeline-{environment} apply")
        apply_environment()
    else:
        state_ready = _state_ready(cloud, backend)
        background = _Background("bootstrap-apply", apply_bootstrap)
        background.start()
        try:
            wait_for(
                f"the state bucket {backend['bucket']}",
                lambda: background.error is not None or state_ready(),
                timeout=STATE_READY_TIMEOUT_SECONDS,
            )
            if background.error is not None:
                background.result()
            on_phase(f"pipeline-{environment} apply")
            apply_environment()
        finally:
            background.result()
    return LocalDeployment(
        cloud=cloud,
        environment=environment,
        stacks_dir=stacks_dir,
        workspace=workspace,
        outputs=workspace.outputs(),
        bootstrap=bootstrap,
    )

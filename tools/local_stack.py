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
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import boto3
from boto3.dynamodb.types import TypeDeserializer

from tools.ci.terraform import StackWorkspace, synth_app

BOOTSTRAP_STACK = "state-bootstrap"
# How long the environment waits for the bootstrap to create its state bucket.
STATE_READY_TIMEOUT_SECONDS = 300.0
POLL_SECONDS = 0.5


class Cloud(Protocol):
    """What a deployment needs of the local cloud it runs on."""

    @property
    def endpoint_url(self) -> str: ...

    def client_env(self) -> dict[str, str]: ...


class WaitTimeout(RuntimeError):
    """Something the caller waited for did not happen in time; the message says what."""


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


def deploy(
    cloud: Cloud,
    run_dir: Path,
    *,
    environment: str = "dev",
    environ: Mapping[str, str] | None = None,
    on_phase: Callable[[str], None] = lambda _: None,
    on_line: Callable[[str], None] | None = None,
) -> LocalDeployment:
    """Synthesize, bootstrap remote state and apply ``environment`` onto ``cloud``."""
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    on_phase("synth")
    stacks_dir = synth_app(
        run_dir / "cdktf.out",
        {**cloud.client_env(), "PIPELINE_ENVIRONMENTS": environment, **(environ or {})},
    )
    bootstrap = StackWorkspace(stacks_dir / BOOTSTRAP_STACK, cloud.endpoint_url)
    workspace = StackWorkspace(stacks_dir / f"pipeline-{environment}", cloud.endpoint_url)
    document = json.loads((workspace.stack_dir / "cdk.tf.json").read_text())
    backend = document["terraform"]["backend"]["s3"]

    def apply_bootstrap() -> None:
        bootstrap.init(on_line=on_line)
        bootstrap.apply(on_line=on_line)

    on_phase("bootstrap apply")
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
        workspace.init(on_line=on_line)
        workspace.apply(on_line=on_line)
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

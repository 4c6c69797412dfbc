"""`make run` and `make up`: the pipeline deployed to the local cloud, running by itself.

`make run` starts the local cloud (tools.localcloud), deploys the state bootstrap and dev
with Terraform (tools.local_stack), uploads one object with a plain PutObject (what `aws s3
cp` does) and waits for what the deployed system does with it on its own: the record in
DynamoDB and, on the workflow ingest path, the Step Functions execution. It then calls each
deployed API through the local gateway over HTTP (POST /records, then GET /records/{id}),
prints the phase table and ready-to-paste `aws` and `curl` commands, and stops everything.
`make up` does the same and keeps running until Ctrl-C or SIGTERM.

Anything that stops the run (a taken port, a failed synth or apply, a wait that times out)
ends in one `error:` line and exit status 1; Terraform's full output stays in
``<run-dir>/logs/<stack>.log``.
"""

from __future__ import annotations

import argparse
import json
import shlex
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from tools.ci.progress import Progress
from tools.ci.terraform import SynthError
from tools.ci.terraform_cli import PROJECT_ROOT, TerraformError
from tools.local_stack import (
    LOCAL_PARALLELISM,
    DeployError,
    LocalDeployment,
    WaitTimeout,
    deploy,
    wait_for,
)
from tools.localcloud import LocalCloud, LocalCloudError
from tools.localcloud.control import FIRE_RULE_PATH
from tools.localcloud.gateway import ServedApi, serve_apis

DEFAULT_RUN_DIR = PROJECT_ROOT / "build" / "run"
SAMPLE_KEY = "incoming/hello world (1).csv"
SAMPLE_BODY = b"id,name\n1,first record\n"
# What `make up` prints once everything is ready; tests wait for this line.
READY_LINE = "Running; Ctrl-C stops everything."
STOPPED_LINE = "Stopped."
# The phases `make run` times, in order (benchmarks/run_bench.py reads this table).
PHASES = (
    "local cloud start",
    "synth",
    "bootstrap apply",
    "pipeline-dev apply",
    "first record visible",
    "workflow finished",
    "API round trip",
)
TOTAL = "total"
# A record or an execution takes a few seconds on a warm local cloud; a cold interpreter on a
# busy machine more.
WAIT_SECONDS = 120.0
# The gateway waits this long for a function (a cold environment imports Powertools first).
API_TIMEOUT_SECONDS = 60


class RunError(RuntimeError):
    """The run could not finish; the message says which step and why."""


@dataclass
class Clock:
    """Phase timings: each phase ends when the next one starts, or at stop()."""

    started: float = field(default_factory=time.monotonic)
    laps: dict[str, float] = field(default_factory=dict)
    # Told of each phase as it starts (None once stopped): the live progress on stderr.
    on_phase: Callable[[str | None], None] = lambda _: None
    _current: str | None = None
    _since: float = 0.0

    def phase(self, name: str) -> None:
        self.stop()
        self._current, self._since = name, time.monotonic()
        print(f"[{time.monotonic() - self.started:6.1f} s] {name}", flush=True)
        self.on_phase(name)

    def stop(self) -> None:
        if self._current is not None:
            self.laps[self._current] = time.monotonic() - self._since
            self._current = None
            self.on_phase(None)

    def table(self) -> str:
        return phase_table(self.laps)


def phase_table(laps: dict[str, float]) -> str:
    """The phases in their order (unknown ones after), then the total."""
    names = [name for name in PHASES if name in laps] + [n for n in laps if n not in PHASES]
    rows = [f"  {name:<22} {laps[name]:7.1f} s" for name in names]
    return "\n".join(["Phases:", *rows, f"  {TOTAL:<22} {sum(laps.values()):7.1f} s"])


def _api_request(
    api: ServedApi, method: str, path: str, body: dict[str, Any] | None = None
) -> tuple[int, Any]:
    headers = {"content-type": "application/json"}
    if api.api_key:
        headers["x-api-key"] = api.api_key
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(  # noqa: S310 - a loopback URL the gateway gave
        f"{api.url}{path}", data=data, method=method, headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=API_TIMEOUT_SECONDS) as response:  # noqa: S310
            return response.status, _json_or_text(response.read())
    except urllib.error.HTTPError as error:
        return error.code, _json_or_text(error.read())
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        raise RunError(f"{api.kind} API at {api.url}: {method} {path} failed: {error}") from None


def _json_or_text(raw: bytes) -> Any:
    try:
        return json.loads(raw or b"null")
    except ValueError:
        return raw.decode(errors="replace")[:200]


def round_trip(api: ServedApi, bucket: str) -> str:
    """POST a record, then GET it back, through one served API; the line to print."""
    key = f"manual/{api.kind}-round-trip.csv"
    status, created = _api_request(
        api, "POST", "/records", {"bucket": bucket, "key": key, "size": 1}
    )
    if status != 201:
        raise RunError(f"{api.kind} API: POST /records answered {status}: {created}")
    record_id = created.get("id") if isinstance(created, dict) else None
    if not record_id:
        raise RunError(f"{api.kind} API: POST /records answered 201 without an id: {created}")
    status, fetched = _api_request(api, "GET", f"/records/{record_id}")
    if status != 200:
        raise RunError(f"{api.kind} API: GET /records/{record_id} answered {status}: {fetched}")
    return f"      {api.kind} API {api.url}: POST /records 201, GET /records/{record_id} 200"


def wait_for_record(deployment: LocalDeployment, key: str) -> dict[str, Any]:
    records: list[dict[str, Any]] = wait_for(
        f"the record of {key}", lambda: deployment.records(key), timeout=WAIT_SECONDS
    )
    if len(records) != 1:
        raise RunError(f"expected one record for {key}, found {len(records)}")
    return records[0]


def wait_for_execution(deployment: LocalDeployment, key: str) -> dict[str, Any]:
    """The workflow execution started for ``key``, once it has ended."""
    sfn = deployment.client("stepfunctions")
    machine = deployment.output("state_machine_arn")

    def ended() -> dict[str, Any] | None:
        for execution in sfn.list_executions(stateMachineArn=machine)["executions"]:
            if execution["status"] == "RUNNING":
                continue
            described = sfn.describe_execution(executionArn=execution["executionArn"])
            if key in described.get("input", ""):
                return dict(described)
        return None

    found: dict[str, Any] = wait_for(
        f"the workflow execution for {key}", ended, timeout=WAIT_SECONDS
    )
    if found["status"] != "SUCCEEDED":
        raise RunError(f"the workflow execution for {key} ended {found['status']}")
    return found


def guide(cloud: LocalCloud, deployment: LocalDeployment, apis: list[ServedApi]) -> str:
    """What a user can do next, as commands to paste (each command on a line of its own)."""
    endpoint = cloud.endpoint_url
    aws = f"aws --endpoint-url {endpoint} --region {cloud.region}"
    bucket = deployment.output("ingest_bucket_name")
    prefix = deployment.output("ingest_object_prefix")
    table = deployment.output("records_table_name")
    maintenance = deployment.output("maintenance_function_name")
    lines = [
        "",
        f"Local cloud: {endpoint} (region {cloud.region}, any credentials)",
        f"  export AWS_ENDPOINT_URL={endpoint} AWS_DEFAULT_REGION={cloud.region} "
        "AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test",
        f"Upload: objects under {prefix!r} in {bucket} are processed by themselves",
        f"  {aws} s3 cp ./data.csv s3://{bucket}/{prefix}data.csv",
        f"  {aws} dynamodb scan --table-name {table}",
    ]
    if "state_machine_arn" in deployment.outputs:
        lines.append(
            f"  {aws} stepfunctions list-executions "
            f"--state-machine-arn {deployment.output('state_machine_arn')}"
        )
    processor = deployment.output("processor_function_name")
    lines.append(f"  {aws} logs tail /aws/lambda/{processor}")
    rule = deployment.output("schedule_rule_arn").rsplit("/", 1)[-1]
    state = deployment.client("events").describe_rule(Name=rule).get("State", "ENABLED")
    lines += [
        f"Schedule: rule {rule} runs {maintenance} on its schedule on AWS; here it fires when",
        "told to"
        + (
            f" (it is {state} in this environment: enable it first):" if state != "ENABLED" else ":"
        ),
    ]
    if state != "ENABLED":
        lines.append(f"  {aws} events enable-rule --name {rule}")
    lines += [
        f"  curl -s -X POST {endpoint}{FIRE_RULE_PATH.format(rule=rule)}",
        f"  {aws} logs tail /aws/lambda/{maintenance}",
    ]
    for api in apis:
        key = f" -H {shlex.quote('x-api-key: ' + api.api_key)}" if api.api_key else ""
        body = json.dumps({"bucket": bucket, "key": f"manual/by-hand-{api.kind}.csv", "size": 3})
        lines += [
            f"{api.kind.upper()} API {api.name}: {api.url}",
            f"  curl -s -i{key} {api.url}/records",
            f"  curl -s -i{key} -H 'content-type: application/json' -d {shlex.quote(body)} "
            f"{api.url}/records",
        ]
    return "\n".join(lines)


@contextmanager
def gateway(cloud: LocalCloud) -> Iterator[list[ServedApi]]:
    apis = serve_apis(cloud)
    try:
        yield apis
    finally:
        for api in apis:
            api.stop()


def wait_for_stop() -> None:
    """Block until SIGINT (Ctrl-C) or SIGTERM."""
    stop = threading.Event()

    def handler(signum: int, _frame: FrameType | None) -> None:
        print(f"\n{signal.Signals(signum).name}: stopping.", flush=True)
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stop.wait(1.0):
            pass
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def run(args: argparse.Namespace) -> int:
    # Terraform's progress per stack and a heartbeat on stderr: an apply is never silent
    # for 10 s; the phase lines and the table stay on stdout.
    with Progress("make run") as progress:
        return _run(args, progress)


def _run(args: argparse.Namespace, progress: Progress) -> int:
    clock = Clock(on_phase=progress.track)
    clock.phase("local cloud start")
    with LocalCloud(args.port) as cloud:
        print(f"      local cloud on {cloud.endpoint_url}", flush=True)
        deployment = deploy(
            cloud,
            args.run_dir,
            environment="dev",
            on_phase=clock.phase,
            on_line=lambda stack, line: progress.terraform_line(line, source=stack),
            sequential=args.plain_deploy,
            parallelism=None if args.plain_deploy else LOCAL_PARALLELISM,
            reattach=not args.plain_deploy,
        )
        bucket = deployment.output("ingest_bucket_name")
        key = args.key
        clock.phase("first record visible")
        print(f"      s3://{bucket}/{key} uploaded with a plain PutObject", flush=True)
        cloud.client("s3").put_object(Bucket=bucket, Key=key, Body=SAMPLE_BODY)
        record = wait_for_record(deployment, key)
        print(f"      {json.dumps(record, sort_keys=True, default=str)}", flush=True)
        if deployment.output("ingest_path") == "workflow":
            clock.phase("workflow finished")
            execution = wait_for_execution(deployment, key)
            print(f"      workflow execution {execution['name']}: {execution['status']}")
        clock.phase("API round trip")
        with gateway(cloud) as apis:
            if not apis:
                raise RunError("no API is deployed on the local cloud")
            for api in apis:
                print(round_trip(api, bucket), flush=True)
            clock.stop()
            print(clock.table())
            print(guide(cloud, deployment, apis), flush=True)
            if args.up:
                print(READY_LINE, flush=True)
                wait_for_stop()
    print(STOPPED_LINE, flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.run_local",
        description="Deploy dev to the local cloud, upload one object and watch it run.",
    )
    parser.add_argument("--key", default=SAMPLE_KEY, help="object key to upload")
    parser.add_argument("--port", type=int, default=0, help="local cloud port (0: any free)")
    parser.add_argument("--run-dir", type=Path, default=DEFAULT_RUN_DIR)
    parser.add_argument("--up", action="store_true", help="keep running until Ctrl-C")
    parser.add_argument(
        "--plain-deploy",
        action="store_true",
        help="bootstrap fully, then dev, with Terraform's defaults (the benchmark's baseline)",
    )
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error(f"--port must be 0-65535, got {args.port}")
    try:
        return run(args)
    except (
        LocalCloudError,
        SynthError,
        DeployError,
        TerraformError,
        WaitTimeout,
        RunError,
        KeyError,
    ) as error:
        message = str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)
        print(f"error: {message}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        print("Interrupted; the local cloud is stopped.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

"""`make run` and `make up`: the pipeline deployed to the local cloud, running by itself.

`make run` starts the local cloud (tools.localcloud), deploys the state bootstrap and dev
with Terraform, uploads one object with a plain PutObject (what `aws s3 cp` does) and waits
for what the deployed system does with it on its own: the record in DynamoDB and, on the
workflow ingest path, the Step Functions execution. It then calls each deployed API through
the local gateway over HTTP, prints the phase table and stops everything. `make up` does the
same and keeps running, printing ready-to-paste `aws` and `curl` commands, until Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import shlex
import signal
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.ci.terraform import SynthError
from tools.ci.terraform_cli import PROJECT_ROOT, TerraformError
from tools.local_stack import LocalDeployment, WaitTimeout, deploy, wait_for
from tools.localcloud import LocalCloud, LocalCloudError
from tools.localcloud.control import FIRE_RULE_PATH
from tools.localcloud.gateway import ServedApi, serve_apis

DEFAULT_RUN_DIR = PROJECT_ROOT / "build" / "run"
SAMPLE_KEY = "incoming/hello world (1).csv"
SAMPLE_BODY = b"id,name\n1,first record\n"
# What `make up` prints once everything is ready; tests wait for this line.
READY_LINE = "Running; Ctrl-C stops everything."
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
# A record or an execution takes a few seconds on a warm local cloud; a cold interpreter more.
WAIT_SECONDS = 120.0


class RunError(RuntimeError):
    """The run could not finish; the message says which step and why."""


@dataclass
class Clock:
    """Phase timings: each phase ends when the next one starts, or at stop()."""

    started: float = field(default_factory=time.monotonic)
    laps: dict[str, float] = field(default_factory=dict)
    _current: str | None = None
    _since: float = 0.0

    def phase(self, name: str) -> None:
        self.stop()
        self._current, self._since = name, time.monotonic()
        print(f"[{time.monotonic() - self.started:6.1f} s] {name}", flush=True)

    def stop(self) -> None:
        if self._current is not None:
            self.laps[self._current] = time.monotonic() - self._since
            self._current = None

    def table(self) -> str:
        rows = [f"  {name:<22} {self.laps[name]:7.1f} s" for name in PHASES if name in self.laps]
        total = sum(self.laps.values())
        return "\n".join(["Phases:", *rows, f"  {'total':<22} {total:7.1f} s"])


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
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def round_trip(api: ServedApi, bucket: str) -> list[str]:
    """POST a record, then GET it back, through one served API; lines to print."""
    key = f"manual/{api.kind}-round-trip.csv"
    status, created = _api_request(
        api, "POST", "/records", {"bucket": bucket, "key": key, "size": 1}
    )
    if status != 201:
        raise RunError(f"{api.kind} API: POST /records answered {status}: {created}")
    record_id = created.get("id") if isinstance(created, dict) else None
    status, fetched = _api_request(api, "GET", f"/records/{record_id}")
    if status != 200:
        raise RunError(f"{api.kind} API: GET /records/{record_id} answered {status}: {fetched}")
    return [f"      {api.kind} API {api.url}: POST /records 201, GET /records/{record_id} 200"]


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
    """What a user can do next, as commands to paste."""
    endpoint = cloud.endpoint_url
    aws = f"aws --endpoint-url {endpoint} --region {cloud.region}"
    bucket = deployment.output("ingest_bucket_name")
    prefix = deployment.output("ingest_object_prefix")
    lines = [
        f"Local cloud: {endpoint} (region {cloud.region}, any credentials)",
        f"  export AWS_ENDPOINT_URL={endpoint} AWS_DEFAULT_REGION={cloud.region} "
        "AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test",
        f"Ingest bucket: {bucket} (objects under {prefix!r} are processed)",
        f"  {aws} s3 cp ./data.csv s3://{bucket}/{prefix}data.csv",
        f"  {aws} dynamodb scan --table-name {deployment.output('records_table_name')}",
    ]
    if "state_machine_arn" in deployment.outputs:
        lines.append(
            f"  {aws} stepfunctions list-executions "
            f"--state-machine-arn {deployment.output('state_machine_arn')}"
        )
    rule = deployment.output("schedule_rule_arn").rsplit("/", 1)[-1]
    lines.append(f"Schedule rule {rule} (fires hourly on AWS; fire it now):")
    lines.append(f"  curl -s -X POST {endpoint}{FIRE_RULE_PATH.format(rule=rule)}")
    for api in apis:
        key = f" -H {shlex.quote('x-api-key: ' + api.api_key)}" if api.api_key else ""
        lines.append(f"{api.kind.upper()} API {api.name}: {api.url}")
        lines.append(f"  curl -s{key} {api.url}/records")
        body = json.dumps({"bucket": bucket, "key": "manual/by-hand.csv", "size": 3})
        lines.append(
            f"  curl -s{key} -H 'content-type: application/json' -d {shlex.quote(body)} "
            f"{api.url}/records"
        )
    return "\n".join(lines)


@contextmanager
def gateway(cloud: LocalCloud) -> Iterator[list[ServedApi]]:
    apis = serve_apis(cloud)
    try:
        yield apis
    finally:
        for api in apis:
            api.stop()


def run(args: argparse.Namespace) -> int:
    clock = Clock()
    clock.phase("local cloud start")
    with LocalCloud(args.port) as cloud:
        print(f"      local cloud on {cloud.endpoint_url}", flush=True)
        deployment = deploy(
            cloud,
            args.run_dir,
            environment="dev",
            on_phase=clock.phase,
        )
        bucket = deployment.output("ingest_bucket_name")
        key = args.key
        print(f"      uploading s3://{bucket}/{key} with a plain PutObject", flush=True)
        cloud.client("s3").put_object(Bucket=bucket, Key=key, Body=SAMPLE_BODY)
        clock.phase("first record visible")
        record = wait_for_record(deployment, key)
        print(json.dumps(record, indent=2, sort_keys=True, default=str), flush=True)
        if deployment.output("ingest_path") == "workflow":
            clock.phase("workflow finished")
            execution = wait_for_execution(deployment, key)
            print(f"      workflow execution {execution['name']}: {execution['status']}")
        clock.phase("API round trip")
        with gateway(cloud) as apis:
            for api in apis:
                for line in round_trip(api, bucket):
                    print(line, flush=True)
            clock.stop()
            print(clock.table())
            print(guide(cloud, deployment, apis), flush=True)
            if args.up:
                print(READY_LINE, flush=True)
                signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
                try:
                    while True:
                        time.sleep(3600)
                except KeyboardInterrupt:
                    pass
        print("Stopping the local cloud.", flush=True)
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
    args = parser.parse_args(argv)
    try:
        return run(args)
    except (LocalCloudError, SynthError, TerraformError, WaitTimeout, RunError, KeyError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("Interrupted; the local cloud is stopped.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

"""`make backfill ENV=<env> PREFIX=incoming/`: reprocess every object under a prefix, and wait.

    python -m tools.backfill --env dev --prefix incoming/2026/

Reads the deployed stack's outputs (``terraform output`` in ``<CDKTF_OUT>/stacks/pipeline-<env>``,
where ``make deploy`` left it), starts the backfill state machine with
``{"bucket": <ingest bucket>, "prefix": <prefix>}``, waits for it, then reads the run's result
files from S3 and prints how many records were created and how many objects were already
recorded. Exit status 0 when the run succeeded, 1 when it failed or timed out (one ``error:``
line with Step Functions' own error and cause), 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from pipeline_common.object_events import BACKFILL_RESULT_FIELDS

from tools.ci.terraform import StackWorkspace
from tools.ci.terraform_cli import TerraformError

DEFAULT_OUTDIR = "cdktf.out"
ENVIRONMENTS = ("dev", "staging", "prod")
# A backfill of millions of objects takes hours; the execution itself times out at 24 h.
DEFAULT_TIMEOUT_SECONDS = 24 * 3600.0
POLL_SECONDS = 2.0
# What the processor returns per batch (the contract in pipeline_common.object_events).
COUNTS = BACKFILL_RESULT_FIELDS
REQUIRED_OUTPUTS = ("backfill_state_machine_arn", "ingest_bucket_name", "ingest_object_prefix")


class BackfillError(RuntimeError):
    """The backfill could not be started or did not succeed; the message says why."""


@dataclass(frozen=True)
class BackfillResult:
    execution_arn: str
    status: str
    batches: int
    counts: Mapping[str, int]
    manifest_key: str | None

    def summary(self) -> str:
        counts = ", ".join(f"{name} {self.counts.get(name, 0)}" for name in COUNTS)
        return f"backfill {self.status}: {self.batches} batches; {counts}"


def check_prefix(prefix: str, ingest_prefix: str) -> None:
    """The prefix must lie under the ingest prefix: nothing else is ever recorded."""
    if not prefix.startswith(ingest_prefix):
        raise BackfillError(
            f"PREFIX must start with the ingest prefix {ingest_prefix!r} (only objects there "
            f"are recorded), got {prefix!r}"
        )


def run_backfill(
    sfn: Any,
    s3: Any,
    *,
    state_machine_arn: str,
    bucket: str,
    prefix: str,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    poll: float = POLL_SECONDS,
) -> BackfillResult:
    """Start one backfill execution, wait for it and add up its results from S3."""
    # A readable name, unique per run (moto 5.2.5 also needs one: it names every unnamed
    # execution "None", so a second one would already exist).
    name = f"backfill-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    execution_arn = sfn.start_execution(
        stateMachineArn=state_machine_arn,
        name=name,
        input=json.dumps({"bucket": bucket, "prefix": prefix}),
    )["executionArn"]
    deadline = time.monotonic() + timeout
    while True:
        described = sfn.describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING":
            break
        if time.monotonic() > deadline:
            raise BackfillError(f"backfill {execution_arn} still running after {timeout:.0f} s")
        time.sleep(poll)
    if described["status"] != "SUCCEEDED":
        raise BackfillError(
            f"backfill {execution_arn} {described['status']}: "
            f"{described.get('error', 'no error')}: {described.get('cause', 'no cause')}"
        )
    output = json.loads(described.get("output") or "{}")
    details = output.get("map_run", {}).get("ResultWriterDetails", {})
    counts = dict.fromkeys(COUNTS, 0)
    batches = 0
    manifest_key = details.get("Key")
    if manifest_key:
        manifest = _read_json(s3, details["Bucket"], manifest_key)
        for result_file in manifest.get("ResultFiles", {}).get("SUCCEEDED", []):
            for child in _read_json(s3, details["Bucket"], result_file["Key"]):
                batches += 1
                child_output = json.loads(child.get("Output") or "{}")
                for name in COUNTS:
                    counts[name] += int(child_output.get(name, 0))
    return BackfillResult(execution_arn, described["status"], batches, counts, manifest_key)


def _read_json(s3: Any, bucket: str, key: str) -> Any:
    return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def stack_outputs(env: str, environ: Mapping[str, str]) -> dict[str, Any]:
    """The deployed stack's outputs, from the folder ``make deploy`` applied."""
    outdir = Path(environ.get("CDKTF_OUT") or DEFAULT_OUTDIR)
    stack_dir = outdir / "stacks" / f"pipeline-{env}"
    if not (stack_dir / ".terraform").is_dir():
        raise BackfillError(
            f"{stack_dir} is not an initialised stack folder: run `make deploy ENV={env}` first "
            "(or set CDKTF_OUT to where it was deployed from)"
        )
    try:
        outputs = StackWorkspace(stack_dir, endpoint_url=environ.get("AWS_ENDPOINT_URL")).outputs()
    except TerraformError as error:
        raise BackfillError(f"cannot read the outputs of pipeline-{env}: {error}") from None
    missing = [name for name in REQUIRED_OUTPUTS if name not in outputs]
    if missing:
        raise BackfillError(
            f"pipeline-{env} has no output {', '.join(missing)}: deploy this release first "
            f"(`make deploy ENV={env}`)"
        )
    return outputs


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] = os.environ) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.backfill", description=__doc__)
    parser.add_argument("--env", required=True, choices=ENVIRONMENTS)
    parser.add_argument("--prefix", required=True, help="key prefix, under the ingest prefix")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_SECONDS)
    args = parser.parse_args(argv)
    try:
        outputs = stack_outputs(args.env, environ)
        check_prefix(args.prefix, str(outputs["ingest_object_prefix"]))
        endpoint = environ.get("AWS_ENDPOINT_URL") or None
        sfn = boto3.client("stepfunctions", endpoint_url=endpoint)
        s3 = boto3.client("s3", endpoint_url=endpoint)
        print(f"backfill of s3://{outputs['ingest_bucket_name']}/{args.prefix} started", flush=True)
        result = run_backfill(
            sfn,
            s3,
            state_machine_arn=str(outputs["backfill_state_machine_arn"]),
            bucket=str(outputs["ingest_bucket_name"]),
            prefix=args.prefix,
            timeout=args.timeout,
        )
    except BackfillError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(result.summary())
    print(f"execution: {result.execution_arn}")
    if result.manifest_key:
        print(f"results: s3://{outputs['ingest_bucket_name']}/{result.manifest_key}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Run the pipeline end to end on this machine: `make run`.

Starts moto server on loopback, applies the state bootstrap and then the dev stack with its
S3 backend *inside* the emulator, uploads a sample file, runs the packaged processor archive
(the very zip Terraform deployed) on that object's S3 event, and prints the DynamoDB record
and the stack outputs. The emulator is shut down on the way out, whatever happens.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer

from tools.ci.terraform import StackWorkspace, synth_app
from tools.ci.terraform_cli import PROJECT_ROOT, TerraformError
from tools.emulator import EMULATOR_ENV, EmulatorError, MotoServer

RUN_DIR = PROJECT_ROOT / "build" / "run"
SAMPLE_KEY = "incoming/hello world (1).csv"
SAMPLE_BODY = b"id,name\n1,first record\n"
REGION = EMULATOR_ENV["AWS_DEFAULT_REGION"]
STEPS = 8


@dataclass
class Deployment:
    """The dev stack deployed to an emulator, plus what the run needs to reach it."""

    moto: MotoServer
    stacks_dir: Path
    workspace: StackWorkspace
    outputs: dict[str, Any]

    def client(self, service: str) -> Any:
        factory: Callable[..., Any] = boto3.client
        return factory(
            service,
            endpoint_url=self.moto.endpoint_url,
            region_name=REGION,
            aws_access_key_id=EMULATOR_ENV["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=EMULATOR_ENV["AWS_SECRET_ACCESS_KEY"],
        )

    def asset(self, resource_type: str, name_part: str) -> Path:
        """The archive a synthesized resource deploys (function or layer)."""
        stack = json.loads((self.workspace.stack_dir / "cdk.tf.json").read_text())
        for name, body in stack["resource"][resource_type].items():
            if name_part in name:
                return self.workspace.stack_dir / str(body["filename"])
        raise KeyError(f"no {resource_type} named like {name_part} in {self.workspace.name}")


def step(number: int, message: str) -> None:
    print(f"[{number}/{STEPS}] {message}", flush=True)


def deploy_dev(moto: MotoServer, run_dir: Path, *, environment: str = "dev") -> Deployment:
    """Bootstrap remote state inside the emulator, then apply one environment onto it."""
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    step(2, f"Synthesizing state-bootstrap and pipeline-{environment} for {moto.endpoint_url}")
    stacks_dir = synth_app(
        run_dir / "cdktf.out",
        {**moto.client_env(), "PIPELINE_ENVIRONMENTS": environment},
    )
    step(3, "Applying state-bootstrap (local state): state bucket and lock table in the emulator")
    bootstrap = StackWorkspace(stacks_dir / "state-bootstrap", moto.endpoint_url)
    bootstrap.init()
    bootstrap.apply()
    step(4, f"Applying pipeline-{environment} with its S3 backend inside the emulator")
    workspace = StackWorkspace(stacks_dir / f"pipeline-{environment}", moto.endpoint_url)
    workspace.init()
    workspace.apply()
    return Deployment(moto, stacks_dir, workspace, workspace.outputs())


def process_upload(deployment: Deployment, key: str = SAMPLE_KEY) -> dict[str, Any]:
    """Upload ``key``, run the packaged processor on its S3 event, return the record."""
    from tools.local_invoke import invoke_packaged
    from tools.s3_events import object_created_event

    bucket = deployment.outputs["ingest_bucket_name"]
    s3 = deployment.client("s3")
    step(5, f"Uploading s3://{bucket}/{key}")
    s3.put_object(Bucket=bucket, Key=key, Body=SAMPLE_BODY)
    event = object_created_event(s3, bucket=bucket, key=key, region=REGION)
    function_name = deployment.outputs["processor_function_name"]
    configuration = deployment.client("lambda").get_function_configuration(
        FunctionName=function_name
    )
    archive = deployment.asset("aws_lambda_function", "processor")
    shown = archive.relative_to(PROJECT_ROOT) if archive.is_relative_to(PROJECT_ROOT) else archive
    step(6, f"Running the packaged processor {shown} on that event")
    result = invoke_packaged(
        archive,
        event,
        environment={
            **configuration["Environment"]["Variables"],
            **deployment.moto.client_env(),
        },
        layer_dir=deployment.asset("aws_lambda_layer_version", "dependencies"),
        function_name=function_name,
        timeout_seconds=configuration["Timeout"],
        memory_mb=configuration["MemorySize"],
    )
    print(result.logs.rstrip())
    if not result.ok:
        raise RuntimeError(f"the processor failed: {result.error_type}: {result.error_message}")
    table = deployment.outputs["records_table_name"]
    items = deployment.client("dynamodb").scan(TableName=table)["Items"]
    matching = [item for item in items if key in json.dumps(item, ensure_ascii=False)]
    if len(matching) != 1:
        raise RuntimeError(f"expected one record for {key} in {table}, found {len(matching)}")
    deserialize = TypeDeserializer().deserialize
    return {name: deserialize(value) for name, value in matching[0].items()}


def drive_apis(deployment: Deployment) -> list[dict[str, Any]]:
    """POST then GET through the packaged API handler, for each API variant deployed."""
    from tools.api_smoke import VARIANTS, drive_api

    api_zip = deployment.asset("aws_lambda_function", "api_function")
    layer = deployment.asset("aws_lambda_layer_version", "dependencies")
    deployed = [v for v in VARIANTS if f"{v}_api_id" in deployment.outputs]
    step(7, f"Driving POST and GET through the packaged API handler ({', '.join(deployed)})")
    responses: list[dict[str, Any]] = []
    for variant in deployed:
        responses += drive_api(
            deployment.outputs,
            api_zip=api_zip,
            layer_dir=layer,
            endpoint_url=deployment.moto.endpoint_url,
            variant=variant,
        )
    return responses


@contextmanager
def emulator(log_path: Path) -> Iterator[MotoServer]:
    step(1, "Starting moto server on loopback")
    with MotoServer(log_path=log_path) as moto:
        print(f"      emulator at {moto.endpoint_url} (log: {log_path})", flush=True)
        try:
            yield moto
        finally:
            print("Stopping moto server.", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Deploy dev to moto and process one upload.")
    parser.add_argument("--key", default=SAMPLE_KEY, help="object key to upload")
    args = parser.parse_args(argv)
    started = time.monotonic()
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    try:
        with emulator(RUN_DIR.parent / "moto-run.log") as moto:
            deployment = deploy_dev(moto, RUN_DIR)
            record = process_upload(deployment, args.key)
            drive_apis(deployment)
            step(8, "Record written by the processor:")
            print(json.dumps(record, indent=2, sort_keys=True, default=str))
            print("Stack outputs:")
            print(json.dumps(deployment.outputs, indent=2, sort_keys=True))
    except (EmulatorError, TerraformError, RuntimeError, KeyError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"Done in {time.monotonic() - started:.0f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

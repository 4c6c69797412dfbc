"""Deploy to moto server with the real Terraform CLI and drive the core data path.

What is emulated: every AWS API (moto). What is real: Terraform, the provider, our
synthesized configuration, the S3 backend and its DynamoDB lock, and the processor archive
Terraform deployed, run in a local process because moto cannot execute Lambda code.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tools.ci.terraform import StackWorkspace, synth_app
from tools.ci.terraform_cli import TerraformError, terraform_env
from tools.emulator import MotoServer
from tools.run_local import Deployment, deploy_dev, process_upload


@pytest.fixture(scope="module")
def dev(moto_server: MotoServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    moto_server.reset()
    deployment = deploy_dev(moto_server, tmp_path_factory.mktemp("emulator") / "run")
    yield deployment
    moto_server.reset()


def test_deployed_resources_keep_their_security_settings(dev: Deployment) -> None:
    # Given dev deployed to the emulator
    s3, dynamodb, lam = dev.client("s3"), dev.client("dynamodb"), dev.client("lambda")
    bucket = dev.outputs["ingest_bucket_name"]
    # Then the bucket is versioned, KMS-encrypted, private and logs its access
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values())
    # (The TLS-only policy is left out on moto, which cannot evaluate aws:SecureTransport;
    # tests/unit/constructs_lib/test_secure_bucket.py asserts it in every real synth.)
    assert s3.get_bucket_logging(Bucket=bucket)["LoggingEnabled"]["TargetBucket"].startswith(
        "evpipe-dev-access-logs"
    )
    # And the table has its composite key, streams, TTL and point-in-time recovery
    table = dynamodb.describe_table(TableName=dev.outputs["records_table_name"])["Table"]
    assert [(k["AttributeName"], k["KeyType"]) for k in table["KeySchema"]] == [
        ("pk", "HASH"),
        ("sk", "RANGE"),
    ]
    assert table["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    ttl = dynamodb.describe_time_to_live(TableName=table["TableName"])["TimeToLiveDescription"]
    assert ttl["AttributeName"] == "expires_at"
    backups = dynamodb.describe_continuous_backups(TableName=table["TableName"])
    pitr = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert pitr["PointInTimeRecoveryStatus"] == "ENABLED"
    # And the function is arm64 python3.12 with active tracing
    config = lam.get_function_configuration(FunctionName=dev.outputs["processor_function_name"])
    assert (config["Runtime"], config["Architectures"]) == ("python3.12", ["arm64"])
    assert config["TracingConfig"]["Mode"] == "Active"
    # And the bucket notifies exactly that function on ObjectCreated
    notification = s3.get_bucket_notification_configuration(Bucket=bucket)
    target = notification["LambdaFunctionConfigurations"][0]
    assert target["LambdaFunctionArn"] == dev.outputs["processor_function_arn"]
    assert target["Events"] == ["s3:ObjectCreated:*"]


def test_upload_becomes_exactly_one_record(dev: Deployment) -> None:
    # Given an object whose key needs URL decoding
    key = f"incoming/report ({time.time_ns()}) ü.csv"
    # When it is uploaded and the packaged processor handles its event
    record = process_upload(dev, key)
    # Then the record names the decoded key and the object's real metadata
    head = dev.client("s3").head_object(Bucket=dev.outputs["ingest_bucket_name"], Key=key)
    assert record["object_key"] == key
    assert record["bucket"] == dev.outputs["ingest_bucket_name"]
    assert record["size"] == head["ContentLength"]
    assert record["etag"] == head["ETag"].strip('"')
    assert record["version_id"] == head["VersionId"]


def test_environments_keep_separate_state_objects(dev: Deployment, tmp_path: Path) -> None:
    # Given staging synthesized for the same emulator and applied next to dev
    stacks = synth_app(
        tmp_path / "out", {**dev.moto.client_env(), "PIPELINE_ENVIRONMENTS": "staging"}
    )
    staging = StackWorkspace(stacks / "pipeline-staging", dev.moto.endpoint_url)
    staging.init()
    staging.apply()
    # When the state bucket inside the emulator is read
    s3 = dev.client("s3")
    bucket = "evpipe-terraform-state"
    keys = {obj["Key"] for obj in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}
    states = {
        env: json.loads(
            s3.get_object(Bucket=bucket, Key=f"pipeline-{env}/terraform.tfstate")["Body"].read()
        )
        for env in ("dev", "staging")
    }
    # Then each environment has its own object, holding only its own resources
    assert {"pipeline-dev/terraform.tfstate", "pipeline-staging/terraform.tfstate"} <= keys
    for env, state in states.items():
        names = {r["instances"][0]["attributes"].get("function_name") for r in state["resources"]
                 if r["type"] == "aws_lambda_function"}  # fmt: skip
        assert names == {f"evpipe-{env}-processor"} or all(
            n.startswith(f"evpipe-{env}-") for n in names
        )
        assert names


def test_a_held_lock_blocks_a_second_apply(dev: Deployment) -> None:
    # Given one terraform process holding dev's state lock while it waits at its prompt
    # (a destroy plan always asks; it is answered "no" below, so nothing is destroyed)
    env = terraform_env(dev.moto.client_env() | {"TF_INPUT": "1"})
    holder = subprocess.Popen(
        ["terraform", "apply", "-destroy", "-no-color"], cwd=dev.workspace.stack_dir, env=env,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        _wait_for_prompt(holder)
        # When a second apply starts / Then it fails to acquire the lock
        with pytest.raises(TerraformError, match="Error acquiring the state lock"):
            dev.workspace.apply("-lock-timeout=2s")
    finally:
        holder.communicate("no\n", timeout=120)
    # And once the first process lets go, nothing was destroyed and applying works again
    assert holder.returncode != 0, "the held destroy must have been cancelled"
    dev.workspace.apply()
    assert dev.outputs["records_table_name"] in dev.client("dynamodb").list_tables()["TableNames"]


def _wait_for_prompt(process: subprocess.Popen[str], timeout: float = 180) -> None:
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    seen = ""
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        seen += line
        if "Enter a value" in line or "Only 'yes' will be accepted" in line:
            return
        if not line and process.poll() is not None:
            break
    raise AssertionError(f"terraform never asked for approval:\n{seen[-2000:]}")


def test_dev_destroys_cleanly(dev: Deployment) -> None:
    # Given the deployed dev stack / When it is destroyed
    dev.workspace.destroy()
    # Then its state is empty and the table is gone
    assert dev.workspace.state_resources() == []
    tables = dev.client("dynamodb").list_tables()["TableNames"]
    assert dev.outputs["records_table_name"] not in tables

"""Remote state on the local cloud: written with the state key, locked by an S3 lock file.

Issue 13, finding 2. What is real: Terraform 1.11's S3 backend, our synthesized backend block
and the bootstrap that created the bucket and key. What is emulated: S3 and KMS (moto), which
honours the conditional write (``If-None-Match: *``) the lock file relies on.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError

from tools.ci.terraform_cli import TerraformError, terraform_env
from tools.local_stack import LocalDeployment, deploy
from tools.localcloud.process import LocalCloudProcess

STATE_BUCKET = "evpipe-terraform-state"
STATE_KEY = "pipeline-dev/terraform.tfstate"
LOCK_FILE = f"{STATE_KEY}.tflock"


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalDeployment]:
    """Bootstrap and dev on an empty local cloud of their own, as `make run` deploys them.

    The queue ingest path: state and locking do not depend on what the stack holds, and the
    queue path leaves out the state machine, the slowest resource to create on the emulator.
    """
    folder = tmp_path_factory.mktemp("state")
    with LocalCloudProcess(log_path=folder / "localcloud.log") as cloud:
        yield deploy(cloud, folder / "run", environment="dev",
                     environ={"PIPELINE_INGEST_PATH": "queue"})  # fmt: skip


def test_state_object_is_encrypted_with_the_state_key(dev: LocalDeployment) -> None:
    # Given dev applied with its S3 backend inside the local cloud
    s3, kms = dev.client("s3"), dev.client("kms")
    # When the state object's metadata is read back from S3
    head = s3.head_object(Bucket=STATE_BUCKET, Key=STATE_KEY)
    # Then S3 recorded SSE-KMS with the bootstrap's state key, not S3-managed AES256
    assert head["ServerSideEncryption"] == "aws:kms"
    state_key = kms.describe_key(KeyId="alias/evpipe-state")["KeyMetadata"]["Arn"]
    assert kms.describe_key(KeyId=head["SSEKMSKeyId"])["KeyMetadata"]["Arn"] == state_key
    # And no lock is left behind once the apply has finished
    with pytest.raises(ClientError, match=r"404|Not Found|NoSuchKey"):
        s3.head_object(Bucket=STATE_BUCKET, Key=LOCK_FILE)


def test_the_emulator_refuses_a_second_conditional_write(dev: LocalDeployment) -> None:
    # Given a lock file created the way Terraform creates it (only if none exists)
    s3 = dev.client("s3")
    key = "conditional-write-probe/terraform.tfstate.tflock"
    encrypted = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "alias/evpipe-state"}
    s3.put_object(Bucket=STATE_BUCKET, Key=key, Body=b"{}", IfNoneMatch="*", **encrypted)
    try:
        # When a second writer tries the same / Then S3 answers 412 and keeps the first
        with pytest.raises(ClientError, match="PreconditionFailed"):
            s3.put_object(Bucket=STATE_BUCKET, Key=key, Body=b"{}", IfNoneMatch="*", **encrypted)
    finally:
        s3.delete_object(Bucket=STATE_BUCKET, Key=key)


def test_a_second_concurrent_apply_is_refused_by_the_lock_file(dev: LocalDeployment) -> None:
    # Given one terraform process holding dev's lock while it waits at its approval prompt
    # (a destroy plan always asks; it is answered "no" below, so nothing is destroyed)
    env = terraform_env(dev.cloud.client_env() | {"TF_INPUT": "1"})
    holder = subprocess.Popen(
        ["terraform", "apply", "-destroy", "-no-color"], cwd=dev.workspace.stack_dir, env=env,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    s3 = dev.client("s3")
    try:
        _wait_for_prompt(holder)
        # Then the lock it holds is the S3 lock file, itself written with the state key
        lock = s3.head_object(Bucket=STATE_BUCKET, Key=LOCK_FILE)
        assert lock["ServerSideEncryption"] == "aws:kms"
        # And no DynamoDB lock table exists to hold it instead
        assert not [t for t in dev.client("dynamodb").list_tables()["TableNames"] if "lock" in t]
        # When a second apply starts / Then it fails to acquire the lock
        with pytest.raises(TerraformError, match="Error acquiring the state lock"):
            dev.workspace.apply("-lock-timeout=2s")
    finally:
        holder.communicate("no\n", timeout=120)
    # And once the first process lets go, the lock file is gone and nothing was destroyed
    assert holder.returncode != 0, "the held destroy must have been cancelled"
    with pytest.raises(ClientError, match=r"404|Not Found|NoSuchKey"):
        s3.head_object(Bucket=STATE_BUCKET, Key=LOCK_FILE)
    table = dev.output("records_table_name")
    assert table in dev.client("dynamodb").list_tables()["TableNames"]


def _wait_for_prompt(process: subprocess.Popen[str], timeout: float = 300) -> None:
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

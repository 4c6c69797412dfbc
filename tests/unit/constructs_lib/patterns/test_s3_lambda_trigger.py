from __future__ import annotations

from typing import Any

import pytest
from cdktf import TerraformStack

from constructs_lib.base.secure_bucket import SecureBucket, SecureBucketProps
from constructs_lib.patterns.s3_lambda_trigger import S3LambdaTrigger, S3LambdaTriggerProps
from tests.unit.constructs_lib.conftest import FunctionFactory, SynthFn, only, reference

KEY_ARN = "arn:aws:kms:us-west-2:123456789012:key/abc"


def bucket(stack: TerraformStack) -> SecureBucket:
    logs = SecureBucket(
        stack,
        "logs",
        props=SecureBucketProps(
            bucket_name="evpipe-test-logs",
            kms_key_arn=None,
            sse_s3_reason="test",
            is_access_log_sink=True,
            log_source_buckets=("evpipe-*",),
        ),
    )
    return SecureBucket(
        stack,
        "ingest",
        props=SecureBucketProps(
            bucket_name="evpipe-test-ingest", kms_key_arn=KEY_ARN, access_logs_sink=logs
        ),
    )


def test_notification_waits_for_a_permission_scoped_to_the_bucket(
    synth: SynthFn, make_function: FunctionFactory
) -> None:
    # Given a trigger from the ingest bucket to the processor
    out = synth(
        lambda stack: S3LambdaTrigger(
            stack,
            "trigger",
            props=S3LambdaTriggerProps(
                bucket=bucket(stack), function=make_function(stack, "processor")
            ),
        )
    )
    # When synthesized
    permission = only(out, "aws_lambda_permission")
    notification = only(out, "aws_s3_bucket_notification")
    # Then S3 may invoke only from this bucket and account, and the notification depends on it
    assert permission["principal"] == "s3.amazonaws.com"
    assert permission["source_arn"] == reference(out, "aws_s3_bucket", "arn", "ingest")
    assert permission["function_name"] == reference(
        out, "aws_lambda_function", "function_name", "processor"
    )
    assert permission["qualifier"] == reference(out, "aws_lambda_alias", "name", "processor")
    assert permission["source_account"].startswith("${data.aws_caller_identity.")
    permission_name = next(iter(out["resource"]["aws_lambda_permission"]))
    assert notification["depends_on"] == [f"aws_lambda_permission.{permission_name}"]
    assert notification["bucket"] == reference(out, "aws_s3_bucket", "id", "ingest")
    (target,) = notification["lambda_function"]
    assert target["events"] == ["s3:ObjectCreated:*"]
    assert target["lambda_function_arn"] == reference(out, "aws_lambda_alias", "arn", "processor")


@pytest.mark.parametrize(
    ("events", "message"),
    [
        (("ObjectCreated:*",), "events must be S3 event types"),
        ((), "events must name at least one S3 event type"),
    ],
)
def test_events_must_be_s3_event_types(events: tuple[str, ...], message: str) -> None:
    placeholder: Any = None
    with pytest.raises(ValueError, match=message):
        S3LambdaTriggerProps(bucket=placeholder, function=placeholder, events=events)

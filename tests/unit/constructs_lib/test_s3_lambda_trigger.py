from __future__ import annotations

from typing import Any

import pytest

from constructs_lib.patterns.s3_lambda_trigger import S3LambdaTrigger, S3LambdaTriggerProps
from tests.unit.constructs_lib.conftest import SynthFn, only

PROPS: dict[str, Any] = {
    "bucket_name": "ingest",
    "bucket_arn": "arn:aws:s3:::ingest",
    "function_arn": "arn:aws:lambda:us-west-2:123456789012:function:processor",
    "function_name": "processor",
}


def test_notification_waits_for_a_permission_scoped_to_the_bucket(synth: SynthFn) -> None:
    # Given a trigger from the ingest bucket to the processor
    out = synth(
        lambda stack: S3LambdaTrigger(stack, "trigger", props=S3LambdaTriggerProps(**PROPS))
    )
    # When synthesized
    permission = only(out, "aws_lambda_permission")
    notification = only(out, "aws_s3_bucket_notification")
    # Then S3 may invoke only from this bucket and account, and the notification depends on it
    assert permission["principal"] == "s3.amazonaws.com"
    assert permission["source_arn"] == "arn:aws:s3:::ingest"
    assert permission["source_account"].startswith("${data.aws_caller_identity.")
    permission_name = next(iter(out["resource"]["aws_lambda_permission"]))
    assert notification["depends_on"] == [f"aws_lambda_permission.{permission_name}"]
    assert notification["lambda_function"][0]["events"] == ["s3:ObjectCreated:*"]


def test_events_must_be_s3_event_types() -> None:
    with pytest.raises(ValueError, match="events must be S3 event types"):
        S3LambdaTriggerProps(**PROPS, events=("ObjectCreated:*",))
    with pytest.raises(ValueError, match="events must name at least one S3 event type"):
        S3LambdaTriggerProps(**PROPS, events=())

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from cdktf import TerraformStack

from constructs_lib.aws_limits import LAMBDA_SQS_VISIBILITY_TIMEOUT_PER_FUNCTION_TIMEOUT
from constructs_lib.patterns.s3_queue_trigger import (
    CONSUMER_ACTIONS,
    S3QueueTrigger,
    S3QueueTriggerProps,
)
from tests.unit.constructs_lib.conftest import FunctionFactory, SynthFn, only, reference
from tests.unit.constructs_lib.patterns.test_s3_lambda_trigger import KEY_ARN, bucket


def props(stack: TerraformStack | None, function: Any, **overrides: Any) -> S3QueueTriggerProps:
    settings: dict[str, Any] = {
        "bucket": bucket(stack) if stack is not None else None,
        "function": function,
        "queue_name": "evpipe-test-ingest",
        "dead_letter_queue_name": "evpipe-test-ingest-dlq",
        "kms_key_arn": KEY_ARN,
        "batch_size": 100,
        "batching_window_seconds": 5,
        "max_receive_count": 5,
        "filter_prefix": "incoming/",
    }
    settings.update(overrides)
    return S3QueueTriggerProps(**settings)


def build(make_function: FunctionFactory, **overrides: Any) -> Any:
    return lambda stack: S3QueueTrigger(
        stack,
        "trigger",
        props=props(stack, make_function(stack, "processor"), **overrides),
    )


def policy(out: dict[str, Any], name: str) -> list[dict[str, Any]]:
    documents = {"resource": out["data"]}
    statements: list[dict[str, Any]] = only(documents, "aws_iam_policy_document", name)["statement"]
    return statements


def queue(out: dict[str, Any], name: str) -> dict[str, Any]:
    bodies: list[dict[str, Any]] = list(out["resource"]["aws_sqs_queue"].values())
    (body,) = [q for q in bodies if q["name"] == name]
    return body


def test_bucket_notifies_the_queue_for_new_objects_under_the_prefix(
    synth: SynthFn, make_function: FunctionFactory
) -> None:
    out = synth(build(make_function))
    notification = only(out, "aws_s3_bucket_notification")
    queue_arn = reference(out, "aws_sqs_queue", "arn", "trigger_queue")
    assert notification["queue"] == [
        {"queue_arn": queue_arn, "events": ["s3:ObjectCreated:*"], "filter_prefix": "incoming/"}
    ]
    assert "lambda_function" not in notification, "the processor is never notified directly"
    # S3 tests the destination when the notification is saved: the policy comes first
    assert notification["depends_on"] == [
        "aws_sqs_queue_policy."
        + next(k for k in out["resource"]["aws_sqs_queue_policy"] if k.startswith("trigger_queue"))
    ]


def test_queue_is_encrypted_tls_only_and_accepts_only_this_bucket_in_this_account(
    synth: SynthFn, make_function: FunctionFactory
) -> None:
    out = synth(build(make_function))
    ingest = queue(out, "evpipe-test-ingest")
    assert ingest["kms_master_key_id"] == KEY_ARN
    deny, allow = policy(out, "trigger_queue_policy-document")
    assert (deny["effect"], deny["condition"][0]["variable"]) == ("Deny", "aws:SecureTransport")
    assert allow["principals"] == [{"type": "Service", "identifiers": ["s3.amazonaws.com"]}]
    assert allow["actions"] == ["sqs:SendMessage"]
    conditions = {c["variable"]: c for c in allow["condition"]}
    assert conditions["aws:SourceArn"]["values"] == [
        reference(out, "aws_s3_bucket", "arn", "ingest_bucket")
    ]
    assert conditions["aws:SourceAccount"]["test"] == "StringEquals"
    assert conditions["aws:SourceAccount"]["values"][0].startswith("${data.aws_caller_identity.")


def test_failing_messages_move_to_an_encrypted_dead_letter_queue(
    synth: SynthFn, make_function: FunctionFactory
) -> None:
    out = synth(build(make_function, max_receive_count=7))
    ingest = queue(out, "evpipe-test-ingest")
    assert json.loads(ingest["redrive_policy"]) == {
        "deadLetterTargetArn": reference(out, "aws_sqs_queue", "arn", "trigger_dlq_queue"),
        "maxReceiveCount": 7,
    }
    dlq = queue(out, "evpipe-test-ingest-dlq")
    assert dlq["kms_master_key_id"] == KEY_ARN
    assert dlq["message_retention_seconds"] > ingest["message_retention_seconds"]
    # A message is hidden for six function timeouts while a batch is in flight
    assert ingest["visibility_timeout_seconds"] == 30 * (
        LAMBDA_SQS_VISIBILITY_TIMEOUT_PER_FUNCTION_TIMEOUT
    )


def test_function_reads_batches_and_reports_failed_items(
    synth: SynthFn, make_function: FunctionFactory
) -> None:
    out = synth(build(make_function, maximum_concurrency=20))
    mapping = only(out, "aws_lambda_event_source_mapping")
    assert mapping["event_source_arn"] == reference(out, "aws_sqs_queue", "arn", "trigger_queue")
    assert mapping["function_name"] == reference(out, "aws_lambda_alias", "arn", "processor")
    assert (mapping["batch_size"], mapping["maximum_batching_window_in_seconds"]) == (100, 5)
    assert mapping["function_response_types"] == ["ReportBatchItemFailures"]
    assert mapping["scaling_config"] == {"maximum_concurrency": 20}
    # And its role may consume this queue and decrypt its messages, nothing more
    consume, decrypt = policy(out, "trigger_consumer-policy-document")
    assert consume["actions"] == list(CONSUMER_ACTIONS)
    assert consume["resources"] == [reference(out, "aws_sqs_queue", "arn", "trigger_queue")]
    assert (decrypt["actions"], decrypt["resources"]) == (["kms:Decrypt"], [KEY_ARN])
    assert mapping["depends_on"][0].startswith("aws_iam_role_policy.trigger_consumer-policy")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"batch_size": 0}, "batch_size must be from 1 to 10000, got 0"),
        ({"batching_window_seconds": 301}, "batching_window_seconds must be from 0 to 300"),
        (
            {"batch_size": 11, "batching_window_seconds": 0},
            "batching_window_seconds must be at least 1 when batch_size is above 10",
        ),
        ({"maximum_concurrency": 1}, "maximum_concurrency must be from 2 to 1000, got 1"),
        ({"events": ("ObjectCreated",)}, "events must be S3 event types"),
    ],
)
def test_invalid_props_name_the_field(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}"):
        props(None, None, **overrides)

from __future__ import annotations

import re
from typing import Any

import pytest

from constructs_lib.base.dead_letter_queue import (
    DEFAULT_MESSAGE_RETENTION_SECONDS,
    DeadLetterQueue,
    DeadLetterQueueProps,
    QueueSender,
)
from tests.unit.constructs_lib.conftest import SynthFn, only

KEY_ARN = "arn:aws:kms:us-west-2:123456789012:key/abc"
RULE_ARN = "arn:aws:events:us-west-2:123456789012:rule/evpipe-dev-maintenance"


def dlq_props(**overrides: Any) -> DeadLetterQueueProps:
    settings: dict[str, Any] = {"queue_name": "evpipe-dev-dlq", "kms_key_arn": KEY_ARN}
    settings.update(overrides)
    return DeadLetterQueueProps(**settings)


def build(props: DeadLetterQueueProps) -> Any:
    return lambda stack: DeadLetterQueue(stack, "dlq", props=props)


def statements(out: dict[str, Any]) -> dict[str, dict[str, Any]]:
    document = only({"resource": out["data"]}, "aws_iam_policy_document")
    return {statement["sid"]: statement for statement in document["statement"]}


def test_minimal_queue_is_kms_encrypted_and_keeps_messages_fourteen_days(synth: SynthFn) -> None:
    # Given the minimal props
    out = synth(build(dlq_props()))
    # When the queue is read / Then it uses the customer key and SQS's longest retention
    queue = only(out, "aws_sqs_queue")
    assert queue["name"] == "evpipe-dev-dlq"
    assert queue["kms_master_key_id"] == KEY_ARN
    assert queue["message_retention_seconds"] == DEFAULT_MESSAGE_RETENTION_SECONDS == 1_209_600
    assert "sqs_managed_sse_enabled" not in queue
    assert "fifo_queue" not in queue


def test_policy_denies_insecure_transport_and_allows_nobody_else(synth: SynthFn) -> None:
    # Given a queue with no extra senders
    out = synth(build(dlq_props()))
    # When its policy is read
    by_sid = statements(out)
    # Then the only statement denies every non-TLS request; roles send through IAM alone
    assert list(by_sid) == ["DenyInsecureTransport"]
    deny = by_sid["DenyInsecureTransport"]
    assert deny["effect"] == "Deny"
    assert deny["actions"] == ["sqs:*"]
    assert deny["condition"] == [
        {"test": "Bool", "variable": "aws:SecureTransport", "values": ["false"]}
    ]
    policy = only(out, "aws_sqs_queue_policy")
    assert policy["queue_url"].startswith("${aws_sqs_queue.")


def test_service_sender_may_only_send_on_behalf_of_its_resource(synth: SynthFn) -> None:
    # Given EventBridge as a sender for one rule
    sender = QueueSender(
        sid="AllowScheduleDeadLetters",
        principal_type="Service",
        principal="events.amazonaws.com",
        source_arn=RULE_ARN,
    )
    out = synth(build(dlq_props(senders=[sender])))
    # When the policy is read
    allow = statements(out)["AllowScheduleDeadLetters"]
    # Then it grants SendMessage alone, to that service, for that rule alone
    assert allow.get("effect", "Allow") == "Allow"
    assert allow["actions"] == ["sqs:SendMessage"]
    assert allow["principals"] == [{"type": "Service", "identifiers": ["events.amazonaws.com"]}]
    assert allow["condition"] == [
        {"test": "ArnEquals", "variable": "aws:SourceArn", "values": [RULE_ARN]}
    ]
    assert len(allow["resources"]) == 1
    assert allow["resources"][0].startswith("${aws_sqs_queue.")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"queue_name": ""}, "queue_name must be 1-80 characters, got ''"),
        ({"queue_name": "q" * 81}, "queue_name must be 1-80 characters"),
        ({"queue_name": "evpipe-dev-dlq.fifo"}, "queue_name must not end in .fifo"),
        (
            {"message_retention_seconds": 59},
            "message_retention_seconds must be from 60 to 1209600, got 59",
        ),
        (
            {"message_retention_seconds": 1_209_601},
            "message_retention_seconds must be from 60 to 1209600",
        ),
        (
            {"visibility_timeout_seconds": -1},
            "visibility_timeout_seconds must be from 0 to 43200, got -1",
        ),
        (
            {
                "senders": [
                    QueueSender(
                        sid="Same", principal_type="AWS", principal="arn:aws:iam::1:role/a"
                    ),
                    QueueSender(
                        sid="Same", principal_type="AWS", principal="arn:aws:iam::1:role/b"
                    ),
                ]
            },
            "senders must have unique sids, got ['Same', 'Same']",
        ),
    ],
)
def test_invalid_props_fail_with_the_field_named(overrides: dict[str, Any], message: str) -> None:
    # Given / When props with one invalid value / Then construction fails naming it
    with pytest.raises(ValueError, match=re.escape(message)):
        dlq_props(**overrides)


@pytest.mark.parametrize(
    ("sender", "message"),
    [
        (
            {"sid": "NoSource", "principal_type": "Service", "principal": "events.amazonaws.com"},
            "sender NoSource: source_arn is required for a service principal",
        ),
        (
            {"sid": "bad-sid", "principal_type": "AWS", "principal": "arn:aws:iam::1:role/a"},
            "sid must be letters and digits only, got 'bad-sid'",
        ),
    ],
)
def test_invalid_sender_fails_with_the_field_named(sender: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        QueueSender(**sender)

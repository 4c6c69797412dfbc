from __future__ import annotations

import re
from typing import Any

import pytest

from constructs_lib.base.alarm_topic import CLOUDWATCH_ALARMS_PRINCIPAL, AlarmTopic, AlarmTopicProps
from tests.unit.constructs_lib.conftest import SynthFn, only

KEY_ARN = "arn:aws:kms:us-west-2:123456789012:key/abc"


def topic_props(**overrides: Any) -> AlarmTopicProps:
    settings: dict[str, Any] = {
        "topic_name": "evpipe-prod-alarms",
        "kms_key_arn": KEY_ARN,
        "region": "us-west-2",
        "alarm_name_prefix": "evpipe-prod-",
    }
    settings.update(overrides)
    return AlarmTopicProps(**settings)


def build(props: AlarmTopicProps) -> Any:
    return lambda stack: AlarmTopic(stack, "alarm-topic", props=props)


def policy_statements(out: dict[str, Any]) -> dict[str, dict[str, Any]]:
    document = only({"resource": out["data"]}, "aws_iam_policy_document")
    return {statement["sid"]: statement for statement in document["statement"]}


def test_topic_is_encrypted_with_the_customer_key(synth: SynthFn) -> None:
    # Given the minimal props / When synthesized
    out = synth(build(topic_props()))
    # Then the topic uses SSE-KMS with our key and has no subscriptions yet
    topic = only(out, "aws_sns_topic")
    assert topic["name"] == "evpipe-prod-alarms"
    assert topic["kms_master_key_id"] == KEY_ARN
    assert "aws_sns_topic_subscription" not in out["resource"]


def test_only_this_accounts_pipeline_alarms_may_publish_and_only_over_tls(synth: SynthFn) -> None:
    # Given an alarm topic
    out = synth(build(topic_props()))
    # When its policy is read
    by_sid = policy_statements(out)
    # Then CloudWatch may publish for alarms named with the prefix, in this account
    allow = by_sid["AllowPipelineAlarms"]
    assert allow["actions"] == ["sns:Publish"]
    assert allow["principals"] == [
        {"type": "Service", "identifiers": [CLOUDWATCH_ALARMS_PRINCIPAL]}
    ]
    conditions = {condition["variable"]: condition for condition in allow["condition"]}
    source_arn = conditions["aws:SourceArn"]
    assert source_arn["test"] == "ArnLike"
    assert re.fullmatch(
        r"arn:\$\{data\.aws_partition\.[^}]+\.partition\}:cloudwatch:us-west-2:\$\{data\.aws_caller_identity\.[^}]+\.account_id\}"
        r":alarm:evpipe-prod-\*",
        source_arn["values"][0],
    )
    assert conditions["aws:SourceAccount"]["test"] == "StringEquals"
    # And every request without TLS is denied
    deny = by_sid["DenyInsecureTransport"]
    assert deny["effect"] == "Deny"
    assert deny["condition"] == [
        {"test": "Bool", "variable": "aws:SecureTransport", "values": ["false"]}
    ]
    assert only(out, "aws_sns_topic_policy")["arn"].startswith("${aws_sns_topic.")


def test_email_subscribers_are_subscribed_and_keyed_by_address(synth: SynthFn) -> None:
    # Given two e-mail subscribers
    out = synth(build(topic_props(email_subscribers=("ops@example.com", "oncall@example.com"))))
    # When synthesized / Then each has one email subscription
    subscriptions = out["resource"]["aws_sns_topic_subscription"]
    assert sorted(body["endpoint"] for body in subscriptions.values()) == [
        "oncall@example.com",
        "ops@example.com",
    ]
    assert {body["protocol"] for body in subscriptions.values()} == {"email"}
    # And reordering the list keeps the same Terraform addresses
    swapped = synth(build(topic_props(email_subscribers=("oncall@example.com", "ops@example.com"))))
    assert set(swapped["resource"]["aws_sns_topic_subscription"]) == set(subscriptions)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"topic_name": "has space"},
            "topic_name must be 1-256 letters, digits, hyphens or underscores, got 'has space'",
        ),
        (
            {"alarm_name_prefix": ""},
            "alarm_name_prefix must not be empty: it scopes who may publish",
        ),
        (
            {"email_subscribers": ("not-an-address",)},
            "email_subscribers has invalid address(es) ['not-an-address']",
        ),
        (
            {"email_subscribers": ("a@example.com", "a@example.com")},
            "email_subscribers lists an address more than once",
        ),
    ],
)
def test_invalid_props_fail_with_the_field_named(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        topic_props(**overrides)

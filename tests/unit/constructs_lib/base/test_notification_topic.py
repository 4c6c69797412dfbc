from __future__ import annotations

import re

import pytest

from constructs_lib.base.notification_topic import NotificationTopic, NotificationTopicProps
from tests.unit.constructs_lib.conftest import SynthFn, only

KEY_ARN = "arn:aws:kms:us-west-2:123456789012:key/abc"


def test_topic_is_encrypted_and_refuses_plain_http(synth: SynthFn) -> None:
    # Given the minimal props / When synthesized
    props = NotificationTopicProps(topic_name="evpipe-test-notifications", kms_key_arn=KEY_ARN)
    out = synth(lambda stack: NotificationTopic(stack, "notifications", props=props))
    # Then the topic uses SSE-KMS with our key
    topic = only(out, "aws_sns_topic")
    assert (topic["name"], topic["kms_master_key_id"]) == ("evpipe-test-notifications", KEY_ARN)
    # And its policy only denies requests that do not use TLS; publishers are granted by IAM
    (statement,) = only({"resource": out["data"]}, "aws_iam_policy_document")["statement"]
    assert (statement["sid"], statement["effect"]) == ("DenyInsecureTransport", "Deny")
    assert statement["principals"] == [{"type": "*", "identifiers": ["*"]}]
    assert statement["condition"] == [
        {"test": "Bool", "variable": "aws:SecureTransport", "values": ["false"]}
    ]
    topic_key = next(iter(out["resource"]["aws_sns_topic"]))
    assert only(out, "aws_sns_topic_policy")["arn"] == f"${{aws_sns_topic.{topic_key}.arn}}"


@pytest.mark.parametrize("name", ["", "has space", "x" * 257, "ends.fifo"])
def test_invalid_topic_name_is_named(name: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape("topic_name must be 1-256 letters")):
        NotificationTopicProps(topic_name=name, kms_key_arn=KEY_ARN)

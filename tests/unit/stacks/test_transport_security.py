"""Every bucket, queue and topic of an AWS (non-emulator) synth refuses requests without TLS.

checkov has no check for this, and the emulator synth leaves the Deny out on purpose
(config/emulator.py), so a construct that lost its TLS-only statement would pass every other
gate. This test reads each resource's policy document back from the synthesized JSON.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

Stacks = dict[str, dict[str, Any]]
# Resource type -> (its policy resource type, the attribute naming the resource, service).
POLICED = {
    "aws_s3_bucket": ("aws_s3_bucket_policy", "bucket", "s3"),
    "aws_sqs_queue": ("aws_sqs_queue_policy", "queue_url", "sqs"),
    "aws_sns_topic": ("aws_sns_topic_policy", "arn", "sns"),
}
_REFERENCE = re.compile(r"^\$\{(?:data\.)?([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.[a-z_]+\}$")


def _referenced(value: Any) -> tuple[str, str] | None:
    match = _REFERENCE.match(value) if isinstance(value, str) else None
    return (match.group(1), match.group(2)) if match else None


def _denies_insecure_transport(statement: dict[str, Any], service: str) -> bool:
    conditions = statement.get("condition") or []
    return (
        statement.get("effect") == "Deny"
        and f"{service}:*" in (statement.get("actions") or [])
        and any(
            c.get("test") == "Bool"
            and c.get("variable") == "aws:SecureTransport"
            and c.get("values") == ["false"]
            for c in conditions
        )
        and any(p.get("identifiers") == ["*"] for p in statement.get("principals") or [])
    )


def unprotected(stack: dict[str, Any]) -> list[str]:
    """Buckets, queues and topics with no policy, or a policy without the TLS-only Deny."""
    resources = stack.get("resource", {})
    documents = stack.get("data", {}).get("aws_iam_policy_document", {})
    missing = []
    for resource_type, (policy_type, attribute, service) in POLICED.items():
        protected: set[str] = set()
        for policy in resources.get(policy_type, {}).values():
            target = _referenced(policy.get(attribute))
            document = _referenced(policy.get("policy"))
            if target is None or document is None or document[0] != "aws_iam_policy_document":
                continue
            statements = documents.get(document[1], {}).get("statement") or []
            denial = [s for s in statements if _denies_insecure_transport(s, service)]
            if service == "s3":
                # Both the bucket and its objects: "arn" and "arn/*".
                covered = {r for s in denial for r in s.get("resources") or []}
                if not any(r.endswith("/*") for r in covered) or len(covered) < 2:
                    continue
            if denial:
                protected.add(target[1])
        missing += [
            f"{resource_type}.{name}" for name in resources.get(resource_type, {})
            if name not in protected
        ]  # fmt: skip
    return sorted(missing)


def test_every_bucket_queue_and_topic_of_every_aws_stack_is_tls_only(
    synthesized_stacks: Stacks,
) -> None:
    # Given every stack synthesized for real AWS
    # When each bucket, queue and topic's policy is read back
    missing = {name: unprotected(stack) for name, stack in synthesized_stacks.items()}

    # Then each of them has the TLS-only Deny, and there was something to check
    assert {name: found for name, found in missing.items() if found} == {}
    counted = sum(
        len(stack.get("resource", {}).get(kind, {}))
        for stack in synthesized_stacks.values()
        for kind in POLICED
    )
    assert counted > 10


@pytest.mark.parametrize("drop", ["policy", "statement", "objects"])
def test_the_check_finds_a_bucket_without_the_deny(drop: str) -> None:
    # Given a bucket whose policy lacks the TLS-only Deny in one specific way
    deny = {
        "effect": "Deny",
        "actions": ["s3:*"],
        "principals": [{"type": "*", "identifiers": ["*"]}],
        "resources": ["${aws_s3_bucket.data.arn}", "${aws_s3_bucket.data.arn}/*"],
        "condition": [{"test": "Bool", "variable": "aws:SecureTransport", "values": ["false"]}],
    }
    if drop == "objects":
        deny["resources"] = ["${aws_s3_bucket.data.arn}"]
    stack: dict[str, Any] = {
        "resource": {
            "aws_s3_bucket": {"data": {"bucket": "data"}},
            "aws_s3_bucket_policy": {
                "data": {
                    "bucket": "${aws_s3_bucket.data.id}",
                    "policy": "${data.aws_iam_policy_document.doc.json}",
                }
            },
        },
        "data": {
            "aws_iam_policy_document": {"doc": {"statement": [] if drop == "statement" else [deny]}}
        },
    }
    if drop == "policy":
        del stack["resource"]["aws_s3_bucket_policy"]

    # When the check reads it, Then the bucket is reported
    assert unprotected(stack) == ["aws_s3_bucket.data"]

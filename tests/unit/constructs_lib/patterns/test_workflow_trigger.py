from __future__ import annotations

import json
import re
from typing import Any

import pytest
from cdktf import TerraformStack
from cdktf_cdktf_provider_aws.sfn_state_machine import SfnStateMachine

from constructs_lib.patterns.workflow_trigger import (
    DEFAULT_TARGET_EVENT_AGE_SECONDS,
    DEFAULT_TARGET_RETRY_ATTEMPTS,
    WorkflowTrigger,
    WorkflowTriggerProps,
)
from tests.unit.constructs_lib.conftest import SynthFn, only, reference

KEY_ARN = "arn:aws:kms:us-west-2:123456789012:key/abc"
# A resource at the stack's top level keeps its id as its Terraform name.
MACHINE_ARN = "${aws_sfn_state_machine.machine.arn}"
PATTERN = {
    "source": ["aws.s3"],
    "detail-type": ["Object Created"],
    "detail": {"bucket": {"name": ["evpipe-dev-ingest-us-west-2"]}},
}
PATHS = {"bucket": "$.detail.bucket.name", "key": "$.detail.object.key"}
TEMPLATE = '{"bucket": <bucket>, "key": <key>}'


def props(machine: Any = None, **overrides: Any) -> WorkflowTriggerProps:
    settings: dict[str, Any] = {
        "rule_name": "evpipe-dev-ingest-start",
        "description": "starts the workflow",
        "event_pattern": PATTERN,
        "state_machine": machine,
        "kms_key_arn": KEY_ARN,
        "dead_letter_queue_name": "evpipe-dev-workflow-trigger-dlq",
        "input_paths": PATHS,
        "input_template": TEMPLATE,
    }
    settings.update(overrides)
    return WorkflowTriggerProps(**settings)


def build(stack: TerraformStack) -> WorkflowTrigger:
    machine = SfnStateMachine(
        stack, "machine", name="evpipe-dev-ingest-workflow", role_arn="arn:role", definition="{}"
    )
    return WorkflowTrigger(stack, "trigger", props=props(machine))


def policy(out: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """The statements of the trigger's policy document ``name``."""
    documents = {"resource": out["data"]}
    statements: list[dict[str, Any]] = only(
        documents, "aws_iam_policy_document", f"trigger_{name}"
    )["statement"]
    return statements


def test_rule_matches_the_pattern_and_starts_the_state_machine_with_the_transformed_input(
    synth: SynthFn,
) -> None:
    # Given a trigger for a state machine
    out = synth(build)
    # Then the rule carries the pattern, and its one target is the state machine
    rule = only(out, "aws_cloudwatch_event_rule")
    assert json.loads(rule["event_pattern"]) == PATTERN
    target = only(out, "aws_cloudwatch_event_target")
    assert target["arn"] == MACHINE_ARN
    assert target["role_arn"] == reference(out, "aws_iam_role", "arn", "trigger_role")
    assert target["input_transformer"] == {"input_paths": PATHS, "input_template": TEMPLATE}


def test_failed_starts_are_retried_then_dead_lettered_to_an_encrypted_tls_only_queue(
    synth: SynthFn,
) -> None:
    out = synth(build)
    target = only(out, "aws_cloudwatch_event_target")
    # Then EventBridge retries for its maximum, then dead-letters to the trigger's own queue
    assert target["retry_policy"] == {
        "maximum_retry_attempts": DEFAULT_TARGET_RETRY_ATTEMPTS,
        "maximum_event_age_in_seconds": DEFAULT_TARGET_EVENT_AGE_SECONDS,
    }
    assert (DEFAULT_TARGET_RETRY_ATTEMPTS, DEFAULT_TARGET_EVENT_AGE_SECONDS) == (185, 86_400)
    assert target["dead_letter_config"] == {
        "arn": reference(out, "aws_sqs_queue", "arn", "trigger_dlq_queue")
    }
    queue = only(out, "aws_sqs_queue")
    assert queue["kms_master_key_id"] == KEY_ARN
    statements = policy(out, "dlq_policy-document")
    deny, allow = statements
    assert deny["effect"] == "Deny"
    assert deny["condition"][0]["variable"] == "aws:SecureTransport"
    # And only this rule may send to it
    assert allow["principals"] == [{"type": "Service", "identifiers": ["events.amazonaws.com"]}]
    assert allow["condition"] == [
        {
            "test": "ArnEquals",
            "variable": "aws:SourceArn",
            "values": [reference(out, "aws_cloudwatch_event_rule", "arn", "trigger_rule")],
        }
    ]


def test_role_trusts_only_this_rule_and_may_only_start_this_state_machine(
    synth: SynthFn,
) -> None:
    out = synth(build)
    rule_arn = reference(out, "aws_cloudwatch_event_rule", "arn", "trigger_rule")
    machine_arn = MACHINE_ARN
    # Then EventBridge may assume the role for this rule, in this account, only
    (trust,) = policy(out, "trust")
    assert trust["principals"] == [{"type": "Service", "identifiers": ["events.amazonaws.com"]}]
    conditions = {c["variable"]: (c["test"], c["values"]) for c in trust["condition"]}
    assert conditions["aws:SourceArn"] == ("ArnEquals", [rule_arn])
    assert conditions["aws:SourceAccount"][0] == "StringEquals"
    assert conditions["aws:SourceAccount"][1][0].startswith("${data.aws_caller_identity.")
    # And it may start this state machine and nothing else
    start, encrypt = policy(out, "permissions")
    assert (start["actions"], start["resources"]) == (["states:StartExecution"], [machine_arn])
    assert encrypt["actions"] == ["kms:GenerateDataKey"]
    assert encrypt["condition"][0]["values"] == [machine_arn]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"rule_name": "has spaces"}, "rule_name must be 1-64 letters"),
        ({"event_pattern": {}}, "event_pattern must not be empty"),
        ({"input_paths": {}}, "input_paths must name at least one field"),
        ({"input_paths": {"bad-name": "$.a"}}, "input_paths['bad-name'] must map a name"),
        ({"input_paths": {"key": "detail.key"}}, "input_paths['key'] must map a name"),
        ({"input_template": '{"bucket": <bucket>}'}, "input_template never uses <key>"),
        ({"maximum_retry_attempts": 186}, "maximum_retry_attempts must be from 0 to 185"),
        ({"maximum_event_age_seconds": 59}, "maximum_event_age_seconds must be from 60 to 86400"),
    ],
)
def test_invalid_props_name_the_field(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}"):
        props(**overrides)

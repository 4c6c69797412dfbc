"""LoggedStateMachine: logging, tracing, encryption and a role scoped to its functions."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from cdktf import TerraformStack

from constructs_lib.patterns.state_machine import (
    LOG_DELIVERY_ACTIONS,
    TRACING_ACTIONS,
    LoggedStateMachine,
    StateMachineProps,
)
from tests.unit.constructs_lib.conftest import (
    FunctionFactory,
    SynthFn,
    only,
    reference,
    skipped_checks,
)

KEY_ARN = "arn:aws:kms:us-west-2:123456789012:key/abc"
DEFINITION = {
    "StartAt": "Work",
    "States": {"Work": {"Type": "Pass", "End": True}},
}


def build(make_function: FunctionFactory, **overrides: Any) -> Any:
    built: list[LoggedStateMachine] = []

    def _build(stack: TerraformStack) -> None:
        settings: dict[str, Any] = {
            "state_machine_name": "evpipe-test-ingest",
            "definition": DEFINITION,
            "invoked_functions": [make_function(stack, name) for name in ("first", "second")],
            "region": "us-west-2",
            "kms_key_arn": KEY_ARN,
            "log_retention_days": 30,
        }
        settings.update(overrides)
        built.append(LoggedStateMachine(stack, "workflow", props=StateMachineProps(**settings)))

    _build.built = built  # type: ignore[attr-defined]
    return _build


def machine_log_group(out: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    groups = out["resource"]["aws_cloudwatch_log_group"]
    key = next(key for key, body in groups.items() if "/vendedlogs/" in body["name"])
    return key, groups[key]


def test_state_machine_logs_everything_traces_and_encrypts(
    synth: SynthFn, make_function: FunctionFactory
) -> None:
    # Given the minimal props / When synthesized
    out = synth(build(make_function))
    machine = only(out, "aws_sfn_state_machine")
    # Then the machine runs the definition it was given, as stable JSON
    assert json.loads(machine["definition"]) == DEFINITION
    assert (machine["name"], machine["type"]) == ("evpipe-test-ingest", "STANDARD")
    # And it logs every event with its data to the workflow's group, traces and encrypts
    group_key, log_group = machine_log_group(out)
    assert machine["logging_configuration"] == {
        "level": "ALL",
        "include_execution_data": True,
        "log_destination": f"${{aws_cloudwatch_log_group.{group_key}.arn}}:*",
    }
    assert machine["tracing_configuration"] == {"enabled": True}
    assert machine["encryption_configuration"]["type"] == "CUSTOMER_MANAGED_KMS_KEY"
    assert machine["encryption_configuration"]["kms_key_id"] == KEY_ARN
    # And the log group is encrypted, kept for the retention asked for, vended-log named
    assert log_group["name"] == "/aws/vendedlogs/states/evpipe-test-ingest"
    assert (log_group["kms_key_id"], log_group["retention_in_days"]) == (KEY_ARN, 30)
    # And the machine waits for its role's policy, which Step Functions checks at creation
    policy = reference(out, "aws_iam_role_policy", "x", "workflow_policy")
    assert machine["depends_on"] == [policy.removeprefix("${").removesuffix(".x}")]


def test_role_invokes_exactly_the_functions_it_is_given(
    synth: SynthFn, make_function: FunctionFactory
) -> None:
    # Given the state machine / When synthesized
    out = synth(build(make_function))
    documents = out["data"]["aws_iam_policy_document"]
    trust = next(body for key, body in documents.items() if key.startswith("workflow_trust_"))
    permissions = next(
        body for key, body in documents.items() if key.startswith("workflow_permissions_")
    )
    # Then only this state machine, in this account, may assume the role (confused deputy)
    (assume,) = trust["statement"]
    assert assume["principals"] == [{"type": "Service", "identifiers": ["states.amazonaws.com"]}]
    trusted = {c["variable"]: c["values"] for c in assume["condition"]}
    assert set(trusted) == {"aws:SourceAccount", "aws:SourceArn"}
    assert trusted["aws:SourceArn"][0].endswith(":stateMachine:evpipe-test-ingest")
    by_sid = {statement["sid"]: statement for statement in permissions["statement"]}
    # And it may invoke the two functions and nothing else
    invoke = by_sid["InvokePipelineFunctions"]
    assert invoke["actions"] == ["lambda:InvokeFunction"]
    assert invoke["resources"] == [
        reference(out, "aws_lambda_alias", "arn", name) for name in ("first", "second")
    ]
    # And "*" appears only for log delivery and X-Ray, which have no resource-level permissions
    assert by_sid["DeliverExecutionLogs"]["actions"] == list(LOG_DELIVERY_ACTIONS)
    assert by_sid["PublishTraces"]["actions"] == list(TRACING_ACTIONS)
    wildcard = {sid for sid, statement in by_sid.items() if "*" in statement["resources"]}
    assert wildcard == {"DeliverExecutionLogs", "PublishTraces"}
    # And the key is usable only for this state machine's data and for its delivered logs
    data_key = by_sid["EncryptExecutionData"]
    assert data_key["resources"] == [KEY_ARN]
    (condition,) = data_key["condition"]
    assert condition["variable"] == "kms:EncryptionContext:aws:states:stateMachineArn"
    assert re.fullmatch(
        r"arn:\$\{data\.aws_partition\.[^}]+\.partition\}:states:us-west-2:\$\{data\.aws_caller_identity\.[^}]+\.account_id\}"
        r":stateMachine:evpipe-test-ingest",
        condition["values"][0],
    )
    assert by_sid["EncryptDeliveredLogs"]["actions"] == ["kms:GenerateDataKey"]
    assert set(by_sid) == {
        "InvokePipelineFunctions", "EncryptExecutionData", "EncryptDeliveredLogs",
        "DeliverExecutionLogs", "PublishTraces",
    }  # fmt: skip


def test_short_retention_records_its_checkov_suppression(
    synth_with_comments: SynthFn, make_function: FunctionFactory
) -> None:
    out = synth_with_comments(build(make_function))
    assert "CKV_AWS_338" in skipped_checks(machine_log_group(out)[1])
    out = synth_with_comments(build(make_function, log_retention_days=365))
    assert skipped_checks(machine_log_group(out)[1]) == {}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"state_machine_name": "has spaces"},
            "state_machine_name must be 1-80 letters, digits, hyphens or underscores, "
            "got 'has spaces'",
        ),
        ({"state_machine_name": "x" * 81}, "state_machine_name must be 1-80 letters"),
        ({"log_level": "OFF"}, "log_level must be ALL, ERROR or FATAL (never OFF), got 'OFF'"),
        ({"invoked_functions": []}, "invoked_functions must name at least one function"),
    ],
)
def test_invalid_props_name_the_field(overrides: dict[str, Any], message: str) -> None:
    settings: dict[str, Any] = {
        "state_machine_name": "evpipe-test-ingest",
        "definition": DEFINITION,
        "invoked_functions": ["a function"],
        "region": "us-west-2",
        "kms_key_arn": KEY_ARN,
        "log_retention_days": 30,
        **overrides,
    }
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        StateMachineProps(**settings)

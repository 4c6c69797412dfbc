from __future__ import annotations

import re
from typing import Any

import pytest

from constructs_lib.patterns.schedule import EVENTBRIDGE_PRINCIPAL, Schedule, ScheduleProps
from tests.unit.constructs_lib.conftest import FunctionFactory, SynthFn, only, reference

KEY_ARN = "arn:aws:kms:us-west-2:123456789012:key/abc"


def schedule_props(function: Any = None, **overrides: Any) -> ScheduleProps:
    settings: dict[str, Any] = {
        "rule_name": "evpipe-dev-maintenance",
        "description": "daily maintenance",
        "schedule_expression": "rate(24 hours)",
        "function": function,
        "kms_key_arn": KEY_ARN,
        "dead_letter_queue_name": "evpipe-dev-schedule-dlq",
    }
    settings.update(overrides)
    return ScheduleProps(**settings)


def build(make_function: FunctionFactory, **overrides: Any) -> Any:
    return lambda stack: Schedule(
        stack,
        "schedule",
        props=schedule_props(make_function(stack, "maintenance"), **overrides),
    )


def address(out: dict[str, Any], resource_type: str) -> str:
    (name,) = out["resource"][resource_type]
    return f"{resource_type}.{name}"


def test_rule_fires_on_the_expression_and_targets_the_function(
    synth: SynthFn, make_function: FunctionFactory
) -> None:
    # Given the minimal props
    out = synth(build(make_function))
    # When synthesized / Then the rule is enabled on the schedule and targets the function
    rule = only(out, "aws_cloudwatch_event_rule")
    assert rule["schedule_expression"] == "rate(24 hours)"
    assert rule["state"] == "ENABLED"
    assert rule["name"] == "evpipe-dev-maintenance"
    target = only(out, "aws_cloudwatch_event_target")
    assert target["arn"] == reference(out, "aws_lambda_alias", "arn", "maintenance")
    assert target["rule"] == f"${{{address(out, 'aws_cloudwatch_event_rule')}.name}}"
    assert "input" not in target, "the function receives EventBridge's own scheduled event"


def test_permission_lets_only_this_rule_invoke_the_function(
    synth: SynthFn, make_function: FunctionFactory
) -> None:
    # Given a schedule
    out = synth(build(make_function))
    # When the permission is read
    permission = only(out, "aws_lambda_permission")
    # Then EventBridge may invoke the function only on behalf of this rule's ARN
    assert permission["principal"] == EVENTBRIDGE_PRINCIPAL
    assert permission["action"] == "lambda:InvokeFunction"
    assert permission["function_name"] == reference(
        out, "aws_lambda_function", "function_name", "maintenance"
    )
    assert permission["qualifier"] == reference(out, "aws_lambda_alias", "name", "maintenance")
    assert permission["source_arn"] == f"${{{address(out, 'aws_cloudwatch_event_rule')}.arn}}"
    # And the target is created only after the permission exists
    target = only(out, "aws_cloudwatch_event_target")
    assert target["depends_on"] == [address(out, "aws_lambda_permission")]


def test_failed_deliveries_retry_then_land_in_the_targets_own_encrypted_dlq(
    synth: SynthFn, make_function: FunctionFactory
) -> None:
    # Given a schedule with a custom retry policy
    out = synth(build(make_function, maximum_retry_attempts=3, maximum_event_age_seconds=600))
    # When the target and its queue are read
    target = only(out, "aws_cloudwatch_event_target")
    queue = only(out, "aws_sqs_queue")
    # Then delivery is retried within bounds and then sent to the DLQ
    assert target["retry_policy"] == {
        "maximum_retry_attempts": 3,
        "maximum_event_age_in_seconds": 600,
    }
    assert target["dead_letter_config"] == {"arn": f"${{{address(out, 'aws_sqs_queue')}.arn}}"}
    assert queue["name"] == "evpipe-dev-schedule-dlq"
    assert queue["kms_master_key_id"] == KEY_ARN
    # And only EventBridge, acting for this rule, may write to that queue
    document = only({"resource": out["data"]}, "aws_iam_policy_document", "schedule")
    allow = next(s for s in document["statement"] if s["sid"] == "AllowScheduleDeadLetters")
    assert allow["principals"] == [{"type": "Service", "identifiers": [EVENTBRIDGE_PRINCIPAL]}]
    assert allow["condition"][0]["values"] == [
        f"${{{address(out, 'aws_cloudwatch_event_rule')}.arn}}"
    ]


def test_disabled_schedule_is_deployed_but_does_not_fire(
    synth: SynthFn, make_function: FunctionFactory
) -> None:
    # Given a profile that keeps the schedule off
    out = synth(build(make_function, enabled=False, schedule_expression="cron(0 3 * * ? *)"))
    # When synthesized / Then the rule exists in the DISABLED state
    rule = only(out, "aws_cloudwatch_event_rule")
    assert (rule["state"], rule["schedule_expression"]) == ("DISABLED", "cron(0 3 * * ? *)")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"schedule_expression": "rate(24 hour)"},
            "schedule_expression 'rate(24 hour)': EventBridge needs rate(24 hours)",
        ),
        (
            {"schedule_expression": "daily"},
            "schedule_expression must be rate(<n> <unit>) or cron(<six fields>), got 'daily'",
        ),
        (
            {"rule_name": "has space"},
            "rule_name must be 1-64 letters, digits, dots, hyphens or underscores, got 'has space'",
        ),
        ({"maximum_retry_attempts": 186}, "maximum_retry_attempts must be from 0 to 185, got 186"),
        (
            {"maximum_event_age_seconds": 59},
            "maximum_event_age_seconds must be from 60 to 86400, got 59",
        ),
    ],
)
def test_invalid_props_fail_with_the_field_named(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        schedule_props(**overrides)

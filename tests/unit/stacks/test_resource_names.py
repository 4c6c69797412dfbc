"""Names that must be unique in an account and region are unique in every synthesized stack."""

from __future__ import annotations

from typing import Any

import pytest

# Resource type -> the attribute AWS requires to be unique (per account, or account and region).
UNIQUE_NAMES = {
    "aws_iam_role": "name",
    "aws_lambda_function": "function_name",
    "aws_sqs_queue": "name",
    "aws_sns_topic": "name",
    "aws_cloudwatch_log_group": "name",
    "aws_cloudwatch_event_rule": "name",
    "aws_sfn_state_machine": "name",
    "aws_dynamodb_table": "name",
    "aws_cloudwatch_metric_alarm": "alarm_name",
}


@pytest.mark.parametrize("resource_type", sorted(UNIQUE_NAMES))
def test_account_wide_names_are_unique_in_each_stack(
    synthesized_stacks: dict[str, dict[str, Any]], resource_type: str
) -> None:
    # Given every synthesized stack
    attribute = UNIQUE_NAMES[resource_type]
    for stack_name, stack in synthesized_stacks.items():
        # When the names of that resource type are collected
        names = [
            body[attribute]
            for body in stack.get("resource", {}).get(resource_type, {}).values()
            if isinstance(body.get(attribute), str)
        ]
        # Then none is used twice (AWS would refuse the second with EntityAlreadyExists)
        repeated = sorted({name for name in names if names.count(name) > 1})
        assert not repeated, f"{stack_name}: {resource_type} names used twice: {repeated}"

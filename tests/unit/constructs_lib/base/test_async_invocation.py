from __future__ import annotations

import re
from typing import Any

import pytest
from cdktf import TerraformStack
from cdktf_cdktf_provider_aws.sqs_queue import SqsQueue

from constructs_lib.base.async_invocation import AsyncInvocation, AsyncInvocationProps
from tests.unit.constructs_lib.conftest import FunctionFactory, SynthFn, only, reference

DLQ_ARN = "arn:aws:sqs:us-west-2:123456789012:evpipe-dev-dlq"


def invocation_props(function: Any = None, **overrides: Any) -> AsyncInvocationProps:
    settings: dict[str, Any] = {"function": function, "on_failure_destination_arn": DLQ_ARN}
    settings.update(overrides)
    return AsyncInvocationProps(**settings)


def test_defaults_write_out_lambdas_own_limits_and_the_failure_destination(
    synth: SynthFn, make_function: FunctionFactory
) -> None:
    # Given the minimal props for a function
    out = synth(
        lambda stack: AsyncInvocation(
            stack, "async", props=invocation_props(make_function(stack, "processor"))
        )
    )
    # When synthesized / Then retries, age and destination are explicit in the plan
    config = only(out, "aws_lambda_function_event_invoke_config")
    assert config["function_name"] == reference(
        out, "aws_lambda_function", "function_name", "processor"
    )
    assert config["maximum_retry_attempts"] == 2
    assert config["maximum_event_age_in_seconds"] == 21_600
    assert config["destination_config"] == {"on_failure": {"destination": DLQ_ARN}}
    assert "on_success" not in config["destination_config"]


def test_config_waits_for_the_policy_that_grants_the_destination(
    synth: SynthFn, make_function: FunctionFactory
) -> None:
    # Given a destination queue created in the same stack
    def build(stack: TerraformStack) -> None:
        queue = SqsQueue(stack, "queue", name="dlq")
        AsyncInvocation(
            stack,
            "async",
            props=invocation_props(
                make_function(stack, "processor"),
                on_failure_destination_arn=queue.arn,
                maximum_retry_attempts=0,
                maximum_event_age_seconds=60,
            ),
        )

    # When synthesized
    out = synth(build)
    config = only(out, "aws_lambda_function_event_invoke_config")
    # Then the token resolves to the queue, and the config waits for the function's policy,
    # since Lambda checks at save time that the role may reach the destination
    queue_name = next(iter(out["resource"]["aws_sqs_queue"]))
    assert config["destination_config"]["on_failure"]["destination"] == (
        f"${{aws_sqs_queue.{queue_name}.arn}}"
    )
    policy = reference(out, "aws_iam_role_policy", "x", "processor")
    assert config["depends_on"] == [policy.removeprefix("${").removesuffix(".x}")]
    assert (config["maximum_retry_attempts"], config["maximum_event_age_in_seconds"]) == (0, 60)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"maximum_retry_attempts": 3}, "maximum_retry_attempts must be from 0 to 2, got 3"),
        ({"maximum_retry_attempts": -1}, "maximum_retry_attempts must be from 0 to 2, got -1"),
        (
            {"maximum_event_age_seconds": 59},
            "maximum_event_age_seconds must be from 60 to 21600, got 59",
        ),
        (
            {"maximum_event_age_seconds": 21_601},
            "maximum_event_age_seconds must be from 60 to 21600, got 21601",
        ),
        (
            {"on_failure_destination_arn": "evpipe-dev-dlq"},
            "on_failure_destination_arn must be an ARN, got 'evpipe-dev-dlq'",
        ),
    ],
)
def test_invalid_props_fail_with_the_field_named(overrides: dict[str, Any], message: str) -> None:
    # Given / When props outside Lambda's limits / Then construction fails naming the field
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        invocation_props(**overrides)

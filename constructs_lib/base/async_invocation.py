"""How Lambda handles a function's asynchronous events: retries, event age, failure destination."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import Token
from cdktf_cdktf_provider_aws.lambda_function_event_invoke_config import (
    LambdaFunctionEventInvokeConfig,
    LambdaFunctionEventInvokeConfigDestinationConfig,
    LambdaFunctionEventInvokeConfigDestinationConfigOnFailure,
)
from constructs import Construct

from constructs_lib.aws_limits import (
    LAMBDA_ASYNC_EVENT_AGE_SECONDS_RANGE,
    LAMBDA_ASYNC_RETRY_ATTEMPTS_RANGE,
)
from constructs_lib.base.python_function import PythonFunction

# Lambda's own defaults, written out so a plan shows them.
DEFAULT_MAXIMUM_RETRY_ATTEMPTS = 2
DEFAULT_MAXIMUM_EVENT_AGE_SECONDS = 21_600


@dataclass(frozen=True, kw_only=True)
class AsyncInvocationProps:
    function: PythonFunction
    maximum_retry_attempts: int = DEFAULT_MAXIMUM_RETRY_ATTEMPTS
    maximum_event_age_seconds: int = DEFAULT_MAXIMUM_EVENT_AGE_SECONDS
    # SQS queue, SNS topic, function or event bus that receives each failed event's record.
    on_failure_destination_arn: str

    def __post_init__(self) -> None:
        low, high = LAMBDA_ASYNC_RETRY_ATTEMPTS_RANGE
        if not low <= self.maximum_retry_attempts <= high:
            raise ValueError(
                f"maximum_retry_attempts must be from {low} to {high}, "
                f"got {self.maximum_retry_attempts}"
            )
        low, high = LAMBDA_ASYNC_EVENT_AGE_SECONDS_RANGE
        if not low <= self.maximum_event_age_seconds <= high:
            raise ValueError(
                f"maximum_event_age_seconds must be from {low} to {high}, "
                f"got {self.maximum_event_age_seconds}"
            )
        arn = self.on_failure_destination_arn
        if not (arn.startswith("arn:") or Token.is_unresolved(arn)):
            raise ValueError(f"on_failure_destination_arn must be an ARN, got {arn!r}")


class AsyncInvocation(Construct):
    """The function's event-invoke config; failed events go to the destination, not away."""

    def __init__(self, scope: Construct, construct_id: str, *, props: AsyncInvocationProps) -> None:
        super().__init__(scope, construct_id)
        self.config = LambdaFunctionEventInvokeConfig(
            self,
            "config",
            function_name=props.function.function_name,
            # Events sent to the alias (every trigger's) follow the alias's config.
            qualifier=props.function.qualifier,
            maximum_retry_attempts=props.maximum_retry_attempts,
            maximum_event_age_in_seconds=props.maximum_event_age_seconds,
            destination_config=LambdaFunctionEventInvokeConfigDestinationConfig(
                on_failure=LambdaFunctionEventInvokeConfigDestinationConfigOnFailure(
                    destination=props.on_failure_destination_arn
                )
            ),
            # Lambda checks that the execution role may reach the destination when the config
            # is saved, so the role's policy must be in place first.
            depends_on=[props.function.role_policy],
        )

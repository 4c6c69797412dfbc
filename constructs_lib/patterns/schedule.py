"""An EventBridge schedule that invokes one Lambda function, with a DLQ for failed deliveries."""

from __future__ import annotations

import re
from dataclasses import dataclass

from cdktf_cdktf_provider_aws.cloudwatch_event_rule import CloudwatchEventRule
from cdktf_cdktf_provider_aws.cloudwatch_event_target import (
    CloudwatchEventTarget,
    CloudwatchEventTargetDeadLetterConfig,
    CloudwatchEventTargetRetryPolicy,
)
from cdktf_cdktf_provider_aws.lambda_permission import LambdaPermission
from constructs import Construct

from constructs_lib.aws_limits import (
    EVENTBRIDGE_TARGET_EVENT_AGE_SECONDS_RANGE,
    EVENTBRIDGE_TARGET_RETRY_ATTEMPTS_RANGE,
    check_schedule_expression,
)
from constructs_lib.base.dead_letter_queue import DeadLetterQueue, DeadLetterQueueProps, QueueSender
from constructs_lib.base.python_function import PythonFunction

# The service that delivers scheduled events; the KMS key policy must admit it for the DLQ.
EVENTBRIDGE_PRINCIPAL = "events.amazonaws.com"
# Delivery fails on throttling or a broken permission: backed-off retries ride out the
# first, and the second reaches the DLQ within the hour instead of after a day of retrying.
DEFAULT_TARGET_RETRY_ATTEMPTS = 10
DEFAULT_TARGET_EVENT_AGE_SECONDS = 3600
_RULE_NAME_PATTERN = re.compile(r"[.\-_A-Za-z0-9]{1,64}")


@dataclass(frozen=True, kw_only=True)
class ScheduleProps:
    rule_name: str
    description: str
    # rate(...) or cron(...), checked the way EventBridge checks it.
    schedule_expression: str
    # False deploys the rule DISABLED: nothing fires, turning it on changes one attribute.
    enabled: bool = True
    # The function each scheduled event invokes.
    function: PythonFunction
    # Encrypts the target's dead-letter queue.
    kms_key_arn: str
    dead_letter_queue_name: str
    maximum_retry_attempts: int = DEFAULT_TARGET_RETRY_ATTEMPTS
    maximum_event_age_seconds: int = DEFAULT_TARGET_EVENT_AGE_SECONDS

    def __post_init__(self) -> None:
        if not _RULE_NAME_PATTERN.fullmatch(self.rule_name):
            raise ValueError(
                "rule_name must be 1-64 letters, digits, dots, hyphens or underscores, "
                f"got {self.rule_name!r}"
            )
        check_schedule_expression("schedule_expression", self.schedule_expression)
        low, high = EVENTBRIDGE_TARGET_RETRY_ATTEMPTS_RANGE
        if not low <= self.maximum_retry_attempts <= high:
            raise ValueError(
                f"maximum_retry_attempts must be from {low} to {high}, "
                f"got {self.maximum_retry_attempts}"
            )
        low, high = EVENTBRIDGE_TARGET_EVENT_AGE_SECONDS_RANGE
        if not low <= self.maximum_event_age_seconds <= high:
            raise ValueError(
                f"maximum_event_age_seconds must be from {low} to {high}, "
                f"got {self.maximum_event_age_seconds}"
            )


class Schedule(Construct):
    """Rule, target, invoke permission scoped to the rule, and the target's own DLQ."""

    def __init__(self, scope: Construct, construct_id: str, *, props: ScheduleProps) -> None:
        super().__init__(scope, construct_id)
        self.rule = CloudwatchEventRule(
            self,
            "rule",
            name=props.rule_name,
            description=props.description,
            schedule_expression=props.schedule_expression,
            state="ENABLED" if props.enabled else "DISABLED",
        )
        self.dead_letter_queue = DeadLetterQueue(
            self,
            "dlq",
            props=DeadLetterQueueProps(
                queue_name=props.dead_letter_queue_name,
                kms_key_arn=props.kms_key_arn,
                senders=[
                    QueueSender(
                        sid="AllowScheduleDeadLetters",
                        principal_type="Service",
                        principal=EVENTBRIDGE_PRINCIPAL,
                        source_arn=self.rule.arn,
                    )
                ],
            ),
        )
        self.permission = LambdaPermission(
            self,
            "permission",
            statement_id="AllowInvokeFromSchedule",
            action="lambda:InvokeFunction",
            function_name=props.function.function_name,
            qualifier=props.function.qualifier,
            principal=EVENTBRIDGE_PRINCIPAL,
            source_arn=self.rule.arn,
        )
        self.target = CloudwatchEventTarget(
            self,
            "target",
            rule=self.rule.name,
            target_id="function",
            arn=props.function.alias_arn,
            retry_policy=CloudwatchEventTargetRetryPolicy(
                maximum_retry_attempts=props.maximum_retry_attempts,
                maximum_event_age_in_seconds=props.maximum_event_age_seconds,
            ),
            dead_letter_config=CloudwatchEventTargetDeadLetterConfig(
                arn=self.dead_letter_queue.queue.arn
            ),
            # The first scheduled delivery must not race the permission.
            depends_on=[self.permission],
        )

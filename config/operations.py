"""Operations settings for one environment: failure path, schedule, alarms and dashboard.

The dead-letter queues and X-Ray tracing are not switches: they are on in every
environment. What differs is how hard Lambda retries, how often the maintenance schedule
fires, how sensitive the alarms are and whether they notify anyone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from constructs_lib.aws_limits import (
    LAMBDA_ASYNC_EVENT_AGE_SECONDS_RANGE,
    LAMBDA_ASYNC_RETRY_ATTEMPTS_RANGE,
    check_schedule_expression,
    require_int_range,
)
from constructs_lib.specs import AlarmSubscribers, AlarmThresholds

# Once a day is enough for a sweep over a day's uploads and keeps invocation cost negligible.
DEFAULT_SCHEDULE_EXPRESSION = "rate(24 hours)"
# Lambda's own defaults: two retries, events kept for six hours.
DEFAULT_ASYNC_RETRY_ATTEMPTS = 2
DEFAULT_MAX_EVENT_AGE_SECONDS = 21_600


@dataclass(frozen=True, kw_only=True)
class OperationsSettings:
    """Failure handling, schedule and monitoring for one environment."""

    # Retries Lambda makes for a failed asynchronous event before it goes to the DLQ.
    async_retry_attempts: int = DEFAULT_ASYNC_RETRY_ATTEMPTS
    # Events older than this go to the DLQ instead of being retried (throttling, errors).
    max_event_age_seconds: int = DEFAULT_MAX_EVENT_AGE_SECONDS
    schedule_expression: str = DEFAULT_SCHEDULE_EXPRESSION
    # False keeps the rule deployed but DISABLED, so turning it on is a one-line change.
    schedule_enabled: bool = True
    thresholds: AlarmThresholds = field(default_factory=AlarmThresholds)
    # False keeps the alarms (their states show on the dashboard) but notifies nobody.
    alarm_actions_enabled: bool = True
    # Who hears the alarms. Usually empty here and given at synth time (PIPELINE_ALARM_EMAIL,
    # PIPELINE_ALARM_HTTPS_URL, PIPELINE_ALARM_TOPIC_ARN), so addresses stay out of the code.
    alarm_subscribers: AlarmSubscribers = field(default_factory=AlarmSubscribers)
    dashboard_enabled: bool = True

    def validate(self, prefix: str) -> None:
        require_int_range(
            f"{prefix}.async_retry_attempts",
            self.async_retry_attempts,
            LAMBDA_ASYNC_RETRY_ATTEMPTS_RANGE,
        )
        require_int_range(
            f"{prefix}.max_event_age_seconds",
            self.max_event_age_seconds,
            LAMBDA_ASYNC_EVENT_AGE_SECONDS_RANGE,
        )
        check_schedule_expression(f"{prefix}.schedule_expression", self.schedule_expression)
        self.thresholds.validate(f"{prefix}.thresholds")
        self.alarm_subscribers.validate(f"{prefix}.alarm_subscribers")

    @property
    def alarms_reach_nobody(self) -> bool:
        """Alarm actions are on, but no one is subscribed to hear them."""
        return self.alarm_actions_enabled and not self.alarm_subscribers.any

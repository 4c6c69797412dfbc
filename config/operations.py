"""Operations settings for one environment: failure path, schedule, alarms and dashboard.

The dead-letter queues and X-Ray tracing are not switches: they are on in every
environment. What differs is how hard Lambda retries, how often the maintenance schedule
fires, how sensitive the alarms are and whether they notify anyone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Once a day is enough for a sweep over a day's uploads and keeps invocation cost negligible.
DEFAULT_SCHEDULE_EXPRESSION = "rate(24 hours)"
# Lambda's documented bounds for asynchronous invocation settings.
ASYNC_RETRY_ATTEMPTS_RANGE = (0, 2)
MAX_EVENT_AGE_SECONDS_RANGE = (60, 21_600)
# Lambda's own defaults: two retries, events kept for six hours.
DEFAULT_ASYNC_RETRY_ATTEMPTS = 2
DEFAULT_MAX_EVENT_AGE_SECONDS = 21_600
# The maintenance job is one paginated COUNT query: little memory, and two minutes covers
# a day of millions of records at one 1 MB page per round trip.
MAINTENANCE_MEMORY_MB = 256
MAINTENANCE_TIMEOUT_SECONDS = 120
# CloudWatch evaluates standard-resolution alarms in whole minutes, over at most one day.
ALARM_PERIOD_SECONDS_RANGE = (60, 86_400)
# Five minutes smooths single-request blips without delaying a page by much.
DEFAULT_ALARM_PERIOD_SECONDS = 300
DEFAULT_ALARM_EVALUATION_PERIODS = 1

# Production baselines; looser environments override them in build_environments.
# A single failed or throttled invocation in a period is already worth a look.
DEFAULT_LAMBDA_ERRORS = 1
DEFAULT_LAMBDA_THROTTLES = 1
# p99 at 80% of the timeout leaves room to act before invocations start timing out.
DEFAULT_LAMBDA_DURATION_P99_TIMEOUT_RATIO = 0.8
# Shares of all requests: 1% server errors, 5% client errors.
DEFAULT_API_5XX_RATE = 0.01
DEFAULT_API_4XX_RATE = 0.05
# One second at p99 is slow for a single-item read or a short page.
DEFAULT_API_LATENCY_P99_MS = 1_000
# Any throttled request or DynamoDB-side error means lost or delayed writes.
DEFAULT_DYNAMODB_THROTTLED_REQUESTS = 1
DEFAULT_DYNAMODB_SYSTEM_ERRORS = 1
# One message in a dead-letter queue is one event that needs a human.
DEFAULT_DLQ_VISIBLE_MESSAGES = 1
DEFAULT_WORKFLOW_FAILED_EXECUTIONS = 1
DEFAULT_WORKFLOW_TIMED_OUT_EXECUTIONS = 1

_RATE_PATTERN = re.compile(r"rate\((?P<value>\d+) (?P<unit>minutes?|hours?|days?)\)")
_CRON_PATTERN = re.compile(r"cron\((?P<fields>[^()]+)\)")
_CRON_FIELD_PATTERN = re.compile(r"[0-9A-Za-z*?,/#\-]+")
_EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def check_schedule_expression(field_name: str, expression: str) -> None:
    """Raise ValueError naming ``field_name`` unless EventBridge accepts ``expression``.

    rate(): a positive whole number with a singular unit for 1 and a plural unit otherwise.
    cron(): six fields, and exactly one of day-of-month and day-of-week is '?'.
    """
    rate = _RATE_PATTERN.fullmatch(expression)
    if rate is not None:
        value, unit = int(rate["value"]), rate["unit"]
        if value < 1:
            raise ValueError(f"{field_name} {expression!r}: the rate must be at least 1")
        if (value == 1) == unit.endswith("s"):
            expected = unit.rstrip("s") if value == 1 else f"{unit}s"
            raise ValueError(
                f"{field_name} {expression!r}: EventBridge needs rate({value} {expected})"
            )
        return
    cron = _CRON_PATTERN.fullmatch(expression)
    if cron is not None:
        fields = cron["fields"].split()
        if len(fields) != 6 or not all(_CRON_FIELD_PATTERN.fullmatch(part) for part in fields):
            raise ValueError(
                f"{field_name} {expression!r}: cron() takes six fields: "
                "minutes hours day-of-month month day-of-week year"
            )
        if (fields[2] == "?") == (fields[4] == "?"):
            raise ValueError(
                f"{field_name} {expression!r}: exactly one of day-of-month and day-of-week "
                "must be '?'"
            )
        return
    raise ValueError(
        f"{field_name} must be rate(<n> <unit>) or cron(<six fields>), got {expression!r}"
    )


def _require_int(field_name: str, value: int, low: int, high: int | None = None) -> None:
    in_range = low <= value and (high is None or value <= high)
    if isinstance(value, bool) or not isinstance(value, int) or not in_range:
        bounds = f"from {low} to {high}" if high is not None else f"at least {low}"
        raise ValueError(f"{field_name} must be an integer {bounds}, got {value!r}")


def _require_fraction(field_name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        raise ValueError(f"{field_name} must be a fraction above 0 and at most 1, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class AlarmThresholds:
    """When each pipeline alarm fires; counts are per period unless named a rate."""

    lambda_errors: int = DEFAULT_LAMBDA_ERRORS
    lambda_throttles: int = DEFAULT_LAMBDA_THROTTLES
    # Alarm when p99 duration exceeds this share of the function's own timeout.
    lambda_duration_p99_timeout_ratio: float = DEFAULT_LAMBDA_DURATION_P99_TIMEOUT_RATIO
    api_5xx_rate: float = DEFAULT_API_5XX_RATE
    api_4xx_rate: float = DEFAULT_API_4XX_RATE
    api_latency_p99_ms: int = DEFAULT_API_LATENCY_P99_MS
    dynamodb_throttled_requests: int = DEFAULT_DYNAMODB_THROTTLED_REQUESTS
    dynamodb_system_errors: int = DEFAULT_DYNAMODB_SYSTEM_ERRORS
    dlq_visible_messages: int = DEFAULT_DLQ_VISIBLE_MESSAGES
    workflow_failed_executions: int = DEFAULT_WORKFLOW_FAILED_EXECUTIONS
    workflow_timed_out_executions: int = DEFAULT_WORKFLOW_TIMED_OUT_EXECUTIONS
    period_seconds: int = DEFAULT_ALARM_PERIOD_SECONDS
    # Consecutive breaching periods before the alarm fires.
    evaluation_periods: int = DEFAULT_ALARM_EVALUATION_PERIODS

    def validate(self, prefix: str) -> None:
        counts = {
            "lambda_errors": self.lambda_errors,
            "lambda_throttles": self.lambda_throttles,
            "api_latency_p99_ms": self.api_latency_p99_ms,
            "dynamodb_throttled_requests": self.dynamodb_throttled_requests,
            "dynamodb_system_errors": self.dynamodb_system_errors,
            "dlq_visible_messages": self.dlq_visible_messages,
            "workflow_failed_executions": self.workflow_failed_executions,
            "workflow_timed_out_executions": self.workflow_timed_out_executions,
        }
        for name, value in counts.items():
            _require_int(f"{prefix}.{name}", value, 1)
        fractions = {
            "lambda_duration_p99_timeout_ratio": self.lambda_duration_p99_timeout_ratio,
            "api_5xx_rate": self.api_5xx_rate,
            "api_4xx_rate": self.api_4xx_rate,
        }
        for name, fraction in fractions.items():
            _require_fraction(f"{prefix}.{name}", fraction)
        low, high = ALARM_PERIOD_SECONDS_RANGE
        _require_int(f"{prefix}.period_seconds", self.period_seconds, low, high)
        if self.period_seconds % 60:
            raise ValueError(
                f"{prefix}.period_seconds must be a whole number of minutes, "
                f"got {self.period_seconds}"
            )
        _require_int(
            f"{prefix}.evaluation_periods", self.evaluation_periods, 1, high // self.period_seconds
        )


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
    # Subscribed to the alarm topic when set; the address must confirm the subscription.
    alarm_email: str | None = None
    dashboard_enabled: bool = True

    def validate(self, prefix: str) -> None:
        low, high = ASYNC_RETRY_ATTEMPTS_RANGE
        _require_int(f"{prefix}.async_retry_attempts", self.async_retry_attempts, low, high)
        low, high = MAX_EVENT_AGE_SECONDS_RANGE
        _require_int(f"{prefix}.max_event_age_seconds", self.max_event_age_seconds, low, high)
        check_schedule_expression(f"{prefix}.schedule_expression", self.schedule_expression)
        self.thresholds.validate(f"{prefix}.thresholds")
        if self.alarm_email is not None and not _EMAIL_PATTERN.fullmatch(self.alarm_email):
            raise ValueError(
                f"{prefix}.alarm_email must be an address like ops@example.com, "
                f"got {self.alarm_email!r}"
            )

"""CloudWatch metric alarms built from a list of typed specs, all notifying one SNS topic.

The spec builders below know which AWS metrics matter for each part of the pipeline and
how each alarm should read silence (``treat_missing_data``); the stack passes names and
per-environment thresholds. ``AlarmSpec`` is also what the dashboard draws.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from cdktf_cdktf_provider_aws.cloudwatch_metric_alarm import (
    CloudwatchMetricAlarm,
    CloudwatchMetricAlarmMetricQuery,
    CloudwatchMetricAlarmMetricQueryMetric,
)
from constructs import Construct

from constructs_lib.checkov_suppression import skip_check

TreatMissingData = Literal["missing", "ignore", "breaching", "notBreaching"]
ComparisonOperator = Literal[
    "GreaterThanOrEqualToThreshold",
    "GreaterThanThreshold",
    "LessThanThreshold",
    "LessThanOrEqualToThreshold",
]
TREAT_MISSING_DATA_VALUES = ("missing", "ignore", "breaching", "notBreaching")
COMPARISON_OPERATORS = (
    "GreaterThanOrEqualToThreshold",
    "GreaterThanThreshold",
    "LessThanThreshold",
    "LessThanOrEqualToThreshold",
)
STATISTICS = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")
# A metric-math alarm may reference at most ten metrics.
MAX_METRICS_PER_ALARM = 10
# Data-plane calls our functions make; DynamoDB reports its errors per operation.
DYNAMODB_OPERATIONS = (
    "GetItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "Query",
    "BatchGetItem",
    "BatchWriteItem",
)
_PERCENTILE = re.compile(r"p(100|\d{1,2}(\.\d{1,2})?)")
_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,127}")


@dataclass(frozen=True, kw_only=True)
class MetricRef:
    """One CloudWatch metric with the statistic the alarm or graph reads."""

    namespace: str
    metric_name: str
    dimensions: Mapping[str, str]
    # Sum, Average, Maximum, ... or a percentile like p99.
    statistic: str
    label: str = ""

    def __post_init__(self) -> None:
        if self.statistic not in STATISTICS and not _PERCENTILE.fullmatch(self.statistic):
            raise ValueError(
                f"{self.metric_name}: statistic must be one of {', '.join(STATISTICS)} or a "
                f"percentile like p99, got {self.statistic!r}"
            )

    @property
    def is_percentile(self) -> bool:
        return self.statistic not in STATISTICS


@dataclass(frozen=True, kw_only=True)
class AlarmWindow:
    """How long a metric must breach: ``evaluation_periods`` periods of ``period_seconds``."""

    period_seconds: int
    evaluation_periods: int


@dataclass(frozen=True, kw_only=True)
class AlarmSpec:
    """One alarm. With several metrics, ``expression`` combines them (ids m0, m1, ...)."""

    # Short kebab-case name; the alarm is called "<name_prefix>-<name>".
    name: str
    description: str
    metrics: Sequence[MetricRef]
    expression: str | None = None
    threshold: float
    comparison_operator: ComparisonOperator = "GreaterThanOrEqualToThreshold"
    # No default: every alarm states what a period without data means.
    treat_missing_data: TreatMissingData
    window: AlarmWindow

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise ValueError(f"name must be lowercase kebab-case, got {self.name!r}")
        if not 1 <= len(self.metrics) <= MAX_METRICS_PER_ALARM:
            raise ValueError(
                f"alarm {self.name}: metrics must list 1 to {MAX_METRICS_PER_ALARM} metrics, "
                f"got {len(self.metrics)}"
            )
        if len(self.metrics) > 1 and self.expression is None:
            raise ValueError(f"alarm {self.name}: expression is required for several metrics")
        if self.treat_missing_data not in TREAT_MISSING_DATA_VALUES:
            raise ValueError(
                f"alarm {self.name}: treat_missing_data must be one of "
                f"{', '.join(TREAT_MISSING_DATA_VALUES)}, got {self.treat_missing_data!r}"
            )
        if self.comparison_operator not in COMPARISON_OPERATORS:
            raise ValueError(
                f"alarm {self.name}: comparison_operator must be one of "
                f"{', '.join(COMPARISON_OPERATORS)}, got {self.comparison_operator!r}"
            )
        if self.threshold <= 0:
            raise ValueError(f"alarm {self.name}: threshold must be above 0, got {self.threshold}")
        if self.window.period_seconds < 60 or self.window.period_seconds % 60:
            raise ValueError(
                f"alarm {self.name}: window.period_seconds must be a whole number of minutes, "
                f"got {self.window.period_seconds}"
            )
        if self.window.evaluation_periods < 1:
            raise ValueError(
                f"alarm {self.name}: window.evaluation_periods must be at least 1, "
                f"got {self.window.evaluation_periods}"
            )

    @staticmethod
    def metric_id(index: int) -> str:
        return f"m{index}"


@dataclass(frozen=True, kw_only=True)
class PipelineAlarmsProps:
    # Prepended to every alarm name; the topic policy admits alarms with this prefix.
    name_prefix: str
    topic_arn: str
    specs: Sequence[AlarmSpec]
    # Existing topics (an on-call tool's, a chat integration's) every alarm also notifies.
    extra_topic_arns: Sequence[str] = ()
    # Set to keep the alarms (states, dashboard) without notifying: why nobody is paged.
    notifications_off_reason: str | None = None

    def __post_init__(self) -> None:
        if not self.specs:
            raise ValueError("specs must list at least one alarm")
        names = [spec.name for spec in self.specs]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"specs: alarm names must be unique, repeated: {duplicates}")
        if self.notifications_off_reason is not None and not self.notifications_off_reason.strip():
            raise ValueError("notifications_off_reason must say why, or be None")


class PipelineAlarms(Construct):
    """One CloudWatch alarm per spec; ALARM and OK transitions go to the topic."""

    def __init__(self, scope: Construct, construct_id: str, *, props: PipelineAlarmsProps) -> None:
        super().__init__(scope, construct_id)
        notify = props.notifications_off_reason is None
        self.alarms: dict[str, CloudwatchMetricAlarm] = {}
        for spec in props.specs:
            alarm = CloudwatchMetricAlarm(
                self,
                spec.name,
                alarm_name=f"{props.name_prefix}-{spec.name}",
                alarm_description=spec.description,
                comparison_operator=spec.comparison_operator,
                threshold=spec.threshold,
                evaluation_periods=spec.window.evaluation_periods,
                treat_missing_data=spec.treat_missing_data,
                actions_enabled=notify,
                alarm_actions=[props.topic_arn, *props.extra_topic_arns],
                ok_actions=[props.topic_arn, *props.extra_topic_arns],
                **_metric_arguments(spec),
            )
            if props.notifications_off_reason is not None:
                skip_check(alarm, "CKV_AWS_319", props.notifications_off_reason)
            self.alarms[spec.name] = alarm


def _metric_arguments(spec: AlarmSpec) -> dict[str, Any]:
    """A single metric as plain alarm arguments, several as metric-math queries."""
    period = spec.window.period_seconds
    if spec.expression is None:
        metric = spec.metrics[0]
        arguments: dict[str, Any] = {
            "namespace": metric.namespace,
            "metric_name": metric.metric_name,
            "dimensions": dict(metric.dimensions),
            "period": period,
        }
        key = "extended_statistic" if metric.is_percentile else "statistic"
        arguments[key] = metric.statistic
        return arguments
    queries = [
        CloudwatchMetricAlarmMetricQuery(
            id=AlarmSpec.metric_id(index),
            return_data=False,
            metric=CloudwatchMetricAlarmMetricQueryMetric(
                namespace=metric.namespace,
                metric_name=metric.metric_name,
                dimensions=dict(metric.dimensions),
                period=period,
                stat=metric.statistic,
            ),
        )
        for index, metric in enumerate(spec.metrics)
    ]
    queries.append(
        CloudwatchMetricAlarmMetricQuery(
            id="result", expression=spec.expression, label=spec.name, return_data=True
        )
    )
    return {"metric_query": queries}


def _sum_of(count: int) -> str:
    """Metric math adding m0..m<count-1>, a period without data counting as 0."""
    return " + ".join(f"FILL({AlarmSpec.metric_id(index)}, 0)" for index in range(count))


def function_alarm_specs(
    *,
    label: str,
    function_name: str,
    timeout_seconds: int,
    errors: int,
    throttles: int,
    duration_p99_timeout_ratio: float,
    window: AlarmWindow,
) -> list[AlarmSpec]:
    """Errors, throttles and p99 duration against the function's own timeout."""
    dimensions = {"FunctionName": function_name}

    def metric(name: str, statistic: str) -> list[MetricRef]:
        return [
            MetricRef(
                namespace="AWS/Lambda",
                metric_name=name,
                dimensions=dimensions,
                statistic=statistic,
                label=f"{label} {name}",
            )
        ]

    # Lambda publishes these only for periods with invocations: silence is not a failure.
    idle: TreatMissingData = "notBreaching"
    return [
        AlarmSpec(
            name=f"{label}-errors",
            description=f"{function_name} raised errors (includes timeouts and crashes).",
            metrics=metric("Errors", "Sum"),
            threshold=errors,
            treat_missing_data=idle,
            window=window,
        ),
        AlarmSpec(
            name=f"{label}-throttles",
            description=f"{function_name} was throttled: concurrency is exhausted.",
            metrics=metric("Throttles", "Sum"),
            threshold=throttles,
            treat_missing_data=idle,
            window=window,
        ),
        AlarmSpec(
            name=f"{label}-duration-p99",
            description=(
                f"{function_name} p99 duration is above {duration_p99_timeout_ratio:.0%} of its "
                f"{timeout_seconds} s timeout; invocations are close to timing out."
            ),
            metrics=metric("Duration", "p99"),
            threshold=round(timeout_seconds * 1000 * duration_p99_timeout_ratio),
            treat_missing_data=idle,
            window=window,
        ),
    ]


def api_alarm_specs(
    *,
    label: str,
    dimensions: Mapping[str, str],
    server_error_metric: str,
    client_error_metric: str,
    server_error_rate: float,
    client_error_rate: float,
    latency_p99_ms: int,
    window: AlarmWindow,
) -> list[AlarmSpec]:
    """5XX and 4XX as shares of requests, and p99 latency, for one API stage.

    REST APIs name their metrics 5XXError/4XXError (dimensions ApiName, Stage); HTTP APIs
    5xx/4xx (dimensions ApiId, Stage). Both count requests in Count.
    """

    def metric(name: str, statistic: str) -> MetricRef:
        return MetricRef(
            namespace="AWS/ApiGateway",
            metric_name=name,
            dimensions=dimensions,
            statistic=statistic,
            label=f"{label} {name}",
        )

    def rate(kind: str, errors_metric: str, threshold: float) -> AlarmSpec:
        return AlarmSpec(
            name=f"{label}-{kind}-rate",
            description=f"{label}: more than {threshold:.0%} of requests ended in {kind.upper()}.",
            metrics=[metric(errors_metric, "Sum"), metric("Count", "Sum")],
            # Without requests there is no Count datapoint, so no ratio and no alarm.
            expression="FILL(m0, 0) / m1",
            threshold=threshold,
            treat_missing_data="notBreaching",
            window=window,
        )

    return [
        rate("5xx", server_error_metric, server_error_rate),
        rate("4xx", client_error_metric, client_error_rate),
        AlarmSpec(
            name=f"{label}-latency-p99",
            description=f"{label}: p99 latency is above {latency_p99_ms} ms.",
            metrics=[metric("Latency", "p99")],
            threshold=latency_p99_ms,
            # No requests, no latency to judge.
            treat_missing_data="notBreaching",
            window=window,
        ),
    ]


def table_alarm_specs(
    *,
    label: str,
    table_name: str,
    throttled_requests: int,
    system_errors: int,
    window: AlarmWindow,
    operations: Sequence[str] = DYNAMODB_OPERATIONS,
) -> list[AlarmSpec]:
    """Throttled requests and DynamoDB-side errors, summed over the operations we call."""

    def per_operation(name: str) -> list[MetricRef]:
        return [
            MetricRef(
                namespace="AWS/DynamoDB",
                metric_name=name,
                dimensions={"TableName": table_name, "Operation": operation},
                statistic="Sum",
                label=f"{operation} {name}",
            )
            for operation in operations
        ]

    # DynamoDB publishes these only when they happen: silence means none.
    return [
        AlarmSpec(
            name=f"{label}-throttled-requests",
            description=f"{table_name} throttled requests: capacity or partition limits hit.",
            metrics=per_operation("ThrottledRequests"),
            expression=_sum_of(len(operations)),
            threshold=throttled_requests,
            treat_missing_data="notBreaching",
            window=window,
        ),
        AlarmSpec(
            name=f"{label}-system-errors",
            description=f"{table_name} returned HTTP 500s (DynamoDB-side errors).",
            metrics=per_operation("SystemErrors"),
            expression=_sum_of(len(operations)),
            threshold=system_errors,
            treat_missing_data="notBreaching",
            window=window,
        ),
    ]


def queue_alarm_specs(
    *, label: str, queue_name: str, visible_messages: int, window: AlarmWindow
) -> list[AlarmSpec]:
    """Messages waiting in a dead-letter queue: each one is an event that needs a human."""
    return [
        AlarmSpec(
            name=f"{label}-visible-messages",
            description=f"{queue_name} holds failed events; inspect and redrive them.",
            metrics=[
                MetricRef(
                    namespace="AWS/SQS",
                    metric_name="ApproximateNumberOfMessagesVisible",
                    dimensions={"QueueName": queue_name},
                    statistic="Maximum",
                    label=f"{label} visible messages",
                )
            ],
            threshold=visible_messages,
            # SQS may stop publishing for a queue nobody touches for hours; keeping the last
            # state means an undrained DLQ never turns OK just because the metric went quiet.
            treat_missing_data="ignore",
            window=window,
        )
    ]


def state_machine_alarm_specs(
    *,
    label: str,
    state_machine_arn: str,
    failed_executions: int,
    timed_out_executions: int,
    window: AlarmWindow,
) -> list[AlarmSpec]:
    """Failed and timed-out Step Functions executions."""

    def metric(name: str) -> list[MetricRef]:
        return [
            MetricRef(
                namespace="AWS/States",
                metric_name=name,
                dimensions={"StateMachineArn": state_machine_arn},
                statistic="Sum",
                label=f"{label} {name}",
            )
        ]

    # Published only for periods with executions: silence is not a failure.
    return [
        AlarmSpec(
            name=f"{label}-executions-failed",
            description=f"{label}: executions failed.",
            metrics=metric("ExecutionsFailed"),
            threshold=failed_executions,
            treat_missing_data="notBreaching",
            window=window,
        ),
        AlarmSpec(
            name=f"{label}-executions-timed-out",
            description=f"{label}: executions timed out.",
            metrics=metric("ExecutionsTimedOut"),
            threshold=timed_out_executions,
            treat_missing_data="notBreaching",
            window=window,
        ),
    ]


def schedule_alarm_specs(*, label: str, rule_name: str, window: AlarmWindow) -> list[AlarmSpec]:
    """EventBridge could not deliver the scheduled event to its target."""
    return [
        AlarmSpec(
            name=f"{label}-failed-invocations",
            description=f"{rule_name} could not invoke its target; see the schedule DLQ.",
            metrics=[
                MetricRef(
                    namespace="AWS/Events",
                    metric_name="FailedInvocations",
                    dimensions={"RuleName": rule_name},
                    statistic="Sum",
                    label=f"{label} failed invocations",
                )
            ],
            threshold=1,
            # Published only when a delivery fails.
            treat_missing_data="notBreaching",
            window=window,
        )
    ]


def rule_target_alarm_specs(
    *, label: str, rule_name: str, dead_letter_queue_name: str, window: AlarmWindow
) -> list[AlarmSpec]:
    """EventBridge could not deliver a matched event to the rule's target (after retries)."""
    return [
        AlarmSpec(
            name=f"{label}-failed-invocations",
            description=(
                f"{rule_name} could not start its target; the events wait in "
                f"{dead_letter_queue_name}."
            ),
            metrics=[
                MetricRef(
                    namespace="AWS/Events",
                    metric_name="FailedInvocations",
                    dimensions={"RuleName": rule_name},
                    statistic="Sum",
                    label=f"{label} failed invocations",
                )
            ],
            threshold=1,
            # Published only when a delivery fails.
            treat_missing_data="notBreaching",
            window=window,
        )
    ]

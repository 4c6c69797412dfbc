"""Operations: the alarm topic, the maintenance schedule, and alarms and a dashboard over it all.

Created last: it collects every other domain's functions, alarm groups and traffic graphs
(``Monitored``) and adds its own (the maintenance function, the schedule and its DLQ).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from cdktf_cdktf_provider_aws.cloudwatch_metric_alarm import CloudwatchMetricAlarm
from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocumentStatement,
)
from constructs import Construct
from pipeline_common.environment import MAINTENANCE_ENVIRONMENT, RECORD_WRITE_SHARDS, TABLE_NAME

from constructs_lib.base.alarm_topic import AlarmTopic, AlarmTopicProps
from constructs_lib.base.async_invocation import AsyncInvocation, AsyncInvocationProps
from constructs_lib.base.python_function import PythonFunction
from constructs_lib.patterns.alarms import (
    MetricRef,
    PipelineAlarms,
    PipelineAlarmsProps,
    queue_alarm_specs,
    schedule_alarm_specs,
)
from constructs_lib.patterns.dashboard import (
    DashboardSection,
    Graph,
    PipelineDashboard,
    PipelineDashboardProps,
    graph_for_alarm,
)
from constructs_lib.patterns.gradual_rollout import (
    GradualRollout,
    GradualRolloutProps,
    RolloutTarget,
)
from constructs_lib.patterns.schedule import Schedule, ScheduleProps
from constructs_lib.pipeline.foundation import Foundation
from constructs_lib.pipeline.ingest import FAILURE_DESTINATION_REASON
from constructs_lib.pipeline.monitoring import (
    AlarmGroup,
    AlarmPolicy,
    Monitored,
    add_outputs,
    function_alarm_group,
    invocations_metric,
)
from constructs_lib.specs import (
    ALARM_EMAIL_VARIABLE,
    ALARM_HTTPS_VARIABLE,
    ALARM_TOPIC_VARIABLE,
    AlarmSubscribers,
    AlarmThresholds,
    FunctionSettings,
)

SILENT_ALARMS_REASON = (
    "This environment's profile keeps alarms silent (alarm_actions_enabled is off); their "
    "states still show in the CloudWatch console."
)


def no_subscriber_message(name_prefix: str) -> str:
    """One line naming the variables that give the alarms of ``name_prefix`` a subscriber."""
    return (
        f"{name_prefix}: alarm actions are on but nobody is subscribed; set "
        f"{ALARM_EMAIL_VARIABLE} (or {ALARM_HTTPS_VARIABLE} or {ALARM_TOPIC_VARIABLE}) "
        "and synthesize again"
    )


@dataclass(frozen=True, kw_only=True)
class OperationsProps:
    foundation: Foundation
    # The other domains, in the order the dashboard shows them.
    monitored: Sequence[Monitored]
    maintenance: FunctionSettings
    schedule_expression: str
    # False deploys the rule DISABLED.
    schedule_enabled: bool
    async_retry_attempts: int
    max_event_age_seconds: int
    thresholds: AlarmThresholds
    # False keeps the alarms (states, dashboard) but notifies nobody.
    alarm_actions_enabled: bool
    alarm_subscribers: AlarmSubscribers = field(default_factory=AlarmSubscribers)
    # A plan fails while alarm actions are on and nobody is subscribed (real deployments).
    require_alarm_subscriber: bool = False
    dashboard_enabled: bool = True


class Operations(Construct):
    """Alarm topic, maintenance function and schedule, alarms and the dashboard."""

    def __init__(self, scope: Construct, construct_id: str, *, props: OperationsProps) -> None:
        super().__init__(scope, construct_id)
        foundation = props.foundation
        base = foundation.props
        prefix = base.name_prefix
        self.metrics_namespace = base.metrics_namespace
        self.alarm_topic = AlarmTopic(
            self,
            "alarm-topic",
            props=AlarmTopicProps(
                topic_name=f"{prefix}-alarms",
                kms_key_arn=foundation.key.key.arn,
                region=base.region,
                alarm_name_prefix=f"{prefix}-",
                email_subscribers=props.alarm_subscribers.emails,
                https_subscribers=props.alarm_subscribers.https_urls,
                refuse_without_subscribers=no_subscriber_message(prefix)
                if props.require_alarm_subscriber
                and props.alarm_actions_enabled
                and not props.alarm_subscribers.any
                else None,
            ),
        )
        table = foundation.records.table
        self.maintenance = foundation.function(
            self,
            "maintenance",
            description="Scheduled: counts the records written the day before",
            sizing=props.maintenance,
            environment=MAINTENANCE_ENVIRONMENT.render(
                TABLE_NAME.set(table.name),
                RECORD_WRITE_SHARDS.set(base.record_write_shards),
                *foundation.request_log_environment(),
            ),
            statements=[
                DataAwsIamPolicyDocumentStatement(
                    sid="CountRecords", actions=["dynamodb:Query"], resources=[table.arn]
                ),
                # Each run writes its row to the request log (seed 002).
                *foundation.request_log_statements(),
                *foundation.failure_destination_statements(),
            ],
            no_dead_letter_reason=FAILURE_DESTINATION_REASON,
        )
        self.maintenance_failure_handling = AsyncInvocation(
            self,
            "maintenance-async",
            props=AsyncInvocationProps(
                function=self.maintenance,
                maximum_retry_attempts=props.async_retry_attempts,
                maximum_event_age_seconds=props.max_event_age_seconds,
                on_failure_destination_arn=foundation.failure_queue.queue.arn,
            ),
        )
        self.schedule = Schedule(
            self,
            "schedule",
            props=ScheduleProps(
                rule_name=f"{prefix}-maintenance",
                description="Runs the maintenance function (daily record count)",
                schedule_expression=props.schedule_expression,
                enabled=props.schedule_enabled,
                function=self.maintenance,
                kms_key_arn=foundation.key.key.arn,
                dead_letter_queue_name=f"{prefix}-schedule-dlq",
            ),
        )
        policy = AlarmPolicy(thresholds=props.thresholds)
        domains: list[Monitored] = [*props.monitored, self]
        groups = [group for domain in domains for group in domain.alarm_groups(policy)]
        self.alarms = PipelineAlarms(
            self,
            "alarms",
            props=PipelineAlarmsProps(
                name_prefix=prefix,
                topic_arn=self.alarm_topic.topic.arn,
                extra_topic_arns=props.alarm_subscribers.topic_arns,
                specs=[spec for group in groups for spec in group.specs],
                notifications_off_reason=None
                if props.alarm_actions_enabled
                else SILENT_ALARMS_REASON,
            ),
        )
        functions = [function for domain in domains for function in domain.functions]
        self.rollout: GradualRollout | None = None
        rollout = base.rollout
        if rollout.gradual:
            self.rollout = GradualRollout(
                self,
                "rollout",
                props=GradualRolloutProps(
                    application_name=f"{prefix}-functions",
                    deployment_config_name=rollout.deployment_config,
                    targets=[
                        RolloutTarget(function=function, alarms=self._error_alarms(function))
                        for function in functions
                    ],
                ),
            )
        self.dashboard: PipelineDashboard | None = None
        if props.dashboard_enabled:
            traffic = [
                Graph(
                    title="Function invocations",
                    metrics=[invocations_metric(function) for function in functions],
                ),
                *(graph for domain in domains for graph in domain.traffic_graphs()),
            ]
            self.dashboard = PipelineDashboard(
                self,
                "dashboard",
                props=PipelineDashboardProps(
                    dashboard_name=f"{prefix}-pipeline",
                    region=base.region,
                    header_markdown=(
                        f"# {prefix} event pipeline\n"
                        "S3 ingest → processor → DynamoDB, the records API and the workflow. "
                        f"Alarms notify SNS topic `{prefix}-alarms`; failed events wait in "
                        f"SQS `{prefix}-dlq`."
                    ),
                    alarm_arns=[alarm.arn for alarm in self.alarms.alarms.values()],
                    sections=[
                        DashboardSection(title="Traffic", graphs=traffic),
                        *(
                            DashboardSection(
                                title=group.title,
                                graphs=[graph_for_alarm(spec) for spec in group.specs],
                            )
                            for group in groups
                        ),
                    ],
                ),
            )
        outputs: dict[str, object] = {
            "schedule_dlq_queue_url": self.schedule.dead_letter_queue.queue.url,
            "schedule_rule_arn": self.schedule.rule.arn,
            "maintenance_function_name": self.maintenance.function.function_name,
            "alarm_topic_arn": self.alarm_topic.topic.arn,
        }
        if self.dashboard is not None:
            outputs["dashboard_name"] = self.dashboard.dashboard.dashboard_name
        if self.rollout is not None:
            outputs["codedeploy_application_name"] = self.rollout.application.name
        self.outputs = add_outputs(self, outputs)

    def _error_alarms(self, function: PythonFunction) -> list[CloudwatchMetricAlarm]:
        """The function's error alarm (function_alarm_group's), which rolls a rollout back."""
        alarm = self.alarms.alarms.get(f"{function.node.id}-errors")
        return [alarm] if alarm is not None else []

    @property
    def functions(self) -> Sequence[PythonFunction]:
        return (self.maintenance,)

    def alarm_groups(self, policy: AlarmPolicy) -> list[AlarmGroup]:
        window = policy.window
        return [
            function_alarm_group(self.maintenance, policy),
            AlarmGroup(
                title="Schedule",
                specs=[
                    *queue_alarm_specs(
                        label="schedule-dlq",
                        queue_name=self.schedule.dead_letter_queue.queue.name,
                        visible_messages=policy.thresholds.dlq_visible_messages,
                        window=window,
                    ),
                    *schedule_alarm_specs(
                        label="schedule", rule_name=self.schedule.rule.name, window=window
                    ),
                ],
            ),
        ]

    def traffic_graphs(self) -> list[Graph]:
        return [
            Graph(
                title="Records per day (maintenance)",
                metrics=[
                    MetricRef(
                        namespace=self.metrics_namespace,
                        metric_name="RecordsPerDay",
                        dimensions={"service": "maintenance"},
                        statistic="Maximum",
                        label="records",
                    )
                ],
                period_seconds=86_400,
            )
        ]

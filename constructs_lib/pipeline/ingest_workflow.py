"""The ingest workflow: validate -> choice -> process -> notify, as a Step Functions state machine.

It owns the validate and notify functions, the state machine and what starts it: an
EventBridge rule matching the ingest bucket's "Object Created" events under the ingest
prefix, whose target turns each event into validate's input (``pipeline_common.object_events``)
and starts one execution. It runs the ingest domain's processor as its process step and
publishes to the ingest domain's notifications topic (see ``workflow_definition.py``).
Deployed only where the environment's ingest path is "workflow".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
)
from constructs import Construct
from pipeline_common.environment import (
    MAX_OBJECT_BYTES,
    NOTIFY_ENVIRONMENT,
    TOPIC_ARN,
    VALIDATE_ENVIRONMENT,
)
from pipeline_common.object_events import (
    OBJECT_CREATED_INPUT_PATHS,
    object_created_input_template,
    object_created_pattern,
)

from constructs_lib.base.python_function import PythonFunction
from constructs_lib.patterns.alarms import (
    MetricRef,
    queue_alarm_specs,
    rule_target_alarm_specs,
    state_machine_alarm_specs,
)
from constructs_lib.patterns.dashboard import Graph
from constructs_lib.patterns.state_machine import LoggedStateMachine, StateMachineProps
from constructs_lib.patterns.workflow_trigger import WorkflowTrigger, WorkflowTriggerProps
from constructs_lib.pipeline.foundation import Foundation
from constructs_lib.pipeline.ingest import Ingest
from constructs_lib.pipeline.monitoring import (
    AlarmGroup,
    AlarmPolicy,
    add_outputs,
    function_alarm_group,
)
from constructs_lib.pipeline.workflow_definition import RetryPolicy, build_definition
from constructs_lib.specs import FunctionSettings

# Step Functions invokes these synchronously and retries them; nothing is queued or dropped.
WORKFLOW_TASK_NO_DLQ_REASON = (
    "Invoked synchronously by Step Functions, which retries and then fails the execution "
    "into a named Fail state; no event is ever queued or dropped."
)


@dataclass(frozen=True, kw_only=True)
class IngestWorkflowProps:
    foundation: Foundation
    # The bucket whose new objects start executions, the processor the process step invokes
    # with {"object": {...}}, and the topic notify publishes to.
    ingest: Ingest
    validate: FunctionSettings
    notify: FunctionSettings
    retry: RetryPolicy
    # validate rejects larger objects.
    max_object_bytes: int

    def __post_init__(self) -> None:
        if self.ingest.path != "workflow":
            raise ValueError(
                f"ingest.path must be 'workflow' for the workflow to be deployed, got "
                f"{self.ingest.path!r}: the bucket would not send it any event"
            )


class IngestWorkflow(Construct):
    """Notifications topic, validate and notify functions, and the state machine."""

    def __init__(self, scope: Construct, construct_id: str, *, props: IngestWorkflowProps) -> None:
        super().__init__(scope, construct_id)
        foundation = props.foundation
        base = foundation.props
        prefix = base.name_prefix
        ingest = props.ingest
        topic_arn = ingest.notifications.topic.arn
        self.validate_function = foundation.function(
            self,
            "validate",
            description="Checks an ingested object before the workflow records it",
            sizing=props.validate,
            environment=VALIDATE_ENVIRONMENT.render(MAX_OBJECT_BYTES.set(props.max_object_bytes)),
            statements=[],
            no_dead_letter_reason=WORKFLOW_TASK_NO_DLQ_REASON,
        )
        self.notify_function = foundation.function(
            self,
            "notify",
            description="Publishes the workflow's outcome for one object to SNS",
            sizing=props.notify,
            environment=NOTIFY_ENVIRONMENT.render(TOPIC_ARN.set(topic_arn)),
            statements=[
                DataAwsIamPolicyDocumentStatement(
                    sid="PublishNotifications", actions=["sns:Publish"], resources=[topic_arn]
                ),
                # The topic is SSE-KMS: publishing needs a data key from the stack key.
                DataAwsIamPolicyDocumentStatement(
                    sid="EncryptNotifications",
                    actions=["kms:GenerateDataKey*", "kms:Decrypt"],
                    resources=[foundation.key.key.arn],
                    # Only for this topic's messages (SNS names the topic in the context).
                    condition=[
                        DataAwsIamPolicyDocumentStatementCondition(
                            test="StringEquals",
                            variable="kms:EncryptionContext:aws:sns:topicArn",
                            values=[topic_arn],
                        )
                    ],
                ),
            ],
            no_dead_letter_reason=WORKFLOW_TASK_NO_DLQ_REASON,
        )
        self.state_machine = LoggedStateMachine(
            self,
            "state-machine",
            props=StateMachineProps(
                state_machine_name=f"{prefix}-ingest-workflow",
                definition=build_definition(
                    validate_function_arn=self.validate_function.alias_arn,
                    process_function_arn=ingest.processor.alias_arn,
                    notify_function_arn=self.notify_function.alias_arn,
                    retry=props.retry,
                    failure_queue_url=foundation.failure_queue.queue.url,
                ),
                failure_queue=foundation.failure_queue,
                invoked_functions=(self.validate_function, ingest.processor, self.notify_function),
                region=base.region,
                kms_key_arn=foundation.key.key.arn,
                log_retention_days=base.log_retention_days,
            ),
        )
        machine = self.state_machine.state_machine
        self.trigger = WorkflowTrigger(
            self,
            "trigger",
            props=WorkflowTriggerProps(
                # Not the state machine's name: each derives its role's name from its own.
                rule_name=f"{prefix}-ingest-start",
                description=(
                    f"Starts the ingest workflow for each object created under "
                    f"{ingest.object_prefix} in {ingest.bucket_name}"
                ),
                event_pattern=object_created_pattern(
                    bucket_name=ingest.bucket_name, key_prefix=ingest.object_prefix
                ),
                state_machine=machine,
                kms_key_arn=foundation.key.key.arn,
                dead_letter_queue_name=f"{prefix}-workflow-trigger-dlq",
                input_paths=OBJECT_CREATED_INPUT_PATHS,
                input_template=object_created_input_template(),
            ),
        )
        self.outputs = add_outputs(
            self,
            {
                "validate_function_name": self.validate_function.function.function_name,
                "notify_function_name": self.notify_function.function.function_name,
                "state_machine_arn": machine.arn,
                "state_machine_role_arn": self.state_machine.role.arn,
                "state_machine_log_group_name": self.state_machine.log_group.name,
                "workflow_trigger_rule_arn": self.trigger.rule.arn,
                "workflow_trigger_dlq_queue_url": self.trigger.dead_letter_queue.queue.url,
            },
        )

    @property
    def functions(self) -> Sequence[PythonFunction]:
        return (self.validate_function, self.notify_function)

    def alarm_groups(self, policy: AlarmPolicy) -> list[AlarmGroup]:
        groups = [function_alarm_group(function, policy) for function in self.functions]
        thresholds = policy.thresholds
        groups.append(
            AlarmGroup(
                title="Workflow",
                specs=state_machine_alarm_specs(
                    label="workflow",
                    state_machine_arn=self.state_machine.state_machine.arn,
                    failed_executions=thresholds.workflow_failed_executions,
                    timed_out_executions=thresholds.workflow_timed_out_executions,
                    window=policy.window,
                ),
            )
        )
        groups.append(
            AlarmGroup(
                title="Workflow trigger",
                specs=[
                    *rule_target_alarm_specs(
                        label="workflow-trigger",
                        rule_name=self.trigger.rule.name,
                        dead_letter_queue_name=self.trigger.dead_letter_queue.queue.name,
                        window=policy.window,
                    ),
                    *queue_alarm_specs(
                        label="workflow-trigger-dlq",
                        queue_name=self.trigger.dead_letter_queue.queue.name,
                        visible_messages=thresholds.dlq_visible_messages,
                        window=policy.window,
                    ),
                ],
            )
        )
        return groups

    def traffic_graphs(self) -> list[Graph]:
        machine = self.state_machine.state_machine
        return [
            Graph(
                title="Workflow executions",
                metrics=[
                    MetricRef(
                        namespace="AWS/States",
                        metric_name=f"Executions{outcome}",
                        dimensions={"StateMachineArn": machine.arn},
                        statistic="Sum",
                        label=outcome.lower(),
                    )
                    for outcome in ("Started", "Succeeded", "Failed")
                ],
            )
        ]

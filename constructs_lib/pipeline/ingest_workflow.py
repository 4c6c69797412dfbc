"""The ingest workflow: validate -> choice -> process -> notify, as a Step Functions state machine.

It owns the validate and notify functions and the notifications topic, and runs the ingest
domain's processor as its process step (see ``workflow_definition.py`` for the states).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocumentStatement,
)
from constructs import Construct
from pipeline_common.environment import (
    MAX_OBJECT_BYTES,
    NOTIFY_ENVIRONMENT,
    TOPIC_ARN,
    VALIDATE_ENVIRONMENT,
)

from constructs_lib.base.notification_topic import NotificationTopic, NotificationTopicProps
from constructs_lib.base.python_function import PythonFunction
from constructs_lib.patterns.alarms import MetricRef, state_machine_alarm_specs
from constructs_lib.patterns.dashboard import Graph
from constructs_lib.patterns.private_network import InterfaceEndpointAccess
from constructs_lib.patterns.state_machine import LoggedStateMachine, StateMachineProps
from constructs_lib.pipeline.foundation import Foundation
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
    # The process step: the ingest domain's processor, invoked with {"object": {...}}.
    processor: PythonFunction
    validate: FunctionSettings
    notify: FunctionSettings
    retry: RetryPolicy
    # validate rejects larger objects.
    max_object_bytes: int
    # Why the state machine itself is left out (its role, log group and functions stay).
    skip_state_machine_reason: str | None = None


class IngestWorkflow(Construct):
    """Notifications topic, validate and notify functions, and the state machine."""

    def __init__(self, scope: Construct, construct_id: str, *, props: IngestWorkflowProps) -> None:
        super().__init__(scope, construct_id)
        foundation = props.foundation
        base = foundation.props
        prefix = base.name_prefix
        self.notifications = NotificationTopic(
            self,
            "notifications",
            props=NotificationTopicProps(
                topic_name=f"{prefix}-notifications", kms_key_arn=foundation.key.key.arn
            ),
        )
        topic_arn = self.notifications.topic.arn
        if foundation.network is not None:
            # SNS has no gateway endpoint; without one, notify could not leave the VPC.
            foundation.network.add_interface_endpoint(
                InterfaceEndpointAccess(
                    service="sns", actions=["sns:Publish"], resources=[topic_arn]
                )
            )
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
                    validate_function_arn=self.validate_function.function.arn,
                    process_function_arn=props.processor.function.arn,
                    notify_function_arn=self.notify_function.function.arn,
                    retry=props.retry,
                ),
                invoked_functions=(self.validate_function, props.processor, self.notify_function),
                region=base.region,
                kms_key_arn=foundation.key.key.arn,
                log_retention_days=base.log_retention_days,
                skip_state_machine_reason=props.skip_state_machine_reason,
            ),
        )
        outputs: dict[str, object] = {
            "validate_function_name": self.validate_function.function.function_name,
            "notify_function_name": self.notify_function.function.function_name,
            "notifications_topic_arn": topic_arn,
            "state_machine_role_arn": self.state_machine.role.arn,
            "state_machine_log_group_name": self.state_machine.log_group.name,
        }
        machine = self.state_machine.state_machine
        if machine is not None:
            outputs["state_machine_arn"] = machine.arn
        else:
            outputs["state_machine_skipped_reason"] = props.skip_state_machine_reason
        self.outputs = add_outputs(self, outputs)

    @property
    def functions(self) -> Sequence[PythonFunction]:
        return (self.validate_function, self.notify_function)

    def alarm_groups(self, policy: AlarmPolicy) -> list[AlarmGroup]:
        groups = [function_alarm_group(function, policy) for function in self.functions]
        machine = self.state_machine.state_machine
        if machine is not None:
            thresholds = policy.thresholds
            specs = state_machine_alarm_specs(
                label="workflow",
                state_machine_arn=machine.arn,
                failed_executions=thresholds.workflow_failed_executions,
                timed_out_executions=thresholds.workflow_timed_out_executions,
                window=policy.window,
            )
            groups.append(AlarmGroup(title="Workflow", specs=specs))
        return groups

    def traffic_graphs(self) -> list[Graph]:
        machine = self.state_machine.state_machine
        if machine is None:
            return []
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

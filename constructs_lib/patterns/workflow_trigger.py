"""Start a state machine for each event an EventBridge rule matches, with a DLQ on the target.

EventBridge assumes a role that may start exactly this state machine (trusted only for this
rule in this account), turns the event into the workflow's input with an InputTransformer,
retries failed starts (throttling) with backoff, and dead-letters what it still cannot start
to an encrypted, TLS-only queue.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from cdktf_cdktf_provider_aws.cloudwatch_event_rule import CloudwatchEventRule
from cdktf_cdktf_provider_aws.cloudwatch_event_target import (
    CloudwatchEventTarget,
    CloudwatchEventTargetDeadLetterConfig,
    CloudwatchEventTargetInputTransformer,
    CloudwatchEventTargetRetryPolicy,
)
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
)
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.s3_bucket_notification import S3BucketNotification
from cdktf_cdktf_provider_aws.sfn_state_machine import SfnStateMachine
from constructs import Construct

from constructs_lib.aws_limits import (
    EVENTBRIDGE_TARGET_EVENT_AGE_SECONDS_RANGE,
    EVENTBRIDGE_TARGET_RETRY_ATTEMPTS_RANGE,
)
from constructs_lib.base.dead_letter_queue import DeadLetterQueue, DeadLetterQueueProps, QueueSender
from constructs_lib.base.policy_statements import service_assume_role
from constructs_lib.base.secure_bucket import SecureBucket
from constructs_lib.patterns.schedule import EVENTBRIDGE_PRINCIPAL

# EventBridge's own maxima: a throttled burst of starts is retried for a day, not dropped.
DEFAULT_TARGET_RETRY_ATTEMPTS = EVENTBRIDGE_TARGET_RETRY_ATTEMPTS_RANGE[1]
DEFAULT_TARGET_EVENT_AGE_SECONDS = EVENTBRIDGE_TARGET_EVENT_AGE_SECONDS_RANGE[1]
_RULE_NAME_PATTERN = re.compile(r"[.\-_A-Za-z0-9]{1,64}")
_INPUT_PATH_NAME = re.compile(r"[A-Za-z0-9_]{1,100}")


class S3EventBridgeDelivery(Construct):
    """The bucket's notification configuration: every event goes to EventBridge's default bus."""

    def __init__(self, scope: Construct, construct_id: str, *, bucket: SecureBucket) -> None:
        super().__init__(scope, construct_id)
        self.notification = S3BucketNotification(
            self, "notification", bucket=bucket.bucket.id, eventbridge=True
        )


@dataclass(frozen=True, kw_only=True)
class WorkflowTriggerProps:
    rule_name: str
    description: str
    # The EventBridge event pattern, as plain data.
    event_pattern: Mapping[str, object]
    state_machine: SfnStateMachine
    # Encrypts the state machine's data (starting it needs a data key) and the target's DLQ.
    kms_key_arn: str
    dead_letter_queue_name: str
    # InputTransformer: placeholder name -> JSONPath in the event, and the template using them.
    input_paths: Mapping[str, str]
    input_template: str
    maximum_retry_attempts: int = DEFAULT_TARGET_RETRY_ATTEMPTS
    maximum_event_age_seconds: int = DEFAULT_TARGET_EVENT_AGE_SECONDS

    def __post_init__(self) -> None:
        if not _RULE_NAME_PATTERN.fullmatch(self.rule_name):
            raise ValueError(
                "rule_name must be 1-64 letters, digits, dots, hyphens or underscores, "
                f"got {self.rule_name!r}"
            )
        if not self.event_pattern:
            raise ValueError("event_pattern must not be empty: it would match every event")
        if not self.input_paths:
            raise ValueError("input_paths must name at least one field")
        for name, path in self.input_paths.items():
            if not _INPUT_PATH_NAME.fullmatch(name) or not path.startswith("$."):
                raise ValueError(
                    f"input_paths[{name!r}] must map a name of letters, digits or '_' to a "
                    f"JSONPath starting with '$.', got {path!r}"
                )
            if f"<{name}>" not in self.input_template:
                raise ValueError(f"input_template never uses <{name}> from input_paths")
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


class WorkflowTrigger(Construct):
    """Rule, target with input transformer and retries, its scoped role and its DLQ."""

    def __init__(self, scope: Construct, construct_id: str, *, props: WorkflowTriggerProps) -> None:
        super().__init__(scope, construct_id)
        account_id = DataAwsCallerIdentity(self, "caller").account_id
        machine_arn = props.state_machine.arn
        self.rule = CloudwatchEventRule(
            self,
            "rule",
            name=props.rule_name,
            description=props.description,
            event_pattern=json.dumps(props.event_pattern, sort_keys=True),
        )
        self.dead_letter_queue = DeadLetterQueue(
            self,
            "dlq",
            props=DeadLetterQueueProps(
                queue_name=props.dead_letter_queue_name,
                kms_key_arn=props.kms_key_arn,
                senders=[
                    QueueSender(
                        sid="AllowWorkflowTriggerDeadLetters",
                        principal_type="Service",
                        principal=EVENTBRIDGE_PRINCIPAL,
                        source_arn=self.rule.arn,
                    )
                ],
            ),
        )
        self.trust_document = DataAwsIamPolicyDocument(
            self,
            "trust",
            statement=[
                # Only this rule, in this account, may start executions as this role.
                service_assume_role(
                    EVENTBRIDGE_PRINCIPAL,
                    [
                        DataAwsIamPolicyDocumentStatementCondition(
                            test="ArnEquals", variable="aws:SourceArn", values=[self.rule.arn]
                        ),
                        DataAwsIamPolicyDocumentStatementCondition(
                            test="StringEquals", variable="aws:SourceAccount", values=[account_id]
                        ),
                    ],
                )
            ],
        )
        self.role = IamRole(
            self,
            "role",
            name=f"{props.rule_name}-events-role",
            assume_role_policy=self.trust_document.json,
        )
        self.policy_document = DataAwsIamPolicyDocument(
            self,
            "permissions",
            statement=[
                DataAwsIamPolicyDocumentStatement(
                    sid="StartWorkflow", actions=["states:StartExecution"], resources=[machine_arn]
                ),
                # The state machine encrypts its input with the customer-managed key.
                DataAwsIamPolicyDocumentStatement(
                    sid="EncryptWorkflowInput",
                    actions=["kms:GenerateDataKey"],
                    resources=[props.kms_key_arn],
                    condition=[
                        DataAwsIamPolicyDocumentStatementCondition(
                            test="StringEquals",
                            variable="kms:EncryptionContext:aws:states:stateMachineArn",
                            values=[machine_arn],
                        )
                    ],
                ),
            ],
        )
        self.role_policy = IamRolePolicy(
            self, "policy", role=self.role.id, policy=self.policy_document.json
        )
        self.target = CloudwatchEventTarget(
            self,
            "target",
            rule=self.rule.name,
            target_id="workflow",
            arn=machine_arn,
            role_arn=self.role.arn,
            input_transformer=CloudwatchEventTargetInputTransformer(
                input_paths=dict(props.input_paths), input_template=props.input_template
            ),
            retry_policy=CloudwatchEventTargetRetryPolicy(
                maximum_retry_attempts=props.maximum_retry_attempts,
                maximum_event_age_in_seconds=props.maximum_event_age_seconds,
            ),
            dead_letter_config=CloudwatchEventTargetDeadLetterConfig(
                arn=self.dead_letter_queue.queue.arn
            ),
            # The first event must not race the role's permissions.
            depends_on=[self.role_policy],
        )

"""A Step Functions state machine with its encrypted log group and least-privilege role.

The state machine logs every event (level ALL, with execution data by default) to an
encrypted log group with retention, traces with X-Ray, encrypts its data with the
customer-managed key, and runs as a role that may invoke exactly the functions it is given
plus the log-delivery and tracing calls it needs. What it does is the caller's definition
(plain States Language data, such as ``pipeline/workflow_definition.py`` builds).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
)
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.sfn_state_machine import (
    SfnStateMachine,
    SfnStateMachineEncryptionConfiguration,
    SfnStateMachineLoggingConfiguration,
    SfnStateMachineTracingConfiguration,
)
from constructs import Construct

from constructs_lib.base.dead_letter_queue import DeadLetterQueue
from constructs_lib.base.log_groups import encrypted_log_group
from constructs_lib.base.policy_statements import service_assume_role
from constructs_lib.base.python_function import PythonFunction

# Exactly-once steps and a year of visible history; EXPRESS would drop both.
STATE_MACHINE_TYPE = "STANDARD"
# Step Functions' default; reusing a data key for 5 minutes keeps KMS calls and cost low.
KMS_DATA_KEY_REUSE_SECONDS = 300
LogLevel = Literal["ALL", "ERROR", "FATAL"]
# Every state transition with its input and output: the history auditors and on-call read.
DEFAULT_LOG_LEVEL: LogLevel = "ALL"
# With a customer-managed key, this service decrypts execution data to write it to the log
# group; the key policy must admit it (EncryptionKeyProps.service_grants).
LOG_DELIVERY_PRINCIPAL = "delivery.logs.amazonaws.com"
# The actions Step Functions uses to set up vended log delivery; AWS documents Resource "*".
LOG_DELIVERY_ACTIONS = (
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
)
TRACING_ACTIONS = (
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
)
_STATE_MACHINE_NAME = re.compile(r"[A-Za-z0-9_-]{1,80}")


@dataclass(frozen=True, kw_only=True)
class StateMachineProps:
    state_machine_name: str
    # The States Language document, as plain JSON-serialisable data.
    definition: Mapping[str, Any]
    # Every function a task invokes; the role may invoke exactly these.
    invoked_functions: Sequence[PythonFunction]
    region: str
    # Encrypts the state machine's data and its log group.
    kms_key_arn: str
    log_retention_days: int
    log_level: LogLevel = DEFAULT_LOG_LEVEL
    # Logs each state's input and output; off only if payloads ever carry secrets.
    include_execution_data: bool = True
    active_tracing: bool = True
    # The queue the definition's failure records go to (sqs:SendMessage); None: no such task.
    failure_queue: DeadLetterQueue | None = None
    # What else the definition's states call (an ItemReader's listing, a ResultWriter's
    # files, a Distributed Map's child executions), each scoped by the caller.
    extra_statements: Sequence[DataAwsIamPolicyDocumentStatement] = ()
    # A Distributed Map runs its child workflows as executions of this same state machine:
    # the role may then start, describe and stop executions of itself (and nothing else).
    runs_child_workflows: bool = False

    def __post_init__(self) -> None:
        if not _STATE_MACHINE_NAME.fullmatch(self.state_machine_name):
            raise ValueError(
                "state_machine_name must be 1-80 letters, digits, hyphens or underscores, "
                f"got {self.state_machine_name!r}"
            )
        if self.log_level not in ("ALL", "ERROR", "FATAL"):
            raise ValueError(
                f"log_level must be ALL, ERROR or FATAL (never OFF), got {self.log_level!r}"
            )
        if not self.invoked_functions:
            raise ValueError("invoked_functions must name at least one function")


def render_definition(definition: Mapping[str, Any]) -> str:
    """Stable JSON text: sorted keys, so an unchanged workflow never shows a diff."""
    return json.dumps(definition, sort_keys=True, indent=2)


class LoggedStateMachine(Construct):
    """State machine, its encrypted log group and its least-privilege role."""

    def __init__(self, scope: Construct, construct_id: str, *, props: StateMachineProps) -> None:
        super().__init__(scope, construct_id)
        account_id = DataAwsCallerIdentity(self, "caller").account_id
        self.partition = DataAwsPartition(self, "partition").partition
        self.state_machine_arn_pattern = (
            f"arn:{self.partition}:states:{props.region}:{account_id}"
            f":stateMachine:{props.state_machine_name}"
        )
        self.log_group = encrypted_log_group(
            self,
            "logs",
            # The /aws/vendedlogs/ prefix keeps CloudWatch Logs' resource policy under its size
            # limit, however many state machines log to it.
            name=f"/aws/vendedlogs/states/{props.state_machine_name}",
            retention_days=props.log_retention_days,
            kms_key_arn=props.kms_key_arn,
            contents="execution logs",
        )
        self.definition = props.definition
        self.role = IamRole(
            self,
            "role",
            name=f"{props.state_machine_name}-role",
            assume_role_policy=self._trust_policy(account_id).json,
        )
        self.policy_document = self._permissions(props, account_id)
        self.role_policy = IamRolePolicy(
            self, "policy", role=self.role.id, policy=self.policy_document.json
        )
        self.state_machine = SfnStateMachine(
            self,
            "state-machine",
            name=props.state_machine_name,
            type=STATE_MACHINE_TYPE,
            role_arn=self.role.arn,
            definition=render_definition(self.definition),
            logging_configuration=SfnStateMachineLoggingConfiguration(
                level=props.log_level,
                include_execution_data=props.include_execution_data,
                log_destination=f"{self.log_group.arn}:*",
            ),
            tracing_configuration=SfnStateMachineTracingConfiguration(enabled=props.active_tracing),
            encryption_configuration=SfnStateMachineEncryptionConfiguration(
                type="CUSTOMER_MANAGED_KMS_KEY",
                kms_key_id=props.kms_key_arn,
                kms_data_key_reuse_period_seconds=KMS_DATA_KEY_REUSE_SECONDS,
            ),
            # Step Functions checks at creation that the role may deliver logs.
            depends_on=[self.role_policy],
        )

    def _trust_policy(self, account_id: str) -> DataAwsIamPolicyDocument:
        return DataAwsIamPolicyDocument(
            self,
            "trust",
            statement=[
                # Only this state machine, in this account, may assume it (confused deputy).
                service_assume_role(
                    "states.amazonaws.com",
                    [
                        DataAwsIamPolicyDocumentStatementCondition(
                            test="StringEquals", variable="aws:SourceAccount", values=[account_id]
                        ),
                        DataAwsIamPolicyDocumentStatementCondition(
                            test="ArnLike",
                            variable="aws:SourceArn",
                            values=[self.state_machine_arn_pattern],
                        ),
                    ],
                )
            ],
        )

    def _permissions(self, props: StateMachineProps, account_id: str) -> DataAwsIamPolicyDocument:
        statements = [
            DataAwsIamPolicyDocumentStatement(
                sid="InvokePipelineFunctions",
                actions=["lambda:InvokeFunction"],
                resources=[function.alias_arn for function in props.invoked_functions],
            ),
            DataAwsIamPolicyDocumentStatement(
                sid="EncryptExecutionData",
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=[props.kms_key_arn],
                condition=[
                    DataAwsIamPolicyDocumentStatementCondition(
                        test="StringEquals",
                        variable="kms:EncryptionContext:aws:states:stateMachineArn",
                        values=[self.state_machine_arn_pattern],
                    )
                ],
            ),
            DataAwsIamPolicyDocumentStatement(
                sid="EncryptDeliveredLogs",
                actions=["kms:GenerateDataKey"],
                resources=[props.kms_key_arn],
                condition=[
                    DataAwsIamPolicyDocumentStatementCondition(
                        test="ArnLike",
                        variable="kms:EncryptionContext:SourceArn",
                        values=[f"arn:{self.partition}:logs:{props.region}:{account_id}:*"],
                    )
                ],
            ),
            DataAwsIamPolicyDocumentStatement(
                sid="DeliverExecutionLogs", actions=list(LOG_DELIVERY_ACTIONS), resources=["*"]
            ),
        ]
        if props.failure_queue is not None:
            statements += [
                DataAwsIamPolicyDocumentStatement(
                    sid="RecordFailures",
                    actions=["sqs:SendMessage"],
                    resources=[props.failure_queue.queue.arn],
                ),
                # The queue is SSE-KMS: sending needs a data key, only by way of SQS.
                DataAwsIamPolicyDocumentStatement(
                    sid="EncryptFailureRecords",
                    actions=["kms:GenerateDataKey", "kms:Decrypt"],
                    resources=[props.kms_key_arn],
                    condition=[
                        DataAwsIamPolicyDocumentStatementCondition(
                            test="StringEquals",
                            variable="kms:ViaService",
                            values=[f"sqs.{props.region}.amazonaws.com"],
                        )
                    ],
                ),
            ]
        if props.runs_child_workflows:
            own_executions = (
                f"arn:{self.partition}:states:{props.region}:{account_id}"
                f":execution:{props.state_machine_name}/*"
            )
            statements += [
                DataAwsIamPolicyDocumentStatement(
                    sid="StartChildWorkflows",
                    actions=["states:StartExecution"],
                    resources=[self.state_machine_arn_pattern],
                ),
                DataAwsIamPolicyDocumentStatement(
                    sid="ManageChildWorkflows",
                    actions=["states:DescribeExecution", "states:StopExecution"],
                    resources=[own_executions],
                ),
            ]
        statements += list(props.extra_statements)
        if props.active_tracing:
            statements.append(
                DataAwsIamPolicyDocumentStatement(
                    sid="PublishTraces", actions=list(TRACING_ACTIONS), resources=["*"]
                )
            )
        # Log delivery and X-Ray take Resource "*" (AWS documents no resource-level permissions);
        # checkov accepts those actions on "*", so no suppression is needed here.
        return DataAwsIamPolicyDocument(self, "permissions", statement=statements)

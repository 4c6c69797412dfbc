"""The ingest workflow: a Step Functions state machine that validates, records and notifies.

    Validate -> IsValid? --yes--> Process -> PrepareProcessedNotice --> Notify -> (end)
                        --no---> PrepareRejectedNotice -------------/

Each task invokes one Lambda function, retries Lambda service errors and throttling with
exponential backoff and jitter, retries errors from our own code more sparingly, and on
final failure is caught into a named ``Fail`` state that carries the original cause.

``build_definition`` turns those rules into an Amazon States Language document from plain
Python data; tests validate it with the npm ``asl-validator``. The state machine logs every
event (level ALL, with execution data) to an encrypted log group with retention, traces with
X-Ray, encrypts its data with the customer-managed key, and runs as a role that may invoke
exactly the three functions plus the log-delivery and tracing calls it needs.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
)
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.sfn_state_machine import (
    SfnStateMachine,
    SfnStateMachineEncryptionConfiguration,
    SfnStateMachineLoggingConfiguration,
    SfnStateMachineTracingConfiguration,
)
from constructs import Construct

from constructs_lib.log_groups import encrypted_log_group
from constructs_lib.policy_statements import service_assume_role

# Exactly-once steps and a year of visible history; EXPRESS would drop both.
STATE_MACHINE_TYPE = "STANDARD"
# The optimized Lambda integration: the function's result arrives under "Payload".
LAMBDA_INVOKE_RESOURCE = "arn:aws:states:::lambda:invoke"
# Transient Lambda service failures and throttling, as the Step Functions console lists them.
LAMBDA_SERVICE_ERRORS = (
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
)
# Any error a task raises that the retrier above did not match (our own code's exceptions).
TASK_ERRORS = ("States.TaskFailed",)
# Randomised waits keep retries of many executions from hitting Lambda in lockstep.
JITTER_STRATEGY = "FULL"
# An execution still running after this has a stuck task; fail it instead of waiting a year.
EXECUTION_TIMEOUT_SECONDS = 900
# Step Functions' default; reusing a data key for 5 minutes keeps KMS calls and cost low.
KMS_DATA_KEY_REUSE_SECONDS = 300
LogLevel = Literal["ALL", "ERROR", "FATAL"]
# Every state transition with its input and output: the history auditors and on-call read.
DEFAULT_LOG_LEVEL: LogLevel = "ALL"
# With a customer-managed key, this service decrypts execution data to write it to the log
# group; the key policy must admit it (EncryptionKeyProps.service_principals).
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

# State names: also what executions, logs and alarms show, so they are part of the interface.
VALIDATE_STATE = "Validate"
CHOICE_STATE = "IsValid"
PROCESS_STATE = "Process"
PROCESSED_NOTICE_STATE = "PrepareProcessedNotice"
REJECTED_NOTICE_STATE = "PrepareRejectedNotice"
NOTIFY_STATE = "Notify"
VALIDATION_FAILED_STATE = "ValidationFailed"
PROCESSING_FAILED_STATE = "ProcessingFailed"
NOTIFICATION_FAILED_STATE = "NotificationFailed"
# Where each task's result and a caught error land in the execution's state.
VALIDATION_PATH = "$.validation"
PROCESSING_PATH = "$.processing"
NOTICE_PATH = "$.notice"
NOTIFICATION_PATH = "$.notification"
FAILURE_PATH = "$.failure"

_STATE_MACHINE_NAME = re.compile(r"[A-Za-z0-9_-]{1,80}")


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """How each task retries: Lambda service errors and throttles, then errors of our code."""

    max_attempts: int = 3
    interval_seconds: int = 2
    backoff_rate: float = 2.0
    max_delay_seconds: int = 30
    task_error_max_attempts: int = 1

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"retry.max_attempts must be at least 1, got {self.max_attempts}")
        if self.interval_seconds < 1:
            raise ValueError(
                f"retry.interval_seconds must be at least 1, got {self.interval_seconds}"
            )
        if self.backoff_rate < 1.0:
            raise ValueError(f"retry.backoff_rate must be at least 1.0, got {self.backoff_rate}")
        if self.max_delay_seconds < self.interval_seconds:
            raise ValueError(
                "retry.max_delay_seconds must be at least retry.interval_seconds, "
                f"got {self.max_delay_seconds} < {self.interval_seconds}"
            )
        if self.task_error_max_attempts < 0:
            raise ValueError(
                "retry.task_error_max_attempts must not be negative, "
                f"got {self.task_error_max_attempts}"
            )


@dataclass(frozen=True, kw_only=True)
class WorkflowProps:
    state_machine_name: str
    validate_function_arn: str
    process_function_arn: str
    notify_function_arn: str
    region: str
    # Encrypts the state machine's data and its log group.
    kms_key_arn: str
    log_retention_days: int
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    log_level: LogLevel = DEFAULT_LOG_LEVEL
    # Logs each state's input and output; off only if payloads ever carry secrets.
    include_execution_data: bool = True
    active_tracing: bool = True
    # Why the state machine itself is left out (its role and log group are still created):
    # for an emulator that cannot create one.
    skip_state_machine_reason: str | None = None

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
        if (
            self.skip_state_machine_reason is not None
            and not self.skip_state_machine_reason.strip()
        ):
            raise ValueError("skip_state_machine_reason must say why, or be None")


def build_definition(
    *,
    validate_function_arn: str,
    process_function_arn: str,
    notify_function_arn: str,
    retry: RetryPolicy,
) -> dict[str, Any]:
    """The workflow as an Amazon States Language document (plain data, JSON-serialisable).

    The steps' data contract: validate returns
    ``{"valid", "errors", "object"}``, process takes ``{"object"}`` and returns
    ``{"record_id", "created"}``, notify takes ``{"status", "record_id", "object", "errors"}``.
    """
    retriers = [
        {
            "ErrorEquals": list(LAMBDA_SERVICE_ERRORS),
            "IntervalSeconds": retry.interval_seconds,
            "MaxAttempts": retry.max_attempts,
            "BackoffRate": retry.backoff_rate,
            "MaxDelaySeconds": retry.max_delay_seconds,
            "JitterStrategy": JITTER_STRATEGY,
        },
        {
            "ErrorEquals": list(TASK_ERRORS),
            "IntervalSeconds": retry.interval_seconds,
            "MaxAttempts": retry.task_error_max_attempts,
            "BackoffRate": retry.backoff_rate,
            "MaxDelaySeconds": retry.max_delay_seconds,
            "JitterStrategy": JITTER_STRATEGY,
        },
    ]

    def invoke(
        function_arn: str,
        payload: dict[str, Any],
        result_fields: tuple[str, ...],
        result_path: str,
        failure_state: str,
    ) -> dict[str, Any]:
        return {
            "Type": "Task",
            "Resource": LAMBDA_INVOKE_RESOURCE,
            "Parameters": {"FunctionName": function_arn, **payload},
            # Keep only the contract's fields, not Lambda's invocation metadata.
            "ResultSelector": {f"{name}.$": f"$.Payload.{name}" for name in result_fields},
            "ResultPath": result_path,
            "Retry": retriers,
            "Catch": [
                {"ErrorEquals": ["States.ALL"], "ResultPath": FAILURE_PATH, "Next": failure_state}
            ],
        }

    def fail(error: str, step: str) -> dict[str, Any]:
        return {
            "Type": "Fail",
            "Comment": f"The {step} function still failed after its retries.",
            "Error": f"Pipeline.{error}",
            # The caught error's own message, so the execution says what actually went wrong.
            "CausePath": f"{FAILURE_PATH}.Cause",
        }

    return {
        "Comment": "Validate an ingested object, record it when valid, and notify either way.",
        "StartAt": VALIDATE_STATE,
        "TimeoutSeconds": EXECUTION_TIMEOUT_SECONDS,
        "States": {
            VALIDATE_STATE: {
                **invoke(
                    validate_function_arn,
                    {"Payload.$": "$"},
                    ("valid", "errors", "object"),
                    VALIDATION_PATH,
                    VALIDATION_FAILED_STATE,
                ),
                "Next": CHOICE_STATE,
            },
            CHOICE_STATE: {
                "Type": "Choice",
                "Choices": [
                    {
                        "Variable": f"{VALIDATION_PATH}.valid",
                        "BooleanEquals": True,
                        "Next": PROCESS_STATE,
                    }
                ],
                "Default": REJECTED_NOTICE_STATE,
            },
            PROCESS_STATE: {
                **invoke(
                    process_function_arn,
                    {"Payload": {"object.$": f"{VALIDATION_PATH}.object"}},
                    ("record_id", "created"),
                    PROCESSING_PATH,
                    PROCESSING_FAILED_STATE,
                ),
                "Next": PROCESSED_NOTICE_STATE,
            },
            PROCESSED_NOTICE_STATE: {
                "Type": "Pass",
                "Parameters": {
                    "status": "processed",
                    "record_id.$": f"{PROCESSING_PATH}.record_id",
                    "object.$": f"{VALIDATION_PATH}.object",
                    "errors": [],
                },
                "ResultPath": NOTICE_PATH,
                "Next": NOTIFY_STATE,
            },
            REJECTED_NOTICE_STATE: {
                "Type": "Pass",
                "Parameters": {
                    "status": "rejected",
                    "record_id": None,
                    "object.$": f"{VALIDATION_PATH}.object",
                    "errors.$": f"{VALIDATION_PATH}.errors",
                },
                "ResultPath": NOTICE_PATH,
                "Next": NOTIFY_STATE,
            },
            NOTIFY_STATE: {
                **invoke(
                    notify_function_arn,
                    {"Payload.$": NOTICE_PATH},
                    ("message_id",),
                    NOTIFICATION_PATH,
                    NOTIFICATION_FAILED_STATE,
                ),
                "End": True,
            },
            VALIDATION_FAILED_STATE: fail("ValidationFailed", "validate"),
            PROCESSING_FAILED_STATE: fail("ProcessingFailed", "process"),
            NOTIFICATION_FAILED_STATE: fail("NotificationFailed", "notify"),
        },
    }


def render_definition(definition: dict[str, Any]) -> str:
    """Stable JSON text: sorted keys, so an unchanged workflow never shows a diff."""
    return json.dumps(definition, sort_keys=True, indent=2)


class Workflow(Construct):
    """State machine, its encrypted log group and its least-privilege role."""

    def __init__(self, scope: Construct, construct_id: str, *, props: WorkflowProps) -> None:
        super().__init__(scope, construct_id)
        account_id = DataAwsCallerIdentity(self, "caller").account_id
        self.state_machine_arn_pattern = (
            f"arn:aws:states:{props.region}:{account_id}:stateMachine:{props.state_machine_name}"
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
        self.definition = build_definition(
            validate_function_arn=props.validate_function_arn,
            process_function_arn=props.process_function_arn,
            notify_function_arn=props.notify_function_arn,
            retry=props.retry,
        )
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
        self.skip_state_machine_reason = props.skip_state_machine_reason
        self.state_machine: SfnStateMachine | None = None
        if props.skip_state_machine_reason is None:
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
                tracing_configuration=SfnStateMachineTracingConfiguration(
                    enabled=props.active_tracing
                ),
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
                # Only this account's state machines may assume it (confused deputy).
                service_assume_role(
                    "states.amazonaws.com",
                    [
                        DataAwsIamPolicyDocumentStatementCondition(
                            test="StringEquals", variable="aws:SourceAccount", values=[account_id]
                        )
                    ],
                )
            ],
        )

    def _permissions(self, props: WorkflowProps, account_id: str) -> DataAwsIamPolicyDocument:
        statements = [
            DataAwsIamPolicyDocumentStatement(
                sid="InvokePipelineFunctions",
                actions=["lambda:InvokeFunction"],
                resources=[
                    props.validate_function_arn,
                    props.process_function_arn,
                    props.notify_function_arn,
                ],
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
                        values=[f"arn:aws:logs:{props.region}:{account_id}:*"],
                    )
                ],
            ),
            DataAwsIamPolicyDocumentStatement(
                sid="DeliverExecutionLogs", actions=list(LOG_DELIVERY_ACTIONS), resources=["*"]
            ),
        ]
        if props.active_tracing:
            statements.append(
                DataAwsIamPolicyDocumentStatement(
                    sid="PublishTraces", actions=list(TRACING_ACTIONS), resources=["*"]
                )
            )
        # Log delivery and X-Ray take Resource "*" (AWS documents no resource-level permissions);
        # checkov accepts those actions on "*", so no suppression is needed here.
        return DataAwsIamPolicyDocument(self, "permissions", statement=statements)

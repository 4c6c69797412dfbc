"""The ingest workflow's definition: validate -> choice -> process -> notify, as States Language.

    Validate -> IsValid? --yes--> Process -> PrepareProcessedNotice --> Notify -> (end)
                        --no---> PrepareRejectedNotice -------------/

Each task invokes one Lambda function, retries Lambda service errors and throttling with
exponential backoff and jitter, retries errors from our own code more sparingly, and on
final failure is caught into a named ``Fail`` state that carries the original cause. With a
failure queue, the caught failure first sends the execution's original input (the object
event), the failed state, the error and its cause to that queue, so nothing is lost: the
operator redrives it from there, as for the processor's asynchronous failures.

``build_definition`` turns those rules into an Amazon States Language document from plain
Python data; tests validate it with the npm ``asl-validator``. State names and the result
paths are part of the interface: executions, logs and alarms show them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The optimized Lambda integration: the function's result arrives under "Payload".
LAMBDA_INVOKE_RESOURCE = "arn:aws:states:::lambda:invoke"
# The optimized SQS integration: the failure record goes to the failure queue.
SQS_SEND_RESOURCE = "arn:aws:states:::sqs:sendMessage"
# Sending the failure record retries any error this often before the execution fails anyway.
FAILURE_RECORD_MAX_ATTEMPTS = 3
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
# Where an error of sending the failure record lands (FAILURE_PATH keeps the original one).
FAILURE_RECORD_ERROR_PATH = "$.failure_record_error"


def failure_record_state(step_state: str) -> str:
    """The state that sends ``step_state``'s caught failure to the failure queue."""
    return f"Record{step_state}Failure"


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


def build_definition(
    *,
    validate_function_arn: str,
    process_function_arn: str,
    notify_function_arn: str,
    retry: RetryPolicy,
    failure_queue_url: str | None = None,
) -> dict[str, Any]:
    """The workflow as an Amazon States Language document (plain data, JSON-serialisable).

    With ``failure_queue_url``, a step's final failure is sent to that queue before the
    execution fails: ``{"failed_state", "error", "cause", "execution", "input"}``.

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
        step_state: str,
    ) -> dict[str, Any]:
        caught = failure_state if failure_queue_url is None else failure_record_state(step_state)
        return {
            "Type": "Task",
            "Resource": LAMBDA_INVOKE_RESOURCE,
            "Parameters": {"FunctionName": function_arn, **payload},
            # Keep only the contract's fields, not Lambda's invocation metadata.
            "ResultSelector": {f"{name}.$": f"$.Payload.{name}" for name in result_fields},
            "ResultPath": result_path,
            "Retry": retriers,
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": FAILURE_PATH, "Next": caught}],
        }

    def record_failure(step_state: str, failure_state: str) -> dict[str, Any]:
        return {
            "Type": "Task",
            "Comment": f"Keeps the object whose {step_state} step failed, with the error.",
            "Resource": SQS_SEND_RESOURCE,
            "Parameters": {
                "QueueUrl": failure_queue_url,
                "MessageBody": {
                    "failed_state": step_state,
                    "error.$": f"{FAILURE_PATH}.Error",
                    "cause.$": f"{FAILURE_PATH}.Cause",
                    "execution.$": "$$.Execution.Id",
                    "input.$": "$$.Execution.Input",
                },
            },
            "ResultPath": None,
            "Retry": [
                {
                    "ErrorEquals": ["States.ALL"],
                    "IntervalSeconds": retry.interval_seconds,
                    "MaxAttempts": FAILURE_RECORD_MAX_ATTEMPTS,
                    "BackoffRate": retry.backoff_rate,
                    "JitterStrategy": JITTER_STRATEGY,
                }
            ],
            # The execution fails either way; the Fail state still carries the step's cause.
            "Catch": [
                {
                    "ErrorEquals": ["States.ALL"],
                    "ResultPath": FAILURE_RECORD_ERROR_PATH,
                    "Next": failure_state,
                }
            ],
            "Next": failure_state,
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
                    VALIDATE_STATE,
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
                    PROCESS_STATE,
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
                    NOTIFY_STATE,
                ),
                "End": True,
            },
            VALIDATION_FAILED_STATE: fail("ValidationFailed", "validate"),
            PROCESSING_FAILED_STATE: fail("ProcessingFailed", "process"),
            NOTIFICATION_FAILED_STATE: fail("NotificationFailed", "notify"),
            **(
                {}
                if failure_queue_url is None
                else {
                    failure_record_state(step): record_failure(step, failed)
                    for step, failed in (
                        (VALIDATE_STATE, VALIDATION_FAILED_STATE),
                        (PROCESS_STATE, PROCESSING_FAILED_STATE),
                        (NOTIFY_STATE, NOTIFICATION_FAILED_STATE),
                    )
                }
            ),
        },
    }

"""Deliver a failed asynchronous invocation the way Lambda's on-failure destination does.

When an async event still fails after the configured retries (or grows too old), Lambda
sends an *invocation record* to the function's on-failure destination: the original event
as ``requestPayload``, why it gave up in ``requestContext.condition``, and the function's
error as ``responsePayload``. moto stores the event-invoke config but has no retry machinery,
so local runs build that record here and send it to the destination read back from the
deployed config. The payload text is spliced in verbatim, so the queue holds the event's
exact bytes.

    pipenv run python -m tools.async_failure --function evpipe-dev-processor \\
        --event tests/events/s3-bad-event-time.json --error-type RecordBatchError \\
        --error-message "Records[0]: ..." [--endpoint-url http://127.0.0.1:PORT]
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import boto3
from botocore.exceptions import BotoCoreError, ClientError

# Lambda's reasons for giving up on an async event.
Condition = Literal["RetriesExhausted", "EventAgeExceeded"]
CONDITIONS: tuple[Condition, ...] = ("RetriesExhausted", "EventAgeExceeded")
# The record format Lambda writes for async destinations.
RECORD_VERSION = "1.0"
# Lambda reports an uncaught exception from the handler as an "Unhandled" function error.
UNHANDLED = "Unhandled"


class DestinationError(ValueError):
    """The destination cannot be emulated, or the event is not JSON; the message says which."""


@dataclass(frozen=True, kw_only=True)
class FunctionError:
    """What the handler raised, as Lambda reports it in the response payload."""

    error_type: str
    error_message: str
    stack_trace: Sequence[str] = ()

    def payload(self) -> dict[str, Any]:
        return {
            "errorMessage": self.error_message,
            "errorType": self.error_type,
            "requestId": "",
            "stackTrace": list(self.stack_trace),
        }


def destination_record(
    *,
    payload: str,
    function_arn: str,
    error: FunctionError,
    attempts: int,
    condition: Condition = "RetriesExhausted",
    request_id: str | None = None,
    timestamp: datetime | None = None,
) -> str:
    """The invocation record's JSON text, with ``payload`` embedded byte for byte.

    ``attempts`` is the total number of invocations (1 + retries), Lambda's
    ``approximateInvokeCount``.
    """
    try:
        json.loads(payload)
    except json.JSONDecodeError as problem:
        raise DestinationError(f"payload is not JSON ({problem.msg} at {problem.pos})") from None
    if condition not in CONDITIONS:
        raise DestinationError(
            f"condition must be one of {', '.join(CONDITIONS)}, got {condition!r}"
        )
    if attempts < 1:
        raise DestinationError(f"attempts must be at least 1, got {attempts}")
    moment = (timestamp or datetime.now(UTC)).astimezone(UTC)
    request_id = request_id or str(uuid.uuid4())
    response_error = {**error.payload(), "requestId": request_id}
    head = {
        "version": RECORD_VERSION,
        "timestamp": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "requestContext": {
            "requestId": request_id,
            "functionArn": f"{function_arn}:$LATEST",
            "condition": condition,
            "approximateInvokeCount": attempts,
        },
    }
    tail = {
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": UNHANDLED,
        },
        "responsePayload": response_error,
    }
    # Splice the payload text in unchanged: re-encoding could reorder keys or escape text.
    return (
        json.dumps(head, ensure_ascii=False)[:-1]
        + ', "requestPayload": '
        + payload
        + ", "
        + json.dumps(tail, ensure_ascii=False)[1:]
    )


def queue_url_for(sqs: Any, destination_arn: str) -> str:
    """The URL of the SQS queue an ARN names; other destination kinds are not emulated."""
    parts = destination_arn.split(":")
    if len(parts) != 6 or parts[:3] != ["arn", "aws", "sqs"]:
        raise DestinationError(
            f"only SQS on-failure destinations can be emulated, got {destination_arn!r}"
        )
    account, name = parts[4], parts[5]
    url: str = sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
    return url


@dataclass(frozen=True, kw_only=True)
class AsyncConfig:
    """The parts of a deployed event-invoke config that shape the failure record."""

    function_arn: str
    maximum_retry_attempts: int
    on_failure_destination: str


def read_async_config(lambda_client: Any, function_name: str) -> AsyncConfig:
    """The function's deployed async settings, as Lambda reports them."""
    config = lambda_client.get_function_event_invoke_config(FunctionName=function_name)
    destination = config.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
    if not destination:
        raise DestinationError(f"{function_name} has no on-failure destination configured")
    return AsyncConfig(
        function_arn=str(config["FunctionArn"]).removesuffix(":$LATEST"),
        # Lambda's default when the config leaves it out.
        maximum_retry_attempts=int(config.get("MaximumRetryAttempts", 2)),
        on_failure_destination=str(destination),
    )


def deliver(
    *,
    session: boto3.session.Session,
    function_name: str,
    payload: str,
    error: FunctionError,
    condition: Condition = "RetriesExhausted",
    endpoint_url: str | None = None,
) -> Mapping[str, str]:
    """Read the function's async config, build its record, send it where Lambda would."""
    config = read_async_config(session.client("lambda", endpoint_url=endpoint_url), function_name)
    record = destination_record(
        payload=payload,
        function_arn=config.function_arn,
        error=error,
        attempts=1 + config.maximum_retry_attempts,
        condition=condition,
    )
    sqs = session.client("sqs", endpoint_url=endpoint_url)
    queue_url = queue_url_for(sqs, config.on_failure_destination)
    sent = sqs.send_message(QueueUrl=queue_url, MessageBody=record)
    return {"destination": config.on_failure_destination, "message_id": sent["MessageId"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--function", required=True, help="function name, e.g. evpipe-dev-processor"
    )
    parser.add_argument("--event", type=Path, required=True, help="the failed event (JSON file)")
    parser.add_argument("--error-type", required=True)
    parser.add_argument("--error-message", required=True)
    parser.add_argument("--condition", choices=CONDITIONS, default="RetriesExhausted")
    parser.add_argument("--endpoint-url", help="emulator URL; default: real AWS")
    args = parser.parse_args(argv)
    try:
        sent = deliver(
            session=boto3.session.Session(),
            function_name=args.function,
            payload=args.event.read_text(encoding="utf-8"),
            error=FunctionError(error_type=args.error_type, error_message=args.error_message),
            condition=args.condition,
            endpoint_url=args.endpoint_url,
        )
    except (DestinationError, OSError, BotoCoreError, ClientError) as problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    print(json.dumps(sent))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""An object's notice: one SNS message per outcome ("processed" or "rejected"), defined once.

The workflow's notify step and the processor reading the ingest queue both publish through
this module, so a subscriber gets the same message whichever path recorded the object.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import fastjsonschema
from botocore.exceptions import BotoCoreError, ClientError

from pipeline_common.object_schema import compile_schema, describe_schema_error

if TYPE_CHECKING:
    from mypy_boto3_sns.client import SNSClient

# SNS refuses subjects of 100 characters or more, and any that are not printable ASCII.
MAX_SUBJECT_CHARS = 99
# Errors quoted in one message; the workflow already caps what validate reports.
MAX_ERRORS = 50

NOTIFICATION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["status", "record_id", "object", "errors"],
    "properties": {
        "status": {"enum": ["processed", "rejected"]},
        "record_id": {"type": ["string", "null"], "minLength": 1},
        "object": {"type": "object"},
        "errors": {"type": "array", "maxItems": MAX_ERRORS, "items": {"type": "string"}},
    },
}
_validate_notification = compile_schema(NOTIFICATION_SCHEMA)


class InvalidNotification(ValueError):
    """The workflow passed notify something other than its documented input."""


@dataclass(frozen=True, kw_only=True)
class Notification:
    subject: str
    message: str
    status: str


def build_notification(payload: Any) -> Notification:
    try:
        _validate_notification(payload)
    except fastjsonschema.JsonSchemaValueException as error:
        raise InvalidNotification(describe_schema_error(error, "input")) from None
    status = payload["status"]
    if status == "processed" and payload["record_id"] is None:
        raise InvalidNotification("input.record_id is required when status is processed")
    target = payload["object"]
    location = f"s3://{target.get('bucket', '?')}/{target.get('key', '?')}"
    body = {
        "status": status,
        "record_id": payload["record_id"],
        "object": target,
        "errors": payload["errors"],
    }
    return Notification(
        subject=_subject(f"Object {status}: {location}"),
        message=json.dumps(body, sort_keys=True, ensure_ascii=False),
        status=status,
    )


def _subject(text: str) -> str:
    printable = "".join(char if " " <= char <= "~" else "?" for char in text)
    if len(printable) <= MAX_SUBJECT_CHARS:
        return printable
    return printable[: MAX_SUBJECT_CHARS - 3] + "..."


class PublishError(RuntimeError):
    """SNS failed the publish even after botocore's retries; the workflow should retry."""


class NotificationPublisher:
    def __init__(self, client: SNSClient, topic_arn: str) -> None:
        self._client = client
        self._topic_arn = topic_arn

    def publish(self, notification: Notification) -> str:
        """Publish one message; return SNS's message id."""
        try:
            response = self._client.publish(
                TopicArn=self._topic_arn,
                Subject=notification.subject,
                Message=notification.message,
                MessageAttributes={
                    # Lets subscribers filter, e.g. only rejections page someone.
                    "status": {"DataType": "String", "StringValue": notification.status}
                },
            )
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "Unknown")
            raise PublishError(f"Publish failed with {code}") from error
        except BotoCoreError as error:
            raise PublishError(f"Publish failed: {error}") from error
        return response["MessageId"]

"""Publishing to the notification topic."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from .logic import Notification

if TYPE_CHECKING:
    from mypy_boto3_sns.client import SNSClient


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

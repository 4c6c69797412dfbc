"""An encrypted SQS queue that buffers work for a consumer and dead-letters what keeps failing."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import DataAwsIamPolicyDocument
from cdktf_cdktf_provider_aws.sqs_queue import SqsQueue
from cdktf_cdktf_provider_aws.sqs_queue_policy import SqsQueuePolicy
from constructs import Construct

from constructs_lib.aws_limits import (
    SQS_MAX_RECEIVE_COUNT_RANGE,
    SQS_MESSAGE_RETENTION_SECONDS_RANGE,
    SQS_QUEUE_NAME_MAX,
    SQS_VISIBILITY_TIMEOUT_SECONDS_RANGE,
)
from constructs_lib.base.dead_letter_queue import (
    DEFAULT_KMS_DATA_KEY_REUSE_SECONDS,
    DeadLetterQueue,
    QueueSender,
    queue_policy_statements,
)

# SQS's default of four days: a backlog that old needs a human, and its dead-letter queue
# keeps messages for 14 days (SQS keeps a message's first enqueue time when it moves).
DEFAULT_MESSAGE_RETENTION_SECONDS = 4 * 24 * 60 * 60


@dataclass(frozen=True, kw_only=True)
class WorkQueueProps:
    queue_name: str
    # SSE-KMS with the customer-managed key; every sender must be able to use it.
    kms_key_arn: str
    # How long a received message stays hidden: at least the consumer's whole run.
    visibility_timeout_seconds: int
    # Where a message goes after max_receive_count failed receives.
    dead_letter_queue: DeadLetterQueue
    max_receive_count: int
    message_retention_seconds: int = DEFAULT_MESSAGE_RETENTION_SECONDS
    senders: Sequence[QueueSender] = ()

    def __post_init__(self) -> None:
        if not 1 <= len(self.queue_name) <= SQS_QUEUE_NAME_MAX:
            raise ValueError(
                f"queue_name must be 1-{SQS_QUEUE_NAME_MAX} characters, got {self.queue_name!r}"
            )
        if self.queue_name.endswith(".fifo"):
            raise ValueError("queue_name must not end in .fifo: S3 notifies standard queues only")
        for name, value, (low, high) in (
            (
                "visibility_timeout_seconds",
                self.visibility_timeout_seconds,
                SQS_VISIBILITY_TIMEOUT_SECONDS_RANGE,
            ),
            ("max_receive_count", self.max_receive_count, SQS_MAX_RECEIVE_COUNT_RANGE),
            (
                "message_retention_seconds",
                self.message_retention_seconds,
                SQS_MESSAGE_RETENTION_SECONDS_RANGE,
            ),
        ):
            if not low <= value <= high:
                raise ValueError(f"{name} must be from {low} to {high}, got {value}")
        sids = [sender.sid for sender in self.senders]
        if len(set(sids)) != len(sids):
            raise ValueError(f"senders must have unique sids, got {sids}")


class WorkQueue(Construct):
    """Standard queue, SSE-KMS, redrive to its DLQ, TLS-only policy naming each sender."""

    def __init__(self, scope: Construct, construct_id: str, *, props: WorkQueueProps) -> None:
        super().__init__(scope, construct_id)
        self.dead_letter_queue = props.dead_letter_queue
        self.queue = SqsQueue(
            self,
            "queue",
            name=props.queue_name,
            kms_master_key_id=props.kms_key_arn,
            kms_data_key_reuse_period_seconds=DEFAULT_KMS_DATA_KEY_REUSE_SECONDS,
            message_retention_seconds=props.message_retention_seconds,
            visibility_timeout_seconds=props.visibility_timeout_seconds,
            redrive_policy=json.dumps(
                {
                    "deadLetterTargetArn": props.dead_letter_queue.queue.arn,
                    "maxReceiveCount": props.max_receive_count,
                }
            ),
        )
        self.policy_document = DataAwsIamPolicyDocument(
            self,
            "policy-document",
            statement=queue_policy_statements(self.queue.arn, props.senders),
        )
        self.policy = SqsQueuePolicy(
            self, "policy", queue_url=self.queue.url, policy=self.policy_document.json
        )

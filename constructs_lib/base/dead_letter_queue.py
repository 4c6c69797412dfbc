"""An encrypted SQS dead-letter queue that keeps failed events for the longest time SQS allows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
    DataAwsIamPolicyDocumentStatementPrincipals,
)
from cdktf_cdktf_provider_aws.sqs_queue import SqsQueue
from cdktf_cdktf_provider_aws.sqs_queue_policy import SqsQueuePolicy
from constructs import Construct

from constructs_lib.base.policy_statements import deny_insecure_transport

# SQS's maximum: two weeks to notice, fix the cause and redrive before a message expires.
DEFAULT_MESSAGE_RETENTION_SECONDS = 14 * 24 * 60 * 60
MESSAGE_RETENTION_SECONDS_RANGE = (60, DEFAULT_MESSAGE_RETENTION_SECONDS)
# SQS's default; failed events are rare, so a longer reuse period would save nothing.
DEFAULT_KMS_DATA_KEY_REUSE_SECONDS = 300
# Plenty for an operator reading a message before it becomes visible to others again.
DEFAULT_VISIBILITY_TIMEOUT_SECONDS = 300
_QUEUE_NAME_MAX = 80


@dataclass(frozen=True, kw_only=True)
class QueueSender:
    """A principal the queue policy lets send messages, beyond the account's own roles.

    Roles in the same account need only their identity policy; name AWS services here,
    each pinned to the one resource it acts for so no other rule or topic can use the queue.
    """

    sid: str
    principal_type: Literal["Service", "AWS"]
    principal: str
    # Required for services: the aws:SourceArn the service sends on behalf of.
    source_arn: str | None = None
    # The account that owns source_arn, where the ARN alone does not name one (S3 buckets).
    source_account: str | None = None

    def __post_init__(self) -> None:
        if not self.sid.isalnum():
            raise ValueError(f"sid must be letters and digits only, got {self.sid!r}")
        if self.principal_type == "Service" and self.source_arn is None:
            raise ValueError(
                f"sender {self.sid}: source_arn is required for a service principal "
                "(without it any resource of that service could send)"
            )


@dataclass(frozen=True, kw_only=True)
class DeadLetterQueueProps:
    queue_name: str
    # Customer-managed key: SSE-KMS, so who may read failed payloads is a key-policy decision.
    kms_key_arn: str
    message_retention_seconds: int = DEFAULT_MESSAGE_RETENTION_SECONDS
    visibility_timeout_seconds: int = DEFAULT_VISIBILITY_TIMEOUT_SECONDS
    senders: Sequence[QueueSender] = ()

    def __post_init__(self) -> None:
        if not 1 <= len(self.queue_name) <= _QUEUE_NAME_MAX:
            raise ValueError(
                f"queue_name must be 1-{_QUEUE_NAME_MAX} characters, got {self.queue_name!r}"
            )
        if self.queue_name.endswith(".fifo"):
            raise ValueError(
                "queue_name must not end in .fifo: Lambda and EventBridge dead letters need "
                "a standard queue"
            )
        low, high = MESSAGE_RETENTION_SECONDS_RANGE
        if not low <= self.message_retention_seconds <= high:
            raise ValueError(
                f"message_retention_seconds must be from {low} to {high}, "
                f"got {self.message_retention_seconds}"
            )
        if not 0 <= self.visibility_timeout_seconds <= 43_200:
            raise ValueError(
                "visibility_timeout_seconds must be from 0 to 43200, "
                f"got {self.visibility_timeout_seconds}"
            )
        sids = [sender.sid for sender in self.senders]
        if len(set(sids)) != len(sids):
            raise ValueError(f"senders must have unique sids, got {sids}")


class DeadLetterQueue(Construct):
    """Standard queue, SSE-KMS, 14-day retention, TLS-only policy naming each sender."""

    def __init__(self, scope: Construct, construct_id: str, *, props: DeadLetterQueueProps) -> None:
        super().__init__(scope, construct_id)
        self.queue = SqsQueue(
            self,
            "queue",
            name=props.queue_name,
            kms_master_key_id=props.kms_key_arn,
            kms_data_key_reuse_period_seconds=DEFAULT_KMS_DATA_KEY_REUSE_SECONDS,
            message_retention_seconds=props.message_retention_seconds,
            visibility_timeout_seconds=props.visibility_timeout_seconds,
        )
        self.policy_document = DataAwsIamPolicyDocument(
            self,
            "policy-document",
            statement=queue_policy_statements(self.queue.arn, props.senders),
        )
        self.policy = SqsQueuePolicy(
            self, "policy", queue_url=self.queue.url, policy=self.policy_document.json
        )


def queue_policy_statements(
    queue_arn: str, senders: Sequence[QueueSender]
) -> list[DataAwsIamPolicyDocumentStatement]:
    """TLS only, and a SendMessage grant for each sender pinned to its source."""
    statements = [deny_insecure_transport("sqs", [queue_arn])]
    for sender in senders:
        conditions = []
        if sender.source_arn is not None:
            conditions.append(
                DataAwsIamPolicyDocumentStatementCondition(
                    test="ArnEquals", variable="aws:SourceArn", values=[sender.source_arn]
                )
            )
        if sender.source_account is not None:
            conditions.append(
                DataAwsIamPolicyDocumentStatementCondition(
                    test="StringEquals",
                    variable="aws:SourceAccount",
                    values=[sender.source_account],
                )
            )
        statements.append(
            DataAwsIamPolicyDocumentStatement(
                sid=sender.sid,
                actions=["sqs:SendMessage"],
                resources=[queue_arn],
                principals=[
                    DataAwsIamPolicyDocumentStatementPrincipals(
                        type=sender.principal_type, identifiers=[sender.principal]
                    )
                ],
                condition=conditions or None,
            )
        )
    return statements

"""Created objects -> an SQS queue -> a Lambda function in batches, with partial batch responses.

The queue absorbs bursts: S3 sends each notification to it, Lambda polls it and invokes the
function with up to ``batch_size`` messages, and the function reports which messages failed
(``ReportBatchItemFailures``) so only those are received again. A message that fails
``max_receive_count`` times moves to the dead-letter queue.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
)
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.lambda_event_source_mapping import (
    LambdaEventSourceMapping,
    LambdaEventSourceMappingScalingConfig,
)
from cdktf_cdktf_provider_aws.s3_bucket_notification import (
    S3BucketNotification,
    S3BucketNotificationQueue,
)
from constructs import Construct

from constructs_lib.aws_limits import (
    LAMBDA_SQS_BATCH_SIZE_RANGE,
    LAMBDA_SQS_BATCH_SIZE_WITHOUT_WINDOW_MAX,
    LAMBDA_SQS_BATCHING_WINDOW_SECONDS_RANGE,
    LAMBDA_SQS_MAXIMUM_CONCURRENCY_RANGE,
    LAMBDA_SQS_VISIBILITY_TIMEOUT_PER_FUNCTION_TIMEOUT,
)
from constructs_lib.base.dead_letter_queue import DeadLetterQueue, DeadLetterQueueProps, QueueSender
from constructs_lib.base.python_function import PythonFunction
from constructs_lib.base.secure_bucket import SecureBucket
from constructs_lib.base.work_queue import WorkQueue, WorkQueueProps
from constructs_lib.patterns.s3_lambda_trigger import DEFAULT_EVENTS

S3_PRINCIPAL = "s3.amazonaws.com"
# The function tells Lambda which messages failed; the others are deleted, not retried.
REPORT_BATCH_ITEM_FAILURES = "ReportBatchItemFailures"
# What a consumer of an SSE-KMS queue needs: receive, delete, extend, and its queue's settings.
CONSUMER_ACTIONS = (
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueAttributes",
)


@dataclass(frozen=True, kw_only=True)
class S3QueueTriggerProps:
    bucket: SecureBucket
    # Reads the queue in batches and returns {"batchItemFailures": [...]}.
    function: PythonFunction
    queue_name: str
    dead_letter_queue_name: str
    # Encrypts both queues; S3 must be allowed to use it (the key policy's service principals).
    kms_key_arn: str
    batch_size: int
    batching_window_seconds: int
    max_receive_count: int
    # Caps the invocations the mapping runs at once (keep it at or below reserved concurrency,
    # or throttled batches count as receives and reach the DLQ); None lets Lambda scale.
    maximum_concurrency: int | None = None
    events: tuple[str, ...] = DEFAULT_EVENTS
    filter_prefix: str | None = None

    def __post_init__(self) -> None:
        low, high = LAMBDA_SQS_BATCH_SIZE_RANGE
        if not low <= self.batch_size <= high:
            raise ValueError(f"batch_size must be from {low} to {high}, got {self.batch_size}")
        low, high = LAMBDA_SQS_BATCHING_WINDOW_SECONDS_RANGE
        if not low <= self.batching_window_seconds <= high:
            raise ValueError(
                f"batching_window_seconds must be from {low} to {high}, "
                f"got {self.batching_window_seconds}"
            )
        if (
            self.batch_size > LAMBDA_SQS_BATCH_SIZE_WITHOUT_WINDOW_MAX
            and self.batching_window_seconds < 1
        ):
            raise ValueError(
                "batching_window_seconds must be at least 1 when batch_size is above "
                f"{LAMBDA_SQS_BATCH_SIZE_WITHOUT_WINDOW_MAX}, got {self.batching_window_seconds}"
            )
        if self.maximum_concurrency is not None:
            low, high = LAMBDA_SQS_MAXIMUM_CONCURRENCY_RANGE
            if not low <= self.maximum_concurrency <= high:
                raise ValueError(
                    f"maximum_concurrency must be from {low} to {high}, "
                    f"got {self.maximum_concurrency}"
                )
        if not self.events or any(not event.startswith("s3:") for event in self.events):
            raise ValueError(
                f"events must be S3 event types like s3:ObjectCreated:*, got {self.events}"
            )


class S3QueueTrigger(Construct):
    """Ingest queue and its DLQ, the bucket notification, the consumer's IAM and the mapping."""

    def __init__(self, scope: Construct, construct_id: str, *, props: S3QueueTriggerProps) -> None:
        super().__init__(scope, construct_id)
        # Bucket names are global; pin the owner so a re-created name elsewhere cannot send.
        account_id = DataAwsCallerIdentity(self, "caller").account_id
        self.dead_letter_queue = DeadLetterQueue(
            self,
            "dlq",
            props=DeadLetterQueueProps(
                queue_name=props.dead_letter_queue_name, kms_key_arn=props.kms_key_arn
            ),
        )
        self.queue = WorkQueue(
            self,
            "queue",
            props=WorkQueueProps(
                queue_name=props.queue_name,
                kms_key_arn=props.kms_key_arn,
                visibility_timeout_seconds=props.function.timeout_seconds
                * LAMBDA_SQS_VISIBILITY_TIMEOUT_PER_FUNCTION_TIMEOUT,
                dead_letter_queue=self.dead_letter_queue,
                max_receive_count=props.max_receive_count,
                senders=[
                    QueueSender(
                        sid="AllowIngestBucketNotifications",
                        principal_type="Service",
                        principal=S3_PRINCIPAL,
                        source_arn=props.bucket.bucket.arn,
                        source_account=account_id,
                    )
                ],
            ),
        )
        queue_arn = self.queue.queue.arn
        self.consumer_policy_document = DataAwsIamPolicyDocument(
            self,
            "consumer-policy-document",
            statement=[
                DataAwsIamPolicyDocumentStatement(
                    sid="ConsumeIngestQueue", actions=list(CONSUMER_ACTIONS), resources=[queue_arn]
                ),
                # Messages are SSE-KMS: receiving one decrypts its data key.
                DataAwsIamPolicyDocumentStatement(
                    sid="DecryptIngestMessages",
                    actions=["kms:Decrypt"],
                    resources=[props.kms_key_arn],
                    # Only for this queue's messages (SQS names the queue in the context).
                    condition=[
                        DataAwsIamPolicyDocumentStatementCondition(
                            test="StringEquals",
                            variable="kms:EncryptionContext:aws:sqs:arn",
                            values=[queue_arn],
                        )
                    ],
                ),
            ],
        )
        self.consumer_policy = IamRolePolicy(
            self,
            "consumer-policy",
            name="consume-ingest-queue",
            role=props.function.role.id,
            policy=self.consumer_policy_document.json,
        )
        self.notification = S3BucketNotification(
            self,
            "notification",
            bucket=props.bucket.bucket.id,
            queue=[
                S3BucketNotificationQueue(
                    queue_arn=queue_arn,
                    events=list(props.events),
                    filter_prefix=props.filter_prefix,
                )
            ],
            # S3 sends a test message when the notification is saved: the policy must be there.
            depends_on=[self.queue.policy],
        )
        self.mapping = LambdaEventSourceMapping(
            self,
            "mapping",
            event_source_arn=queue_arn,
            function_name=props.function.alias_arn,
            batch_size=props.batch_size,
            maximum_batching_window_in_seconds=props.batching_window_seconds,
            function_response_types=[REPORT_BATCH_ITEM_FAILURES],
            scaling_config=LambdaEventSourceMappingScalingConfig(
                maximum_concurrency=props.maximum_concurrency
            )
            if props.maximum_concurrency is not None
            else None,
            # Lambda checks at creation that the role may read the queue.
            depends_on=[self.consumer_policy],
        )

"""Ingest: the bucket uploads land in, the processor that records each object version, and
the notifications topic every recorded object's notice goes to.

Objects created under ``object_prefix`` reach the processor by exactly one path:

* ``workflow``: the bucket sends its events to EventBridge, where the ingest workflow's rule
  starts one execution per object; the workflow's process step invokes the processor and its
  notify step publishes the notice. No bucket notification targets the processor.
* ``queue``: the bucket notifies the ingest queue; the processor reads it in batches, writes
  one record per object version (conditional put, so redeliveries write nothing), publishes
  each notice, and reports failed messages, which SQS retries and then dead-letters.

The processor's asynchronous failures (an event redriven from the failure queue) are retried
by Lambda, then handed with their error to the foundation's failure queue.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
)
from constructs import Construct
from pipeline_common.environment import (
    NOTICE_TOPIC_ARN,
    PROCESSOR_ENVIRONMENT,
    RECORD_TTL_DAYS,
    RECORD_WRITE_SHARDS,
    TABLE_NAME,
)

from constructs_lib.base.async_invocation import AsyncInvocation, AsyncInvocationProps
from constructs_lib.base.notification_topic import NotificationTopic, NotificationTopicProps
from constructs_lib.base.python_function import PythonFunction
from constructs_lib.base.secure_bucket import SecureBucket, SecureBucketProps
from constructs_lib.patterns.alarms import queue_alarm_specs
from constructs_lib.patterns.dashboard import Graph
from constructs_lib.patterns.private_network import InterfaceEndpointAccess
from constructs_lib.patterns.s3_queue_trigger import S3QueueTrigger, S3QueueTriggerProps
from constructs_lib.patterns.workflow_trigger import S3EventBridgeDelivery
from constructs_lib.pipeline.foundation import Foundation
from constructs_lib.pipeline.monitoring import (
    AlarmGroup,
    AlarmPolicy,
    add_outputs,
    function_alarm_group,
)
from constructs_lib.specs import FunctionSettings

# Why functions fed asynchronously carry no dead_letter_config (checkov CKV_AWS_116).
FAILURE_DESTINATION_REASON = (
    "Failed async events go to the on-failure destination, the pipeline DLQ, with the "
    "error and the original event; a dead_letter_config on the same queue would deliver "
    "every failure twice."
)


IngestPath = Literal["workflow", "queue"]
# Uploads land here; objects elsewhere in the bucket are stored but not recorded.
DEFAULT_OBJECT_PREFIX = "incoming/"


@dataclass(frozen=True, kw_only=True)
class QueueReading:
    """How the processor reads the ingest queue."""

    batch_size: int
    batching_window_seconds: int
    max_receive_count: int


@dataclass(frozen=True, kw_only=True)
class IngestProps:
    foundation: Foundation
    processor: FunctionSettings
    # Days until a record expires through the table's TTL; 0 keeps records forever.
    record_ttl_days: int
    # Lambda's retries of a failed async event, and how old one may get, before the DLQ.
    async_retry_attempts: int
    max_event_age_seconds: int
    # How created objects reach the processor (see the module docstring).
    path: IngestPath
    # Required where path is "queue"; meaningless otherwise.
    queue: QueueReading | None = None
    object_prefix: str = DEFAULT_OBJECT_PREFIX

    def __post_init__(self) -> None:
        if self.path not in ("workflow", "queue"):
            raise ValueError(f"path must be 'workflow' or 'queue', got {self.path!r}")
        if self.path == "queue" and self.queue is None:
            raise ValueError("queue is required when path is 'queue' (batching and redrive)")
        if self.path == "workflow" and self.queue is not None:
            raise ValueError("queue must be None when path is 'workflow': no queue is deployed")
        if not self.object_prefix or self.object_prefix.startswith("/"):
            raise ValueError(
                f"object_prefix must be a non-empty key prefix like 'incoming/', "
                f"got {self.object_prefix!r}"
            )


class Ingest(Construct):
    """Ingest bucket, processor function, S3 trigger and the processor's failure handling."""

    def __init__(self, scope: Construct, construct_id: str, *, props: IngestProps) -> None:
        super().__init__(scope, construct_id)
        foundation = props.foundation
        base = foundation.props
        bucket_name = f"{base.name_prefix}-ingest-{base.region}"
        self.bucket = SecureBucket(
            self,
            "bucket",
            props=SecureBucketProps(
                bucket_name=bucket_name,
                kms_key_arn=foundation.key.key.arn,
                access_logs_sink=foundation.access_logs,
                deny_insecure_transport=base.deny_insecure_transport,
                force_destroy=base.force_destroy,
                prevent_destroy=base.deletion_protection,
                noncurrent_version_expiration_days=base.noncurrent_version_expiration_days,
            ),
        )
        if foundation.network is not None:
            foundation.network.allow_s3([self.bucket.bucket.arn])
        self.path = props.path
        self.object_prefix = props.object_prefix
        self.bucket_name = bucket_name
        self.notifications = NotificationTopic(
            self,
            "notifications",
            props=NotificationTopicProps(
                topic_name=f"{base.name_prefix}-notifications",
                kms_key_arn=foundation.key.key.arn,
            ),
        )
        topic_arn = self.notifications.topic.arn
        if foundation.network is not None:
            # SNS has no gateway endpoint; without one, notices could not leave the VPC.
            foundation.network.add_interface_endpoint(
                InterfaceEndpointAccess(
                    service="sns", actions=["sns:Publish"], resources=[topic_arn]
                )
            )
        table = foundation.records.table
        reads_queue = props.path == "queue"
        self.processor = foundation.function(
            self,
            "processor",
            description="Records every object created in the ingest bucket",
            sizing=props.processor,
            environment=PROCESSOR_ENVIRONMENT.render(
                TABLE_NAME.set(table.name),
                RECORD_TTL_DAYS.set(props.record_ttl_days),
                RECORD_WRITE_SHARDS.set(foundation.props.record_write_shards),
                *([NOTICE_TOPIC_ARN.set(topic_arn)] if reads_queue else []),
            ),
            statements=[
                DataAwsIamPolicyDocumentStatement(
                    sid="WriteRecords", actions=["dynamodb:PutItem"], resources=[table.arn]
                ),
                *foundation.failure_destination_statements(),
                *(self._publish_statements(foundation, topic_arn) if reads_queue else []),
            ],
            no_dead_letter_reason=FAILURE_DESTINATION_REASON,
        )
        # Same construct id on both paths: the bucket's one notification keeps its address.
        self.queue_trigger: S3QueueTrigger | None = None
        if props.queue is not None:
            reserved = props.processor.reserved_concurrency
            self.queue_trigger = S3QueueTrigger(
                self,
                "trigger",
                props=S3QueueTriggerProps(
                    bucket=self.bucket,
                    function=self.processor,
                    queue_name=f"{base.name_prefix}-ingest",
                    dead_letter_queue_name=f"{base.name_prefix}-ingest-dlq",
                    kms_key_arn=foundation.key.key.arn,
                    batch_size=props.queue.batch_size,
                    batching_window_seconds=props.queue.batching_window_seconds,
                    max_receive_count=props.queue.max_receive_count,
                    # Never more pollers than the function may run: throttled batches would
                    # count as receives and reach the DLQ without ever failing.
                    maximum_concurrency=max(reserved, 2) if reserved is not None else None,
                    filter_prefix=props.object_prefix,
                ),
            )
            self.notification = self.queue_trigger.notification
        else:
            self.notification = S3EventBridgeDelivery(
                self, "trigger", bucket=self.bucket
            ).notification
        self.failure_handling = AsyncInvocation(
            self,
            "processor-async",
            props=AsyncInvocationProps(
                function=self.processor,
                maximum_retry_attempts=props.async_retry_attempts,
                maximum_event_age_seconds=props.max_event_age_seconds,
                on_failure_destination_arn=foundation.failure_queue.queue.arn,
            ),
        )
        outputs: dict[str, object] = {
            "ingest_bucket_name": self.bucket.bucket.id,
            "ingest_bucket_arn": self.bucket.bucket.arn,
            "ingest_path": props.path,
            "ingest_object_prefix": props.object_prefix,
            "processor_function_name": self.processor.function.function_name,
            "processor_function_arn": self.processor.function.arn,
            "notifications_topic_arn": topic_arn,
        }
        if self.queue_trigger is not None:
            outputs |= {
                "ingest_queue_url": self.queue_trigger.queue.queue.url,
                "ingest_dlq_queue_url": self.queue_trigger.dead_letter_queue.queue.url,
            }
        self.outputs = add_outputs(self, outputs)

    @staticmethod
    def _publish_statements(
        foundation: Foundation, topic_arn: str
    ) -> list[DataAwsIamPolicyDocumentStatement]:
        return [
            DataAwsIamPolicyDocumentStatement(
                sid="PublishNotices", actions=["sns:Publish"], resources=[topic_arn]
            ),
            # The topic is SSE-KMS: publishing needs a data key from the stack key.
            DataAwsIamPolicyDocumentStatement(
                sid="EncryptNotices",
                actions=["kms:GenerateDataKey*", "kms:Decrypt"],
                resources=[foundation.key.key.arn],
                # Only for this topic's messages (SNS names the topic in the context).
                condition=[
                    DataAwsIamPolicyDocumentStatementCondition(
                        test="StringEquals",
                        variable="kms:EncryptionContext:aws:sns:topicArn",
                        values=[topic_arn],
                    )
                ],
            ),
        ]

    @property
    def functions(self) -> Sequence[PythonFunction]:
        return (self.processor,)

    def alarm_groups(self, policy: AlarmPolicy) -> list[AlarmGroup]:
        groups = [function_alarm_group(self.processor, policy)]
        if self.queue_trigger is not None:
            groups.append(
                AlarmGroup(
                    title="Ingest queue",
                    specs=queue_alarm_specs(
                        label="ingest-dlq",
                        queue_name=self.queue_trigger.dead_letter_queue.queue.name,
                        visible_messages=policy.thresholds.dlq_visible_messages,
                        window=policy.window,
                    ),
                )
            )
        return groups

    def traffic_graphs(self) -> list[Graph]:
        return []

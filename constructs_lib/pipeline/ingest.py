"""Ingest: the bucket uploads land in, and the processor that records each object version.

S3 invokes the processor asynchronously for every created object; the processor writes one
record per object version (conditional put, so redeliveries write nothing). Failed events
are retried by Lambda, then handed with their error to the foundation's failure queue.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocumentStatement,
)
from constructs import Construct
from pipeline_common.environment import PROCESSOR_ENVIRONMENT, RECORD_TTL_DAYS, TABLE_NAME

from constructs_lib.base.async_invocation import AsyncInvocation, AsyncInvocationProps
from constructs_lib.base.python_function import PythonFunction
from constructs_lib.base.secure_bucket import SecureBucket, SecureBucketProps
from constructs_lib.patterns.dashboard import Graph
from constructs_lib.patterns.s3_lambda_trigger import S3LambdaTrigger, S3LambdaTriggerProps
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


@dataclass(frozen=True, kw_only=True)
class IngestProps:
    foundation: Foundation
    processor: FunctionSettings
    # Days until a record expires through the table's TTL; 0 keeps records forever.
    record_ttl_days: int
    # Lambda's retries of a failed S3 event, and how old an event may get, before the DLQ.
    async_retry_attempts: int
    max_event_age_seconds: int


class Ingest(Construct):
    """Ingest bucket, processor function, S3 trigger and the processor's failure handling."""

    def __init__(self, scope: Construct, construct_id: str, *, props: IngestProps) -> None:
        super().__init__(scope, construct_id)
        foundation = props.foundation
        base = foundation.props
        self.bucket = SecureBucket(
            self,
            "bucket",
            props=SecureBucketProps(
                bucket_name=f"{base.name_prefix}-ingest-{base.region}",
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
        table = foundation.records.table
        self.processor = foundation.function(
            self,
            "processor",
            description="Records every object created in the ingest bucket",
            sizing=props.processor,
            environment=PROCESSOR_ENVIRONMENT.render(
                TABLE_NAME.set(table.name), RECORD_TTL_DAYS.set(props.record_ttl_days)
            ),
            statements=[
                DataAwsIamPolicyDocumentStatement(
                    sid="WriteRecords", actions=["dynamodb:PutItem"], resources=[table.arn]
                ),
                *foundation.failure_destination_statements(),
            ],
            no_dead_letter_reason=FAILURE_DESTINATION_REASON,
        )
        self.trigger = S3LambdaTrigger(
            self,
            "trigger",
            props=S3LambdaTriggerProps(bucket=self.bucket, function=self.processor),
        )
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
        self.outputs = add_outputs(
            self,
            {
                "ingest_bucket_name": self.bucket.bucket.id,
                "ingest_bucket_arn": self.bucket.bucket.arn,
                "processor_function_name": self.processor.function.function_name,
                "processor_function_arn": self.processor.function.arn,
            },
        )

    @property
    def functions(self) -> Sequence[PythonFunction]:
        return (self.processor,)

    def alarm_groups(self, policy: AlarmPolicy) -> list[AlarmGroup]:
        return [function_alarm_group(self.processor, policy)]

    def traffic_graphs(self) -> list[Graph]:
        return []

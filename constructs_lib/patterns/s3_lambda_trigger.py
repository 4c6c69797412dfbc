"""Invoke a Lambda function when objects are created in a bucket."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.lambda_permission import LambdaPermission
from cdktf_cdktf_provider_aws.s3_bucket_notification import (
    S3BucketNotification,
    S3BucketNotificationLambdaFunction,
)
from constructs import Construct

from constructs_lib.base.python_function import PythonFunction
from constructs_lib.base.secure_bucket import SecureBucket

# Every way an object can appear: Put, Post, Copy and CompleteMultipartUpload.
DEFAULT_EVENTS = ("s3:ObjectCreated:*",)


@dataclass(frozen=True, kw_only=True)
class S3LambdaTriggerProps:
    bucket: SecureBucket
    # Invoked asynchronously with each notification.
    function: PythonFunction
    events: tuple[str, ...] = DEFAULT_EVENTS
    filter_prefix: str | None = None
    filter_suffix: str | None = None

    def __post_init__(self) -> None:
        if not self.events:
            raise ValueError("events must name at least one S3 event type")
        bad = [event for event in self.events if not event.startswith("s3:")]
        if bad:
            raise ValueError(f"events must be S3 event types like s3:ObjectCreated:*, got {bad}")


class S3LambdaTrigger(Construct):
    """The bucket notification plus the permission it needs, created in that order."""

    def __init__(self, scope: Construct, construct_id: str, *, props: S3LambdaTriggerProps) -> None:
        super().__init__(scope, construct_id)
        self.permission = LambdaPermission(
            self,
            "permission",
            statement_id="AllowInvokeFromIngestBucket",
            action="lambda:InvokeFunction",
            function_name=props.function.function_name,
            qualifier=props.function.qualifier,
            principal="s3.amazonaws.com",
            source_arn=props.bucket.bucket.arn,
            # Bucket names are global; pin the owner so a re-created name elsewhere can't invoke.
            source_account=DataAwsCallerIdentity(self, "caller").account_id,
        )
        self.notification = S3BucketNotification(
            self,
            "notification",
            bucket=props.bucket.bucket.id,
            lambda_function=[
                S3BucketNotificationLambdaFunction(
                    lambda_function_arn=props.function.alias_arn,
                    events=list(props.events),
                    filter_prefix=props.filter_prefix,
                    filter_suffix=props.filter_suffix,
                )
            ],
            # S3 validates the destination when the notification is saved.
            depends_on=[self.permission],
        )

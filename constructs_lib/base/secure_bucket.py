"""An S3 bucket with every protection on unless a prop explicitly turns it off."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cdktf import TerraformResourceLifecycle
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
    DataAwsIamPolicyDocumentStatementPrincipals,
)
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition
from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket
from cdktf_cdktf_provider_aws.s3_bucket_lifecycle_configuration import (
    S3BucketLifecycleConfiguration,
    S3BucketLifecycleConfigurationRule,
    S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload,
    S3BucketLifecycleConfigurationRuleExpiration,
    S3BucketLifecycleConfigurationRuleFilter,
    S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration,
)
from cdktf_cdktf_provider_aws.s3_bucket_logging import S3BucketLoggingA
from cdktf_cdktf_provider_aws.s3_bucket_ownership_controls import (
    S3BucketOwnershipControls,
    S3BucketOwnershipControlsRule,
)
from cdktf_cdktf_provider_aws.s3_bucket_policy import S3BucketPolicy
from cdktf_cdktf_provider_aws.s3_bucket_public_access_block import S3BucketPublicAccessBlock
from cdktf_cdktf_provider_aws.s3_bucket_server_side_encryption_configuration import (
    S3BucketServerSideEncryptionConfigurationA,
    S3BucketServerSideEncryptionConfigurationRuleA,
    S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA,
)
from cdktf_cdktf_provider_aws.s3_bucket_versioning import (
    S3BucketVersioningA,
    S3BucketVersioningVersioningConfiguration,
)
from constructs import Construct

from constructs_lib.base.policy_statements import deny_insecure_transport
from constructs_lib.checkov_suppression import skip_check

# Long enough to recover from a bad overwrite, short enough not to pay for old versions forever.
DEFAULT_NONCURRENT_VERSION_EXPIRATION_DAYS = 30
# Parts of abandoned multipart uploads are billed but invisible; a week is ample to resume.
DEFAULT_ABORT_INCOMPLETE_UPLOAD_DAYS = 7
S3_BUCKET_NAME_MAX = 63


@dataclass(frozen=True, kw_only=True)
class SecureBucketProps:
    bucket_name: str
    # SSE-KMS with this key; None means SSE-S3 and must be chosen with sse_s3_reason.
    kms_key_arn: str | None
    sse_s3_reason: str | None = None
    # Where server access logs go; None only for a bucket that is itself a log sink.
    access_logs_sink: SecureBucket | None = None
    is_access_log_sink: bool = False
    # For a log sink: the buckets (names, '*' allowed) whose access logs S3 may deliver here.
    log_source_buckets: Sequence[str] = ()
    force_destroy: bool = False
    # Adds Terraform prevent_destroy so a plan can never delete the bucket.
    prevent_destroy: bool = True
    noncurrent_version_expiration_days: int = DEFAULT_NONCURRENT_VERSION_EXPIRATION_DAYS
    # Days until a current object expires (becomes noncurrent); None keeps current objects.
    current_version_expiration_days: int | None = None
    abort_incomplete_upload_days: int = DEFAULT_ABORT_INCOMPLETE_UPLOAD_DAYS
    # Why no S3 event notification is configured, when none is; None if one will be.
    no_event_notifications_reason: str | None = None
    extra_policy_statements: Sequence[DataAwsIamPolicyDocumentStatement] = ()
    # The TLS-only Deny; turned off only for a target that cannot evaluate aws:SecureTransport.
    deny_insecure_transport: bool = True

    def __post_init__(self) -> None:
        if not 3 <= len(self.bucket_name) <= S3_BUCKET_NAME_MAX:
            raise ValueError(
                f"bucket_name must be 3-{S3_BUCKET_NAME_MAX} characters, got {self.bucket_name!r}"
            )
        if (self.kms_key_arn is None) == (self.sse_s3_reason is None):
            raise ValueError("set exactly one of kms_key_arn and sse_s3_reason")
        if self.is_access_log_sink == (self.access_logs_sink is not None):
            raise ValueError("set exactly one of access_logs_sink and is_access_log_sink")
        if self.access_logs_sink is not None and not self.access_logs_sink.is_access_log_sink:
            raise ValueError("access_logs_sink must be a bucket created with is_access_log_sink")
        if self.is_access_log_sink == (
            isinstance(self.log_source_buckets, str) or not any(self.log_source_buckets)
        ):
            raise ValueError(
                "log_source_buckets must name the buckets that log here, exactly when "
                "is_access_log_sink is set"
            )
        if self.force_destroy and self.prevent_destroy:
            raise ValueError("force_destroy contradicts prevent_destroy; turn one off")
        if self.noncurrent_version_expiration_days < 1:
            raise ValueError("noncurrent_version_expiration_days must be at least 1")
        if self.current_version_expiration_days is not None and (
            isinstance(self.current_version_expiration_days, bool)
            or not isinstance(self.current_version_expiration_days, int)
            or self.current_version_expiration_days < 1
        ):
            raise ValueError(
                "current_version_expiration_days must be a whole number of days of at least 1, "
                f"got {self.current_version_expiration_days!r}"
            )
        if self.abort_incomplete_upload_days < 1:
            raise ValueError("abort_incomplete_upload_days must be at least 1")


class SecureBucket(Construct):
    """Versioned, encrypted, private, TLS-only bucket with lifecycle rules and access logs."""

    def __init__(self, scope: Construct, construct_id: str, *, props: SecureBucketProps) -> None:
        super().__init__(scope, construct_id)
        self.is_access_log_sink = props.is_access_log_sink
        self.bucket = S3Bucket(
            self,
            "bucket",
            bucket=props.bucket_name,
            force_destroy=props.force_destroy,
            lifecycle=TerraformResourceLifecycle(prevent_destroy=props.prevent_destroy),
        )
        skip_check(
            self.bucket,
            "CKV_AWS_144",
            "Cross-region replication is a disaster-recovery choice per environment; versioning "
            "and noncurrent-version retention cover accidental loss here.",
        )
        if props.no_event_notifications_reason is not None:
            skip_check(self.bucket, "CKV2_AWS_62", props.no_event_notifications_reason)
        self.public_access_block = S3BucketPublicAccessBlock(
            self,
            "public-access-block",
            bucket=self.bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
        )
        S3BucketOwnershipControls(
            self,
            "ownership",
            bucket=self.bucket.id,
            rule=S3BucketOwnershipControlsRule(object_ownership="BucketOwnerEnforced"),
        )
        self.versioning = S3BucketVersioningA(
            self,
            "versioning",
            bucket=self.bucket.id,
            versioning_configuration=S3BucketVersioningVersioningConfiguration(status="Enabled"),
        )
        self._encrypt(props)
        self.lifecycle = S3BucketLifecycleConfiguration(
            self,
            "lifecycle",
            bucket=self.bucket.id,
            rule=[
                S3BucketLifecycleConfigurationRule(
                    id="expire-noncurrent-versions-and-abort-uploads",
                    status="Enabled",
                    # An empty filter applies the rule to every object.
                    filter=[S3BucketLifecycleConfigurationRuleFilter()],
                    noncurrent_version_expiration=[
                        S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(
                            noncurrent_days=props.noncurrent_version_expiration_days
                        )
                    ],
                    abort_incomplete_multipart_upload=[
                        S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(
                            days_after_initiation=props.abort_incomplete_upload_days
                        )
                    ],
                ),
                *self._current_expiration_rules(props),
            ],
            depends_on=[self.versioning],
        )
        skip_check(
            self.lifecycle,
            "CKV_AWS_300",
            "The abort rule has an empty filter, so it covers every object; checkov's JSON "
            "parser adds line markers to that empty block and mistakes it for a narrowing filter.",
        )
        if props.access_logs_sink is not None:
            S3BucketLoggingA(
                self,
                "access-logs",
                bucket=self.bucket.id,
                target_bucket=props.access_logs_sink.bucket.id,
                target_prefix=f"{props.bucket_name}/",
                # S3 refuses the setting until the sink's policy admits the logging service.
                depends_on=[props.access_logs_sink.policy]
                if props.access_logs_sink.policy
                else None,
            )
        else:
            skip_check(self.bucket, "CKV_AWS_18", "This bucket is the access-log sink itself.")
        statements = self._policy_statements(props)
        self.policy: S3BucketPolicy | None = (
            S3BucketPolicy(
                self,
                "policy",
                bucket=self.bucket.id,
                policy=DataAwsIamPolicyDocument(self, "policy-document", statement=statements).json,
                depends_on=[self.public_access_block],
            )
            if statements
            else None
        )

    @staticmethod
    def _current_expiration_rules(
        props: SecureBucketProps,
    ) -> list[S3BucketLifecycleConfigurationRule]:
        if props.current_version_expiration_days is None:
            return []
        # Versioned: expiry adds a delete marker, and the object itself goes once noncurrent.
        return [
            S3BucketLifecycleConfigurationRule(
                id="expire-current-objects",
                status="Enabled",
                filter=[S3BucketLifecycleConfigurationRuleFilter()],
                expiration=[
                    S3BucketLifecycleConfigurationRuleExpiration(
                        days=props.current_version_expiration_days
                    )
                ],
            )
        ]

    def _encrypt(self, props: SecureBucketProps) -> None:
        if props.kms_key_arn is not None:
            default = (
                S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
                    sse_algorithm="aws:kms", kms_master_key_id=props.kms_key_arn
                )
            )
        else:
            default = (
                S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
                    sse_algorithm="AES256"
                )
            )
            skip_check(self.bucket, "CKV_AWS_145", props.sse_s3_reason or "")
        S3BucketServerSideEncryptionConfigurationA(
            self,
            "encryption",
            bucket=self.bucket.id,
            rule=[
                S3BucketServerSideEncryptionConfigurationRuleA(
                    apply_server_side_encryption_by_default=default,
                    # S3 Bucket Keys cut KMS request costs by ~99% for busy buckets.
                    bucket_key_enabled=props.kms_key_arn is not None,
                )
            ],
        )

    def _policy_statements(
        self, props: SecureBucketProps
    ) -> list[DataAwsIamPolicyDocumentStatement]:
        statements = []
        if props.deny_insecure_transport:
            statements.append(
                deny_insecure_transport("s3", [self.bucket.arn, f"{self.bucket.arn}/*"])
            )
        if props.is_access_log_sink:
            account_id = DataAwsCallerIdentity(self, "caller").account_id
            partition = DataAwsPartition(self, "partition").partition
            statements.append(
                DataAwsIamPolicyDocumentStatement(
                    sid="AllowServerAccessLogDelivery",
                    actions=["s3:PutObject"],
                    resources=[f"{self.bucket.arn}/*"],
                    principals=[
                        DataAwsIamPolicyDocumentStatementPrincipals(
                            type="Service", identifiers=["logging.s3.amazonaws.com"]
                        )
                    ],
                    # Only this account's named buckets may deliver here (confused deputy).
                    condition=[
                        DataAwsIamPolicyDocumentStatementCondition(
                            test="StringEquals", variable="aws:SourceAccount", values=[account_id]
                        ),
                        DataAwsIamPolicyDocumentStatementCondition(
                            test="ArnLike",
                            variable="aws:SourceArn",
                            values=[
                                f"arn:{partition}:s3:::{name}" for name in props.log_source_buckets
                            ],
                        ),
                    ],
                )
            )
        statements.extend(props.extra_policy_statements)
        return statements


# S3 server access log delivery writes only to buckets encrypted with SSE-S3.
ACCESS_LOG_SINK_SSE_REASON = "S3 server access log delivery supports only SSE-S3 on the target."


def access_log_sink(
    scope: Construct,
    construct_id: str,
    *,
    bucket_name: str,
    source_buckets: Sequence[str],
    deny_insecure_transport: bool = True,
    force_destroy: bool = False,
    prevent_destroy: bool = True,
    noncurrent_version_expiration_days: int = DEFAULT_NONCURRENT_VERSION_EXPIRATION_DAYS,
    expiration_days: int | None = None,
) -> SecureBucket:
    """The bucket other buckets write their server access logs to (SSE-S3, never processed)."""
    return SecureBucket(
        scope,
        construct_id,
        props=SecureBucketProps(
            bucket_name=bucket_name,
            kms_key_arn=None,
            sse_s3_reason=ACCESS_LOG_SINK_SSE_REASON,
            is_access_log_sink=True,
            log_source_buckets=tuple(source_buckets),
            deny_insecure_transport=deny_insecure_transport,
            force_destroy=force_destroy,
            prevent_destroy=prevent_destroy,
            noncurrent_version_expiration_days=noncurrent_version_expiration_days,
            current_version_expiration_days=expiration_days,
            no_event_notifications_reason="Access logs are read on demand, never processed.",
        ),
    )

"""The account-level stack: remote state (bucket and key), account-wide settings, CI access.

Apply it once per account, with local state, before any environment stack (README: First run).
Settings that exist once per account and region, such as API Gateway's CloudWatch role, live
here and never in an environment stack, so no environment's apply or destroy changes another's.
"""

from __future__ import annotations

from cdktf import LocalBackend, TerraformOutput, TerraformStack
from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
    DataAwsIamPolicyDocumentStatementPrincipals,
)
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition
from constructs import Construct

from config.deployment import DeploymentTarget, state_key_alias
from config.environments import SEED_TAGS
from constructs_lib.addresses import forget_resources, logical_id
from constructs_lib.base.api_gateway_account import (
    ApiGatewayAccountLogging,
    ApiGatewayAccountLoggingProps,
)
from constructs_lib.base.aws_provider import AwsProviderProps, PipelineAwsProvider
from constructs_lib.base.encryption_key import EncryptionKey, EncryptionKeyProps
from constructs_lib.base.secure_bucket import SecureBucket, SecureBucketProps, access_log_sink
from constructs_lib.base.state_lock_table import StateLockTable, StateLockTableProps
from constructs_lib.pipeline.github_actions_access import (
    GithubActionsAccess,
    GithubActionsAccessProps,
)
from stacks.names import pipeline_stack_id

# Old state versions are the undo button for a bad apply; keep them a quarter.
STATE_VERSION_RETENTION_DAYS = 90
# The retention guard: fewer days than this leaves too little time to notice a bad apply.
STATE_VERSION_RETENTION_MIN_DAYS = 30
# Where the DynamoDB lock table sat; forgotten (never deleted) once S3 lock files replace it.
LOCK_TABLE_ADDRESS = f"aws_dynamodb_table.{logical_id(['locks', 'table'])}"


class BootstrapStack(TerraformStack):
    """State bucket (versioned, KMS-only, TLS-only, undeletable versions), key, account settings."""

    def __init__(
        self,
        scope: Construct,
        stack_id: str,
        *,
        target: DeploymentTarget,
        state_version_retention_days: int = STATE_VERSION_RETENTION_DAYS,
    ) -> None:
        super().__init__(scope, stack_id)
        if state_version_retention_days < STATE_VERSION_RETENTION_MIN_DAYS:
            raise ValueError(
                f"state_version_retention_days must be at least "
                f"{STATE_VERSION_RETENTION_MIN_DAYS}, got {state_version_retention_days}"
            )
        state = target.state
        intent = target.intent
        PipelineAwsProvider(
            self,
            "provider",
            props=AwsProviderProps(
                region=state.region,
                # The environments' seed tags too: the state and its key are the product's.
                default_tags={**SEED_TAGS, "Project": target.project, "Owner": "platform-team",
                              "Environment": "shared", "ManagedBy": "cdktf"},
                allowed_account_id=target.bootstrap_account_id,
                endpoint=intent.endpoint,
            ),
        )  # fmt: skip
        # The bucket that will hold remote state cannot hold its own state before it exists.
        LocalBackend(self, path=f"../../../terraform.{stack_id}.tfstate")
        # Only for state: environment data has keys of its own (Foundation), so one key's
        # compromise never exposes both. State holds secrets (the API key value).
        name_prefix = f"{target.project}-state"
        if f"alias/{name_prefix}" != state_key_alias(target.project):
            raise ValueError("the state key's alias must be the one the backends name")
        key = EncryptionKey(
            self,
            "key",
            props=EncryptionKeyProps(
                name_prefix=name_prefix,
                region=state.region,
                prevent_destroy=True,
                description=f"{target.project} Terraform state",
                log_group_prefixes=(),
            ),
        )
        self.state_key = key
        logs = access_log_sink(
            self,
            "access-logs",
            bucket_name=f"{state.bucket}-access-logs",
            source_buckets=(state.bucket,),
            deny_insecure_transport=intent.deny_insecure_transport,
            noncurrent_version_expiration_days=state_version_retention_days,
        )
        self.state_bucket = SecureBucket(
            self,
            "state",
            props=SecureBucketProps(
                bucket_name=state.bucket,
                kms_key_arn=key.key.arn,
                access_logs_sink=logs,
                deny_insecure_transport=intent.deny_insecure_transport,
                noncurrent_version_expiration_days=state_version_retention_days,
                no_event_notifications_reason="Terraform reads and writes state; nothing reacts.",
                extra_policy_statements=_state_guards(
                    f"arn:{DataAwsPartition(self, 'partition').partition}:s3:::{state.bucket}/*",
                    deny_unencrypted_writes=intent.deny_unencrypted_writes,
                ),
            ),
        )
        if state.lock_table is not None:
            # Migration only (README: Terraform state): the backends still lock here too.
            self.lock_table: StateLockTable | None = StateLockTable(
                self,
                "locks",
                props=StateLockTableProps(table_name=state.lock_table, kms_key_arn=key.key.arn),
            )
            TerraformOutput(self, "lock_table_name", value=self.lock_table.table.name)
        else:
            # S3 lock files replaced the table: Terraform forgets it, AWS keeps it until the
            # operator deletes it, so a checkout still locking there is never left without it.
            self.lock_table = None
            forget_resources(self, [LOCK_TABLE_ADDRESS])
        self.api_gateway_logging = ApiGatewayAccountLogging(
            self,
            "apigateway-account",
            props=ApiGatewayAccountLoggingProps(
                role_name=f"{target.project}-apigateway-cloudwatch", region=state.region
            ),
        )
        # CI's OIDC roles, only for a named repository (PIPELINE_GITHUB_REPOSITORY).
        self.github_actions: GithubActionsAccess | None = None
        if target.github_repository is not None:
            self.github_actions = GithubActionsAccess(
                self,
                "github-actions",
                props=GithubActionsAccessProps(
                    repository=target.github_repository,
                    project=target.project,
                    state_keys={
                        name: state.state_key(pipeline_stack_id(name))
                        for name in target.environments
                    },
                    state_bucket=state.bucket,
                    state_key_arn=key.key.arn,
                    lock_table=state.lock_table,
                ),
            )
        TerraformOutput(self, "state_bucket_name", value=self.state_bucket.bucket.id)
        TerraformOutput(self, "state_bucket_arn", value=self.state_bucket.bucket.arn)
        TerraformOutput(self, "state_key_arn", value=key.key.arn)


def _state_guards(
    objects: str, *, deny_unencrypted_writes: bool
) -> list[DataAwsIamPolicyDocumentStatement]:
    """Deny writes not encrypted with KMS, and deny deleting any state version."""
    everyone = [DataAwsIamPolicyDocumentStatementPrincipals(type="*", identifiers=["*"])]
    statements = [
        # Only the lifecycle rule (not subject to bucket policy) removes old versions, after
        # the retention period; nobody can purge the history of a state file by hand.
        DataAwsIamPolicyDocumentStatement(
            sid="DenyStateVersionDeletion",
            effect="Deny",
            actions=["s3:DeleteObjectVersion"],
            resources=[objects],
            principals=everyone,
        )
    ]
    if deny_unencrypted_writes:
        statements.append(
            DataAwsIamPolicyDocumentStatement(
                sid="DenyWritesWithoutKms",
                effect="Deny",
                actions=["s3:PutObject"],
                resources=[objects],
                principals=everyone,
                # Also true when the header is missing: an unencrypted request is refused.
                condition=[
                    DataAwsIamPolicyDocumentStatementCondition(
                        test="StringNotEquals",
                        variable="s3:x-amz-server-side-encryption",
                        values=["aws:kms"],
                    )
                ],
            )
        )
    return statements

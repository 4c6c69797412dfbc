"""Creates the remote-state bucket and lock table that every environment stack uses.

Apply it once per account, with local state, before any environment stack (README: First run).
"""

from __future__ import annotations

from cdktf import LocalBackend, TerraformOutput, TerraformStack
from constructs import Construct

from config.deployment import DeploymentTarget
from constructs_lib.base.aws_provider import AwsProviderProps, PipelineAwsProvider
from constructs_lib.base.encryption_key import EncryptionKey, EncryptionKeyProps
from constructs_lib.base.secure_bucket import SecureBucket, SecureBucketProps, access_log_sink
from constructs_lib.base.state_lock_table import StateLockTable, StateLockTableProps

# Old state versions are the undo button for a bad apply; keep them a quarter.
STATE_VERSION_RETENTION_DAYS = 90


class BootstrapStack(TerraformStack):
    """State bucket (versioned, encrypted, private, TLS-only) and the lock table."""

    def __init__(self, scope: Construct, stack_id: str, *, target: DeploymentTarget) -> None:
        super().__init__(scope, stack_id)
        state = target.state
        intent = target.intent
        PipelineAwsProvider(
            self,
            "provider",
            props=AwsProviderProps(
                region=state.region,
                default_tags={"Project": target.project, "Owner": "platform-team",
                              "Environment": "shared", "ManagedBy": "cdktf"},
                endpoint=intent.endpoint,
            ),
        )  # fmt: skip
        # The bucket that will hold remote state cannot hold its own state before it exists.
        LocalBackend(self, path=f"../../../terraform.{stack_id}.tfstate")
        key = EncryptionKey(
            self,
            "key",
            props=EncryptionKeyProps(name_prefix=f"{target.project}-state", region=state.region),
        )
        logs = access_log_sink(
            self,
            "access-logs",
            bucket_name=f"{state.bucket}-access-logs",
            source_buckets=(state.bucket,),
            deny_insecure_transport=intent.deny_insecure_transport,
            noncurrent_version_expiration_days=STATE_VERSION_RETENTION_DAYS,
        )
        self.state_bucket = SecureBucket(
            self,
            "state",
            props=SecureBucketProps(
                bucket_name=state.bucket,
                kms_key_arn=key.key.arn,
                access_logs_sink=logs,
                deny_insecure_transport=intent.deny_insecure_transport,
                noncurrent_version_expiration_days=STATE_VERSION_RETENTION_DAYS,
                no_event_notifications_reason="Terraform reads and writes state; nothing reacts.",
            ),
        )
        self.lock_table = StateLockTable(
            self,
            "locks",
            props=StateLockTableProps(table_name=state.lock_table, kms_key_arn=key.key.arn),
        )
        TerraformOutput(self, "state_bucket_name", value=self.state_bucket.bucket.id)
        TerraformOutput(self, "state_bucket_arn", value=self.state_bucket.bucket.arn)
        TerraformOutput(self, "lock_table_name", value=self.lock_table.table.name)

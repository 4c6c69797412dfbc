"""A locked AWS Backup vault and a daily plan for named resources (a table, a bucket).

The vault has a key of its own, so the copy stays readable if the data's key is lost, and a
compliance-mode lock: once the grace period passes, nobody can shorten retention or delete a
recovery point early, administrators included.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cdktf import TerraformResourceLifecycle
from cdktf_cdktf_provider_aws.backup_plan import (
    BackupPlan,
    BackupPlanRule,
    BackupPlanRuleLifecycle,
)
from cdktf_cdktf_provider_aws.backup_selection import BackupSelection
from cdktf_cdktf_provider_aws.backup_vault import BackupVault
from cdktf_cdktf_provider_aws.backup_vault_lock_configuration import (
    BackupVaultLockConfiguration,
)
from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import DataAwsIamPolicyDocument
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from constructs import Construct

from constructs_lib.base.encryption_key import EncryptionKey, EncryptionKeyProps
from constructs_lib.base.policy_statements import service_assume_role

# AWS-managed policies AWS Backup documents for its service role: back up and restore
# DynamoDB (the first two) and S3 (the last two).
BACKUP_MANAGED_POLICIES = (
    "service-role/AWSBackupServiceRolePolicyForBackup",
    "service-role/AWSBackupServiceRolePolicyForRestores",
    "AWSBackupServiceRolePolicyForS3Backup",
    "AWSBackupServiceRolePolicyForS3Restore",
)


@dataclass(frozen=True, kw_only=True)
class LockedBackupProps:
    name_prefix: str
    region: str
    # ARNs of what is backed up (DynamoDB tables, versioned S3 buckets).
    resources: Sequence[str]
    retention_days: int
    schedule_expression: str
    # Days the lock can still be changed or removed; then it is permanent (compliance mode).
    lock_grace_days: int
    max_retention_days: int

    def __post_init__(self) -> None:
        if not self.resources:
            raise ValueError("resources must name at least one resource to back up")
        if self.retention_days < 1 or self.max_retention_days < self.retention_days:
            raise ValueError(
                "retention_days must be at least 1 and at most max_retention_days, got "
                f"{self.retention_days} and {self.max_retention_days}"
            )
        if self.lock_grace_days < 3:
            raise ValueError(f"lock_grace_days must be at least 3, got {self.lock_grace_days}")


class LockedBackup(Construct):
    """Vault (own key, locked), daily plan with retention, and the selection it applies to."""

    def __init__(self, scope: Construct, construct_id: str, *, props: LockedBackupProps) -> None:
        super().__init__(scope, construct_id)
        self.key = EncryptionKey(
            self,
            "key",
            props=EncryptionKeyProps(
                name_prefix=f"{props.name_prefix}-backup",
                region=props.region,
                description=f"{props.name_prefix} backup vault",
                prevent_destroy=True,
            ),
        )
        self.vault = BackupVault(
            self,
            "vault",
            name=f"{props.name_prefix}-vault",
            kms_key_arn=self.key.key.arn,
            lifecycle=TerraformResourceLifecycle(prevent_destroy=True),
        )
        self.lock = BackupVaultLockConfiguration(
            self,
            "lock",
            backup_vault_name=self.vault.name,
            min_retention_days=props.retention_days,
            max_retention_days=props.max_retention_days,
            changeable_for_days=props.lock_grace_days,
        )
        self.plan = BackupPlan(
            self,
            "plan",
            name=f"{props.name_prefix}-daily",
            rule=[
                BackupPlanRule(
                    rule_name="daily",
                    target_vault_name=self.vault.name,
                    schedule=props.schedule_expression,
                    lifecycle=BackupPlanRuleLifecycle(delete_after=props.retention_days),
                )
            ],
        )
        partition = DataAwsPartition(self, "partition").partition
        trust = DataAwsIamPolicyDocument(
            self, "trust", statement=[service_assume_role("backup.amazonaws.com")]
        )
        self.role = IamRole(
            self,
            "role",
            name=f"{props.name_prefix}-backup",
            description="AWS Backup backs up and restores this environment's data",
            assume_role_policy=trust.json,
        )
        for index, policy in enumerate(BACKUP_MANAGED_POLICIES):
            IamRolePolicyAttachment(
                self,
                f"managed-{index}",
                role=self.role.name,
                policy_arn=f"arn:{partition}:iam::aws:policy/{policy}",
            )
        self.selection = BackupSelection(
            self,
            "selection",
            name=f"{props.name_prefix}-data",
            plan_id=self.plan.id,
            iam_role_arn=self.role.arn,
            resources=list(props.resources),
        )

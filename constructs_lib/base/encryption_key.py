"""A customer-managed KMS key, with a policy scoped to what may use it and through what.

The account administers the key; CloudWatch Logs may use it only for the log groups under the
given prefixes (the encryption context names the log group); each AWS service that encrypts
on the caller's behalf gets its own statement, scoped by encryption context or aws:SourceArn.
Principals in the account use it only through IAM policies, which
``decrypt_through_services`` keeps to requests made by named AWS services.
"""

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
from cdktf_cdktf_provider_aws.kms_alias import KmsAlias
from cdktf_cdktf_provider_aws.kms_key import KmsKey
from constructs import Construct

from constructs_lib.checkov_suppression import skip_check

# The shortest waiting period KMS allows; long enough to cancel an accidental delete.
DEFAULT_DELETION_WINDOW_DAYS = 30
# AWS services that encrypt with this key on the caller's behalf; none unless granted.
DEFAULT_SERVICE_GRANTS: tuple[KeyServiceGrant, ...] = ()
# AWS services through which the pipeline's functions decrypt: Lambda (environment variables),
# DynamoDB, S3, SQS, SNS and Step Functions (their server-side encryption).
DECRYPT_VIA_SERVICES = ("lambda", "dynamodb", "s3", "sqs", "sns", "states")


@dataclass(frozen=True, kw_only=True)
class KeyServiceGrant:
    """One AWS service statement: who, and the condition that pins it to our resources."""

    sid: str
    principals: Sequence[str]
    # An encryption-context key ("kms:EncryptionContext:aws:sqs:arn") or "aws:SourceArn".
    condition_variable: str
    # ARN patterns (ArnLike) the variable must match; "${account}", "${region}" and
    # "${partition}" are filled in by the key.
    arn_patterns: Sequence[str]

    def __post_init__(self) -> None:
        if not self.principals or not self.arn_patterns:
            raise ValueError(f"service grant {self.sid} needs principals and arn_patterns")
        if not (
            self.condition_variable == "aws:SourceArn"
            or self.condition_variable.startswith("kms:EncryptionContext:")
        ):
            raise ValueError(
                f"service grant {self.sid} must be scoped by aws:SourceArn or an encryption "
                f"context key, got {self.condition_variable!r}"
            )


@dataclass(frozen=True, kw_only=True)
class EncryptionKeyProps:
    name_prefix: str
    region: str
    deletion_window_days: int = DEFAULT_DELETION_WINDOW_DAYS
    # CloudWatch Logs may encrypt only log groups whose names start with one of these.
    log_group_prefixes: Sequence[str] = ()
    service_grants: Sequence[KeyServiceGrant] = DEFAULT_SERVICE_GRANTS
    # Terraform refuses to destroy the key: set wherever the data it protects is protected.
    prevent_destroy: bool = True
    description: str | None = None

    def __post_init__(self) -> None:
        if not 7 <= self.deletion_window_days <= 30:
            raise ValueError(
                f"deletion_window_days must be from 7 to 30, got {self.deletion_window_days}"
            )
        if isinstance(self.log_group_prefixes, str) or any(
            not prefix or "*" in prefix for prefix in self.log_group_prefixes
        ):
            raise ValueError(
                "log_group_prefixes must list non-empty log group name prefixes without '*'"
            )


class EncryptionKey(Construct):
    """KMS key with rotation, an alias, and a least-privilege key policy."""

    def __init__(self, scope: Construct, construct_id: str, *, props: EncryptionKeyProps) -> None:
        super().__init__(scope, construct_id)
        self.props = props
        identity = DataAwsCallerIdentity(self, "caller")
        partition = DataAwsPartition(self, "partition").partition
        self._account_id = identity.account_id
        self._partition = partition
        self._log_group_arns = [
            self.log_group_arn(f"{prefix}*") for prefix in props.log_group_prefixes
        ]
        self.policy = DataAwsIamPolicyDocument(self, "policy", statement=self._statements())
        reason = "A key policy always names the key itself as Resource '*'."
        for check_id in ("CKV_AWS_109", "CKV_AWS_111", "CKV_AWS_356"):
            skip_check(self.policy, check_id, reason)
        self.key = KmsKey(
            self,
            "key",
            description=props.description or f"{props.name_prefix} data, logs and messages",
            enable_key_rotation=True,
            deletion_window_in_days=props.deletion_window_days,
            policy=self.policy.json,
            lifecycle=TerraformResourceLifecycle(prevent_destroy=props.prevent_destroy),
        )
        self.alias = KmsAlias(
            self, "alias", name=f"alias/{props.name_prefix}", target_key_id=self.key.key_id
        )

    def log_group_arn(self, name_pattern: str) -> str:
        """The ARN (pattern) of a log group in this key's account and region."""
        return (
            f"arn:{self._partition}:logs:{self.props.region}:{self._account_id}"
            f":log-group:{name_pattern}"
        )

    def allow_log_groups(self, arns: Sequence[str]) -> None:
        """Let CloudWatch Logs use the key for these log groups too (names known only later)."""
        self._log_group_arns.extend(arns)
        self.policy.put_statement(self._statements())

    def _fill(self, pattern: str) -> str:
        return (
            pattern.replace("${account}", self._account_id)
            .replace("${region}", self.props.region)
            .replace("${partition}", self._partition)
        )

    def _statements(self) -> list[DataAwsIamPolicyDocumentStatement]:
        props = self.props
        account_root = f"arn:{self._partition}:iam::{self._account_id}:root"
        statements = [
            DataAwsIamPolicyDocumentStatement(
                sid="AccountAdministration",
                actions=["kms:*"],
                resources=["*"],
                principals=[
                    DataAwsIamPolicyDocumentStatementPrincipals(
                        type="AWS", identifiers=[account_root]
                    )
                ],
            )
        ]
        if self._log_group_arns:
            statements.append(
                DataAwsIamPolicyDocumentStatement(
                    sid="CloudWatchLogsEncryption",
                    actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*",
                             "kms:GenerateDataKey*", "kms:Describe*"],
                    resources=["*"],
                    principals=[
                        DataAwsIamPolicyDocumentStatementPrincipals(
                            type="Service", identifiers=[f"logs.{props.region}.amazonaws.com"]
                        )
                    ],
                    condition=[
                        DataAwsIamPolicyDocumentStatementCondition(
                            test="ArnLike",
                            variable="kms:EncryptionContext:aws:logs:arn",
                            values=list(self._log_group_arns),
                        )
                    ],
                )
            )  # fmt: skip
        for grant in props.service_grants:
            statements.append(
                DataAwsIamPolicyDocumentStatement(
                    sid=grant.sid,
                    actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                    resources=["*"],
                    principals=[
                        DataAwsIamPolicyDocumentStatementPrincipals(
                            type="Service", identifiers=list(grant.principals)
                        )
                    ],
                    condition=[
                        DataAwsIamPolicyDocumentStatementCondition(
                            test="StringEquals",
                            variable="aws:SourceAccount",
                            values=[self._account_id],
                        ),
                        DataAwsIamPolicyDocumentStatementCondition(
                            test="ArnLike",
                            variable=grant.condition_variable,
                            values=[self._fill(pattern) for pattern in grant.arn_patterns],
                        ),
                    ],
                )
            )
        return statements


def decrypt_through_services(
    services: Sequence[str] = DECRYPT_VIA_SERVICES, *, region: str = "*"
) -> DataAwsIamPolicyDocumentStatementCondition:
    """A condition keeping a role's use of a key to requests AWS services make for it.

    A key is regional, so ``region="*"`` still means this key's region only.
    """
    return DataAwsIamPolicyDocumentStatementCondition(
        test="StringLike",
        variable="kms:ViaService",
        values=[f"{service}.{region}.amazonaws.com" for service in services],
    )

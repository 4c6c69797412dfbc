"""A customer-managed KMS key for one environment's data, logs and messages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
    DataAwsIamPolicyDocumentStatementPrincipals,
)
from cdktf_cdktf_provider_aws.kms_alias import KmsAlias
from cdktf_cdktf_provider_aws.kms_key import KmsKey
from constructs import Construct

from constructs_lib.checkov_suppression import skip_check

# The shortest waiting period KMS allows; long enough to cancel an accidental delete.
DEFAULT_DELETION_WINDOW_DAYS = 30
# Service principals that encrypt with this key on the caller's behalf need key-policy access.
DEFAULT_SERVICE_PRINCIPALS: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class EncryptionKeyProps:
    name_prefix: str
    region: str
    deletion_window_days: int = DEFAULT_DELETION_WINDOW_DAYS
    # Extra AWS services (for example "sns.amazonaws.com") allowed to use the key.
    service_principals: Sequence[str] = DEFAULT_SERVICE_PRINCIPALS

    def __post_init__(self) -> None:
        if not 7 <= self.deletion_window_days <= 30:
            raise ValueError(
                f"deletion_window_days must be from 7 to 30, got {self.deletion_window_days}"
            )


class EncryptionKey(Construct):
    """KMS key with rotation, an alias, and a policy for the account and CloudWatch Logs."""

    def __init__(self, scope: Construct, construct_id: str, *, props: EncryptionKeyProps) -> None:
        super().__init__(scope, construct_id)
        identity = DataAwsCallerIdentity(self, "caller")
        account_root = f"arn:aws:iam::{identity.account_id}:root"
        log_groups = f"arn:aws:logs:{props.region}:{identity.account_id}:log-group:*"
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
            ),
            DataAwsIamPolicyDocumentStatement(
                sid="CloudWatchLogsEncryption",
                actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*",
                         "kms:Describe*"],
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
                        values=[log_groups],
                    )
                ],
            ),
        ]  # fmt: skip
        if props.service_principals:
            statements.append(
                DataAwsIamPolicyDocumentStatement(
                    sid="ServiceEncryption",
                    actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                    resources=["*"],
                    principals=[
                        DataAwsIamPolicyDocumentStatementPrincipals(
                            type="Service", identifiers=list(props.service_principals)
                        )
                    ],
                    condition=[
                        DataAwsIamPolicyDocumentStatementCondition(
                            test="StringEquals",
                            variable="aws:SourceAccount",
                            values=[identity.account_id],
                        )
                    ],
                )
            )
        policy = DataAwsIamPolicyDocument(self, "policy", statement=statements)
        reason = "A key policy always names the key itself as Resource '*'."
        for check_id in ("CKV_AWS_109", "CKV_AWS_111", "CKV_AWS_356"):
            skip_check(policy, check_id, reason)
        self.key = KmsKey(
            self,
            "key",
            description=f"{props.name_prefix} data, logs and messages",
            enable_key_rotation=True,
            deletion_window_in_days=props.deletion_window_days,
            policy=policy.json,
        )
        self.alias = KmsAlias(
            self, "alias", name=f"alias/{props.name_prefix}", target_key_id=self.key.key_id
        )

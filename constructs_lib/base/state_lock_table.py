"""The DynamoDB table Terraform's S3 backend uses to hold state locks."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import TerraformResourceLifecycle
from cdktf_cdktf_provider_aws.dynamodb_table import (
    DynamodbTable,
    DynamodbTableAttribute,
    DynamodbTablePointInTimeRecovery,
    DynamodbTableServerSideEncryption,
)
from constructs import Construct

# The attribute name the S3 backend writes; fixed by Terraform.
LOCK_KEY = "LockID"


@dataclass(frozen=True, kw_only=True)
class StateLockTableProps:
    table_name: str
    kms_key_arn: str


class StateLockTable(Construct):
    """On-demand, encrypted, recoverable and undeletable lock table."""

    def __init__(self, scope: Construct, construct_id: str, *, props: StateLockTableProps) -> None:
        super().__init__(scope, construct_id)
        self.table = DynamodbTable(
            self,
            "table",
            name=props.table_name,
            billing_mode="PAY_PER_REQUEST",
            hash_key=LOCK_KEY,
            attribute=[DynamodbTableAttribute(name=LOCK_KEY, type="S")],
            point_in_time_recovery=DynamodbTablePointInTimeRecovery(enabled=True),
            server_side_encryption=DynamodbTableServerSideEncryption(
                enabled=True, kms_key_arn=props.kms_key_arn
            ),
            deletion_protection_enabled=True,
            lifecycle=TerraformResourceLifecycle(prevent_destroy=True),
        )

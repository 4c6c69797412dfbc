"""The DynamoDB table of the request log (seed 002): one row per API request or scheduled run.

The layout (keys, attributes, TTL) is ``pipeline_common.request_log``'s; writers only ever
PutItem. Rows are small and arrive at the APIs' throttled rate, so the table is on-demand in
every environment: no capacity to plan for a log.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cdktf import TerraformResourceLifecycle
from cdktf_cdktf_provider_aws.dynamodb_table import (
    DynamodbTable,
    DynamodbTableAttribute,
    DynamodbTablePointInTimeRecovery,
    DynamodbTableServerSideEncryption,
    DynamodbTableTtl,
)
from constructs import Construct
from pipeline_common.environment import is_unresolved
from pipeline_common.request_log import EXPIRES_AT, REQUEST_ID, TIMESTAMP

# DynamoDB table names: 3-255 letters, digits, '_', '-' and '.'.
_TABLE_NAME = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")
# A log's write rate follows the APIs' throttles; on-demand needs no capacity plan for it.
BILLING_MODE = "PAY_PER_REQUEST"


@dataclass(frozen=True, kw_only=True)
class RequestLogTableProps:
    table_name: str
    # The environment key: the log holds request bodies (redacted, but still caller data).
    kms_key_arn: str
    # API-level deletion protection plus Terraform prevent_destroy.
    deletion_protection: bool = True
    point_in_time_recovery: bool = True

    def __post_init__(self) -> None:
        if not _TABLE_NAME.fullmatch(self.table_name):
            raise ValueError(
                "table_name must be 3-255 letters, digits, '_', '-' or '.', "
                f"got {self.table_name!r}"
            )
        if not self.kms_key_arn or not (
            is_unresolved(self.kms_key_arn) or self.kms_key_arn.startswith("arn:")
        ):
            raise ValueError(f"kms_key_arn must be a KMS key ARN, got {self.kms_key_arn!r}")


class RequestLogTable(Construct):
    """Encrypted with the environment key, PITR, TTL on ``expires_at``, deletion-protected."""

    def __init__(self, scope: Construct, construct_id: str, *, props: RequestLogTableProps) -> None:
        super().__init__(scope, construct_id)
        self.table = DynamodbTable(
            self,
            "table",
            name=props.table_name,
            billing_mode=BILLING_MODE,
            hash_key=REQUEST_ID,
            range_key=TIMESTAMP,
            attribute=[
                DynamodbTableAttribute(name=REQUEST_ID, type="S"),
                DynamodbTableAttribute(name=TIMESTAMP, type="S"),
            ],
            point_in_time_recovery=DynamodbTablePointInTimeRecovery(
                enabled=props.point_in_time_recovery
            ),
            server_side_encryption=DynamodbTableServerSideEncryption(
                enabled=True, kms_key_arn=props.kms_key_arn
            ),
            ttl=DynamodbTableTtl(attribute_name=EXPIRES_AT, enabled=True),
            deletion_protection_enabled=props.deletion_protection,
            lifecycle=TerraformResourceLifecycle(prevent_destroy=props.deletion_protection),
        )

"""The DynamoDB table holding one record per ingested object (pk/sk composite key).

Index GSI1 (``gsi1pk``/``gsi1sk``, projection ALL) serves every record of one object key
across days (pipeline_common/records.py). When provisioned it autoscales like the table.
Unlike the table's own units, its units are not left out of Terraform's diff: the provider
keeps indexes as one set, so ignoring their capacity means ignoring the whole index, and an
index added to an existing table would then never be created. An apply therefore sets the
index back to its baseline units, from which autoscaling raises it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from cdktf import TerraformResourceLifecycle
from cdktf_cdktf_provider_aws.appautoscaling_policy import (
    AppautoscalingPolicy,
    AppautoscalingPolicyTargetTrackingScalingPolicyConfiguration,
    AppautoscalingPolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecification,
)
from cdktf_cdktf_provider_aws.appautoscaling_target import AppautoscalingTarget
from cdktf_cdktf_provider_aws.dynamodb_table import (
    DynamodbTable,
    DynamodbTableAttribute,
    DynamodbTableGlobalSecondaryIndex,
    DynamodbTablePointInTimeRecovery,
    DynamodbTableServerSideEncryption,
    DynamodbTableTtl,
)
from constructs import Construct
from pipeline_common.records import INDEX_NAME, INDEX_PARTITION_KEY, INDEX_SORT_KEY

# Re-exported: the capacity model reads the same multiple without importing cdktf.
from constructs_lib.specs import AUTOSCALING_MAX_MULTIPLIER

PARTITION_KEY = "pk"
SORT_KEY = "sk"
TTL_ATTRIBUTE = "expires_at"
# Both images let stream consumers diff a change without reading the table again.
DEFAULT_STREAM_VIEW_TYPE = "NEW_AND_OLD_IMAGES"
# Keep consumed capacity near 70% so bursts have headroom before throttling.
AUTOSCALING_TARGET_UTILIZATION = 70


@dataclass(frozen=True, kw_only=True)
class RecordsTableProps:
    table_name: str
    kms_key_arn: str
    billing_mode: Literal["PAY_PER_REQUEST", "PROVISIONED"] = "PAY_PER_REQUEST"
    read_capacity: int | None = None
    write_capacity: int | None = None
    # The index's provisioned units; None gives it the table's (PROVISIONED only).
    index_read_capacity: int | None = None
    index_write_capacity: int | None = None
    # API-level deletion protection plus Terraform prevent_destroy.
    deletion_protection: bool = True
    point_in_time_recovery: bool = True
    stream_view_type: str = DEFAULT_STREAM_VIEW_TYPE

    def __post_init__(self) -> None:
        provisioned = self.billing_mode == "PROVISIONED"
        if provisioned and (self.read_capacity is None or self.write_capacity is None):
            raise ValueError("read_capacity and write_capacity are required for PROVISIONED")
        if not provisioned and (self.read_capacity is not None or self.write_capacity is not None):
            raise ValueError("read_capacity and write_capacity apply only to PROVISIONED")
        if not provisioned and (
            self.index_read_capacity is not None or self.index_write_capacity is not None
        ):
            raise ValueError(
                "index_read_capacity and index_write_capacity apply only to PROVISIONED"
            )
        if (
            provisioned
            and self.index_write_capacity is not None
            and self.index_write_capacity < (self.write_capacity or 0)
        ):
            raise ValueError(
                "index_write_capacity must be at least write_capacity: every record also "
                "writes the index, and a throttled index throttles the table's writes"
            )

    @property
    def index_reads(self) -> int | None:
        return self.index_read_capacity or self.read_capacity

    @property
    def index_writes(self) -> int | None:
        return self.index_write_capacity or self.write_capacity


class RecordsTable(Construct):
    """Encrypted table with PITR, streams, TTL and, when provisioned, autoscaling."""

    def __init__(self, scope: Construct, construct_id: str, *, props: RecordsTableProps) -> None:
        super().__init__(scope, construct_id)
        provisioned = props.billing_mode == "PROVISIONED"
        self.table = DynamodbTable(
            self,
            "table",
            name=props.table_name,
            billing_mode=props.billing_mode,
            hash_key=PARTITION_KEY,
            range_key=SORT_KEY,
            attribute=[
                DynamodbTableAttribute(name=PARTITION_KEY, type="S"),
                DynamodbTableAttribute(name=SORT_KEY, type="S"),
                DynamodbTableAttribute(name=INDEX_PARTITION_KEY, type="S"),
                DynamodbTableAttribute(name=INDEX_SORT_KEY, type="S"),
            ],
            global_secondary_index=[
                DynamodbTableGlobalSecondaryIndex(
                    name=INDEX_NAME,
                    hash_key=INDEX_PARTITION_KEY,
                    range_key=INDEX_SORT_KEY,
                    # Whole records: a key's history is served from the index alone.
                    projection_type="ALL",
                    read_capacity=props.index_reads if provisioned else None,
                    write_capacity=props.index_writes if provisioned else None,
                )
            ],
            read_capacity=props.read_capacity,
            write_capacity=props.write_capacity,
            point_in_time_recovery=DynamodbTablePointInTimeRecovery(
                enabled=props.point_in_time_recovery
            ),
            server_side_encryption=DynamodbTableServerSideEncryption(
                enabled=True, kms_key_arn=props.kms_key_arn
            ),
            stream_enabled=True,
            stream_view_type=props.stream_view_type,
            ttl=DynamodbTableTtl(attribute_name=TTL_ATTRIBUTE, enabled=True),
            deletion_protection_enabled=props.deletion_protection,
            lifecycle=TerraformResourceLifecycle(
                prevent_destroy=props.deletion_protection,
                # Autoscaling owns capacity once it is attached.
                ignore_changes=["read_capacity", "write_capacity"] if provisioned else None,
            ),
        )
        if provisioned:
            self._autoscale("read", props.read_capacity or 1)
            self._autoscale("write", props.write_capacity or 1)
            self._autoscale("read", props.index_reads or 1, index=INDEX_NAME)
            self._autoscale("write", props.index_writes or 1, index=INDEX_NAME)

    @property
    def index_arn(self) -> str:
        """What IAM names to allow a Query on GSI1."""
        return f"{self.table.arn}/index/{INDEX_NAME}"

    def _autoscale(
        self, kind: Literal["read", "write"], baseline: int, *, index: str | None = None
    ) -> None:
        title = kind.capitalize()
        # Existing ids stay as they are (they are Terraform addresses); the index's are new.
        id_prefix = f"index-{kind}" if index else kind
        resource = f"table/{self.table.name}/index/{index}" if index else f"table/{self.table.name}"
        dimension = "index" if index else "table"
        name = f"{self.table.name}-{index.lower()}-{kind}" if index else f"{self.table.name}-{kind}"
        target = AppautoscalingTarget(
            self,
            f"{id_prefix}-capacity",
            service_namespace="dynamodb",
            resource_id=resource,
            scalable_dimension=f"dynamodb:{dimension}:{title}CapacityUnits",
            min_capacity=baseline,
            max_capacity=baseline * AUTOSCALING_MAX_MULTIPLIER,
        )
        AppautoscalingPolicy(
            self,
            f"{id_prefix}-scaling",
            name=f"{name}-utilization",
            policy_type="TargetTrackingScaling",
            service_namespace=target.service_namespace,
            resource_id=target.resource_id,
            scalable_dimension=target.scalable_dimension,
            target_tracking_scaling_policy_configuration=(
                AppautoscalingPolicyTargetTrackingScalingPolicyConfiguration(
                    target_value=AUTOSCALING_TARGET_UTILIZATION,
                    predefined_metric_specification=(
                        AppautoscalingPolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecification(
                            predefined_metric_type=f"DynamoDB{title}CapacityUtilization"
                        )
                    ),
                )
            ),
        )

from __future__ import annotations

from typing import Any

import pytest

from constructs_lib.base.records_table import RecordsTable, RecordsTableProps
from tests.unit.constructs_lib.conftest import SynthFn, only

KEY_ARN = "arn:aws:kms:us-west-2:123456789012:key/abc"


def props(**overrides: Any) -> RecordsTableProps:
    return RecordsTableProps(**{"table_name": "evpipe-dev-records", "kms_key_arn": KEY_ARN,
                                **overrides})  # fmt: skip


def test_table_has_composite_key_pitr_sse_stream_ttl_and_protection(synth: SynthFn) -> None:
    # Given the default (on-demand) records table
    out = synth(lambda stack: RecordsTable(stack, "records", props=props()))
    # When its settings are read
    table = only(out, "aws_dynamodb_table")
    # Then every protection and the pk/sk key are in place
    assert (table["hash_key"], table["range_key"]) == ("pk", "sk")
    assert table["attribute"] == [
        {"name": name, "type": "S"} for name in ("pk", "sk", "gsi1pk", "gsi1sk")
    ]
    # And GSI1 serves a key's records across days, whole, on demand like the table
    assert table["global_secondary_index"] == [
        {
            "name": "GSI1",
            "hash_key": "gsi1pk",
            "range_key": "gsi1sk",
            "projection_type": "ALL",
        }
    ]
    assert table["billing_mode"] == "PAY_PER_REQUEST"
    assert table["point_in_time_recovery"] == {"enabled": True}
    assert table["server_side_encryption"] == {"enabled": True, "kms_key_arn": KEY_ARN}
    assert (table["stream_enabled"], table["stream_view_type"]) == (True, "NEW_AND_OLD_IMAGES")
    assert table["ttl"] == {"attribute_name": "expires_at", "enabled": True}
    assert table["deletion_protection_enabled"] is True
    assert table["lifecycle"]["prevent_destroy"] is True
    assert "aws_appautoscaling_target" not in out["resource"]


def test_provisioned_table_autoscales_reads_and_writes(synth: SynthFn) -> None:
    # Given a provisioned table
    provisioned = props(billing_mode="PROVISIONED", read_capacity=5, write_capacity=7)
    # When synthesized
    out = synth(lambda stack: RecordsTable(stack, "records", props=provisioned))
    # Then capacity is set, Terraform leaves it to autoscaling, and both dimensions scale
    table = only(out, "aws_dynamodb_table")
    assert (table["read_capacity"], table["write_capacity"]) == (5, 7)
    assert table["lifecycle"]["ignore_changes"] == ["read_capacity", "write_capacity"]
    targets = out["resource"]["aws_appautoscaling_target"].values()
    assert sorted(
        (t["scalable_dimension"], t["min_capacity"], t["max_capacity"]) for t in targets
    ) == [
        ("dynamodb:index:ReadCapacityUnits", 5, 50),
        ("dynamodb:index:WriteCapacityUnits", 7, 70),
        ("dynamodb:table:ReadCapacityUnits", 5, 50),
        ("dynamodb:table:WriteCapacityUnits", 7, 70),
    ]
    # And the index has the table's units by default, and scales on its own resource id
    (index,) = table["global_secondary_index"]
    assert (index["read_capacity"], index["write_capacity"]) == (5, 7)
    index_ids = {t["resource_id"] for t in targets if ":index:" in t["scalable_dimension"]}
    assert index_ids == {"table/${aws_dynamodb_table.records_table_60AC12E3.name}/index/GSI1"}
    policies = out["resource"]["aws_appautoscaling_policy"].values()
    assert sorted(policy["name"] for policy in policies) == [
        "${aws_dynamodb_table.records_table_60AC12E3.name}-gsi1-read-utilization",
        "${aws_dynamodb_table.records_table_60AC12E3.name}-gsi1-write-utilization",
        "${aws_dynamodb_table.records_table_60AC12E3.name}-read-utilization",
        "${aws_dynamodb_table.records_table_60AC12E3.name}-write-utilization",
    ]


def test_the_index_can_be_given_its_own_units(synth: SynthFn) -> None:
    # Given a provisioned table whose index reads more than the table
    provisioned = props(
        billing_mode="PROVISIONED",
        read_capacity=5,
        write_capacity=7,
        index_read_capacity=12,
        index_write_capacity=9,
    )
    # When synthesized / Then the index has those units and autoscales from them
    out = synth(lambda stack: RecordsTable(stack, "records", props=provisioned))
    (index,) = only(out, "aws_dynamodb_table")["global_secondary_index"]
    assert (index["read_capacity"], index["write_capacity"]) == (12, 9)
    targets = out["resource"]["aws_appautoscaling_target"].values()
    assert {
        (t["scalable_dimension"], t["min_capacity"])
        for t in targets
        if ":index:" in t["scalable_dimension"]
    } == {("dynamodb:index:ReadCapacityUnits", 12), ("dynamodb:index:WriteCapacityUnits", 9)}


def test_unprotected_table_can_be_destroyed(synth: SynthFn) -> None:
    # Given a dev table without deletion protection
    out = synth(
        lambda stack: RecordsTable(stack, "records", props=props(deletion_protection=False))
    )
    # Then neither the API flag nor prevent_destroy blocks a destroy
    table = only(out, "aws_dynamodb_table")
    assert table["deletion_protection_enabled"] is False
    assert table["lifecycle"]["prevent_destroy"] is False


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"billing_mode": "PROVISIONED"}, "read_capacity and write_capacity are required"),
        ({"billing_mode": "PROVISIONED", "read_capacity": 1}, "are required for PROVISIONED"),
        ({"read_capacity": 5}, "apply only to PROVISIONED"),
        (
            {"index_write_capacity": 5},
            "index_read_capacity and index_write_capacity apply only to PROVISIONED",
        ),
        (
            {
                "billing_mode": "PROVISIONED",
                "read_capacity": 5,
                "write_capacity": 10,
                "index_write_capacity": 9,
            },
            "index_write_capacity must be at least write_capacity",
        ),
    ],
)
def test_capacity_must_match_billing_mode(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        props(**overrides)

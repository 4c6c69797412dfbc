"""The request log table (seed 002): encrypted, recoverable, expiring, protected."""

from __future__ import annotations

from typing import Any

import pytest

from constructs_lib.base.request_log_table import RequestLogTable, RequestLogTableProps
from tests.unit.constructs_lib.conftest import SynthFn, only

KEY_ARN = "arn:aws:kms:us-west-2:123456789012:key/abc"


def props(**overrides: Any) -> RequestLogTableProps:
    return RequestLogTableProps(
        **{"table_name": "evpipe-dev-request-log", "kms_key_arn": KEY_ARN, **overrides}
    )


def test_table_has_the_contract_keys_key_encryption_pitr_ttl_and_protection(
    synth: SynthFn,
) -> None:
    # Given the default request log table
    out = synth(lambda stack: RequestLogTable(stack, "request-log", props=props()))
    # When its settings are read
    table = only(out, "aws_dynamodb_table")
    # Then its keys are pipeline_common.request_log's and every protection is on
    assert (table["hash_key"], table["range_key"]) == ("request_id", "timestamp")
    assert table["attribute"] == [
        {"name": "request_id", "type": "S"},
        {"name": "timestamp", "type": "S"},
    ]
    assert table["billing_mode"] == "PAY_PER_REQUEST"
    assert table["point_in_time_recovery"] == {"enabled": True}
    assert table["server_side_encryption"] == {"enabled": True, "kms_key_arn": KEY_ARN}
    assert table["ttl"] == {"attribute_name": "expires_at", "enabled": True}
    assert table["deletion_protection_enabled"] is True
    assert table["lifecycle"]["prevent_destroy"] is True


def test_an_unprotected_table_can_be_destroyed(synth: SynthFn) -> None:
    out = synth(
        lambda stack: RequestLogTable(stack, "request-log", props=props(deletion_protection=False))
    )
    table = only(out, "aws_dynamodb_table")
    assert table["deletion_protection_enabled"] is False
    assert table["lifecycle"]["prevent_destroy"] is False


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"table_name": "ab"},
            "table_name must be 3-255 letters, digits, '_', '-' or '.', got 'ab'",
        ),
        ({"table_name": "bad name!"}, "table_name must be 3-255 letters"),
        ({"kms_key_arn": ""}, "kms_key_arn must be a KMS key ARN, got ''"),
        ({"kms_key_arn": "alias/evpipe"}, "kms_key_arn must be a KMS key ARN, got 'alias/evpipe'"),
    ],
)
def test_invalid_props_are_refused_naming_the_field(
    overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        props(**overrides)

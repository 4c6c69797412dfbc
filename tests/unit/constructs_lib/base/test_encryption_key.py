from __future__ import annotations

import json

import pytest

from constructs_lib.base.encryption_key import EncryptionKey, EncryptionKeyProps
from tests.unit.constructs_lib.conftest import SynthFn, only


def test_key_rotates_and_lets_cloudwatch_logs_encrypt_only_our_log_groups(synth: SynthFn) -> None:
    # Given a key for one environment with an extra service principal
    props = EncryptionKeyProps(
        name_prefix="evpipe-dev", region="us-west-2", service_principals=["sns.amazonaws.com"]
    )
    # When synthesized
    out = synth(lambda stack: EncryptionKey(stack, "key", props=props))
    # Then rotation is on, the alias follows the prefix, and logs are limited to this region
    key = only(out, "aws_kms_key")
    assert key["enable_key_rotation"] is True
    assert key["deletion_window_in_days"] == 30
    assert only(out, "aws_kms_alias")["name"] == "alias/evpipe-dev"
    statements = next(iter(out["data"]["aws_iam_policy_document"].values()))["statement"]
    by_sid = {statement["sid"]: statement for statement in statements}
    logs = by_sid["CloudWatchLogsEncryption"]
    assert logs["principals"] == [
        {"type": "Service", "identifiers": ["logs.us-west-2.amazonaws.com"]}
    ]
    assert "arn:aws:logs:us-west-2:" in json.dumps(logs["condition"])
    assert by_sid["ServiceEncryption"]["principals"][0]["identifiers"] == ["sns.amazonaws.com"]


def test_deletion_window_outside_kms_limits_is_rejected() -> None:
    with pytest.raises(ValueError, match="deletion_window_days must be from 7 to 30, got 3"):
        EncryptionKeyProps(name_prefix="p", region="us-west-2", deletion_window_days=3)

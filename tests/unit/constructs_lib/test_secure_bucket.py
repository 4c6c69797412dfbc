from __future__ import annotations

import json
from typing import Any

import pytest
from cdktf import TerraformStack

from constructs_lib.secure_bucket import SecureBucket, SecureBucketProps
from tests.unit.constructs_lib.conftest import SynthFn, only, skipped_checks

KEY_ARN = "arn:aws:kms:us-west-2:123456789012:key/abc"


def ingest_props(**overrides: Any) -> SecureBucketProps:
    settings: dict[str, Any] = {
        "bucket_name": "evpipe-dev-ingest-us-west-2",
        "kms_key_arn": KEY_ARN,
        "access_logs_bucket": "evpipe-dev-access-logs",
    }
    settings.update(overrides)
    return SecureBucketProps(**settings)


def build(props: SecureBucketProps) -> Any:
    return lambda stack: SecureBucket(stack, "ingest", props=props)


def test_minimal_bucket_has_every_protection_on(synth: SynthFn) -> None:
    # Given the minimal props for a data bucket
    props = ingest_props()
    # When it is synthesized
    out = synth(build(props))
    # Then versioning, KMS encryption, public-access block and access logs are all on
    assert only(out, "aws_s3_bucket_versioning")["versioning_configuration"]["status"] == "Enabled"
    sse = only(out, "aws_s3_bucket_server_side_encryption_configuration")["rule"][0]
    assert sse["apply_server_side_encryption_by_default"] == {
        "sse_algorithm": "aws:kms",
        "kms_master_key_id": KEY_ARN,
    }
    assert sse["bucket_key_enabled"] is True
    block = only(out, "aws_s3_bucket_public_access_block")
    assert all(block[flag] is True for flag in (
        "block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"
    ))  # fmt: skip
    logging = only(out, "aws_s3_bucket_logging")
    assert logging["target_bucket"] == "evpipe-dev-access-logs"
    assert only(out, "aws_s3_bucket_ownership_controls")["rule"]["object_ownership"] == (
        "BucketOwnerEnforced"
    )
    bucket = only(out, "aws_s3_bucket")
    assert bucket["lifecycle"] == {"prevent_destroy": True}
    assert bucket["force_destroy"] is False


def test_policy_denies_every_request_without_tls(synth: SynthFn) -> None:
    # Given a secure bucket
    out = synth(build(ingest_props()))
    # When its policy document is read
    documents = out["data"]["aws_iam_policy_document"]
    statements = next(iter(documents.values()))["statement"]
    # Then one statement denies s3:* for everyone when aws:SecureTransport is false
    deny = next(s for s in statements if s["sid"] == "DenyInsecureTransport")
    assert deny["effect"] == "Deny"
    assert deny["actions"] == ["s3:*"]
    assert deny["condition"] == [
        {"test": "Bool", "variable": "aws:SecureTransport", "values": ["false"]}
    ]
    assert only(out, "aws_s3_bucket_policy")["depends_on"], "policy waits for the access block"


def test_lifecycle_expires_noncurrent_versions_and_aborts_uploads(synth: SynthFn) -> None:
    # Given custom retention values
    props = ingest_props(noncurrent_version_expiration_days=9, abort_incomplete_upload_days=2)
    # When synthesized
    rule = only(synth(build(props)), "aws_s3_bucket_lifecycle_configuration")["rule"][0]
    # Then both lifecycle actions use them
    assert rule["status"] == "Enabled"
    assert rule["noncurrent_version_expiration"] == [{"noncurrent_days": 9}]
    assert rule["abort_incomplete_multipart_upload"] == [{"days_after_initiation": 2}]


def test_log_sink_uses_sse_s3_and_lets_the_logging_service_write(
    synth_with_comments: SynthFn,
) -> None:
    # Given a bucket that receives server access logs
    props = SecureBucketProps(
        bucket_name="evpipe-dev-access-logs",
        kms_key_arn=None,
        sse_s3_reason="log delivery needs SSE-S3",
        is_access_log_sink=True,
        no_event_notifications_reason="nothing reacts to logs",
    )
    # When synthesized
    out = synth_with_comments(build(props))
    # Then it encrypts with SSE-S3, allows logging.s3.amazonaws.com and says why it differs
    sse = only(out, "aws_s3_bucket_server_side_encryption_configuration")["rule"][0]
    assert sse["apply_server_side_encryption_by_default"] == {"sse_algorithm": "AES256"}
    assert "aws_s3_bucket_logging" not in out["resource"]
    statements = json.dumps(out["data"]["aws_iam_policy_document"])
    assert "logging.s3.amazonaws.com" in statements
    skips = skipped_checks(only(out, "aws_s3_bucket"))
    assert skips["CKV_AWS_145"] == "log delivery needs SSE-S3"
    assert skips["CKV2_AWS_62"] == "nothing reacts to logs"
    assert "CKV_AWS_18" in skips


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"bucket_name": "ab"}, "bucket_name must be 3-63 characters"),
        ({"kms_key_arn": None}, "set exactly one of kms_key_arn and sse_s3_reason"),
        ({"sse_s3_reason": "why"}, "set exactly one of kms_key_arn and sse_s3_reason"),
        ({"access_logs_bucket": None}, "set exactly one of access_logs_bucket and is_access_log_sink"),
        ({"is_access_log_sink": True}, "set exactly one of access_logs_bucket and is_access_log_sink"),
        ({"force_destroy": True}, "force_destroy contradicts prevent_destroy"),
        ({"noncurrent_version_expiration_days": 0}, "noncurrent_version_expiration_days must be"),
        ({"abort_incomplete_upload_days": 0}, "abort_incomplete_upload_days must be at least 1"),
    ],
)
def test_invalid_props_fail_with_the_field_named(overrides: dict[str, Any], message: str) -> None:
    # Given / When props with one invalid combination / Then construction fails naming it
    with pytest.raises(ValueError, match=message):
        ingest_props(**overrides)


def test_force_destroy_is_allowed_once_prevent_destroy_is_off(synth: SynthFn) -> None:
    # Given a throwaway bucket
    props = ingest_props(force_destroy=True, prevent_destroy=False)
    # When synthesized / Then Terraform may empty and delete it
    bucket = only(synth(build(props)), "aws_s3_bucket")
    assert bucket["force_destroy"] is True
    assert bucket["lifecycle"] == {"prevent_destroy": False}


def test_each_bucket_gets_its_own_protections(synth: SynthFn) -> None:
    # Given a stack with two secure buckets
    def two(stack: TerraformStack) -> None:
        SecureBucket(stack, "a", props=ingest_props(bucket_name="bucket-a"))
        SecureBucket(stack, "b", props=ingest_props(bucket_name="bucket-b"))

    # When synthesized / Then each gets its own full set of protections
    out = synth(two)
    assert len(out["resource"]["aws_s3_bucket_public_access_block"]) == 2
    assert len(out["resource"]["aws_s3_bucket_policy"]) == 2

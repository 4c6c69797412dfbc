from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from cdktf import TerraformStack

from constructs_lib.base.secure_bucket import SecureBucket, SecureBucketProps
from tests.unit.constructs_lib.conftest import SynthFn, only, skipped_checks

KEY_ARN = "arn:aws:kms:us-west-2:123456789012:key/abc"


SINK_PROPS = SecureBucketProps(
    bucket_name="evpipe-dev-access-logs",
    kms_key_arn=None,
    sse_s3_reason="log delivery needs SSE-S3",
    is_access_log_sink=True,
    log_source_buckets=("evpipe-dev-*",),
    no_event_notifications_reason="nothing reacts to logs",
)


class FakeSink:
    """Stands in for a sink SecureBucket in props validation tests (no stack needed)."""

    is_access_log_sink = True


def ingest_props(**overrides: Any) -> SecureBucketProps:
    settings: dict[str, Any] = {
        "bucket_name": "evpipe-dev-ingest-us-west-2",
        "kms_key_arn": KEY_ARN,
        "access_logs_sink": FakeSink(),
    }
    settings.update(overrides)
    return SecureBucketProps(**settings)


def build(**overrides: Any) -> Any:
    """A stack with a log sink and a data bucket logging to it."""

    def _build(stack: TerraformStack) -> None:
        sink = SecureBucket(stack, "access-logs", props=SINK_PROPS)
        SecureBucket(stack, "ingest", props=ingest_props(access_logs_sink=sink, **overrides))

    return _build


def data_bucket(out: dict[str, Any], resource_type: str) -> dict[str, Any]:
    matches: list[dict[str, Any]] = [
        b for name, b in out["resource"][resource_type].items() if name.startswith("ingest")
    ]
    assert len(matches) == 1
    return matches[0]


def test_minimal_bucket_has_every_protection_on(synth: SynthFn) -> None:
    # Given the minimal props for a data bucket that logs to a sink
    # When it is synthesized
    out = synth(build())
    # Then versioning, KMS encryption, public-access block and access logs are all on
    versioning = data_bucket(out, "aws_s3_bucket_versioning")
    assert versioning["versioning_configuration"]["status"] == "Enabled"
    sse = data_bucket(out, "aws_s3_bucket_server_side_encryption_configuration")["rule"][0]
    assert sse["apply_server_side_encryption_by_default"] == {
        "sse_algorithm": "aws:kms",
        "kms_master_key_id": KEY_ARN,
    }
    assert sse["bucket_key_enabled"] is True
    block = data_bucket(out, "aws_s3_bucket_public_access_block")
    assert all(block[flag] is True for flag in (
        "block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"
    ))  # fmt: skip
    ownership = data_bucket(out, "aws_s3_bucket_ownership_controls")
    assert ownership["rule"]["object_ownership"] == "BucketOwnerEnforced"
    bucket = data_bucket(out, "aws_s3_bucket")
    assert bucket["lifecycle"] == {"prevent_destroy": True}
    assert bucket["force_destroy"] is False


def test_access_logs_wait_for_the_sink_policy(synth: SynthFn) -> None:
    # Given a data bucket logging to a sink
    out = synth(build())
    # When the logging setting is read
    logging = only(out, "aws_s3_bucket_logging")
    # Then it targets the sink, prefixed by bucket name, after the sink admits the log service
    assert logging["target_bucket"].startswith("${aws_s3_bucket.access-logs_bucket")
    assert logging["target_prefix"] == "evpipe-dev-ingest-us-west-2/"
    assert logging["depends_on"] == [
        f"aws_s3_bucket_policy.{name}" for name in out["resource"]["aws_s3_bucket_policy"]
        if name.startswith("access-logs")
    ]  # fmt: skip


def test_policy_denies_every_request_without_tls(synth: SynthFn) -> None:
    # Given a secure bucket
    out = synth(build())
    # When its policy document is read
    documents = out["data"]["aws_iam_policy_document"]
    statements = next(d for n, d in documents.items() if n.startswith("ingest"))["statement"]
    # Then one statement denies s3:* for everyone when aws:SecureTransport is false
    deny = next(s for s in statements if s["sid"] == "DenyInsecureTransport")
    assert deny["effect"] == "Deny"
    assert deny["actions"] == ["s3:*"]
    assert deny["condition"] == [
        {"test": "Bool", "variable": "aws:SecureTransport", "values": ["false"]}
    ]
    assert data_bucket(out, "aws_s3_bucket_policy")["depends_on"], "waits for the access block"


def test_lifecycle_expires_noncurrent_versions_and_aborts_uploads(synth: SynthFn) -> None:
    # Given custom retention values
    out = synth(build(noncurrent_version_expiration_days=9, abort_incomplete_upload_days=2))
    # When synthesized
    rule = data_bucket(out, "aws_s3_bucket_lifecycle_configuration")["rule"][0]
    # Then both lifecycle actions use them
    assert rule["status"] == "Enabled"
    assert rule["noncurrent_version_expiration"] == [{"noncurrent_days": 9}]
    assert rule["abort_incomplete_multipart_upload"] == [{"days_after_initiation": 2}]


def test_current_objects_are_kept_unless_an_expiry_is_set(synth: SynthFn) -> None:
    # Given a data bucket without an expiry, and one whose current objects expire after 90 days
    kept = synth(build())
    expiring = synth(build(current_version_expiration_days=90))
    # When synthesized
    kept_rules = data_bucket(kept, "aws_s3_bucket_lifecycle_configuration")["rule"]
    rules = data_bucket(expiring, "aws_s3_bucket_lifecycle_configuration")["rule"]
    # Then the first keeps only the noncurrent-version rule, which no expiry ever touches
    assert [rule["id"] for rule in kept_rules] == ["expire-noncurrent-versions-and-abort-uploads"]
    assert rules[0] == kept_rules[0]
    # And the second adds a rule expiring every current object after 90 days
    assert rules[1]["id"] == "expire-current-objects"
    assert rules[1]["status"] == "Enabled"
    assert rules[1]["expiration"] == [{"days": 90}]
    assert rules[1]["filter"] == [{}]


def test_log_sink_uses_sse_s3_and_lets_the_logging_service_write(
    synth_with_comments: SynthFn,
) -> None:
    # Given a bucket that receives server access logs
    # When synthesized
    out = synth_with_comments(lambda stack: SecureBucket(stack, "logs", props=SINK_PROPS))
    # Then it encrypts with SSE-S3, allows logging.s3.amazonaws.com and says why it differs
    sse = only(out, "aws_s3_bucket_server_side_encryption_configuration")["rule"][0]
    assert sse["apply_server_side_encryption_by_default"] == {"sse_algorithm": "AES256"}
    assert "aws_s3_bucket_logging" not in out["resource"]
    statements = json.dumps(out["data"]["aws_iam_policy_document"])
    assert "logging.s3.amazonaws.com" in statements
    # And only for this account's named source buckets (confused deputy)
    (delivery,) = [
        statement
        for document in out["data"]["aws_iam_policy_document"].values()
        for statement in document["statement"]
        if statement.get("sid") == "AllowServerAccessLogDelivery"
    ]
    found = {c["variable"]: c["values"] for c in delivery["condition"]}
    assert set(found) == {"aws:SourceAccount", "aws:SourceArn"}
    assert found["aws:SourceArn"][0].endswith(":s3:::evpipe-dev-*")
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
        ({"access_logs_sink": None}, "set exactly one of access_logs_sink and is_access_log_sink"),
        (
            {"is_access_log_sink": True},
            "set exactly one of access_logs_sink and is_access_log_sink",
        ),
        ({"force_destroy": True}, "force_destroy contradicts prevent_destroy"),
        (
            {"log_source_buckets": ("other-*",)},
            "log_source_buckets must name the buckets that log here, exactly when "
            "is_access_log_sink is set",
        ),
        ({"noncurrent_version_expiration_days": 0}, "noncurrent_version_expiration_days must be"),
        ({"abort_incomplete_upload_days": 0}, "abort_incomplete_upload_days must be at least 1"),
        (
            {"current_version_expiration_days": 0},
            "current_version_expiration_days must be a whole number of days of at least 1, got 0",
        ),
        (
            {"current_version_expiration_days": True},
            "current_version_expiration_days must be a whole number of days",
        ),
    ],
)
def test_invalid_props_fail_with_the_field_named(overrides: dict[str, Any], message: str) -> None:
    # Given / When props with one invalid combination / Then construction fails naming it
    with pytest.raises(ValueError, match=message):
        ingest_props(**overrides)


def test_sink_must_be_a_log_sink(synth: SynthFn) -> None:
    # Given a data bucket used as another bucket's access-log sink
    def misuse(stack: TerraformStack) -> None:
        sink = SecureBucket(stack, "logs", props=SINK_PROPS)
        data = SecureBucket(
            stack, "data", props=ingest_props(bucket_name="data-bucket", access_logs_sink=sink)
        )
        ingest_props(access_logs_sink=data)

    # When built / Then the misuse is refused
    with pytest.raises(ValueError, match="access_logs_sink must be a bucket created with"):
        synth(misuse)


def test_force_destroy_is_allowed_once_prevent_destroy_is_off(synth: SynthFn) -> None:
    # Given a throwaway bucket
    out = synth(build(force_destroy=True, prevent_destroy=False))
    # When synthesized / Then Terraform may empty and delete it
    bucket = data_bucket(out, "aws_s3_bucket")
    assert bucket["force_destroy"] is True
    assert bucket["lifecycle"] == {"prevent_destroy": False}


def test_emulator_opt_out_drops_only_the_tls_deny(synth: SynthFn) -> None:
    # Given a sink and a data bucket synthesized for an emulator that cannot evaluate TLS
    def emulator(stack: TerraformStack) -> None:
        sink_props = replace(SINK_PROPS, deny_insecure_transport=False)
        sink = SecureBucket(stack, "access-logs", props=sink_props)
        SecureBucket(
            stack,
            "ingest",
            props=ingest_props(access_logs_sink=sink, deny_insecure_transport=False),
        )

    out = synth(emulator)
    # Then no statement denies insecure transport, the log sink still admits log delivery,
    # and the data bucket, having no other statement, gets no policy at all
    documents = json.dumps(out["data"]["aws_iam_policy_document"])
    assert "DenyInsecureTransport" not in documents
    assert "AllowServerAccessLogDelivery" in documents
    assert list(out["resource"]["aws_s3_bucket_policy"]) == [
        name for name in out["resource"]["aws_s3_bucket_policy"] if name.startswith("access-logs")
    ]
    assert len(out["resource"]["aws_s3_bucket_policy"]) == 1


def test_a_log_sink_names_the_buckets_that_may_deliver_to_it() -> None:
    # Given a sink that names no source bucket / When built / Then it is refused
    with pytest.raises(ValueError, match="log_source_buckets must name the buckets"):
        replace(SINK_PROPS, log_source_buckets=())

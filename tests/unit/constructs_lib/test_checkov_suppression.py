from __future__ import annotations

from typing import Any

import pytest
from cdktf import TerraformStack
from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
)
from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket

from constructs_lib.checkov_suppression import skip_check
from tests.unit.constructs_lib.conftest import SynthFn


def bucket_with_two_skips(stack: TerraformStack) -> None:
    bucket = S3Bucket(stack, "bucket")
    skip_check(bucket, "CKV_AWS_18", "access logs go elsewhere")
    skip_check(bucket, "CKV_AWS_144", "no replication")


def skips_of(body: dict[str, Any]) -> list[dict[str, str]]:
    skips: list[dict[str, str]] = body["//"]["checkov"]["skip"]
    return skips


def test_every_suppression_on_a_resource_is_kept_in_order(synth_with_comments: SynthFn) -> None:
    # Given a bucket with two suppressions
    # When it is synthesized
    bucket = synth_with_comments(bucket_with_two_skips)["resource"]["aws_s3_bucket"]["bucket"]
    # Then both are in its comment field, with their reasons
    assert skips_of(bucket) == [
        {"id": "CKV_AWS_18", "comment": "access logs go elsewhere"},
        {"id": "CKV_AWS_144", "comment": "no replication"},
    ]


def test_a_second_app_in_the_same_process_starts_from_no_suppressions(
    synth_with_comments: SynthFn,
) -> None:
    # Given the same construct path synthesized once already in this process
    synth_with_comments(bucket_with_two_skips)
    # When a fresh app builds it again
    again = synth_with_comments(bucket_with_two_skips)["resource"]["aws_s3_bucket"]["bucket"]
    # Then its suppressions are not repeated
    assert [skip["id"] for skip in skips_of(again)] == ["CKV_AWS_18", "CKV_AWS_144"]


def test_a_data_source_carries_its_suppression_in_the_first_statement(
    synth_with_comments: SynthFn,
) -> None:
    # Given a suppression on a policy document
    def build(stack: TerraformStack) -> None:
        statement = DataAwsIamPolicyDocumentStatement(actions=["kms:*"], resources=["*"])
        document = DataAwsIamPolicyDocument(stack, "doc", statement=[statement])
        skip_check(document, "CKV_AWS_111", "key policies name the key as *")

    # When it is synthesized
    document = synth_with_comments(build)["data"]["aws_iam_policy_document"]["doc"]
    # Then the entry sits in the first statement's comment field
    assert skips_of(document["statement"][0]) == [
        {"id": "CKV_AWS_111", "comment": "key policies name the key as *"}
    ]


def test_a_suppression_without_a_reason_is_refused(synth_with_comments: SynthFn) -> None:
    # Given a suppression with a blank reason
    def build(stack: TerraformStack) -> None:
        skip_check(S3Bucket(stack, "bucket"), "CKV_AWS_18", "  ")

    # When it is built, then it fails naming the check
    with pytest.raises(ValueError, match="CKV_AWS_18 needs a reason"):
        synth_with_comments(build)

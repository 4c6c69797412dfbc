"""Explicit CloudWatch log groups: KMS-encrypted, with the environment's retention."""

from __future__ import annotations

from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from constructs import Construct

from constructs_lib.checkov_suppression import skip_check

# checkov's CKV_AWS_338 expects a year; shorter retention is a per-environment choice.
ONE_YEAR_DAYS = 365


def encrypted_log_group(
    scope: Construct,
    construct_id: str,
    *,
    name: str,
    retention_days: int,
    kms_key_arn: str,
    contents: str = "logs",
) -> CloudwatchLogGroup:
    """A log group we own before any service creates it with no retention or encryption.

    ``contents`` names what it holds ("flow logs", "execution logs") in the suppression
    reason recorded when the environment keeps it for less than a year.
    """
    group = CloudwatchLogGroup(
        scope, construct_id, name=name, retention_in_days=retention_days, kms_key_id=kms_key_arn
    )
    if retention_days < ONE_YEAR_DAYS:
        skip_check(
            group,
            "CKV_AWS_338",
            "Retention is chosen per environment (log_retention_days); short-lived "
            f"environments keep {contents} for less than a year on purpose.",
        )
    return group

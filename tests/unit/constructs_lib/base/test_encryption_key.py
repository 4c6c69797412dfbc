from __future__ import annotations

import json
from typing import Any

import pytest

from constructs_lib.base.encryption_key import (
    EncryptionKey,
    EncryptionKeyProps,
    KeyServiceGrant,
    decrypt_through_services,
)
from tests.unit.constructs_lib.conftest import SynthFn, only

QUEUES = KeyServiceGrant(
    sid="QueueMessages",
    principals=["events.amazonaws.com"],
    condition_variable="kms:EncryptionContext:aws:sqs:arn",
    arn_patterns=["arn:${partition}:sqs:${region}:${account}:evpipe-dev-*"],
)


def statements(out: dict[str, Any]) -> dict[str, dict[str, Any]]:
    documents = out["data"]["aws_iam_policy_document"]
    (document,) = [body for name, body in documents.items() if "policy" in name]
    return {statement["sid"]: statement for statement in document["statement"]}


def test_key_rotates_and_lets_cloudwatch_logs_encrypt_only_our_log_groups(synth: SynthFn) -> None:
    # Given a key for one environment's log groups and one service grant
    props = EncryptionKeyProps(
        name_prefix="evpipe-dev",
        region="us-west-2",
        log_group_prefixes=("/aws/lambda/evpipe-dev-",),
        service_grants=(QUEUES,),
    )
    # When synthesized
    out = synth(lambda stack: EncryptionKey(stack, "key", props=props))
    # Then rotation is on, the alias follows the prefix, and Terraform may never destroy it
    key = only(out, "aws_kms_key")
    assert key["enable_key_rotation"] is True
    assert key["deletion_window_in_days"] == 30
    assert key["lifecycle"] == {"prevent_destroy": True}
    assert only(out, "aws_kms_alias")["name"] == "alias/evpipe-dev"
    # And CloudWatch Logs may use it only for log groups under this environment's prefix
    by_sid = statements(out)
    logs = by_sid["CloudWatchLogsEncryption"]
    assert logs["principals"] == [
        {"type": "Service", "identifiers": ["logs.us-west-2.amazonaws.com"]}
    ]
    (condition,) = logs["condition"]
    assert condition["variable"] == "kms:EncryptionContext:aws:logs:arn"
    (pattern,) = condition["values"]
    assert pattern.endswith(":log-group:/aws/lambda/evpipe-dev-*")
    assert pattern.startswith("arn:${data.aws_partition.")


def test_service_grants_are_scoped_to_our_resources_not_only_to_the_account(
    synth: SynthFn,
) -> None:
    # Given a service grant for EventBridge's writes into our queues
    props = EncryptionKeyProps(name_prefix="p-dev", region="us-west-2", service_grants=(QUEUES,))
    out = synth(lambda stack: EncryptionKey(stack, "key", props=props))
    # Then the statement needs both the account and the queue named in the encryption context
    grant = statements(out)["QueueMessages"]
    variables = {c["variable"]: c for c in grant["condition"]}
    assert set(variables) == {"aws:SourceAccount", "kms:EncryptionContext:aws:sqs:arn"}
    (queues,) = variables["kms:EncryptionContext:aws:sqs:arn"]["values"]
    assert queues.startswith("arn:${data.aws_partition.")
    assert queues.endswith(":evpipe-dev-*")
    assert "${account}" not in queues


def test_a_key_without_log_groups_has_no_logs_statement_and_can_opt_out_of_protection(
    synth: SynthFn,
) -> None:
    props = EncryptionKeyProps(name_prefix="p-dev", region="us-west-2", prevent_destroy=False)
    out = synth(lambda stack: EncryptionKey(stack, "key", props=props))
    assert set(statements(out)) == {"AccountAdministration"}
    assert only(out, "aws_kms_key")["lifecycle"] == {"prevent_destroy": False}


def test_a_grant_scoped_only_by_account_is_refused() -> None:
    with pytest.raises(ValueError, match="must be scoped by aws:SourceArn or an encryption"):
        KeyServiceGrant(
            sid="Loose",
            principals=["sns.amazonaws.com"],
            condition_variable="aws:SourceAccount",
            arn_patterns=["123456789012"],
        )


def test_log_group_prefixes_with_wildcards_are_refused() -> None:
    with pytest.raises(ValueError, match="log_group_prefixes must list non-empty"):
        EncryptionKeyProps(name_prefix="p", region="us-west-2", log_group_prefixes=("*",))


def test_decrypt_condition_names_aws_services_only() -> None:
    condition = decrypt_through_services(("lambda", "sqs"))
    assert json.loads(json.dumps(condition.values)) == [
        "lambda.*.amazonaws.com",
        "sqs.*.amazonaws.com",
    ]
    assert condition.variable == "kms:ViaService"


def test_deletion_window_outside_kms_limits_is_rejected() -> None:
    with pytest.raises(ValueError, match="deletion_window_days must be from 7 to 30, got 3"):
        EncryptionKeyProps(name_prefix="p", region="us-west-2", deletion_window_days=3)

"""Issue 13, finding 5: keys are scoped to what uses them, protected, and kept apart."""

from __future__ import annotations

from typing import Any

import pytest

from config.environments import build_environments

ENVIRONMENTS = build_environments()
Stacks = dict[str, dict[str, Any]]


def documents(stack: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        body["//"]["metadata"]["path"]: body
        for body in stack["data"]["aws_iam_policy_document"].values()
    }


def key_policy(stack: dict[str, Any], path_suffix: str) -> dict[str, dict[str, Any]]:
    (document,) = [body for path, body in documents(stack).items() if path.endswith(path_suffix)]
    return {statement["sid"]: statement for statement in document["statement"]}


def actions_of(statement: dict[str, Any]) -> list[str]:
    return list(statement.get("actions", []))


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_logs_may_use_the_key_only_for_this_environments_log_groups(
    synthesized_stacks: Stacks, env: str
) -> None:
    # Given the environment key's policy
    logs = key_policy(synthesized_stacks[f"pipeline-{env}"], "foundation/key/policy")[
        "CloudWatchLogsEncryption"
    ]
    (condition,) = logs["condition"]
    # Then every allowed log group is under this environment's prefix or its own REST API
    names = [pattern.split(":log-group:", 1)[1] for pattern in condition["values"]]
    assert names
    for name in names:
        assert f"evpipe-{env}" in name or name.startswith(
            "API-Gateway-Execution-Logs_${aws_api_gateway_rest_api."
        ), name


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_service_statements_are_scoped_beyond_the_account(
    synthesized_stacks: Stacks, env: str
) -> None:
    # Given every key policy of the environment (data key, backup key)
    stack = synthesized_stacks[f"pipeline-{env}"]
    for path, document in documents(stack).items():
        if not path.endswith("key/policy"):
            continue
        for statement in document["statement"]:
            principals = statement.get("principals", [])
            if not any(p["type"] == "Service" for p in principals):
                continue
            # Then each names our resources by source ARN or encryption context
            variables = {c["variable"] for c in statement["condition"]}
            assert variables - {"aws:SourceAccount"}, (path, statement["sid"])
            assert all(
                v == "aws:SourceArn" or v.startswith("kms:EncryptionContext:")
                for v in variables - {"aws:SourceAccount"}
            ), (path, statement["sid"])


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_roles_decrypt_only_through_services_or_for_named_resources(
    synthesized_stacks: Stacks, env: str
) -> None:
    # Given every IAM policy a role of the environment carries (key policies aside)
    stack = synthesized_stacks[f"pipeline-{env}"]
    checked = 0
    for path, document in documents(stack).items():
        if path.endswith("key/policy"):
            continue
        for statement in document["statement"]:
            if statement.get("effect", "Allow") != "Allow":
                continue
            if not any(
                a in ("kms:Decrypt", "kms:*", "kms:Decrypt*") for a in actions_of(statement)
            ):
                continue
            # Then a kms:Decrypt grant holds only with kms:ViaService or an encryption context
            variables = {c["variable"] for c in statement.get("condition", [])}
            assert any(
                v == "kms:ViaService" or v.startswith("kms:EncryptionContext:") for v in variables
            ), (path, statement.get("sid"))
            checked += 1
    assert checked >= 3


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_keys_are_protected_wherever_their_data_is(synthesized_stacks: Stacks, env: str) -> None:
    stack = synthesized_stacks[f"pipeline-{env}"]
    keys = {
        body["//"]["metadata"]["path"].split("/", 1)[1]: body
        for body in stack["resource"]["aws_kms_key"].values()
    }
    protected = ENVIRONMENTS[env].deletion_protection
    assert keys["foundation/key/key"]["lifecycle"] == {"prevent_destroy": protected}
    if "backup/key/key" in keys:
        assert keys["backup/key/key"]["lifecycle"] == {"prevent_destroy": True}


def test_state_has_a_key_of_its_own(synthesized_stacks: Stacks) -> None:
    # Given the state key's alias and every environment's key aliases
    bootstrap_aliases = {
        body["name"]
        for body in synthesized_stacks["state-bootstrap"]["resource"]["aws_kms_alias"].values()
    }
    environment_aliases = {
        body["name"]
        for env in ("dev", "staging", "prod")
        for body in synthesized_stacks[f"pipeline-{env}"]["resource"]["aws_kms_alias"].values()
    }
    # Then state is encrypted with a key no environment's data uses, and vice versa
    assert bootstrap_aliases == {"alias/evpipe-state"}
    assert bootstrap_aliases.isdisjoint(environment_aliases)
    for env in ("dev", "staging", "prod"):
        backend = synthesized_stacks[f"pipeline-{env}"]["terraform"]["backend"]["s3"]
        assert backend["kms_key_id"] not in environment_aliases

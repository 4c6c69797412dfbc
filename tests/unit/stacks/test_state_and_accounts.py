"""Remote state (KMS key, lock file, bucket guards) and the account guard, as synthesized.

Issue 13, findings 2 and 3: state objects must be written with the bootstrap's state key and
locked with S3 lock files; account-wide settings live only in the bootstrap stack; every
environment pins its account when one is known, and staging and prod refuse to plan without.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from config.deployment import DeploymentTarget
from constructs_lib.addresses import logical_id
from constructs_lib.base.api_gateway_account import ACCOUNT_LEVEL_RESOURCE_TYPES
from constructs_lib.pipeline.address_history import ACCOUNT_SETTINGS_MOVED_TO_BOOTSTRAP
from stacks.app import build_app
from stacks.bootstrap_stack import LOCK_TABLE_ADDRESS, BootstrapStack

Stacks = dict[str, dict[str, Any]]
ACCOUNT = "123456789012"


def synth_with(tmp_path: Path, **environ: str) -> Stacks:
    """The app as ``environ`` selects it (no emulator probe), read back from disk."""
    target = DeploymentTarget.from_environ(environ, probe=False)
    build_app(target, outdir=str(tmp_path)).synth()
    return {
        path.parent.name: json.loads(path.read_text())
        for path in sorted((tmp_path / "stacks").glob("*/cdk.tf.json"))
    }


def at_path(stack: dict[str, Any], section: str, path_suffix: str) -> dict[str, Any]:
    kind, resource_type = section.split(".")
    for body in stack[kind][resource_type].values():
        if body["//"]["metadata"]["path"].endswith(path_suffix):
            return dict(body)
    raise AssertionError(f"no {section} at {path_suffix}")


def statements_of(stack: dict[str, Any], path_suffix: str) -> dict[str, dict[str, Any]]:
    document = at_path(stack, "data.aws_iam_policy_document", path_suffix)
    return {statement.get("sid", ""): statement for statement in document["statement"]}


# --- Finding 2: state encrypted with the state key, S3 lock files, guarded bucket -----------


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_state_is_written_with_the_bootstrap_state_key_and_locked_by_lock_file(
    synthesized_stacks: Stacks, env: str
) -> None:
    # Given the production-shaped synth
    backend = synthesized_stacks[f"pipeline-{env}"]["terraform"]["backend"]["s3"]
    bootstrap = synthesized_stacks["state-bootstrap"]
    # Then the backend names the bootstrap key's alias, locks with a lock file, not DynamoDB
    alias = at_path(bootstrap, "resource.aws_kms_alias", "key/alias")
    assert backend["kms_key_id"] == alias["name"] == "alias/evpipe-state"
    assert backend["encrypt"] is True
    assert backend["use_lockfile"] is True
    assert "dynamodb_table" not in backend
    # And that key is the state bucket's default encryption too
    encryption = at_path(
        bootstrap, "resource.aws_s3_bucket_server_side_encryption_configuration", "state/encryption"
    )
    rule = encryption["rule"][0]["apply_server_side_encryption_by_default"]
    assert rule["sse_algorithm"] == "aws:kms"
    assert rule["kms_master_key_id"] == "${aws_kms_key.key_F64E54E4.arn}"


def test_state_bucket_denies_writes_without_kms_and_without_tls(
    synthesized_stacks: Stacks,
) -> None:
    # Given the state bucket's policy on AWS
    statements = statements_of(synthesized_stacks["state-bootstrap"], "state/policy-document")
    # Then a PutObject without SSE-KMS (header absent or different) is refused for everyone
    kms = statements["DenyWritesWithoutKms"]
    assert (kms["effect"], kms["actions"]) == ("Deny", ["s3:PutObject"])
    assert kms["principals"] == [{"type": "*", "identifiers": ["*"]}]
    assert kms["condition"] == [
        {
            "test": "StringNotEquals",
            "variable": "s3:x-amz-server-side-encryption",
            "values": ["aws:kms"],
        }
    ]
    # And so is any request without TLS
    assert statements["DenyInsecureTransport"]["condition"][0]["variable"] == (
        "aws:SecureTransport"
    )


def test_the_emulator_relaxation_of_the_kms_deny_lives_in_the_emulator_profile(
    tmp_path: Path,
) -> None:
    # Given dev aimed at the local cloud (moto ignores Deny conditions, so it would deny all)
    stacks = synth_with(
        tmp_path, PIPELINE_ENVIRONMENTS="dev", AWS_ENDPOINT_URL="http://127.0.0.1:4566"
    )
    # Then the state bucket keeps only the version guard, and the backend still names the key
    statements = statements_of(stacks["state-bootstrap"], "state/policy-document")
    assert set(statements) == {"DenyStateVersionDeletion"}
    assert stacks["pipeline-dev"]["terraform"]["backend"]["s3"]["kms_key_id"] == (
        "alias/evpipe-state"
    )


def test_the_lock_table_is_forgotten_not_destroyed(synthesized_stacks: Stacks) -> None:
    # Given the default bootstrap (S3 lock files only)
    bootstrap = synthesized_stacks["state-bootstrap"]
    # Then it manages no lock table, and a deployed one leaves its state without a destroy
    assert "aws_dynamodb_table" not in bootstrap["resource"]
    assert {"from": LOCK_TABLE_ADDRESS, "lifecycle": {"destroy": False}} in bootstrap["removed"]


def test_migration_lock_table_keeps_its_address_and_is_locked_in_beside_the_lock_file(
    tmp_path: Path,
) -> None:
    # Given an operator migrating: older checkouts still lock in the DynamoDB table
    stacks = synth_with(
        tmp_path, PIPELINE_ENVIRONMENTS="prod", PIPELINE_STATE_LOCK_TABLE="evpipe-terraform-locks"
    )
    # Then the bootstrap keeps the table where it was (no replace) and does not forget it
    bootstrap = stacks["state-bootstrap"]
    (address,) = bootstrap["resource"]["aws_dynamodb_table"]
    assert f"aws_dynamodb_table.{address}" == LOCK_TABLE_ADDRESS
    assert "removed" not in bootstrap
    # And the backend takes both locks until the variable is unset
    backend = stacks["pipeline-prod"]["terraform"]["backend"]["s3"]
    assert backend["dynamodb_table"] == "evpipe-terraform-locks"
    assert backend["use_lockfile"] is True


def test_state_versions_are_kept_and_cannot_be_deleted_by_hand(synthesized_stacks: Stacks) -> None:
    # Given the state bucket
    bootstrap = synthesized_stacks["state-bootstrap"]
    versioning = at_path(bootstrap, "resource.aws_s3_bucket_versioning", "state/versioning")
    lifecycle = at_path(
        bootstrap, "resource.aws_s3_bucket_lifecycle_configuration", "state/lifecycle"
    )
    guard = statements_of(bootstrap, "state/policy-document")["DenyStateVersionDeletion"]
    # Then versions are kept 90 days, expire only by lifecycle, and nobody may delete one
    assert versioning["versioning_configuration"]["status"] == "Enabled"
    assert lifecycle["rule"][0]["noncurrent_version_expiration"][0]["noncurrent_days"] == 90
    assert (guard["effect"], guard["actions"]) == ("Deny", ["s3:DeleteObjectVersion"])
    assert guard["principals"] == [{"type": "*", "identifiers": ["*"]}]
    assert at_path(bootstrap, "resource.aws_s3_bucket", "state/bucket")["lifecycle"] == {
        "prevent_destroy": True
    }


def test_state_retention_below_the_guard_is_refused() -> None:
    from cdktf import Testing

    target = DeploymentTarget.from_environ({}, probe=False)
    with pytest.raises(ValueError, match="state_version_retention_days must be at least 30"):
        BootstrapStack(
            Testing.app(), "state-bootstrap", target=target, state_version_retention_days=7
        )


# --- Finding 3: account-level resources in one place, account pins ----------------------------


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_environment_stacks_hold_no_account_level_resource(
    synthesized_stacks: Stacks, env: str
) -> None:
    resources = synthesized_stacks[f"pipeline-{env}"]["resource"]
    assert ACCOUNT_LEVEL_RESOURCE_TYPES.isdisjoint(resources)


def test_the_bootstrap_owns_api_gateways_account_role(synthesized_stacks: Stacks) -> None:
    # Given the bootstrap (account) stack
    bootstrap = synthesized_stacks["state-bootstrap"]
    # Then it sets the account's CloudWatch role once, to a role named for the project
    (account,) = bootstrap["resource"]["aws_api_gateway_account"].values()
    role = at_path(bootstrap, "resource.aws_iam_role", "apigateway-account/role")
    assert role["name"] == "evpipe-apigateway-cloudwatch"
    assert account["cloudwatch_role_arn"].startswith("${aws_iam_role.apigateway-account_role_")
    trust = statements_of(bootstrap, "apigateway-account/trust")[""]
    assert trust["condition"][0]["variable"] == "aws:SourceAccount"


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_deployed_environments_forget_the_old_account_role_without_destroying_it(
    synthesized_stacks: Stacks, env: str
) -> None:
    # Given an environment deployed when its REST API owned the account setting
    removed = synthesized_stacks[f"pipeline-{env}"]["removed"]
    # Then every address it had (both layouts) is forgotten, never destroyed
    expected = {
        f"{kind}.{logical_id([*layout, name])}"
        for layout in (["api", "rest-api"], ["rest-api"])
        for name, kind in (
            ("cloudwatch-role", "aws_iam_role"),
            ("cloudwatch-policy", "aws_iam_role_policy"),
            ("account", "aws_api_gateway_account"),
        )
    }
    assert set(ACCOUNT_SETTINGS_MOVED_TO_BOOTSTRAP) == expected
    assert {block["from"] for block in removed} == expected
    assert all(block["lifecycle"] == {"destroy": False} for block in removed)


def test_forgotten_addresses_are_where_the_rest_api_put_them(
    synthesized_stacks: Stacks,
) -> None:
    # Given the ids the REST API construct gave its account resources before the bootstrap
    # took them over (a plan of 6fcd50e's deployment forgot exactly these, destroying none)
    forgotten = [block["from"] for block in synthesized_stacks["pipeline-prod"]["removed"]]
    # Then each forgotten address is one of them, under the API's construct path
    for construct_id in ("cloudwatch-role", "cloudwatch-policy", "account"):
        assert any(f"rest-api_{construct_id}_" in address for address in forgotten), construct_id
    # And the environments' own API resources keep addresses under api/rest-api
    stage_addresses = synthesized_stacks["pipeline-prod"]["resource"]["aws_api_gateway_stage"]
    assert all(name.startswith("api_rest-api_") for name in stage_addresses)


def test_an_account_named_by_variable_pins_the_provider(tmp_path: Path) -> None:
    # Given prod's account named at synth time
    stacks = synth_with(tmp_path, PIPELINE_ENVIRONMENTS="prod", PIPELINE_ACCOUNT_ID_PROD=ACCOUNT)
    # Then prod's and the bootstrap's providers refuse any other account, and nothing refuses
    for name in ("pipeline-prod", "state-bootstrap"):
        assert stacks[name]["provider"]["aws"][0]["allowed_account_ids"] == [ACCOUNT]
    identities = stacks["pipeline-prod"]["data"]["aws_caller_identity"]
    assert not [name for name in identities if name.startswith("provider_unpinned-account")]


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_an_unpinned_shared_environment_refuses_every_plan_naming_the_variable(
    synthesized_stacks: Stacks, env: str
) -> None:
    # Given staging or prod synthesized for AWS without an account
    stack = synthesized_stacks[f"pipeline-{env}"]
    assert "allowed_account_ids" not in stack["provider"]["aws"][0]
    # Then a postcondition that cannot hold stops plan and apply, naming the variable
    guard = at_path(stack, "data.aws_caller_identity", "provider/unpinned-account")
    (condition,) = guard["lifecycle"]["postcondition"]
    assert condition["condition"] == '${self.account_id == "pinned"}'
    assert f"set PIPELINE_ACCOUNT_ID_{env.upper()} to" in condition["error_message"]


def test_dev_and_the_emulator_need_no_account(synthesized_stacks: Stacks, tmp_path: Path) -> None:
    dev = synthesized_stacks["pipeline-dev"]["data"]["aws_caller_identity"]
    assert not [name for name in dev if name.startswith("provider_unpinned-account")]
    stacks = synth_with(
        tmp_path, PIPELINE_ENVIRONMENTS="prod", AWS_ENDPOINT_URL="http://127.0.0.1:4566"
    )
    prod = stacks["pipeline-prod"]["data"]["aws_caller_identity"]
    assert not [name for name in prod if name.startswith("provider_unpinned-account")]

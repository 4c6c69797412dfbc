"""Assertions on the whole synthesized app: wiring, naming, tags and environment differences."""

from __future__ import annotations

from typing import Any

import pytest
from pipeline_common.environment import FUNCTION_ENVIRONMENTS, POWERTOOLS_VARIABLES

from config.environments import build_environments

ENVIRONMENTS = build_environments()
# The workflow's own steps; deployed only where the workflow is the ingest path.
WORKFLOW_ONLY = {"validate", "notify"}
Stacks = dict[str, dict[str, Any]]


def resources(stack: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    return list(stack["resource"].get(resource_type, {}).values())


def one(stack: dict[str, Any], resource_type: str, name_part: str) -> dict[str, Any]:
    matches: list[dict[str, Any]] = [
        body for key, body in stack["resource"][resource_type].items() if name_part in key
    ]
    assert len(matches) == 1, f"{resource_type} matching {name_part}: {len(matches)}"
    return matches[0]


def test_app_synthesizes_every_environment_and_the_bootstrap(synthesized_stacks: Stacks) -> None:
    assert set(synthesized_stacks) == {
        "state-bootstrap",
        "pipeline-dev",
        "pipeline-staging",
        "pipeline-prod",
    }


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_each_environment_has_its_own_locked_encrypted_state_key(
    synthesized_stacks: Stacks, env: str
) -> None:
    backend = synthesized_stacks[f"pipeline-{env}"]["terraform"]["backend"]["s3"]
    assert backend["key"] == f"pipeline-{env}/terraform.tfstate"
    assert backend["encrypt"] is True
    assert backend["kms_key_id"] == "alias/evpipe-state"
    assert backend["use_lockfile"] is True
    assert backend["bucket"] == "evpipe-terraform-state"


def test_bootstrap_keeps_local_state_and_creates_the_state_bucket(
    synthesized_stacks: Stacks,
) -> None:
    bootstrap = synthesized_stacks["state-bootstrap"]
    assert "local" in bootstrap["terraform"]["backend"]
    assert one(bootstrap, "aws_s3_bucket", "state")["bucket"] == "evpipe-terraform-state"
    assert one(bootstrap, "aws_kms_key", "key")["lifecycle"]["prevent_destroy"] is True


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_provider_accepts_the_mirrored_release_and_tags_everything(
    synthesized_stacks: Stacks, env: str
) -> None:
    stack = synthesized_stacks[f"pipeline-{env}"]
    assert stack["terraform"]["required_providers"]["aws"] == {
        "source": "hashicorp/aws",
        "version": "~> 5.99",
    }
    provider = stack["provider"]["aws"][0]
    assert provider["region"] == "us-west-2"
    assert provider["default_tags"] == [{"tags": ENVIRONMENTS[env].tags}]
    assert "endpoints" not in provider, "a production synth never points at an emulator"


def test_every_stack_carries_the_production_seeds_team_tag(synthesized_stacks: Stacks) -> None:
    # Given every synthesized stack, the bootstrap included
    for name, stack in synthesized_stacks.items():
        (tags,) = [block["tags"] for block in stack["provider"]["aws"][0]["default_tags"]]
        # Then its default tags carry team-number beside the built-in Project tag
        assert tags["team-number"] == "2", name
        assert tags["Project"] == "evpipe", name


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_physical_names_derive_from_one_prefix(synthesized_stacks: Stacks, env: str) -> None:
    stack = synthesized_stacks[f"pipeline-{env}"]
    prefix = f"evpipe-{env}"
    names = [b["bucket"] for b in resources(stack, "aws_s3_bucket")]
    names += [t["name"] for t in resources(stack, "aws_dynamodb_table")]
    names += [f["function_name"] for f in resources(stack, "aws_lambda_function")]
    names += [r["name"] for r in resources(stack, "aws_iam_role")]
    assert names
    assert [name for name in names if not name.startswith(prefix)] == []


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_environment_sizes_reach_the_resources(synthesized_stacks: Stacks, env: str) -> None:
    config = ENVIRONMENTS[env]
    stack = synthesized_stacks[f"pipeline-{env}"]
    processor = one(stack, "aws_lambda_function", "processor")
    assert processor["memory_size"] == config.functions.processor.memory_mb
    assert processor["timeout"] == config.functions.processor.timeout_seconds
    assert (
        processor.get("reserved_concurrent_executions")
        == config.functions.processor.reserved_concurrency
    )
    assert {g["retention_in_days"] for g in resources(stack, "aws_cloudwatch_log_group")} >= {
        config.log_retention_days
    }
    table = one(stack, "aws_dynamodb_table", "records")
    assert table["billing_mode"] == config.table.billing_mode
    assert table["deletion_protection_enabled"] is config.deletion_protection
    ingest = one(stack, "aws_s3_bucket", "ingest")
    assert ingest["force_destroy"] is config.force_destroy
    assert ingest["lifecycle"]["prevent_destroy"] is config.deletion_protection


def test_only_dev_can_be_torn_down(synthesized_stacks: Stacks) -> None:
    protected = {
        env: one(synthesized_stacks[f"pipeline-{env}"], "aws_dynamodb_table", "records")[
            "lifecycle"
        ]["prevent_destroy"]
        for env in ("dev", "staging", "prod")
    }
    assert protected == {"dev": False, "staging": True, "prod": True}


def test_dev_bucket_sends_its_events_to_eventbridge_not_to_the_processor(
    synthesized_stacks: Stacks,
) -> None:
    # Given dev, on the workflow ingest path
    stack = synthesized_stacks["pipeline-dev"]
    notification = one(stack, "aws_s3_bucket_notification", "ingest_")
    # Then the bucket hands its events to EventBridge and notifies no function directly
    assert notification["eventbridge"] is True
    assert "lambda_function" not in notification
    assert "aws_s3_bucket.ingest_bucket" in notification["bucket"]


def test_processor_environment_and_permissions_point_at_the_table(
    synthesized_stacks: Stacks,
) -> None:
    stack = synthesized_stacks["pipeline-dev"]
    variables = one(stack, "aws_lambda_function", "processor")["environment"]["variables"]
    assert "aws_dynamodb_table.foundation_records_table" in variables["TABLE_NAME"]
    assert variables["RECORD_TTL_DAYS"] == "30"
    assert variables["POWERTOOLS_SERVICE_NAME"] == "processor"
    permissions = next(
        body for key, body in stack["data"]["aws_iam_policy_document"].items()
        if key.startswith("ingest_processor_permissions")
    )  # fmt: skip
    write = next(s for s in permissions["statement"] if s.get("sid") == "WriteRecords")
    assert len(write["resources"]) == 1
    assert write["resources"][0].startswith("${aws_dynamodb_table.foundation_records_table")


def test_outputs_are_named_after_their_resources(synthesized_stacks: Stacks) -> None:
    outputs = set(synthesized_stacks["pipeline-dev"]["output"])
    assert {
        "ingest_bucket_name", "ingest_bucket_arn", "records_table_name", "records_table_arn",
        "records_table_stream_arn", "processor_function_name", "processor_function_arn",
    } <= outputs  # fmt: skip


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_each_function_is_deployed_with_exactly_its_environment_contract(
    synthesized_stacks: Stacks, env: str
) -> None:
    # Given every deployed function of the environment
    functions = resources(synthesized_stacks[f"pipeline-{env}"], "aws_lambda_function")
    deployed = {
        body["function_name"].removeprefix(f"evpipe-{env}-"): set(body["environment"]["variables"])
        for body in functions
    }
    # Then each function of the environment's ingest path is deployed
    workflow = ENVIRONMENTS[env].ingest_path == "workflow"
    expected_functions = set(FUNCTION_ENVIRONMENTS) - (set() if workflow else WORKFLOW_ONLY)
    assert set(deployed) == expected_functions
    # And gets the variables its handler's settings read, plus Powertools' own; the
    # processor publishes notices itself only where no workflow step does
    for name, variables in deployed.items():
        expected = set(FUNCTION_ENVIRONMENTS[name].names) | set(POWERTOOLS_VARIABLES)
        if name == "processor" and workflow:
            expected.discard("NOTICE_TOPIC_ARN")
        assert variables == expected, name

"""Stack-level assertions on the seed contracts, per environment, on the session's synth."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import cdktf
import pytest

from config.deployment import DeploymentTarget
from config.environments import build_environments
from constructs_lib.pipeline.foundation import FoundationProps
from stacks.pipeline_stack import PipelineStack

ENVIRONMENTS = build_environments()
Stacks = dict[str, dict[str, Any]]
ENVS = pytest.mark.parametrize("env", ["dev", "staging", "prod"])


def of_type(stack: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    resources: dict[str, dict[str, Any]] = stack["resource"].get(resource_type, {})
    return resources


def request_log(stack: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (name, body)
        for name, body in of_type(stack, "aws_dynamodb_table").items()
        if name.startswith("foundation_request-log_")
    ]
    return found


@ENVS
def test_the_request_log_table_is_encrypted_recoverable_expiring_and_protected(
    synthesized_stacks: Stacks, env: str
) -> None:
    # Given the environment's request log table
    stack = synthesized_stacks[f"pipeline-{env}"]
    config = ENVIRONMENTS[env]
    _, table = request_log(stack)
    # Then it is named from the prefix and encrypted with the environment key
    assert table["name"] == f"evpipe-{env}-request-log"
    key = next(name for name in of_type(stack, "aws_kms_key") if name.startswith("foundation"))
    assert table["server_side_encryption"] == {
        "enabled": True,
        "kms_key_arn": f"${{aws_kms_key.{key}.arn}}",
    }
    assert table["point_in_time_recovery"] == {"enabled": True}
    assert table["ttl"] == {"attribute_name": "expires_at", "enabled": True}
    # And it is protected exactly where the records table is (everywhere but dev)
    assert table["deletion_protection_enabled"] is config.deletion_protection
    assert table["lifecycle"]["prevent_destroy"] is config.deletion_protection


@ENVS
@pytest.mark.parametrize("function", ["api", "maintenance"])
def test_each_writer_may_only_put_items_in_the_request_log(
    synthesized_stacks: Stacks, env: str, function: str
) -> None:
    # Given the writer's permissions and environment
    stack = synthesized_stacks[f"pipeline-{env}"]
    table, _ = request_log(stack)
    table_ref = f"${{aws_dynamodb_table.{table}"
    documents = stack["data"]["aws_iam_policy_document"]
    document = next(
        body for name, body in documents.items() if f"_{function}_permissions_" in f"_{name}"
    )
    # Then the only statement naming the request log is PutItem on it
    naming = [s for s in document["statement"] if any(table_ref in r for r in s["resources"])]
    assert [(s["actions"], s["resources"]) for s in naming] == [
        (["dynamodb:PutItem"], [f"{table_ref}.arn}}"])
    ]
    # And its environment names the table and the configured TTL days
    (body,) = [
        body
        for name, body in of_type(stack, "aws_lambda_function").items()
        if body["function_name"] == f"evpipe-{env}-{function}"
    ]
    variables = body["environment"]["variables"]
    assert variables["REQUEST_LOG_TABLE"] == f"{table_ref}.name}}"
    assert variables["REQUEST_LOG_TTL_DAYS"] == str(ENVIRONMENTS[env].request_log_ttl_days)


@ENVS
def test_the_rest_api_serves_process_with_its_own_model(
    synthesized_stacks: Stacks, env: str
) -> None:
    # Given the environment's REST API
    stack = synthesized_stacks[f"pipeline-{env}"]
    resources = {
        f"${{aws_api_gateway_resource.{name}.id}}": body["path_part"]
        for name, body in of_type(stack, "aws_api_gateway_resource").items()
    }
    methods = [
        method
        for method in of_type(stack, "aws_api_gateway_method").values()
        if resources.get(method["resource_id"]) == "process"
    ]
    # Then /process has GET, POST and the preflight, and POST checks the ProcessInput model
    assert sorted(m["http_method"] for m in methods) == ["GET", "OPTIONS", "POST"]
    (post,) = [m for m in methods if m["http_method"] == "POST"]
    assert re.search(
        r"ProcessInput|aws_api_gateway_model\.api_rest-api_model-post-process",
        str(post["request_models"]),
    )


def test_the_http_api_has_the_catch_all_where_it_is_deployed(synthesized_stacks: Stacks) -> None:
    # Given dev, the environment that deploys the HTTP API
    stack = synthesized_stacks["pipeline-dev"]
    routes = {r["route_key"]: r for r in of_type(stack, "aws_apigatewayv2_route").values()}
    # Then /process and the authenticated $default catch-all are routes of it too
    assert {"GET /process", "POST /process", "$default"} <= set(routes)
    assert routes["$default"]["authorization_type"] == "AWS_IAM"


@pytest.fixture(scope="module")
def dev_foundation_props() -> FoundationProps:
    """The foundation props the stack builds for dev (whatever fields they have)."""
    target = DeploymentTarget.from_environ({"PIPELINE_ENVIRONMENTS": "dev"}, probe=False)
    stack = PipelineStack(
        cdktf.Testing.app(), "pipeline-dev", config=ENVIRONMENTS["dev"], target=target
    )
    return stack.foundation.props


@pytest.mark.parametrize("days", [-1, 3651, True])
def test_request_log_ttl_days_out_of_range_is_refused(
    dev_foundation_props: FoundationProps, days: Any
) -> None:
    # Given the dev profile and its foundation props, each with a bad request log TTL
    # Then both the environment and the foundation refuse it, naming the field
    message = "request_log_ttl_days must be an integer from 0 to 3650"
    with pytest.raises(ValueError, match=message):
        replace(ENVIRONMENTS["dev"], request_log_ttl_days=days)
    with pytest.raises(ValueError, match=message):
        replace(dev_foundation_props, request_log_ttl_days=days)

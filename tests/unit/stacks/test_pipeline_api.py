"""Stack-level assertions on the API front door, per environment, on the session's synth."""

from __future__ import annotations

import json
from typing import Any

import pytest

from config.environments import build_environments

ENVIRONMENTS = build_environments()
Stacks = dict[str, dict[str, Any]]


def of_type(stack: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    resources: dict[str, dict[str, Any]] = stack["resource"].get(resource_type, {})
    return resources


def named(stack: dict[str, Any], resource_type: str, prefix: str) -> tuple[str, dict[str, Any]]:
    """The one resource of a type whose name starts with a construct path prefix."""
    matches = [(n, b) for n, b in of_type(stack, resource_type).items() if n.startswith(prefix)]
    assert len(matches) == 1, f"{resource_type} starting with {prefix}: {len(matches)}"
    return matches[0]


@pytest.mark.parametrize(
    ("env", "rest", "http"), [("dev", True, True), ("staging", True, False), ("prod", True, False)]
)
def test_each_environment_deploys_the_variants_it_asks_for(
    synthesized_stacks: Stacks, env: str, rest: bool, http: bool
) -> None:
    # Given the synthesized environment and its configured variants
    stack = synthesized_stacks[f"pipeline-{env}"]
    assert ENVIRONMENTS[env].api.deploys_rest is rest
    assert ENVIRONMENTS[env].api.deploys_http is http
    # Then exactly those APIs exist, named from the environment prefix
    rest_apis = [api["name"] for api in of_type(stack, "aws_api_gateway_rest_api").values()]
    http_apis = [api["name"] for api in of_type(stack, "aws_apigatewayv2_api").values()]
    assert rest_apis == ([f"evpipe-{env}-rest-api"] if rest else [])
    assert http_apis == ([f"evpipe-{env}-http-api"] if http else [])


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_api_function_gets_its_settings_and_shares_the_layer_and_key(
    synthesized_stacks: Stacks, env: str
) -> None:
    # Given the environment's API function
    stack = synthesized_stacks[f"pipeline-{env}"]
    config = ENVIRONMENTS[env]
    _, function = named(stack, "aws_lambda_function", "api_function_")
    table = next(iter(of_type(stack, "aws_dynamodb_table")))
    layer = next(iter(of_type(stack, "aws_lambda_layer_version")))
    key = next(name for name in of_type(stack, "aws_kms_key") if name.startswith("foundation"))
    # Then it runs the api package with the contract's environment
    assert function["function_name"] == f"evpipe-{env}-api"
    assert function["handler"] == "api.handler.lambda_handler"
    variables = function["environment"]["variables"]
    assert variables["TABLE_NAME"] == f"${{aws_dynamodb_table.{table}.name}}"
    assert variables["CORS_ALLOWED_ORIGINS"] == ",".join(config.api.cors_allowed_origins)
    assert variables["MAX_PAGE_SIZE"] == str(config.api.max_page_size)
    assert variables["RECORD_TTL_DAYS"] == str(config.record_ttl_days)
    assert variables["POWERTOOLS_SERVICE_NAME"] == "api"
    # And it is sized from config, under API Gateway's 29 s limit, on the shared layer and key
    assert function["memory_size"] == config.functions.api.memory_mb
    assert function["timeout"] == config.functions.api.timeout_seconds
    assert function["timeout"] <= 29
    assert function["layers"] == [f"${{aws_lambda_layer_version.{layer}.arn}}"]
    assert function["kms_key_arn"] == f"${{aws_kms_key.{key}.arn}}"


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_api_function_may_only_read_and_put_records_in_its_table(
    synthesized_stacks: Stacks, env: str
) -> None:
    # Given the API function's permissions document
    stack = synthesized_stacks[f"pipeline-{env}"]
    table = next(iter(of_type(stack, "aws_dynamodb_table")))
    documents = stack["data"]["aws_iam_policy_document"]
    document = next(body for n, body in documents.items() if n.startswith("api_permissions_"))
    dynamodb = [
        statement
        for statement in document["statement"]
        if any(action.startswith("dynamodb:") for action in statement["actions"])
        # (its request log grant, PutItem only: test_pipeline_seed_contracts.py)
        and statement.get("sid") != "WriteRequestLog"
    ]
    # Then DynamoDB access is limited to these actions on the table ARN itself, and Query on
    # index GSI1 (GET /records?key=)
    arn = f"${{aws_dynamodb_table.{table}.arn}}"
    granted = sorted(
        (resource, action)
        for statement in dynamodb
        for action in statement["actions"]
        for resource in statement["resources"]
    )
    assert granted == [
        (arn, "dynamodb:GetItem"),
        (arn, "dynamodb:PutItem"),
        (arn, "dynamodb:Query"),
        (arn, "dynamodb:Scan"),
        (f"{arn}/index/GSI1", "dynamodb:Query"),
    ]


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_rest_stage_throttles_logs_and_meters_per_environment(
    synthesized_stacks: Stacks, env: str
) -> None:
    # Given the environment's REST API
    stack = synthesized_stacks[f"pipeline-{env}"]
    api = ENVIRONMENTS[env].api
    # Then the stage is named after the environment, traced and throttled from config
    _, stage = named(stack, "aws_api_gateway_stage", "api_rest-api_")
    assert stage["stage_name"] == env
    assert stage["xray_tracing_enabled"] is True
    _, settings = named(stack, "aws_api_gateway_method_settings", "api_rest-api_")
    assert settings["settings"]["throttling_rate_limit"] == api.throttle.rate_limit
    assert settings["settings"]["throttling_burst_limit"] == api.throttle.burst_limit
    # And its logs keep the environment's retention
    groups = [
        group
        for name, group in of_type(stack, "aws_cloudwatch_log_group").items()
        if name.startswith(("api_rest-api_", "http-api_"))
    ]
    assert groups
    assert {group["retention_in_days"] for group in groups} == {
        ENVIRONMENTS[env].log_retention_days
    }
    # And where callers use API keys, each is held to the environment's quota
    plans = of_type(stack, "aws_api_gateway_usage_plan")
    if api.auth != "api_key":
        assert plans == {}
        return
    _, plan = named(stack, "aws_api_gateway_usage_plan", "api_rest-api_")
    assert plan["quota_settings"] == {"limit": api.quota.limit, "period": api.quota.period}


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_every_api_route_requires_authentication(synthesized_stacks: Stacks, env: str) -> None:
    # Given no environment opens reads
    stack = synthesized_stacks[f"pipeline-{env}"]
    assert ENVIRONMENTS[env].api.open_read_access is False
    # Then every REST method but the preflight needs a key (dev) or SigV4, and every HTTP
    # route needs IAM
    uses_key = ENVIRONMENTS[env].api.auth == "api_key"
    for method in of_type(stack, "aws_api_gateway_method").values():
        route = method["http_method"] != "OPTIONS"
        assert method["api_key_required"] is (route and uses_key)
        assert method["authorization"] == ("AWS_IAM" if route and not uses_key else "NONE")
    for route in of_type(stack, "aws_apigatewayv2_route").values():
        assert route["authorization_type"] == "AWS_IAM"


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_api_permissions_are_scoped_to_this_stack_apis(
    synthesized_stacks: Stacks, env: str
) -> None:
    # Given the Lambda permissions that name the API function
    stack = synthesized_stacks[f"pipeline-{env}"]
    function = named(stack, "aws_lambda_function", "api_function_")[0]
    permissions = [
        p
        for p in of_type(stack, "aws_lambda_permission").values()
        if p["principal"] == "apigateway.amazonaws.com"
    ]
    rest = next(iter(of_type(stack, "aws_api_gateway_rest_api")))
    # Then each names one of this stack's APIs, its stage and a method, never */*
    assert permissions
    for permission in permissions:
        assert permission["function_name"] == f"${{aws_lambda_function.{function}.function_name}}"
        source = permission["source_arn"]
        assert source.startswith(
            (
                f"${{aws_api_gateway_rest_api.{rest}.execution_arn}}/{env}/",
                "${aws_apigatewayv2_api.",
            )
        )
        assert "*/*" not in source


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_outputs_name_the_apis_but_never_the_key_value(
    synthesized_stacks: Stacks, env: str
) -> None:
    # Given the stack outputs
    stack = synthesized_stacks[f"pipeline-{env}"]
    outputs = stack["output"]
    # Then the URL, key id (where keys are used) and function are there, and the HTTP URL
    # only where it is deployed
    assert outputs["rest_api_url"]["value"].endswith(".invoke_url}")
    assert ("rest_api_key_id" in outputs) is (ENVIRONMENTS[env].api.auth == "api_key")
    if "rest_api_key_id" in outputs:
        assert outputs["rest_api_key_id"]["value"].startswith("${aws_api_gateway_api_key.")
        assert outputs["rest_api_key_id"]["value"].endswith(".id}")
    assert outputs["api_function_name"]["value"].endswith(".function_name}")
    assert ("http_api_url" in outputs) is ENVIRONMENTS[env].api.deploys_http
    # And no output exposes an API key's value
    assert ".value}" not in json.dumps(outputs)

"""Deploy dev (REST and HTTP API) to moto with Terraform and drive both through the handler.

What is real: Terraform, the provider, our synthesized configuration and the API handler zip
Terraform deployed (run locally through tools.local_invoke, because moto neither serves
execute-api URLs nor runs Lambda code). What is emulated: API Gateway, Lambda's control plane,
DynamoDB, IAM and CloudWatch Logs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from config.environments import build_environments
from tools.api_smoke import drive_api, emulator_client
from tools.ci.terraform import StackWorkspace, synth_app
from tools.emulator import MotoServer

pytestmark = pytest.mark.integration

DEV = build_environments()["dev"]


@dataclass(frozen=True)
class DeployedDev:
    moto: MotoServer
    workspace: StackWorkspace
    outputs: dict[str, Any]
    api_zip: Path
    layer_zip: Path

    def client(self, service: str) -> Any:
        return emulator_client(service, self.moto.endpoint_url)


def _assets(stack_dir: Path) -> tuple[Path, Path]:
    """The API function's zip and the layer zip, exactly as Terraform deployed them."""
    resources = json.loads((stack_dir / "cdk.tf.json").read_text())["resource"]
    functions = resources["aws_lambda_function"].values()
    api = next(f for f in functions if f["handler"] == "api.handler.lambda_handler")
    layer = next(iter(resources["aws_lambda_layer_version"].values()))
    return stack_dir / api["filename"], stack_dir / layer["filename"]


@pytest.fixture(scope="module")
def dev(moto_server: MotoServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DeployedDev]:
    moto_server.reset()
    root = tmp_path_factory.mktemp("api-emulator")
    stacks = synth_app(
        root / "out",
        {
            **moto_server.client_env(),
            "PIPELINE_STATE_BACKEND": "local",
            "PIPELINE_ENVIRONMENTS": "dev",
        },
    )
    workspace = StackWorkspace(stacks / "pipeline-dev", moto_server.endpoint_url)
    workspace.init()
    try:
        workspace.apply()
        api_zip, layer_zip = _assets(workspace.stack_dir)
        yield DeployedDev(moto_server, workspace, workspace.outputs(), api_zip, layer_zip)
    finally:
        workspace.destroy()
        moto_server.reset()


def test_rest_api_is_deployed_with_auth_validation_logging_and_throttling(dev: DeployedDev) -> None:
    # Given dev deployed to the emulator
    gateway = dev.client("apigateway")
    api_id = dev.outputs["rest_api_id"]
    # Then the API is regional and has the records routes plus their preflights
    assert gateway.get_rest_api(restApiId=api_id)["endpointConfiguration"]["types"] == ["REGIONAL"]
    resources = {r["path"]: r for r in gateway.get_resources(restApiId=api_id)["items"]}
    assert set(resources) == {"/", "/records", "/records/{id}"}
    assert set(resources["/records"]["resourceMethods"]) == {"GET", "POST", "OPTIONS"}
    assert set(resources["/records/{id}"]["resourceMethods"]) == {"GET", "OPTIONS"}
    validators = {
        v["id"]: v["name"] for v in gateway.get_request_validators(restApiId=api_id)["items"]
    }
    for path, resource in resources.items():
        for verb in resource.get("resourceMethods") or {}:
            method = gateway.get_method(
                restApiId=api_id, resourceId=resource["id"], httpMethod=verb
            )
            # And every route but the preflight needs an API key, and every method is validated
            assert method["apiKeyRequired"] is (verb != "OPTIONS"), f"{verb} {path}"
            assert method["authorizationType"] == "NONE"
            # And the preflight never reaches the function: API Gateway answers it (MOCK)
            expected_integration = "MOCK" if verb == "OPTIONS" else "AWS_PROXY"
            assert method["methodIntegration"]["type"] == expected_integration
            expected = "body-and-parameters" if verb == "POST" else "parameters"
            assert validators[method["requestValidatorId"]] == expected
    # And the stage is traced, logs JSON and throttles every method
    stage = gateway.get_stage(restApiId=api_id, stageName="dev")
    assert stage["tracingEnabled"] is True
    assert stage["accessLogSettings"]["destinationArn"].endswith(
        ":log-group:/aws/apigateway/evpipe-dev-rest-api/dev/access"
    )
    assert "requestId" in json.loads(stage["accessLogSettings"]["format"])
    settings = stage["methodSettings"]["*/*"]
    assert (settings["throttlingRateLimit"], settings["throttlingBurstLimit"]) == (
        DEV.api.throttle.rate_limit,
        DEV.api.throttle.burst_limit,
    )
    assert (settings["metricsEnabled"], settings["loggingLevel"]) == (True, "ERROR")
    # And the output key is metered by the usage plan on this stage
    plan = next(
        p for p in gateway.get_usage_plans()["items"] if p["name"] == "evpipe-dev-rest-api-default"
    )
    assert plan["apiStages"] == [{"apiId": api_id, "stage": "dev"}]
    assert plan["quota"] == {"limit": DEV.api.quota.limit, "period": DEV.api.quota.period}
    keys = gateway.get_usage_plan_keys(usagePlanId=plan["id"])["items"]
    assert [key["id"] for key in keys] == [dev.outputs["rest_api_key_id"]]
    # And API Gateway may write logs through the account's role
    assert gateway.get_account()["cloudwatchRoleArn"].endswith(
        ":role/evpipe-dev-rest-api-apigw-logs"
    )
    logs = dev.client("logs").describe_log_groups(logGroupNamePrefix="/aws/apigateway/")
    retention = {g["logGroupName"]: g.get("retentionInDays") for g in logs["logGroups"]}
    assert retention["/aws/apigateway/evpipe-dev-rest-api/dev/access"] == DEV.log_retention_days


def test_http_api_is_deployed_with_cors_iam_and_throttling(dev: DeployedDev) -> None:
    # Given dev deployed to the emulator
    gateway = dev.client("apigatewayv2")
    api_id = dev.outputs["http_api_id"]
    # Then CORS allows exactly the configured origins
    api = gateway.get_api(ApiId=api_id)
    assert sorted(api["CorsConfiguration"]["AllowOrigins"]) == sorted(DEV.api.cors_allowed_origins)
    # And every records route needs SigV4 and targets the Lambda proxy integration
    routes = {r["RouteKey"]: r for r in gateway.get_routes(ApiId=api_id)["Items"]}
    assert set(routes) == {"GET /records", "POST /records", "GET /records/{id}"}
    assert {r["AuthorizationType"] for r in routes.values()} == {"AWS_IAM"}
    integration_id = routes["POST /records"]["Target"].removeprefix("integrations/")
    integration = gateway.get_integration(ApiId=api_id, IntegrationId=integration_id)
    assert (integration["IntegrationType"], integration["PayloadFormatVersion"]) == (
        "AWS_PROXY",
        "2.0",
    )
    # And the auto-deployed $default stage logs and throttles
    stage = gateway.get_stage(ApiId=api_id, StageName="$default")
    assert stage["AutoDeploy"] is True
    assert stage["AccessLogSettings"]["DestinationArn"].endswith(
        ":log-group:/aws/apigateway/evpipe-dev-http-api/access"
    )
    assert stage["DefaultRouteSettings"]["ThrottlingBurstLimit"] == DEV.api.throttle.burst_limit


def test_function_may_be_invoked_only_from_the_deployed_routes(dev: DeployedDev) -> None:
    # Given the API function's resource policy
    policy = json.loads(
        dev.client("lambda").get_policy(FunctionName=dev.outputs["api_function_name"])["Policy"]
    )
    sources = sorted(
        statement["Condition"]["ArnLike"]["AWS:SourceArn"] for statement in policy["Statement"]
    )
    rest, http = dev.outputs["rest_api_id"], dev.outputs["http_api_id"]
    # Then each statement names one API, its stage, one method and one path, never */*
    expected = [
        f"{rest}/dev/GET/records",
        f"{rest}/dev/POST/records",
        f"{rest}/dev/GET/records/*",
        f"{http}/$default/GET/records",
        f"{http}/$default/POST/records",
        f"{http}/$default/GET/records/*",
    ]
    assert sorted(source.split(":")[-1] for source in sources) == sorted(expected)
    assert all(source.startswith("arn:aws:execute-api:") for source in sources)


@pytest.mark.parametrize("variant", ["rest", "http"])
def test_post_then_get_run_through_the_packaged_handler(dev: DeployedDev, variant: str) -> None:
    # Given the deployed API and the zip Terraform deployed for its function
    # When a POST and then a GET of the new record are driven as API Gateway would send them
    responses = drive_api(
        dev.outputs,
        api_zip=dev.api_zip,
        layer_dir=dev.layer_zip,
        endpoint_url=dev.moto.endpoint_url,
        variant=variant,
    )
    # Then the POST created the record and the GET returned it
    created, fetched = responses[0], responses[1]
    assert (created["status"], fetched["status"]) == (201, 200)
    assert fetched["body"]["id"] == created["body"]["id"]
    assert fetched["body"]["source"] == "api"
    # And the response allows the first configured origin
    origin = DEV.api.cors_allowed_origins[0]
    assert created["headers"]["Access-Control-Allow-Origin"] == origin
    # And for REST, whose preflight API Gateway answers (MOCK), the deployed answer allows it
    if variant == "rest":
        assert responses[2]["status"] == 200
        assert responses[2]["headers"]["Access-Control-Allow-Origin"] == origin
    # And the record is in the emulated table
    items = dev.client("dynamodb").scan(TableName=dev.outputs["records_table_name"])["Items"]
    assert any(item.get("object_key", {}).get("S") == fetched["body"]["key"] for item in items)

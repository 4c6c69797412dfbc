from __future__ import annotations

import json
import re
from typing import Any

import pytest
from pipeline_common.api_contract import RECORDS_WRITE_SCHEMA

from constructs_lib.aws_limits import LOG_RETENTION_DAYS_ALLOWED
from constructs_lib.patterns.api_routes import ApiRoute
from constructs_lib.patterns.rest_api import ACCESS_LOG_FORMAT, RestApi, RestApiProps
from constructs_lib.pipeline.records_api import RECORDS_ROUTES as CONTRACT_ROUTES
from constructs_lib.specs import QuotaSettings, ThrottleSettings
from tests.unit.constructs_lib.conftest import (
    FunctionFactory,
    SynthFn,
    only,
    reference,
    skipped_checks,
)

RETENTION_VALUES = ", ".join(map(str, sorted(LOG_RETENTION_DAYS_ALLOWED)))
KEY_ARN = "arn:aws:kms:us-west-2:123456789012:key/abc"
# The /records routes: the construct's behaviour, not the seed routes (test_seed_routes.py).
RECORDS_ROUTES = tuple(route for route in CONTRACT_ROUTES if route.path.startswith("/records"))
THROTTLE = ThrottleSettings(rate_limit=25, burst_limit=50)
QUOTA = QuotaSettings(limit=5000, period="WEEK")


def props(function: Any = None, **overrides: Any) -> RestApiProps:
    settings: dict[str, Any] = {
        "name": "evpipe-dev-rest-api",
        "stage_name": "dev",
        "function": function,
        "routes": RECORDS_ROUTES,
        "write_body_schema": RECORDS_WRITE_SCHEMA,
        "auth": "api_key",
        "throttle": THROTTLE,
        "quota": QUOTA,
        "log_retention_days": 14,
        "kms_key_arn": KEY_ARN,
        "no_web_acl_reason": "test",
        "cors_allowed_origins": ("https://app.example.com",),
    }
    settings.update(overrides)
    return RestApiProps(**settings)


def build(make_function: FunctionFactory, **overrides: Any) -> Any:
    return lambda stack: RestApi(
        stack, "rest-api", props=props(make_function(stack, "api"), **overrides)
    )


def of_type(out: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    resources: dict[str, dict[str, Any]] = out["resource"].get(resource_type, {})
    return resources


def named(out: dict[str, Any], resource_type: str, part: str) -> dict[str, Any]:
    matches = [body for name, body in of_type(out, resource_type).items() if part in name]
    assert len(matches) == 1, f"{resource_type} named like {part}: {len(matches)}"
    return matches[0]


def ref(out: dict[str, Any], resource_type: str, part: str, attribute: str = "id") -> str:
    names = [name for name in of_type(out, resource_type) if part in name]
    assert len(names) == 1, f"{resource_type} named like {part}: {names}"
    return f"${{{resource_type}.{names[0]}.{attribute}}}"


def policy_document(out: dict[str, Any], part: str) -> dict[str, Any]:
    documents = out["data"]["aws_iam_policy_document"]
    matches = [body for name, body in documents.items() if part in name]
    assert len(matches) == 1, f"policy document named like {part}: {len(matches)}"
    body: dict[str, Any] = matches[0]
    return body


def methods(out: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """(method, resource reference) -> method body."""
    return {
        (body["http_method"], body["resource_id"]): body
        for body in of_type(out, "aws_api_gateway_method").values()
    }


def test_routes_are_regional_lambda_proxy_integrations(
    synth: SynthFn, make_function: FunctionFactory
) -> None:
    # Given the records API
    out = synth(build(make_function))
    # Then it is a regional API, kept serving while replaced
    api = only(out, "aws_api_gateway_rest_api")
    assert api["endpoint_configuration"] == {"types": ["REGIONAL"]}
    assert api["lifecycle"] == {"create_before_destroy": True}
    # And /records and /records/{id} hang off the root
    records = named(out, "aws_api_gateway_resource", "resource-records_")
    item = named(out, "aws_api_gateway_resource", "resource-records-by-id")
    assert records["parent_id"] == ref(
        out, "aws_api_gateway_rest_api", "rest-api", "root_resource_id"
    )
    assert (records["path_part"], item["path_part"]) == ("records", "{id}")
    assert item["parent_id"] == ref(out, "aws_api_gateway_resource", "resource-records_")
    # And GET+POST /records, GET /records/{id} and OPTIONS on both exist
    records_id = ref(out, "aws_api_gateway_resource", "resource-records_")
    item_id = ref(out, "aws_api_gateway_resource", "resource-records-by-id")
    assert set(methods(out)) == {
        ("GET", records_id),
        ("POST", records_id),
        ("OPTIONS", records_id),
        ("GET", item_id),
        ("OPTIONS", item_id),
    }
    # And every route is a Lambda proxy integration of the API function, invoked with POST
    integrations = of_type(out, "aws_api_gateway_integration").values()
    assert len(integrations) == 5
    proxies = [i for i in integrations if i["type"] != "MOCK"]
    assert len(proxies) == 3
    for integration in proxies:
        assert integration["type"] == "AWS_PROXY"
        assert integration["integration_http_method"] == "POST"
        assert integration["uri"] == reference(out, "aws_lambda_alias", "invoke_arn", "api")
        assert integration["timeout_milliseconds"] == 29_000


def test_api_key_mode_requires_a_key_and_meters_it_through_a_usage_plan(
    synth: SynthFn, make_function: FunctionFactory
) -> None:
    # Given API key auth
    out = synth(build(make_function, auth="api_key"))
    # Then every route but the preflight needs a key
    for (method, _), body in methods(out).items():
        assert body["authorization"] == "NONE"
        assert body["api_key_required"] is (method != "OPTIONS")
    # And a key is bound to a usage plan on this stage with the throttle and quota
    plan = only(out, "aws_api_gateway_usage_plan")
    assert plan["api_stages"] == [
        {
            "api_id": ref(out, "aws_api_gateway_rest_api", "rest-api"),
            "stage": ref(out, "aws_api_gateway_stage", "stage", "stage_name"),
        }
    ]
    assert plan["throttle_settings"] == {"rate_limit": 25, "burst_limit": 50}
    assert plan["quota_settings"] == {"limit": 5000, "period": "WEEK"}
    key = only(out, "aws_api_gateway_api_key")
    assert key["enabled"] is True
    assert "value" not in key
    binding = only(out, "aws_api_gateway_usage_plan_key")
    assert binding["key_id"] == ref(out, "aws_api_gateway_api_key", "api-key")
    assert binding["usage_plan_id"] == ref(out, "aws_api_gateway_usage_plan", "usage-plan")
    assert binding["key_type"] == "API_KEY"


def test_iam_mode_signs_every_route_and_creates_no_keys(
    synth: SynthFn, make_function: FunctionFactory
) -> None:
    # Given IAM auth
    out = synth(build(make_function, auth="iam", quota=None))
    # Then every route but the preflight needs SigV4, and none needs a key
    for (method, _), body in methods(out).items():
        assert body["authorization"] == ("NONE" if method == "OPTIONS" else "AWS_IAM")
        assert body["api_key_required"] is False
    # And there is no key or usage plan
    assert not of_type(out, "aws_api_gateway_api_key")
    assert not of_type(out, "aws_api_gateway_usage_plan")


def test_open_read_access_opens_only_get_routes_and_records_why(
    synth_with_comments: SynthFn, make_function: FunctionFactory
) -> None:
    # Given an environment that explicitly opens reads
    out = synth_with_comments(build(make_function, open_read_access=True))
    # Then GET routes need nothing, and say why checkov's open-access finding is accepted
    for (method, _), body in methods(out).items():
        if method == "GET":
            assert (body["authorization"], body["api_key_required"]) == ("NONE", False)
            assert "open_read_access" in skipped_checks(body)["CKV_AWS_59"]
        elif method == "POST":
            assert body["api_key_required"] is True
            assert "CKV_AWS_59" not in skipped_checks(body)


def test_requests_are_validated_before_the_function_runs(
    synth: SynthFn, make_function: FunctionFactory
) -> None:
    # Given the records API
    out = synth(build(make_function))
    # Then reads validate parameters, writes validate body and parameters against the model
    parameters = named(out, "aws_api_gateway_request_validator", "validate-parameters")
    body_validator = named(out, "aws_api_gateway_request_validator", "validate-body")
    assert (parameters["validate_request_parameters"], parameters["validate_request_body"]) == (
        True,
        False,
    )
    assert (
        body_validator["validate_request_parameters"],
        body_validator["validate_request_body"],
    ) == (
        True,
        True,
    )
    records_id = ref(out, "aws_api_gateway_resource", "resource-records_")
    item_id = ref(out, "aws_api_gateway_resource", "resource-records-by-id")
    by_key = methods(out)
    post = by_key[("POST", records_id)]
    assert post["request_validator_id"] == ref(
        out, "aws_api_gateway_request_validator", "validate-body"
    )
    assert post["request_models"] == {
        "application/json": ref(out, "aws_api_gateway_model", "write-model", "name")
    }
    get_item = by_key[("GET", item_id)]
    assert get_item["request_validator_id"] == ref(
        out, "aws_api_gateway_request_validator", "validate-parameters"
    )
    assert get_item["request_parameters"] == {"method.request.path.id": True}
    # And the model requires the fields a record cannot exist without
    schema = json.loads(only(out, "aws_api_gateway_model")["schema"])
    assert schema["type"] == "object"
    assert schema["required"] == ["bucket", "key", "size"]


def test_stage_writes_json_access_logs_traces_and_throttles(
    synth: SynthFn, make_function: FunctionFactory
) -> None:
    # Given the records API
    out = synth(build(make_function))
    stage = only(out, "aws_api_gateway_stage")
    # Then the stage is per environment, traced, and logs JSON to its own encrypted log group
    assert stage["stage_name"] == "dev"
    assert stage["xray_tracing_enabled"] is True
    assert stage["deployment_id"] == ref(out, "aws_api_gateway_deployment", "deployment")
    access = named(out, "aws_cloudwatch_log_group", "access-logs")
    assert stage["access_log_settings"]["destination_arn"] == ref(
        out, "aws_cloudwatch_log_group", "access-logs", "arn"
    )
    assert access["name"] == "/aws/apigateway/evpipe-dev-rest-api/dev/access"
    assert (access["retention_in_days"], access["kms_key_id"]) == (14, KEY_ARN)
    fields = json.loads(stage["access_log_settings"]["format"])
    for field in ("requestId", "ip", "caller", "user", "requestTime", "httpMethod",
                  "resourcePath", "status", "protocol", "responseLength"):  # fmt: skip
        assert fields[field].startswith("$context.")
    assert stage["access_log_settings"]["format"] == ACCESS_LOG_FORMAT
    # And the execution log group API Gateway would create unbounded is owned with retention
    execution = named(out, "aws_cloudwatch_log_group", "execution-logs")
    api_id = ref(out, "aws_api_gateway_rest_api", "rest-api")
    assert execution["name"] == f"API-Gateway-Execution-Logs_{api_id}/dev"
    assert (execution["retention_in_days"], execution["kms_key_id"]) == (14, KEY_ARN)
    # And every method has metrics, error logging and the stage throttle, without data traces
    settings = only(out, "aws_api_gateway_method_settings")
    assert settings["method_path"] == "*/*"
    assert settings["stage_name"] == ref(out, "aws_api_gateway_stage", "stage", "stage_name")
    assert settings["settings"] == {
        "metrics_enabled": True,
        "logging_level": "ERROR",
        "data_trace_enabled": False,
        "throttling_rate_limit": 25,
        "throttling_burst_limit": 50,
        "cache_data_encrypted": True,
    }


def test_deployment_is_replaced_before_destroy_when_routes_change(
    synth: SynthFn, make_function: FunctionFactory
) -> None:
    # Given the records API
    out = synth(build(make_function))
    deployment = only(out, "aws_api_gateway_deployment")
    trigger = deployment["triggers"]["redeployment"]
    # Then it is created before the old one is destroyed
    assert deployment["lifecycle"] == {"create_before_destroy": True}
    # And the trigger hashes every method, integration (with its URI) and resource
    assert trigger.startswith("${sha1(jsonencode([")
    assert trigger.endswith("]))}")
    for resource_type in ("aws_api_gateway_method", "aws_api_gateway_integration",
                          "aws_api_gateway_resource"):  # fmt: skip
        for name in of_type(out, resource_type):
            assert f"{resource_type}.{name}.id" in trigger
    for name, body in of_type(out, "aws_api_gateway_integration").items():
        if body["type"] == "AWS_PROXY":
            assert f"aws_api_gateway_integration.{name}.uri" in trigger
    # And, for the preflights, what API Gateway answers
    for name in of_type(out, "aws_api_gateway_integration_response"):
        assert f"aws_api_gateway_integration_response.{name}.id" in trigger


def test_in_place_method_changes_change_the_redeployment_trigger(
    synth: SynthFn, make_function: FunctionFactory
) -> None:
    # Given the same API with API key auth and with IAM auth (methods update in place)
    with_keys = only(synth(build(make_function)), "aws_api_gateway_deployment")
    with_iam = only(
        synth(build(make_function, auth="iam", quota=None)), "aws_api_gateway_deployment"
    )
    same = only(synth(build(make_function)), "aws_api_gateway_deployment")
    # Then the trigger differs, so the stage gets a new deployment; identical input is stable
    assert with_keys["triggers"] != with_iam["triggers"]
    assert with_keys["triggers"] == same["triggers"]


def test_lambda_permissions_name_this_api_stage_method_and_path(
    synth: SynthFn, make_function: FunctionFactory
) -> None:
    # Given the records API
    out = synth(build(make_function))
    execution_arn = ref(out, "aws_api_gateway_rest_api", "rest-api", "execution_arn")
    # Then each route may invoke the function only from its own ARN; preflights never do
    permissions = of_type(out, "aws_lambda_permission").values()
    assert sorted(p["source_arn"] for p in permissions) == sorted(
        f"{execution_arn}/dev/{route}" for route in ("GET/records", "POST/records", "GET/records/*")
    )
    for permission in permissions:
        assert permission["principal"] == "apigateway.amazonaws.com"
        assert permission["function_name"] == reference(
            out, "aws_lambda_function", "function_name", "api"
        )
        assert permission["qualifier"] == reference(out, "aws_lambda_alias", "name", "api")
        assert "*/*" not in permission["source_arn"]
    assert len({p["statement_id"] for p in permissions}) == 3


def test_the_api_creates_nothing_account_wide(
    synth: SynthFn, make_function: FunctionFactory
) -> None:
    # Given an API (the account's CloudWatch role is the bootstrap stack's)
    shared = synth(build(make_function))
    # Then nothing account-wide is created, and the stage waits on nothing for it
    assert not of_type(shared, "aws_api_gateway_account")
    assert not [name for name in of_type(shared, "aws_iam_role") if name.startswith("rest-api")]
    assert "depends_on" not in only(shared, "aws_api_gateway_stage")


def test_web_acl_is_attached_when_given(synth: SynthFn, make_function: FunctionFactory) -> None:
    # Given a shared web ACL
    acl = "arn:aws:wafv2:us-west-2:123456789012:regional/webacl/shared/abc"
    out = synth(build(make_function, web_acl_arn=acl, no_web_acl_reason=None))
    # Then the stage is associated with it
    association = only(out, "aws_wafv2_web_acl_association")
    assert association == {
        "resource_arn": ref(out, "aws_api_gateway_stage", "stage", "arn"),
        "web_acl_arn": acl,
    }


def test_inapplicable_checks_are_suppressed_with_reasons(
    synth_with_comments: SynthFn, make_function: FunctionFactory
) -> None:
    # Given an API without a web ACL and with two weeks of logs
    out = synth_with_comments(
        build(make_function, no_web_acl_reason="No shared ACL in this account.")
    )
    # Then the stage and method settings carry each suppression with its reason
    stage_skips = skipped_checks(only(out, "aws_api_gateway_stage"))
    assert stage_skips["CKV2_AWS_29"] == "No shared ACL in this account."
    assert "Lambda proxy integration" in stage_skips["CKV2_AWS_51"]
    assert "stale" in stage_skips["CKV_AWS_120"]
    assert "stale" in skipped_checks(only(out, "aws_api_gateway_method_settings"))["CKV_AWS_225"]
    for group in of_type(out, "aws_cloudwatch_log_group").values():
        assert "log_retention_days" in skipped_checks(group)["CKV_AWS_338"]
    # And methods that need auth carry no open-access suppression
    assert not any("CKV_AWS_59" in skipped_checks(m) for m in methods(out).values())


def test_a_year_of_logs_needs_no_retention_suppression(
    synth_with_comments: SynthFn, make_function: FunctionFactory
) -> None:
    out = synth_with_comments(build(make_function, log_retention_days=365))
    for name, group in of_type(out, "aws_cloudwatch_log_group").items():
        if name.startswith("rest-api"):
            assert "CKV_AWS_338" not in skipped_checks(group)


def test_custom_routes_build_one_resource_per_path_segment(
    synth: SynthFn, make_function: FunctionFactory
) -> None:
    # Given a nested route
    routes = (ApiRoute(method="DELETE", path="/tenants/{tenant}/records"),)
    out = synth(build(make_function, routes=routes))
    # Then each segment is a resource and the permission names the method and wildcard path
    assert sorted(r["path_part"] for r in of_type(out, "aws_api_gateway_resource").values()) == [
        "records",
        "tenants",
        "{tenant}",
    ]
    arns = [p["source_arn"] for p in of_type(out, "aws_lambda_permission").values()]
    assert any(arn.endswith("/dev/DELETE/tenants/*/records") for arn in arns)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"name": ""}, "name must be 1-1024 characters, got ''"),
        (
            {"stage_name": "dev stage"},
            "stage_name must be letters, digits, - or _, got 'dev stage'",
        ),
        ({"routes": ()}, "routes must name at least one route"),
        ({"auth": "cognito"}, "auth must be 'api_key' or 'iam', got 'cognito'"),
        (
            {"throttle": ThrottleSettings(rate_limit=0, burst_limit=10)},
            "throttle.rate_limit must be a number of requests per second greater than 0, got 0",
        ),
        (
            {"throttle": ThrottleSettings(rate_limit=10, burst_limit=-3)},
            "throttle.burst_limit must be an integer of at least 1, got -3",
        ),
        ({"quota": None}, "quota is required when auth is 'api_key'"),
        (
            {"quota": QuotaSettings(limit=0)},
            "quota.limit must be an integer of at least 1, got 0",
        ),
        (
            {"auth": "iam"},
            "quota applies only when auth is 'api_key'; leave it unset",
        ),
        (
            {"log_retention_days": 10},
            "log_retention_days 10 is not a CloudWatch Logs retention value ("
            + RETENTION_VALUES
            + ")",
        ),
        ({"logging_level": "DEBUG"}, "logging_level must be 'ERROR' or 'INFO', got 'DEBUG'"),
        ({"no_web_acl_reason": None}, "set exactly one of web_acl_arn and no_web_acl_reason"),
        (
            {"web_acl_arn": "arn:aws:wafv2:us-west-2:1:regional/webacl/x/y"},
            "set exactly one of web_acl_arn and no_web_acl_reason",
        ),
    ],
)
def test_bad_props_fail_at_synth_naming_the_field(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        props(**overrides)


def test_bad_route_fails_with_its_method_and_path() -> None:
    with pytest.raises(ValueError, match=r"^route GET /records/: path must start with /"):
        props(routes=(ApiRoute(method="GET", path="/records/"),))


def test_preflights_are_mock_integrations_that_answer_cors_without_lambda(
    synth: SynthFn, make_function: FunctionFactory
) -> None:
    # Given an API serving two browser origins
    origins = ("https://app.example.com", "https://admin.example.com")
    out = synth(build(make_function, cors_allowed_origins=origins))
    # Then each OPTIONS method is a MOCK integration answering 200 with the CORS headers
    mocks = [i for i in of_type(out, "aws_api_gateway_integration").values() if i["type"] == "MOCK"]
    assert len(mocks) == 2
    assert all("uri" not in mock for mock in mocks)
    answers = dict(of_type(out, "aws_api_gateway_integration_response"))
    assert len(answers) == 2
    records = next(body for name, body in answers.items() if "options-records_" in name)
    headers = records["response_parameters"]
    assert headers["method.response.header.Access-Control-Allow-Methods"] == "'GET,OPTIONS,POST'"
    assert headers["method.response.header.Access-Control-Allow-Origin"] == (
        "'https://app.example.com'"
    )
    assert headers["method.response.header.Access-Control-Max-Age"] == "'600'"
    # And the second origin is echoed by the template, which allows exactly the listed ones
    template = records["response_templates"]["application/json"]
    assert '$origin == "https://admin.example.com"' in template
    assert "responseOverride.header.Access-Control-Allow-Origin" in template
    # And the method declares each header it answers
    declared = {
        header
        for response in of_type(out, "aws_api_gateway_method_response").values()
        for header in response["response_parameters"]
    }
    assert set(headers) == declared

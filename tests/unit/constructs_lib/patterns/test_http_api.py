from __future__ import annotations

import json
import re
from typing import Any

import pytest

from constructs_lib.aws_limits import LOG_RETENTION_DAYS_ALLOWED
from constructs_lib.patterns.api_routes import ApiRoute
from constructs_lib.patterns.http_api import ACCESS_LOG_FORMAT, HttpApi, HttpApiProps
from constructs_lib.pipeline.records_api import RECORDS_ROUTES as CONTRACT_ROUTES
from constructs_lib.specs import ThrottleSettings
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
ISSUER = "https://cognito-idp.us-west-2.amazonaws.com/us-west-2_example"
ORIGINS = ("https://app.example.com", "http://localhost:3000")


def props(function: Any = None, **overrides: Any) -> HttpApiProps:
    settings: dict[str, Any] = {
        "name": "evpipe-dev-http-api",
        "function": function,
        "routes": RECORDS_ROUTES,
        "cors_allowed_origins": ORIGINS,
        "throttle": ThrottleSettings(rate_limit=25, burst_limit=50),
        "log_retention_days": 14,
        "kms_key_arn": KEY_ARN,
    }
    settings.update(overrides)
    return HttpApiProps(**settings)


def build(make_function: FunctionFactory, **overrides: Any) -> Any:
    return lambda stack: HttpApi(
        stack, "http-api", props=props(make_function(stack, "api"), **overrides)
    )


def of_type(out: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    resources: dict[str, dict[str, Any]] = out["resource"].get(resource_type, {})
    return resources


def ref(out: dict[str, Any], resource_type: str, attribute: str = "id") -> str:
    names = list(of_type(out, resource_type))
    assert len(names) == 1, f"expected one {resource_type}: {names}"
    return f"${{{resource_type}.{names[0]}.{attribute}}}"


def routes(out: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {body["route_key"]: body for body in of_type(out, "aws_apigatewayv2_route").values()}


def test_routes_share_one_payload_v2_proxy_integration(
    synth: SynthFn, make_function: FunctionFactory
) -> None:
    # Given the records HTTP API
    out = synth(build(make_function))
    # Then the three records routes target one Lambda proxy integration with payload 2.0
    integration = only(out, "aws_apigatewayv2_integration")
    assert integration["integration_type"] == "AWS_PROXY"
    assert integration["integration_uri"] == reference(out, "aws_lambda_alias", "invoke_arn", "api")
    assert integration["payload_format_version"] == "2.0"
    assert set(routes(out)) == {"GET /records", "POST /records", "GET /records/{id}"}
    target = f"integrations/{ref(out, 'aws_apigatewayv2_integration')}"
    assert all(route["target"] == target for route in routes(out).values())


def test_cors_answers_preflights_for_the_configured_origins_only(
    synth: SynthFn, make_function: FunctionFactory
) -> None:
    # Given two configured origins
    api = only(synth(build(make_function)), "aws_apigatewayv2_api")
    # Then API Gateway answers preflights for exactly those origins and the routed methods
    assert api["protocol_type"] == "HTTP"
    cors = api["cors_configuration"]
    assert cors["allow_origins"] == list(ORIGINS)
    assert cors["allow_methods"] == ["GET", "OPTIONS", "POST"]
    assert "content-type" in cors["allow_headers"]
    assert "authorization" in cors["allow_headers"]
    assert cors["max_age"] == 300


def test_routes_need_sigv4_without_an_issuer(
    synth: SynthFn, make_function: FunctionFactory
) -> None:
    # Given no JWT issuer
    out = synth(build(make_function))
    # Then every route needs IAM and there is no authorizer
    assert {route["authorization_type"] for route in routes(out).values()} == {"AWS_IAM"}
    assert not of_type(out, "aws_apigatewayv2_authorizer")


def test_routes_need_a_jwt_from_the_configured_issuer(
    synth: SynthFn, make_function: FunctionFactory
) -> None:
    # Given an issuer and audience
    out = synth(build(make_function, jwt_issuer=ISSUER, jwt_audience=("records-api",)))
    # Then a JWT authorizer reads the bearer token and every route uses it
    authorizer = only(out, "aws_apigatewayv2_authorizer")
    assert authorizer["authorizer_type"] == "JWT"
    assert authorizer["identity_sources"] == ["$request.header.Authorization"]
    assert authorizer["jwt_configuration"] == {"issuer": ISSUER, "audience": ["records-api"]}
    for route in routes(out).values():
        assert route["authorization_type"] == "JWT"
        assert route["authorizer_id"] == ref(out, "aws_apigatewayv2_authorizer")


def test_open_read_access_opens_only_get_routes_and_records_why(
    synth_with_comments: SynthFn, make_function: FunctionFactory
) -> None:
    # Given reads opened explicitly, with JWT for the rest
    out = synth_with_comments(
        build(make_function, open_read_access=True, jwt_issuer=ISSUER, jwt_audience=("a",))
    )
    by_key = routes(out)
    # Then GET routes are public with the reason recorded, and POST still needs a JWT
    for key in ("GET /records", "GET /records/{id}"):
        assert by_key[key]["authorization_type"] == "NONE"
        assert "authorizer_id" not in by_key[key]
        assert "open_read_access" in skipped_checks(by_key[key])["CKV_AWS_309"]
    assert by_key["POST /records"]["authorization_type"] == "JWT"
    assert "CKV_AWS_309" not in skipped_checks(by_key["POST /records"])


def test_default_stage_auto_deploys_logs_json_and_throttles(
    synth_with_comments: SynthFn, make_function: FunctionFactory
) -> None:
    # Given the records HTTP API
    out = synth_with_comments(build(make_function))
    stage = only(out, "aws_apigatewayv2_stage")
    # Then the $default stage deploys itself and throttles every route
    assert (stage["name"], stage["auto_deploy"]) == ("$default", True)
    assert stage["default_route_settings"] == {
        "detailed_metrics_enabled": True,
        "throttling_rate_limit": 25,
        "throttling_burst_limit": 50,
    }
    # And it logs JSON to its own encrypted log group with the environment's retention
    group = only(out, "aws_cloudwatch_log_group", "http-api")
    assert stage["access_log_settings"]["destination_arn"] == reference(
        out, "aws_cloudwatch_log_group", "arn", "http-api"
    )
    assert stage["access_log_settings"]["format"] == ACCESS_LOG_FORMAT
    fields = json.loads(ACCESS_LOG_FORMAT)
    for field in ("requestId", "ip", "requestTime", "httpMethod", "routeKey", "status",
                  "protocol", "responseLength"):  # fmt: skip
        assert fields[field].startswith("$context.")
    assert group["name"] == "/aws/apigateway/evpipe-dev-http-api/access"
    assert (group["retention_in_days"], group["kms_key_id"]) == (14, KEY_ARN)
    assert "log_retention_days" in skipped_checks(group)["CKV_AWS_338"]


def test_lambda_permissions_name_this_api_stage_method_and_path(
    synth: SynthFn, make_function: FunctionFactory
) -> None:
    # Given the records HTTP API
    out = synth(build(make_function))
    execution_arn = ref(out, "aws_apigatewayv2_api", "execution_arn")
    # Then each route may invoke the function only from its own $default-stage ARN
    permissions = of_type(out, "aws_lambda_permission").values()
    assert sorted(p["source_arn"] for p in permissions) == sorted(
        f"{execution_arn}/$default/{route}"
        for route in ("GET/records", "POST/records", "GET/records/*")
    )
    for permission in permissions:
        assert permission["principal"] == "apigateway.amazonaws.com"
        assert "*/*" not in permission["source_arn"]
        # and only through the `live` alias the integration invokes
        assert permission["qualifier"] == reference(out, "aws_lambda_alias", "name", "api")
    assert len({p["statement_id"] for p in permissions}) == 3


def test_custom_routes_add_their_methods_to_cors(
    synth: SynthFn, make_function: FunctionFactory
) -> None:
    # Given a DELETE route
    out = synth(build(make_function, routes=(ApiRoute(method="DELETE", path="/records/{id}"),)))
    # Then CORS allows DELETE and the route key is API Gateway's "METHOD /path"
    assert only(out, "aws_apigatewayv2_api")["cors_configuration"]["allow_methods"] == [
        "DELETE",
        "OPTIONS",
    ]
    assert set(routes(out)) == {"DELETE /records/{id}"}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"name": ""}, "name must be 1-128 characters, got ''"),
        (
            {"routes": (ApiRoute(method="GET", path="/a"), ApiRoute(method="GET", path="/a"))},
            "routes lists GET /a twice",
        ),
        (
            {"cors_allowed_origins": ()},
            "cors_allowed_origins must list at least one origin like https://app.example.com",
        ),
        (
            {"cors_allowed_origins": ("https://app.example.com/path",)},
            "cors_allowed_origins has invalid origin(s) 'https://app.example.com/path'; an "
            "origin is http(s)://host[:port] in lowercase, with no path or trailing slash",
        ),
        (
            {"cors_allowed_origins": "https://app.example.com"},
            "cors_allowed_origins must list at least one origin like https://app.example.com",
        ),
        (
            {"throttle": ThrottleSettings(rate_limit=-1, burst_limit=10)},
            "throttle.rate_limit must be a number of requests per second greater than 0, got -1",
        ),
        (
            {"throttle": ThrottleSettings(rate_limit=1, burst_limit=0)},
            "throttle.burst_limit must be an integer of at least 1, got 0",
        ),
        (
            {"log_retention_days": 0},
            "log_retention_days 0 is not a CloudWatch Logs retention value ("
            + RETENTION_VALUES
            + ")",
        ),
        ({"jwt_audience": ("a",)}, "jwt_audience needs jwt_issuer"),
        (
            {"jwt_issuer": "issuer.example.com", "jwt_audience": ("a",)},
            "jwt_issuer must be an https:// URL, got 'issuer.example.com'",
        ),
        ({"jwt_issuer": ISSUER}, "jwt_audience must list at least one audience"),
        (
            {"cors_max_age_seconds": 90_000},
            "cors_max_age_seconds must be from 0 to 86400, got 90000",
        ),
    ],
)
def test_bad_props_fail_at_synth_naming_the_field(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        props(**overrides)

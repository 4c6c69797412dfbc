from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import pytest

from config.api import (
    RECORDS_ROUTES,
    ApiRoute,
    ApiSettings,
    QuotaSettings,
    ThrottleSettings,
    check_origins,
    check_routes,
)
from config.environments import FunctionSettings, build_environments


def settings(**overrides: Any) -> ApiSettings:
    return replace(ApiSettings(), **overrides)


def validate(api: ApiSettings, environment: str = "dev") -> None:
    api.validate("api", environment=environment)


def raises(message: str) -> Any:
    return pytest.raises(ValueError, match=f"^{re.escape(message)}$")


def test_defaults_are_closed_to_anonymous_callers_and_valid_everywhere() -> None:
    # Given the default settings
    api = ApiSettings()
    # Then callers need an API key, reads are not public and one REST API is deployed
    assert (api.auth, api.open_read_access, api.variants) == ("api_key", False, "rest")
    assert (api.deploys_rest, api.deploys_http) == (True, False)
    assert api.http_authorization == "AWS_IAM"
    # And they pass validation in every environment
    for environment in ("dev", "staging", "prod"):
        validate(api, environment)


def test_shipped_profiles_deploy_both_variants_in_dev_and_rest_elsewhere() -> None:
    # Given the shipped environments
    envs = build_environments()
    # Then dev runs both front doors and the others run the REST API with API keys
    assert [envs[name].api.variants for name in envs] == ["both", "rest", "rest"]
    assert all(envs[name].api.auth == "api_key" for name in envs)
    assert not any(envs[name].api.open_read_access for name in envs)
    # And throttling and quotas grow towards prod, and no deployed environment allows '*'
    rates = [envs[name].api.throttle.rate_limit for name in envs]
    quotas = [envs[name].api.quota.limit for name in envs]
    assert rates == sorted(rates)
    assert quotas == sorted(quotas)
    assert all("*" not in envs[name].api.cors_allowed_origins for name in ("staging", "prod"))


def test_jwt_issuer_switches_the_http_api_to_jwt() -> None:
    # Given an HTTP API with an issuer and audience
    api = settings(
        variants="http", jwt_issuer="https://issuer.example.com", jwt_audience=("records",)
    )
    # Then it validates and routes use the JWT authorizer
    validate(api)
    assert api.http_authorization == "JWT"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"variants": "grpc"}, "api.variants must be one of 'rest', 'http', 'both', got 'grpc'"),
        ({"auth": "none"}, "api.auth must be one of 'api_key', 'iam', got 'none'"),
        ({"open_read_access": "yes"}, "api.open_read_access must be True or False, got 'yes'"),
        (
            {"max_page_size": 0},
            "api.max_page_size must be an integer from 1 to 1000, got 0",
        ),
        (
            {"function": FunctionSettings(memory_mb=256, timeout_seconds=30)},
            "api.function.timeout_seconds must be at most 29 (API Gateway's integration "
            "timeout), got 30",
        ),
        (
            {"function": FunctionSettings(memory_mb=64, timeout_seconds=10)},
            "api.function.memory_mb must be an integer from 128 to 10240, got 64",
        ),
    ],
)
def test_bad_settings_name_the_field(overrides: dict[str, Any], message: str) -> None:
    # Given settings with one bad value
    api = settings(**overrides)
    # When validated, Then the error names the field and the value
    with raises(message):
        validate(api)


@pytest.mark.parametrize(
    ("throttle", "message"),
    [
        (
            ThrottleSettings(rate_limit=0, burst_limit=20),
            "api.throttle.rate_limit must be a number of requests per second greater than 0, got 0",
        ),
        (
            ThrottleSettings(rate_limit=-5.5, burst_limit=20),
            "api.throttle.rate_limit must be a number of requests per second greater than 0, "
            "got -5.5",
        ),
        (
            ThrottleSettings(rate_limit=float("inf"), burst_limit=20),
            "api.throttle.rate_limit must be a number of requests per second greater than 0, "
            "got inf",
        ),
        (
            ThrottleSettings(rate_limit=10, burst_limit=0),
            "api.throttle.burst_limit must be a whole number greater than 0, got 0",
        ),
        (
            ThrottleSettings(rate_limit=10, burst_limit=-1),
            "api.throttle.burst_limit must be a whole number greater than 0, got -1",
        ),
    ],
)
def test_zero_or_negative_throttles_fail(throttle: ThrottleSettings, message: str) -> None:
    # Given a throttle that would block every request or make no sense
    api = settings(throttle=throttle)
    # When validated, Then synth stops with the field named
    with raises(message):
        validate(api)


@pytest.mark.parametrize(
    ("quota", "message"),
    [
        (QuotaSettings(limit=0), "api.quota.limit must be a whole number greater than 0, got 0"),
        (
            QuotaSettings(limit=100, period="YEAR"),  # type: ignore[arg-type]
            "api.quota.period must be one of 'DAY', 'WEEK', 'MONTH', got 'YEAR'",
        ),
    ],
)
def test_bad_quota_fails(quota: QuotaSettings, message: str) -> None:
    with raises(message):
        validate(settings(quota=quota))


@pytest.mark.parametrize(
    ("origins", "message"),
    [
        ((), "api.cors_allowed_origins must list at least one origin like https://app.example.com"),
        (
            ("https://app.example.com/",),
            "api.cors_allowed_origins has invalid origin(s) 'https://app.example.com/'; an "
            "origin is http(s)://host[:port] in lowercase, with no path or trailing slash",
        ),
        (
            ("app.example.com", "ftp://files.example.com"),
            "api.cors_allowed_origins has invalid origin(s) 'app.example.com', "
            "'ftp://files.example.com'; an origin is http(s)://host[:port] in lowercase, "
            "with no path or trailing slash",
        ),
        (
            ("https://a.example.com", "https://a.example.com"),
            "api.cors_allowed_origins lists https://a.example.com more than once",
        ),
        (
            ("*", "https://a.example.com"),
            "api.cors_allowed_origins: '*' already allows every origin; list it alone",
        ),
    ],
)
def test_bad_origin_lists_fail(origins: tuple[str, ...], message: str) -> None:
    with raises(message):
        validate(settings(cors_allowed_origins=origins))


def test_wildcard_origin_is_allowed_only_in_dev() -> None:
    # Given an API open to every browser origin
    api = settings(cors_allowed_origins=("*",))
    # Then dev accepts it
    validate(api, "dev")
    # But prod refuses it, naming the field and the environment
    with raises(
        "api.cors_allowed_origins may be '*' only in dev, not in prod; "
        "list the sites that call the API"
    ):
        validate(api, "prod")


def test_environment_config_validates_its_api_settings() -> None:
    # Given the prod profile with a wildcard origin
    prod = build_environments()["prod"]
    # When it is rebuilt, Then EnvironmentConfig rejects it at construction
    with pytest.raises(ValueError, match=r"may be '\*' only in dev, not in prod"):
        replace(prod, api=replace(prod.api, cors_allowed_origins=("*",)))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"jwt_audience": ("records",)}, "api.jwt_audience needs api.jwt_issuer"),
        (
            {"variants": "http", "jwt_issuer": "http://issuer.example.com", "jwt_audience": ("a",)},
            "api.jwt_issuer must be an https:// URL, got 'http://issuer.example.com'",
        ),
        (
            {"variants": "http", "jwt_issuer": "https://issuer.example.com"},
            "api.jwt_audience must list at least one audience",
        ),
        (
            {"jwt_issuer": "https://issuer.example.com", "jwt_audience": ("a",)},
            "api.jwt_issuer applies only to the HTTP API, but variants is 'rest'",
        ),
    ],
)
def test_incomplete_jwt_settings_fail(overrides: dict[str, Any], message: str) -> None:
    with raises(message):
        validate(settings(**overrides))


@pytest.mark.parametrize(
    ("method", "path", "message"),
    [
        (
            "FETCH",
            "/records",
            "route FETCH /records: method must be one of GET, POST, PUT, PATCH, DELETE, "
            "got 'FETCH'",
        ),
        (
            "OPTIONS",
            "/records",
            "route OPTIONS /records: method must be one of GET, POST, PUT, PATCH, DELETE, "
            "got 'OPTIONS'",
        ),
        *[
            (
                "GET",
                path,
                f"route GET {path}: path must start with / and hold segments of lowercase "
                "letters, digits, - or _, or a parameter like {id}, with no trailing slash; "
                f"got {path!r}",
            )
            for path in ("records", "/records/", "/Records", "/records/{id+}", "/", "/a//b")
        ],
        ("GET", "/a/{id}/b/{id}", "route GET /a/{id}/b/{id}: path parameter names must be unique"),
    ],
)
def test_bad_routes_fail(method: str, path: str, message: str) -> None:
    with raises(message):
        ApiRoute(method=method, path=path)


def test_route_helpers_describe_paths_for_arns_and_parameters() -> None:
    # Given the item route
    route = ApiRoute(method="GET", path="/records/{id}")
    # Then its key, parameters and ARN path are what API Gateway uses
    assert route.route_key == "GET /records/{id}"
    assert route.path_parameters == ("id",)
    assert route.arn_path == "/records/*"
    assert route.is_read
    assert not ApiRoute(method="POST", path="/records").is_read


@pytest.mark.parametrize(
    ("routes", "message"),
    [
        ((), "routes must name at least one route"),
        (
            (RECORDS_ROUTES[0], RECORDS_ROUTES[0]),
            "routes lists GET /records twice",
        ),
        (
            (
                ApiRoute(method="GET", path="/records/{id}"),
                ApiRoute(method="DELETE", path="/records/{record_id}"),
            ),
            "routes: DELETE /records/{record_id} uses {record_id} where another route uses "
            "{id}; sibling path parameters must share one name",
        ),
    ],
)
def test_route_lists_are_checked(routes: tuple[ApiRoute, ...], message: str) -> None:
    with raises(message):
        check_routes("routes", routes)


def test_wildcard_can_be_refused_outright() -> None:
    with raises("origins may not contain '*' here"):
        check_origins("origins", ["*"], allow_wildcard=False)

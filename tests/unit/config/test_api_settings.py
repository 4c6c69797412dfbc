from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import pytest

from config.api import ApiSettings
from config.environments import build_environments
from constructs_lib.specs import QuotaSettings, ThrottleSettings


def settings(**overrides: Any) -> ApiSettings:
    return replace(ApiSettings(), **overrides)


def validate(api: ApiSettings, environment: str = "dev") -> None:
    api.validate("api", environment=environment)


def raises(message: str) -> Any:
    return pytest.raises(ValueError, match=f"^{re.escape(message)}$")


def test_defaults_are_closed_to_anonymous_callers_and_valid_everywhere() -> None:
    # Given the default settings
    api = ApiSettings()
    # Then callers sign with SigV4, reads are not public and one REST API is deployed
    assert (api.auth, api.open_read_access, api.variants) == ("iam", False, "rest")
    assert api.web_acl_rate_limit == 2000
    assert (api.deploys_rest, api.deploys_http) == (True, False)
    assert api.http_authorization == "AWS_IAM"
    # And they pass validation in every environment
    for environment in ("dev", "staging", "prod"):
        validate(api, environment)


def test_shipped_profiles_deploy_both_variants_in_dev_and_rest_elsewhere() -> None:
    # Given the shipped environments
    envs = build_environments()
    # Then dev runs both front doors with an API key, the others the REST API with SigV4
    assert [envs[name].api.variants for name in envs] == ["both", "rest", "rest"]
    assert [envs[name].api.auth for name in envs] == ["api_key", "iam", "iam"]
    # And only dev goes without a web ACL, saying why
    assert [envs[name].api.web_acl_rate_limit is None for name in envs] == [True, False, False]
    assert envs["dev"].api.no_web_acl_reason
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
        ({"open_read_access": "yes"}, "api.open_read_access must be true or false, got 'yes'"),
        (
            {"max_page_size": 0},
            "api.max_page_size must be an integer from 1 to 1000, got 0",
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
            "api.throttle.burst_limit must be an integer of at least 1, got 0",
        ),
        (
            ThrottleSettings(rate_limit=10, burst_limit=-1),
            "api.throttle.burst_limit must be an integer of at least 1, got -1",
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
        (QuotaSettings(limit=0), "api.quota.limit must be an integer of at least 1, got 0"),
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


@pytest.mark.parametrize("environment", ["staging", "prod"])
def test_api_keys_are_not_authentication_outside_dev(environment: str) -> None:
    # Given an environment outside dev that asks for API keys
    api = settings(auth="api_key")
    # When validated, Then synth stops and says what to use instead
    with raises(
        f"api.auth may be 'api_key' only in dev, not in {environment}: an API key is not "
        "authentication; use 'iam' (SigV4)"
    ):
        validate(api, environment)
    validate(api, "dev")


@pytest.mark.parametrize(
    ("overrides", "environment", "message"),
    [
        (
            {"web_acl_rate_limit": None},
            "dev",
            "api: set exactly one of web_acl_rate_limit and no_web_acl_reason",
        ),
        (
            {"no_web_acl_reason": "not needed"},
            "dev",
            "api: set exactly one of web_acl_rate_limit and no_web_acl_reason",
        ),
        (
            {"web_acl_rate_limit": None, "no_web_acl_reason": "not needed"},
            "prod",
            "api.no_web_acl_reason: the REST stage in prod must have a web ACL; set "
            "web_acl_rate_limit",
        ),
        (
            {"web_acl_rate_limit": 5},
            "prod",
            "api.web_acl_rate_limit must be an integer from 10 to 2000000000, got 5",
        ),
    ],
)
def test_web_acl_settings_are_checked(
    overrides: dict[str, Any], environment: str, message: str
) -> None:
    with raises(message):
        validate(settings(**overrides), environment)


def test_prod_throttles_and_quota_are_the_production_seeds() -> None:
    # Given the shipped prod profile
    api = build_environments()["prod"].api
    # Then its stage takes 10,000 requests/s with bursts of 5,000, and a key 1,000,000 a month
    assert (api.throttle.rate_limit, api.throttle.burst_limit) == (10_000, 5_000)
    assert (api.quota.limit, api.quota.period) == (1_000_000, "MONTH")


def test_a_per_ip_web_acl_limit_above_the_whole_stage_fails() -> None:
    # Given a stage of 5 requests/s (1,500 per 5 minutes) and a per-IP limit of 2,000
    api = settings(throttle=ThrottleSettings(rate_limit=5, burst_limit=10))
    # When validated / Then the per-IP rule that could never bind is refused
    with raises(
        "api.web_acl_rate_limit 2,000 per IP per 5 minutes is above what the whole stage "
        "admits (1,500 at api.throttle.rate_limit 5/s): the per-IP rule could never block "
        "anyone; lower it or raise the stage throttle"
    ):
        validate(api, "prod")

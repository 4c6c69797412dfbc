"""Settings for the API front door: which variant, who may call it, and how fast.

``ApiSettings`` is one field of ``EnvironmentConfig``. Origins are checked with the same
function the API constructs use, so a bad value fails at synth time with the same message
wherever it comes from. The API function's sizing lives with every other function's, in
``config/functions.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from constructs_lib.aws_limits import (
    API_GATEWAY_ACCOUNT_BURST_LIMIT,
    API_GATEWAY_ACCOUNT_RATE_LIMIT,
    WAF_RATE_LIMIT_RANGE,
    WAF_RATE_WINDOW_SECONDS,
    require_bool,
    require_int_range,
    require_one_of,
)
from constructs_lib.patterns.api_routes import (
    API_AUTH_MODES,
    WILDCARD_ORIGIN,
    ApiAuth,
    check_origins,
)
from constructs_lib.specs import QuotaSettings, ThrottleSettings

ApiVariant = Literal["rest", "http", "both"]

API_VARIANTS: tuple[ApiVariant, ...] = ("rest", "http", "both")
# DynamoDB returns at most 1 MB per page anyway; larger pages only slow responses.
MAX_PAGE_SIZE_RANGE = (1, 1000)

# One front door unless an environment asks for both.
DEFAULT_VARIANTS: ApiVariant = "rest"
# A local web front end during development; deployed environments list their own sites.
DEFAULT_CORS_ALLOWED_ORIGINS = ("http://localhost:3000",)
# SigV4: every caller is an IAM principal with a policy allowing execute-api:Invoke. AWS does
# not count API keys as authentication, so they are allowed only where auth_may_use_api_key.
DEFAULT_AUTH: ApiAuth = "iam"
# Requests one client IP may send per 5 minutes before the REST stage's web ACL blocks it.
DEFAULT_WEB_ACL_RATE_LIMIT = 2000
# Items per page of GET /records unless the caller asks for fewer.
DEFAULT_MAX_PAGE_SIZE = 100
# The production seed's prod stage and usage plan: 10,000 requests/s with bursts of 5,000,
# API Gateway's own account-level limit per region, so the stage cuts nothing the account allows.
PROD_THROTTLE = ThrottleSettings(
    rate_limit=API_GATEWAY_ACCOUNT_RATE_LIMIT, burst_limit=API_GATEWAY_ACCOUNT_BURST_LIMIT
)
# The production seed's usage plan: 1,000,000 requests per API key per month (applies when
# auth is "api_key"; SigV4 callers have no key and only the stage throttle).
PROD_QUOTA = QuotaSettings(limit=1_000_000, period="MONTH")


@dataclass(frozen=True, kw_only=True)
class ApiSettings:
    """The API front door of one environment; closed to anonymous callers by default.

    ``auth`` is how REST API callers authenticate. HTTP APIs have no API keys, so the HTTP
    variant uses the JWT authorizer when ``jwt_issuer`` is set and IAM otherwise.
    """

    variants: ApiVariant = DEFAULT_VARIANTS
    cors_allowed_origins: tuple[str, ...] = DEFAULT_CORS_ALLOWED_ORIGINS
    auth: ApiAuth = DEFAULT_AUTH
    # Leaves GET routes unauthenticated. Never implied: an environment must say so.
    open_read_access: bool = False
    throttle: ThrottleSettings = field(default_factory=ThrottleSettings)
    # Per API key; used only when auth is "api_key".
    quota: QuotaSettings = field(default_factory=QuotaSettings)
    # OpenID issuer URL and accepted audiences for the HTTP API's JWT authorizer.
    jwt_issuer: str | None = None
    jwt_audience: tuple[str, ...] = ()
    max_page_size: int = DEFAULT_MAX_PAGE_SIZE
    # The REST stage's WAFv2 web ACL (rate limit, AWS managed rules, logging); turning it off
    # takes a reason, recorded as the checkov suppression.
    web_acl_rate_limit: int | None = DEFAULT_WEB_ACL_RATE_LIMIT
    no_web_acl_reason: str | None = None

    @property
    def deploys_rest(self) -> bool:
        return self.variants in ("rest", "both")

    @property
    def deploys_http(self) -> bool:
        return self.variants in ("http", "both")

    @property
    def http_authorization(self) -> Literal["JWT", "AWS_IAM"]:
        return "JWT" if self.jwt_issuer is not None else "AWS_IAM"

    def validate(self, prefix: str, *, environment: str) -> None:
        require_one_of(f"{prefix}.variants", self.variants, API_VARIANTS)
        require_one_of(f"{prefix}.auth", self.auth, API_AUTH_MODES)
        check_origins(
            f"{prefix}.cors_allowed_origins", self.cors_allowed_origins, allow_wildcard=True
        )
        if WILDCARD_ORIGIN in self.cors_allowed_origins and environment != "dev":
            raise ValueError(
                f"{prefix}.cors_allowed_origins may be '*' only in dev, not in {environment}; "
                "list the sites that call the API"
            )
        if self.auth == "api_key" and environment != "dev":
            raise ValueError(
                f"{prefix}.auth may be 'api_key' only in dev, not in {environment}: an API key "
                "is not authentication; use 'iam' (SigV4)"
            )
        if (self.web_acl_rate_limit is None) == (self.no_web_acl_reason is None):
            raise ValueError(
                f"{prefix}: set exactly one of web_acl_rate_limit and no_web_acl_reason"
            )
        if self.no_web_acl_reason is not None and environment != "dev":
            raise ValueError(
                f"{prefix}.no_web_acl_reason: the REST stage in {environment} must have a web "
                "ACL; set web_acl_rate_limit"
            )
        if self.web_acl_rate_limit is not None:
            require_int_range(
                f"{prefix}.web_acl_rate_limit", self.web_acl_rate_limit, WAF_RATE_LIMIT_RANGE
            )
        self.throttle.validate(f"{prefix}.throttle")
        self._check_web_acl_below_stage(prefix)
        require_bool(f"{prefix}.open_read_access", self.open_read_access)
        self.quota.validate(f"{prefix}.quota")
        self._validate_jwt(prefix)
        require_int_range(f"{prefix}.max_page_size", self.max_page_size, MAX_PAGE_SIZE_RANGE)

    def _check_web_acl_below_stage(self, prefix: str) -> None:
        """One client IP must be stopped by the web ACL before it alone fills the stage."""
        if self.web_acl_rate_limit is None:
            return
        stage_per_window = self.throttle.rate_limit * WAF_RATE_WINDOW_SECONDS
        if self.web_acl_rate_limit > stage_per_window:
            raise ValueError(
                f"{prefix}.web_acl_rate_limit {self.web_acl_rate_limit:,} per IP per 5 minutes "
                f"is above what the whole stage admits ({stage_per_window:,.0f} at "
                f"{prefix}.throttle.rate_limit {self.throttle.rate_limit:g}/s): the per-IP rule "
                "could never block anyone; lower it or raise the stage throttle"
            )

    def _validate_jwt(self, prefix: str) -> None:
        if self.jwt_issuer is None:
            if self.jwt_audience:
                raise ValueError(f"{prefix}.jwt_audience needs {prefix}.jwt_issuer")
            return
        if not self.jwt_issuer.startswith("https://") or len(self.jwt_issuer) <= len("https://"):
            raise ValueError(
                f"{prefix}.jwt_issuer must be an https:// URL, got {self.jwt_issuer!r}"
            )
        if isinstance(self.jwt_audience, str) or not self.jwt_audience:
            raise ValueError(f"{prefix}.jwt_audience must list at least one audience")
        if not self.deploys_http:
            raise ValueError(
                f"{prefix}.jwt_issuer applies only to the HTTP API, but variants is "
                f"{self.variants!r}"
            )

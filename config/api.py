"""Settings for the API front door: which variant, who may call it, and how fast.

``ApiSettings`` is one field of ``EnvironmentConfig``. The route and origin checks here are
also used by the REST and HTTP API constructs, so a bad value fails at synth time with the
same message wherever it comes from.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:  # config.environments imports this module; a runtime import would cycle.
    from config.environments import FunctionSettings

ApiVariant = Literal["rest", "http", "both"]
ApiAuth = Literal["api_key", "iam"]
QuotaPeriod = Literal["DAY", "WEEK", "MONTH"]

API_VARIANTS: tuple[ApiVariant, ...] = ("rest", "http", "both")
API_AUTH_MODES: tuple[ApiAuth, ...] = ("api_key", "iam")
QUOTA_PERIODS: tuple[QuotaPeriod, ...] = ("DAY", "WEEK", "MONTH")
# Methods a route may declare; OPTIONS is the CORS preflight, which the constructs add.
ROUTE_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
# Methods that only read; open_read_access may leave exactly these unauthenticated.
READ_METHODS = frozenset({"GET"})
# Allowed only alone and only in dev: any web page may call the API from a browser.
WILDCARD_ORIGIN = "*"
# API Gateway gives up on an integration after 29 s; a longer Lambda timeout is wasted.
API_INTEGRATION_TIMEOUT_SECONDS = 29
# DynamoDB returns at most 1 MB per page anyway; larger pages only slow responses.
MAX_PAGE_SIZE_RANGE = (1, 1000)

# One front door unless an environment asks for both.
DEFAULT_VARIANTS: ApiVariant = "rest"
# A local web front end during development; deployed environments list their own sites.
DEFAULT_CORS_ALLOWED_ORIGINS = ("http://localhost:3000",)
# Keys tie every caller to a usage plan with a quota; IAM suits service-to-service callers.
DEFAULT_AUTH: ApiAuth = "api_key"
# Steady requests per second and burst per stage (and per API key), sized for a small team.
DEFAULT_THROTTLE_RATE_LIMIT = 10.0
DEFAULT_THROTTLE_BURST_LIMIT = 20
# Requests per API key per period; a runaway client stops here instead of at the bill.
DEFAULT_QUOTA_LIMIT = 10_000
DEFAULT_QUOTA_PERIOD: QuotaPeriod = "DAY"
# Items per page of GET /records unless the caller asks for fewer.
DEFAULT_MAX_PAGE_SIZE = 100
# The API handler only reads and writes single items: small and quick is enough.
DEFAULT_FUNCTION_MEMORY_MB = 256
DEFAULT_FUNCTION_TIMEOUT_SECONDS = 10

# A literal segment (lowercase, digits, - and _) or one named path parameter like {id}.
_PATH_SEGMENT = re.compile(r"^(?:[a-z0-9][a-z0-9_-]*|\{[A-Za-z_][A-Za-z0-9_]*\})$")
# scheme://host[:port] and nothing else: browsers send Origin without path or trailing slash.
_ORIGIN = re.compile(
    r"^https?://(?:localhost|(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)"
    r"(?::[0-9]{1,5})?$"
)


@dataclass(frozen=True, kw_only=True)
class ApiRoute:
    """One method on one path, for example GET /records/{id}."""

    method: str
    path: str

    def __post_init__(self) -> None:
        if self.method not in ROUTE_METHODS:
            raise ValueError(
                f"route {self.method} {self.path}: method must be one of "
                f"{', '.join(ROUTE_METHODS)}, got {self.method!r}"
            )
        segments = self.path.split("/")
        if (
            segments[0] != ""
            or len(segments) < 2
            or not all(_PATH_SEGMENT.match(segment) for segment in segments[1:])
        ):
            raise ValueError(
                f"route {self.method} {self.path}: path must start with / and hold segments of "
                "lowercase letters, digits, - or _, or a parameter like {id}, "
                f"with no trailing slash; got {self.path!r}"
            )
        parameters = self.path_parameters
        if len(set(parameters)) != len(parameters):
            raise ValueError(
                f"route {self.method} {self.path}: path parameter names must be unique"
            )

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def is_read(self) -> bool:
        return self.method in READ_METHODS

    @property
    def path_parameters(self) -> tuple[str, ...]:
        return path_parameters(self.path)

    @property
    def arn_path(self) -> str:
        return arn_path(self.path)


def path_parameters(path: str) -> tuple[str, ...]:
    """Names of the parameters in a route path: /records/{id} -> ("id",)."""
    return tuple(segment[1:-1] for segment in path.split("/")[1:] if segment.startswith("{"))


def path_slug(path: str) -> str:
    """A kebab-case id for a path, for construct ids: /records/{id} -> records-by-id."""
    parts = [
        f"by-{segment[1:-1]}" if segment.startswith("{") else segment
        for segment in path.split("/")[1:]
    ]
    return "-".join(parts).replace("_", "-").lower()


def arn_path(path: str) -> str:
    """The path as it appears in an execute-api ARN: each parameter becomes ``*``."""
    return "/".join("*" if segment.startswith("{") else segment for segment in path.split("/"))


# The records API the handler in lambda_functions/api implements.
RECORDS_ROUTES = (
    ApiRoute(method="GET", path="/records"),
    ApiRoute(method="POST", path="/records"),
    ApiRoute(method="GET", path="/records/{id}"),
)


# What API Gateway checks on POST /records before invoking the function, in JSON Schema
# draft 4 (all API Gateway models support); the handler still validates every field in detail.
RECORDS_WRITE_SCHEMA: Mapping[str, Any] = MappingProxyType(
    {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "title": "RecordInput",
        "type": "object",
        "required": ["bucket", "key", "size"],
        "properties": {
            "bucket": {"type": "string", "minLength": 3, "maxLength": 63},
            "key": {"type": "string", "minLength": 1},
            "size": {"type": "integer", "minimum": 0},
            "etag": {"type": "string", "minLength": 1},
            "version_id": {"type": ["string", "null"]},
            "attributes": {"type": "object"},
        },
    }
)


def check_routes(field_name: str, routes: Sequence[ApiRoute]) -> None:
    """At least one route, no duplicates, one parameter name per position (API Gateway's rule)."""
    if not routes:
        raise ValueError(f"{field_name} must name at least one route")
    seen: set[str] = set()
    parameter_at: dict[str, str] = {}
    for route in routes:
        if route.route_key in seen:
            raise ValueError(f"{field_name} lists {route.route_key} twice")
        seen.add(route.route_key)
        parent = ""
        for segment in route.path.split("/")[1:]:
            if segment.startswith("{"):
                other = parameter_at.setdefault(parent, segment)
                if other != segment:
                    raise ValueError(
                        f"{field_name}: {route.route_key} uses {segment} where another route "
                        f"uses {other}; sibling path parameters must share one name"
                    )
            parent = f"{parent}/{segment}"


def check_origins(field_name: str, origins: Sequence[str], *, allow_wildcard: bool) -> None:
    """A non-empty list of browser origins (scheme://host[:port]), or '*' alone if allowed."""
    if isinstance(origins, str) or not origins:
        raise ValueError(f"{field_name} must list at least one origin like https://app.example.com")
    if WILDCARD_ORIGIN in origins:
        if not allow_wildcard:
            raise ValueError(f"{field_name} may not contain '*' here")
        if len(origins) > 1:
            raise ValueError(f"{field_name}: '*' already allows every origin; list it alone")
        return
    bad = [origin for origin in origins if not _ORIGIN.match(origin)]
    if bad:
        raise ValueError(
            f"{field_name} has invalid origin(s) {', '.join(map(repr, bad))}; an origin is "
            "http(s)://host[:port] in lowercase, with no path or trailing slash"
        )
    duplicates = sorted({origin for origin in origins if origins.count(origin) > 1})
    if duplicates:
        raise ValueError(f"{field_name} lists {', '.join(duplicates)} more than once")


def _require_positive_int(field_name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{field_name} must be a whole number greater than 0, got {value!r}")


def _require_one_of(field_name: str, value: object, allowed: Sequence[str]) -> None:
    if value not in allowed:
        raise ValueError(
            f"{field_name} must be one of {', '.join(map(repr, allowed))}, got {value!r}"
        )


@dataclass(frozen=True, kw_only=True)
class ThrottleSettings:
    """Token bucket for a stage or an API key: steady rate plus short bursts."""

    rate_limit: float = DEFAULT_THROTTLE_RATE_LIMIT
    burst_limit: int = DEFAULT_THROTTLE_BURST_LIMIT

    def validate(self, prefix: str) -> None:
        rate = self.rate_limit
        if (
            isinstance(rate, bool)
            or not isinstance(rate, int | float)
            or not math.isfinite(rate)
            or rate <= 0
        ):
            raise ValueError(
                f"{prefix}.rate_limit must be a number of requests per second greater than 0, "
                f"got {rate!r}"
            )
        _require_positive_int(f"{prefix}.burst_limit", self.burst_limit)


@dataclass(frozen=True, kw_only=True)
class QuotaSettings:
    """How many requests one API key may make per period."""

    limit: int = DEFAULT_QUOTA_LIMIT
    period: QuotaPeriod = DEFAULT_QUOTA_PERIOD

    def validate(self, prefix: str) -> None:
        _require_positive_int(f"{prefix}.limit", self.limit)
        _require_one_of(f"{prefix}.period", self.period, QUOTA_PERIODS)


def _default_function() -> FunctionSettings:
    from config.environments import FunctionSettings  # imported late: see TYPE_CHECKING

    return FunctionSettings(
        memory_mb=DEFAULT_FUNCTION_MEMORY_MB, timeout_seconds=DEFAULT_FUNCTION_TIMEOUT_SECONDS
    )


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
    function: FunctionSettings = field(default_factory=_default_function)
    max_page_size: int = DEFAULT_MAX_PAGE_SIZE
    # API Gateway's CloudWatch role is one per account and region; the stack that sets it
    # owns it. Turn off where another stack or the landing zone already manages it.
    manage_account_cloudwatch_role: bool = True

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
        _require_one_of(f"{prefix}.variants", self.variants, API_VARIANTS)
        _require_one_of(f"{prefix}.auth", self.auth, API_AUTH_MODES)
        check_origins(
            f"{prefix}.cors_allowed_origins", self.cors_allowed_origins, allow_wildcard=True
        )
        if WILDCARD_ORIGIN in self.cors_allowed_origins and environment != "dev":
            raise ValueError(
                f"{prefix}.cors_allowed_origins may be '*' only in dev, not in {environment}; "
                "list the sites that call the API"
            )
        if not isinstance(self.open_read_access, bool):
            raise ValueError(
                f"{prefix}.open_read_access must be True or False, got {self.open_read_access!r}"
            )
        self.throttle.validate(f"{prefix}.throttle")
        self.quota.validate(f"{prefix}.quota")
        self._validate_jwt(prefix)
        self.function.validate(f"{prefix}.function")
        if self.function.timeout_seconds > API_INTEGRATION_TIMEOUT_SECONDS:
            raise ValueError(
                f"{prefix}.function.timeout_seconds must be at most "
                f"{API_INTEGRATION_TIMEOUT_SECONDS} (API Gateway's integration timeout), "
                f"got {self.function.timeout_seconds}"
            )
        low, high = MAX_PAGE_SIZE_RANGE
        if (
            isinstance(self.max_page_size, bool)
            or not isinstance(self.max_page_size, int)
            or not low <= self.max_page_size <= high
        ):
            raise ValueError(
                f"{prefix}.max_page_size must be an integer from {low} to {high}, "
                f"got {self.max_page_size!r}"
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

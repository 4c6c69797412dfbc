"""Routes and browser origins an API construct serves, checked the way API Gateway checks them.

Plain data with no cdktf import, so environment profiles can check origins with the same
messages as the REST and HTTP API constructs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

# How REST API callers authenticate: an API key (with a usage plan) or SigV4.
ApiAuth = Literal["api_key", "iam"]
API_AUTH_MODES: tuple[ApiAuth, ...] = ("api_key", "iam")
# Methods a route may declare; OPTIONS is the CORS preflight, which the constructs add.
ROUTE_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
# Methods that only read; open_read_access may leave exactly these unauthenticated.
READ_METHODS = frozenset({"GET"})
# Any web page may call the API from a browser; allowed only alone.
WILDCARD_ORIGIN = "*"

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

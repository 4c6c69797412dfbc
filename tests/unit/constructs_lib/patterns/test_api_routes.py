"""Routes and origins, checked as API Gateway and browsers accept them."""

from __future__ import annotations

import re
from typing import Any

import pytest

from constructs_lib.patterns.api_routes import ApiRoute, check_origins, check_routes
from constructs_lib.pipeline.records_api import RECORDS_ROUTES


def raises(message: str) -> Any:
    return pytest.raises(ValueError, match=f"^{re.escape(message)}$")


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

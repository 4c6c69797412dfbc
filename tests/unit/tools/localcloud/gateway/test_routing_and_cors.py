"""Route precedence, CORS decisions and integration URIs, without a server."""

from __future__ import annotations

import pytest

from tools.localcloud.gateway import cors
from tools.localcloud.gateway.deployed import Cors, Route, function_arn_of
from tools.localcloud.gateway.events import GatewayRequest, HttpResponse
from tools.localcloud.gateway.routing import find_route

FUNCTION_ARN = "arn:aws:lambda:us-west-2:123456789012:function:evpipe-dev-api"


def _route(key: str) -> Route:
    method, _, path = key.partition(" ")
    return Route(method=method, path=path, resource_id=key, integration=None)


ROUTES = tuple(
    _route(key)
    for key in (
        "GET /records",
        "POST /records",
        "GET /records/{id}",
        "GET /records/latest",
        "ANY /files/{proxy+}",
        "GET /files/{proxy+}",
        "GET /",
    )
)


@pytest.mark.parametrize(
    ("method", "path", "route_key", "parameters"),
    [
        ("GET", "/records", "GET /records", {}),
        ("POST", "/records", "POST /records", {}),
        ("GET", "/records/abc", "GET /records/{id}", {"id": "abc"}),
        ("GET", "/records/a%20b", "GET /records/{id}", {"id": "a b"}),
        ("GET", "/records/latest", "GET /records/latest", {}),
        ("GET", "/files/a/b.txt", "GET /files/{proxy+}", {"proxy": "a/b.txt"}),
        ("DELETE", "/files/a", "ANY /files/{proxy+}", {"proxy": "a"}),
        ("GET", "/", "GET /", {}),
    ],
)
def test_find_route_prefers_literals_then_parameters_then_greedy(
    method: str, path: str, route_key: str, parameters: dict[str, str]
) -> None:
    # Given the deployed routes
    # When a request path is matched
    match = find_route(ROUTES, method, path)
    # Then the most specific route serves it, with its decoded parameters
    assert match is not None
    assert match.route.route_key == route_key
    assert match.path_parameters == parameters


@pytest.mark.parametrize(
    ("method", "path"),
    [("DELETE", "/records"), ("GET", "/records/a/b"), ("GET", "/nowhere"), ("GET", "/files")],
)
def test_find_route_without_a_match_is_none(method: str, path: str) -> None:
    # Given a method or path no route serves
    # When it is matched
    # Then None (the gateway answers 403 on REST, 404 on HTTP APIs)
    assert find_route(ROUTES, method, path) is None


def test_http_default_route_catches_the_rest() -> None:
    # Given an HTTP API with a $default route
    routes = (*ROUTES, Route(method="$default", path="", resource_id="d", integration=None))
    # When an unknown path is matched
    match = find_route(routes, "PUT", "/anything")
    # Then $default serves it
    assert match is not None
    assert match.route.route_key == "$default"


@pytest.mark.parametrize(
    "uri",
    [
        f"arn:aws:apigateway:us-west-2:lambda:path/2015-03-31/functions/{FUNCTION_ARN}/invocations",
        FUNCTION_ARN,
    ],
)
def test_function_arn_of_an_integration_uri(uri: str) -> None:
    # Given an invoke ARN or a plain function ARN
    # When the function is read from it
    # Then it is the function ARN
    assert function_arn_of(uri) == FUNCTION_ARN


def test_function_arn_of_keeps_the_alias() -> None:
    uri = (
        "arn:aws:apigateway:us-west-2:lambda:path/2015-03-31/functions/"
        f"{FUNCTION_ARN}:live/invocations"
    )
    assert function_arn_of(uri) == f"{FUNCTION_ARN}:live"


def test_function_arn_of_a_non_lambda_uri_is_none() -> None:
    assert function_arn_of("https://example.com/backend") is None


CONFIG = Cors(
    allow_origins=("http://localhost:3000", "https://*.example.com"),
    allow_methods=("GET", "POST", "OPTIONS"),
    allow_headers=("content-type",),
    expose_headers=("x-request-id",),
    max_age=300,
)


def _request(method: str, **headers: str) -> GatewayRequest:
    return GatewayRequest(
        method=method,
        path="/records",
        query="",
        headers=[(name.replace("_", "-"), value) for name, value in headers.items()],
    )


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("http://localhost:3000", True),
        ("HTTP://LOCALHOST:3000", True),
        ("https://app.example.com", True),
        ("http://localhost:3001", False),
        ("https://example.com.evil.net", False),
        ("null", False),
    ],
)
def test_origin_allowed(origin: str, allowed: bool) -> None:
    assert cors.origin_allowed(CONFIG, origin) is allowed


def test_preflight_from_an_allowed_origin_gets_the_configuration() -> None:
    # Given a preflight from an allowed origin for an allowed method
    request = _request(
        "OPTIONS", Origin="http://localhost:3000", Access_Control_Request_Method="POST"
    )
    # When it is answered
    assert cors.is_preflight(request)
    response = cors.preflight(CONFIG, request)
    # Then 204 with the configured headers
    assert response.status == 204
    assert dict(response.headers) == {
        "Access-Control-Allow-Origin": "http://localhost:3000",
        "Access-Control-Allow-Methods": "GET,POST,OPTIONS",
        "Access-Control-Allow-Headers": "content-type",
        "Access-Control-Max-Age": "300",
        "Vary": "Origin",
    }


@pytest.mark.parametrize(
    ("origin", "method"), [("https://evil.example.net", "POST"), ("http://localhost:3000", "PUT")]
)
def test_preflight_from_a_denied_origin_or_method_gets_no_cors_headers(
    origin: str, method: str
) -> None:
    request = _request("OPTIONS", Origin=origin, Access_Control_Request_Method=method)
    response = cors.preflight(CONFIG, request)
    assert response.status == 204
    assert response.headers == []


def test_apply_replaces_the_functions_cors_headers() -> None:
    # Given a function response that allows every origin
    response = HttpResponse(
        status=200,
        headers=[("Content-Type", "application/json"), ("Access-Control-Allow-Origin", "*")],
        body=b"{}",
    )
    # When it answers an allowed and a denied origin
    allowed = cors.apply(CONFIG, _request("GET", Origin="http://localhost:3000"), response)
    denied = cors.apply(CONFIG, _request("GET", Origin="https://evil.example.net"), response)
    # Then only the configured origin is allowed
    assert ("Access-Control-Allow-Origin", "http://localhost:3000") in allowed.headers
    assert ("Access-Control-Expose-Headers", "x-request-id") in allowed.headers
    assert denied.headers == [("Content-Type", "application/json")]


def test_wildcard_origin_answers_star_unless_credentials_are_allowed() -> None:
    anyone = Cors(allow_origins=("*",), allow_methods=("*",))
    with_credentials = Cors(allow_origins=("*",), allow_methods=("*",), allow_credentials=True)
    request = _request("OPTIONS", Origin="https://a.test", Access_Control_Request_Method="GET")
    assert ("Access-Control-Allow-Origin", "*") in cors.preflight(anyone, request).headers
    assert ("Access-Control-Allow-Origin", "https://a.test") in cors.preflight(
        with_credentials, request
    ).headers

"""What one served API stage does with a request, with the Lambda Invoke replaced by a recorder."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from tools.localcloud.gateway.__main__ import curl_example
from tools.localcloud.gateway.deployed import Cors, DeployedApi, Integration, Route
from tools.localcloud.gateway.events import GatewayRequest
from tools.localcloud.gateway.server import (
    Gateway,
    ServedApi,
    _ApiHandler,
    _FunctionFailed,
)

FUNCTION_ARN = "arn:aws:lambda:us-west-2:123456789012:function:evpipe-dev-api"
PROXY = Integration(type="AWS_PROXY", function_arn=FUNCTION_ARN, payload_format_version="1.0")
PROXY_V2 = Integration(type="AWS_PROXY", function_arn=FUNCTION_ARN, payload_format_version="2.0")
SCHEMA = {"type": "object", "required": ["size"], "properties": {"size": {"type": "integer"}}}


class Recorder:
    """Stands in for the emulator's Invoke: records events, returns or raises on cue."""

    def __init__(self, output: Any = None, error: Exception | None = None) -> None:
        self.output = output if output is not None else {"statusCode": 200, "body": "ok"}
        self.error = error
        self.calls: list[tuple[str, Mapping[str, Any], int]] = []

    def __call__(self, function_arn: str, event: Mapping[str, Any], timeout_ms: int) -> Any:
        self.calls.append((function_arn, event, timeout_ms))
        if self.error is not None:
            raise self.error
        return self.output


def _rest(**route: Any) -> DeployedApi:
    defaults: dict[str, Any] = {
        "method": "POST",
        "path": "/records",
        "resource_id": "r1",
        "integration": PROXY,
    }
    return DeployedApi(
        kind="rest",
        api_id="abc123",
        name="evpipe-dev-rest-api",
        stage="dev",
        account_id="123456789012",
        region="us-west-2",
        routes=(Route(**{**defaults, **route}),),
        api_keys={"good-key": "key-id"},
    )


def _http(**route: Any) -> DeployedApi:
    defaults: dict[str, Any] = {
        "method": "GET",
        "path": "/records",
        "resource_id": "r1",
        "integration": PROXY_V2,
    }
    return DeployedApi(
        kind="http",
        api_id="xyz987",
        name="evpipe-dev-http-api",
        stage="$default",
        account_id="123456789012",
        region="us-west-2",
        routes=(Route(**{**defaults, **route}),),
        cors=Cors(allow_origins=("http://localhost:3000",), allow_methods=("GET",)),
    )


def _request(method: str = "POST", path: str = "/records", **options: Any) -> GatewayRequest:
    return GatewayRequest(
        method=method,
        path=path,
        query=options.get("query", ""),
        headers=options.get("headers", []),
        body=options.get("body", b""),
    )


def test_api_key_is_checked_against_the_stage_keys() -> None:
    # Given a keyed route
    invoke = Recorder()
    handler = _ApiHandler(_rest(api_key_required=True), invoke)
    # When it is called without, with a wrong and with the stage's key
    missing = handler.handle(_request())
    wrong = handler.handle(_request(headers=[("x-api-key", "other")]))
    good = handler.handle(_request(headers=[("X-Api-Key", "good-key")]))
    # Then only the stage's key reaches the function, whose event names the key's id
    assert (missing.status, json.loads(missing.body)) == (403, {"message": "Forbidden"})
    assert wrong.status == 403
    assert good.status == 200
    [(arn, event, timeout_ms)] = invoke.calls
    assert arn == FUNCTION_ARN
    assert timeout_ms == PROXY.timeout_ms
    assert event["requestContext"]["identity"]["apiKeyId"] == "key-id"


def test_required_parameters_are_validated() -> None:
    # Given a route whose validator checks a required query string and header
    handler = _ApiHandler(
        _rest(
            method="GET",
            validate_parameters=True,
            required_parameters=(("querystring", "limit"), ("header", "x-trace")),
        ),
        Recorder(),
    )
    # When one is missing, then both are present
    missing = handler.handle(_request("GET", query="limit=1"))
    present = handler.handle(_request("GET", query="limit=1", headers=[("X-Trace", "t")]))
    # Then API Gateway's 400 names the missing one
    assert missing.status == 400
    assert json.loads(missing.body) == {"message": "Missing required request parameters: [x-trace]"}
    assert present.status == 200


@pytest.mark.parametrize(
    ("body", "status"),
    [(b'{"size": 1}', 200), (b'{"size": "big"}', 400), (b"{not json", 400), (b"", 400)],
)
def test_body_is_validated_against_the_model(body: bytes, status: int) -> None:
    # Given a route validating application/json bodies against a model
    invoke = Recorder()
    handler = _ApiHandler(
        _rest(validate_body=True, body_models={"application/json": SCHEMA}), invoke
    )
    # When a body is posted
    response = handler.handle(_request(headers=[("Content-Type", "application/json")], body=body))
    # Then only a valid one reaches the function
    assert response.status == status
    assert len(invoke.calls) == (1 if status == 200 else 0)


@pytest.mark.parametrize(
    ("api", "status", "message"),
    [
        (_rest(), 502, "Internal server error"),
        (_http(), 500, "Internal Server Error"),
    ],
)
def test_function_errors_become_api_gateways_error(
    api: DeployedApi, status: int, message: str
) -> None:
    # Given a function that raises
    handler = _ApiHandler(api, Recorder(error=_FunctionFailed('{"errorMessage": "boom"}')))
    # When it is called
    response = handler.handle(_request(api.routes[0].method))
    # Then REST answers 502 and HTTP APIs 500, never the function's error text
    assert response.status == status
    assert json.loads(response.body) == {"message": message}


@pytest.mark.parametrize(
    ("api", "message"), [(_rest(), "Internal server error"), (_http(), "Internal Server Error")]
)
def test_invoke_failure_is_a_500(api: DeployedApi, message: str) -> None:
    # Given an Invoke the emulator refuses (the function is gone)
    error = ClientError({"Error": {"Code": "ResourceNotFoundException"}}, "Invoke")
    handler = _ApiHandler(api, Recorder(error=error))
    # When a route is called
    response = handler.handle(_request(api.routes[0].method))
    # Then API Gateway's 500, in each API kind's words
    assert response.status == 500
    assert json.loads(response.body) == {"message": message}


def test_integration_timeout_is_a_504() -> None:
    handler = _ApiHandler(_rest(), Recorder(error=ReadTimeoutError(endpoint_url="http://x")))
    response = handler.handle(_request())
    assert response.status == 504
    assert json.loads(response.body) == {"message": "Endpoint request timed out"}


def test_non_proxy_integration_is_a_500_without_invoking() -> None:
    invoke = Recorder()
    mock = Integration(type="MOCK", function_arn=None, payload_format_version="1.0")
    response = _ApiHandler(_rest(integration=mock), invoke).handle(_request())
    assert response.status == 500
    assert invoke.calls == []


@pytest.mark.parametrize(("mode", "status", "calls"), [("warn", 200, 1), ("deny", 403, 0)])
def test_unverifiable_authorization_is_never_silent(
    mode: Any, status: int, calls: int, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a SigV4 route
    invoke = Recorder()
    handler = _ApiHandler(_http(authorization="AWS_IAM"), invoke, unverified_auth=mode)
    # When it is called unsigned
    response = handler.handle(_request("GET"))
    # Then "warn" serves it and says so, "deny" refuses it
    assert response.status == status
    assert len(invoke.calls) == calls
    if mode == "warn":
        assert "SigV4 (IAM) signatures NOT verified locally (route GET /records)" in caplog.text


def test_http_api_sends_payload_2_0_and_applies_cors() -> None:
    # Given an HTTP API route and a request from its allowed origin
    invoke = Recorder(output={"statusCode": 200, "headers": {"access-control-allow-origin": "*"}})
    handler = _ApiHandler(_http(), invoke)
    # When it is called
    response = handler.handle(_request("GET", headers=[("Origin", "http://localhost:3000")]))
    # Then the function got a 2.0 event and the client the configured origin
    assert invoke.calls[0][1]["version"] == "2.0"
    assert response.headers == [("Access-Control-Allow-Origin", "http://localhost:3000")]


def test_unknown_routes_answer_like_each_api_kind() -> None:
    rest = _ApiHandler(_rest(), Recorder()).handle(_request("GET", "/nowhere"))
    http = _ApiHandler(_http(), Recorder()).handle(_request("GET", "/nowhere"))
    assert (rest.status, json.loads(rest.body)["message"]) == (403, "Missing Authentication Token")
    assert (http.status, json.loads(http.body)["message"]) == (404, "Not Found")


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"unverified_auth": "allow"}, "unverified_auth"),
        ({"max_payload_bytes": 0}, "max_payload_bytes"),
    ],
)
def test_gateway_rejects_bad_options_naming_the_field(options: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=f"^{field} must"):
        Gateway("http://127.0.0.1:4566", **options)


def test_curl_example_uses_a_readable_route_and_the_key() -> None:
    served = ServedApi(
        name="evpipe-dev-rest-api",
        kind="rest",
        url="http://127.0.0.1:8080/dev",
        api_id="abc",
        stage="dev",
        api_key="k1",
        routes=("POST /records", "GET /records/{id}", "GET /records"),
    )
    assert curl_example(served) == "curl -i -H 'x-api-key: k1' http://127.0.0.1:8080/dev/records"

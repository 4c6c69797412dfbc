"""Proxy events built from HTTP requests, compared with the sample events, and response mapping."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.conftest import load_event
from tools.localcloud.gateway.deployed import DeployedApi, Route
from tools.localcloud.gateway.events import (
    GatewayRequest,
    MalformedResponse,
    http_event,
    http_response,
    rest_event,
    rest_response,
)

# Keys real REST events carry that the hand-written v1 samples leave out.
V1_KEYS_BEYOND_SAMPLES = {"extendedRequestId", "domainPrefix"}


def _api(kind: str, sample: dict[str, Any]) -> DeployedApi:
    context = sample["requestContext"]
    return DeployedApi(
        kind="rest" if kind == "rest" else "http",
        api_id=context["apiId"],
        name="evpipe-dev-api",
        stage=context["stage"],
        account_id=context["accountId"],
        region="us-west-2",
        routes=(),
    )


def _request(sample: dict[str, Any], *, method: str, path: str, query: str) -> GatewayRequest:
    """The HTTP request that would have produced ``sample``."""
    context = sample["requestContext"]
    epoch = context.get("requestTimeEpoch") or context["timeEpoch"]
    headers = sample["headers"]
    source_ip = context.get("identity", context.get("http", {}))["sourceIp"]
    return GatewayRequest(
        method=method,
        path=path,
        query=query,
        headers=list(headers.items()),
        body=(sample.get("body") or "").encode(),
        source_ip=source_ip,
        request_id=context["requestId"],
        received=datetime.fromtimestamp(epoch / 1000, UTC),
    )


@pytest.mark.parametrize(
    ("sample_name", "method", "query"),
    [("api-get-v1", "GET", "limit=10"), ("api-post-v1", "POST", "")],
)
def test_rest_event_matches_the_payload_1_0_sample(
    sample_name: str, method: str, query: str
) -> None:
    # Given the request behind a sample REST event
    sample = load_event(sample_name)
    request = _request(sample, method=method, path="/records", query=query)
    route = Route(method=method, path="/records", resource_id="res123", integration=None)
    # When the gateway builds the event
    event = rest_event(request, _api("rest", sample), route, {})
    # Then it is the sample, plus only the context keys the sample leaves out
    context = event.pop("requestContext")
    expected_context = sample.pop("requestContext")
    assert event == sample
    assert set(context) - set(expected_context) == V1_KEYS_BEYOND_SAMPLES
    assert {key: context[key] for key in expected_context} == expected_context


@pytest.mark.parametrize(
    ("sample_name", "method", "query"),
    [("api-get-v2", "GET", "limit=10"), ("api-post-v2", "POST", "")],
)
def test_http_event_matches_the_payload_2_0_sample(
    sample_name: str, method: str, query: str
) -> None:
    # Given the request behind a sample HTTP API event
    sample = load_event(sample_name)
    request = _request(sample, method=method, path="/records", query=query)
    route = Route(method=method, path="/records", resource_id="r1", integration=None)
    # When the gateway builds the event
    event = http_event(request, _api("http", sample), route, {})
    # Then it is the sample, except for the generated request id (same short base64 form)
    request_id = event["requestContext"].pop("requestId")
    sample["requestContext"].pop("requestId")
    assert event == sample
    assert len(base64.b64decode(request_id)) == 11


def test_rest_event_repeats_headers_and_query_in_multi_value_fields() -> None:
    # Given a request with a repeated header and query parameter, and an API key
    sample = load_event("api-get-v1")
    request = GatewayRequest(
        method="GET",
        path="/records/a%2Fb",
        query="tag=a&tag=b&empty=",
        headers=[("Accept", "text/plain"), ("Accept", "application/json"), ("x-api-key", "k")],
    )
    route = Route(method="GET", path="/records/{id}", resource_id="res9", integration=None)
    # When the event is built
    event = rest_event(request, _api("rest", sample), route, {"id": "a/b"}, api_key_id="key-id")
    # Then single-value fields hold the last value, multi-value fields all of them
    assert event["headers"]["Accept"] == "application/json"
    assert event["multiValueHeaders"]["Accept"] == ["text/plain", "application/json"]
    assert event["queryStringParameters"] == {"tag": "b", "empty": ""}
    assert event["multiValueQueryStringParameters"] == {"tag": ["a", "b"], "empty": [""]}
    assert event["pathParameters"] == {"id": "a/b"}
    assert event["resource"] == "/records/{id}"
    assert event["requestContext"]["identity"]["apiKeyId"] == "key-id"
    assert event["requestContext"]["identity"]["apiKey"] == "k"
    assert event["requestContext"]["path"] == "/dev/records/a%2Fb"


def test_rest_event_base64_encodes_binary_media_types() -> None:
    # Given an API with a binary media type and a request of that type
    sample = load_event("api-post-v1")
    api = DeployedApi(**{**_api("rest", sample).__dict__, "binary_media_types": ("image/*",)})
    request = GatewayRequest(
        method="POST",
        path="/records",
        query="",
        headers=[("Content-Type", "image/png")],
        body=b"\x89PNG",
    )
    route = Route(method="POST", path="/records", resource_id="r", integration=None)
    # When the event is built
    event = rest_event(request, api, route, {})
    # Then the body is base64 and says so
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\x89PNG"


def test_http_event_moves_cookies_and_joins_repeated_values() -> None:
    # Given a request with cookies and repeated headers and query parameters
    sample = load_event("api-get-v2")
    request = GatewayRequest(
        method="GET",
        path="/records",
        query="x=1&x=2",
        headers=[("Cookie", "a=1; b=2"), ("X-Tag", "one"), ("x-tag", "two")],
    )
    route = Route(method="GET", path="/records", resource_id="r", integration=None)
    # When the event is built
    event = http_event(request, _api("http", sample), route, {})
    # Then cookies have their own field and repeated values are comma-joined
    assert event["cookies"] == ["a=1", "b=2"]
    assert event["headers"] == {"x-tag": "one,two"}
    assert event["queryStringParameters"] == {"x": "1,2"}
    assert "body" not in event


def test_http_event_base64_encodes_non_text_bodies() -> None:
    # Given a binary upload
    sample = load_event("api-post-v2")
    request = GatewayRequest(
        method="POST",
        path="/records",
        query="",
        headers=[("Content-Type", "application/octet-stream")],
        body=b"\x00\x01",
    )
    route = Route(method="POST", path="/records", resource_id="r", integration=None)
    # When the event is built
    event = http_event(request, _api("http", sample), route, {})
    # Then the body is base64
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\x00\x01"


def test_rest_response_merges_multi_value_headers() -> None:
    # Given a proxy response with both header fields, one name in both
    output = {
        "statusCode": "201",
        "headers": {"Content-Type": "application/json", "Set-Cookie": "ignored=1"},
        "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
        "body": json.dumps({"id": "r1"}),
    }
    # When it is mapped
    response = rest_response(output)
    # Then multiValueHeaders win for their names, and the status may be a numeric string
    assert response.status == 201
    assert sorted(response.headers) == [
        ("Content-Type", "application/json"),
        ("Set-Cookie", "a=1"),
        ("Set-Cookie", "b=2"),
    ]
    assert json.loads(response.body) == {"id": "r1"}


def test_rest_response_decodes_base64_bodies() -> None:
    # Given a base64 body
    output = {
        "statusCode": 200,
        "body": base64.b64encode(b"\x00pdf").decode(),
        "isBase64Encoded": True,
    }
    # When it is mapped
    # Then the client gets the bytes
    assert rest_response(output).body == b"\x00pdf"


@pytest.mark.parametrize(
    "output",
    [
        None,
        "just text",
        {"body": "no status"},
        {"statusCode": 200, "body": {"not": "a string"}},
        {"statusCode": 200, "unexpected": True},
        {"statusCode": "abc"},
        {"statusCode": 700},
        {"statusCode": 200, "headers": {"X": ["a", "b"]}},
        {"statusCode": 200, "multiValueHeaders": {"X": "a"}},
        {"statusCode": 200, "body": "%%%", "isBase64Encoded": True},
    ],
)
def test_malformed_rest_responses_are_rejected(output: Any) -> None:
    # Given an output API Gateway would call a malformed Lambda proxy response
    # When it is mapped
    # Then MalformedResponse (the gateway answers 502)
    with pytest.raises(MalformedResponse):
        rest_response(output)


@pytest.mark.parametrize(
    ("output", "body"),
    [({"id": "r1"}, b'{"id": "r1"}'), ("hello", b"hello"), ([1, 2], b"[1, 2]")],
)
def test_http_response_without_status_code_is_a_json_200(output: Any, body: bytes) -> None:
    # Given a payload 2.0 function output with no statusCode
    # When it is mapped
    response = http_response(output)
    # Then API Gateway's shorthand: 200, JSON, the output as the body
    assert response.status == 200
    assert response.headers == [("Content-Type", "application/json")]
    assert response.body == body


def test_http_response_turns_cookies_into_set_cookie_headers() -> None:
    # Given a 2.0 response with cookies
    output = {"statusCode": 204, "headers": {"x-a": "1"}, "cookies": ["a=1", "b=2"]}
    # When it is mapped
    response = http_response(output)
    # Then each cookie is a Set-Cookie header
    assert response.status == 204
    assert response.headers == [("x-a", "1"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")]
    assert response.body == b""


def test_malformed_http_response_is_rejected() -> None:
    # Given a 2.0 response whose body is not a string
    # When it is mapped
    # Then MalformedResponse (the gateway answers 500)
    with pytest.raises(MalformedResponse):
        http_response({"statusCode": 200, "body": {"id": 1}})

"""Proxy events from HTTP requests, and HTTP responses from what the function returns.

The two Lambda proxy payload formats API Gateway uses: 1.0 (REST APIs) and 2.0 (HTTP APIs),
and how each maps the function's output back to the client, including what makes an output
malformed. Hand-written because neither botocore nor Powertools builds these events (Powertools
only parses them); the shapes follow the payloads in tests/events/api-*-v1/v2.json.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from tools.localcloud.gateway.deployed import DeployedApi, Route

# Content types whose bodies an HTTP API passes as text; others are base64-encoded.
_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript")
_TEXT_SUFFIXES = ("+json", "+xml")
# The keys a payload 1.0 (REST) proxy response may hold; any other key makes it malformed.
V1_RESPONSE_KEYS = frozenset(
    {"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"}
)
V2_RESPONSE_KEYS = frozenset({"statusCode", "headers", "body", "isBase64Encoded", "cookies"})


class MalformedResponse(ValueError):
    """The function's output is not a proxy response API Gateway would accept."""


@dataclass(frozen=True, kw_only=True)
class GatewayRequest:
    """An HTTP request as received, with the path relative to the stage."""

    method: str
    path: str  # relative to the stage, still percent-encoded: /records/abc
    query: str  # the raw query string, without '?'
    headers: Sequence[tuple[str, str]]  # in arrival order, names as sent
    body: bytes = b""
    source_ip: str = "127.0.0.1"
    protocol: str = "HTTP/1.1"
    # Fixed in tests; otherwise a fresh id and the time of arrival.
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    received: datetime = field(default_factory=lambda: datetime.now(UTC))

    def header(self, name: str) -> str | None:
        """The last value of a header, case-insensitively."""
        found = [value for key, value in self.headers if key.lower() == name.lower()]
        return found[-1] if found else None


@dataclass(frozen=True, kw_only=True)
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes = b""

    @classmethod
    def message(
        cls, status: int, message: str, headers: Sequence[tuple[str, str]] = ()
    ) -> HttpResponse:
        """API Gateway's own error responses: a JSON object with one ``message``."""
        return cls(
            status=status,
            headers=[("Content-Type", "application/json"), *headers],
            body=json.dumps({"message": message}).encode(),
        )


def rest_event(
    request: GatewayRequest,
    api: DeployedApi,
    route: Route,
    path_parameters: Mapping[str, str],
    *,
    api_key_id: str | None = None,
) -> dict[str, Any]:
    """The payload 1.0 event a REST API sends its Lambda proxy integration."""
    headers: dict[str, str] = {}
    multi_headers: dict[str, list[str]] = {}
    for name, value in request.headers:
        headers[name] = value
        multi_headers.setdefault(name, []).append(value)
    query: dict[str, str] = {}
    multi_query: dict[str, list[str]] = {}
    for name, value in parse_qsl(request.query, keep_blank_values=True):
        query[name] = value
        multi_query.setdefault(name, []).append(value)
    body, encoded = _body(request, binary=_is_binary(request, api.binary_media_types))
    identity: dict[str, Any] = {
        "sourceIp": request.source_ip,
        "userAgent": request.header("User-Agent"),
    }
    if api_key_id is not None:
        identity["apiKey"] = request.header("x-api-key")
        identity["apiKeyId"] = api_key_id
    domain = request.header("Host") or "localhost"
    return {
        "resource": route.path,
        "path": request.path,
        "httpMethod": request.method,
        "headers": headers or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": dict(path_parameters) or None,
        "stageVariables": dict(api.stage_variables) or None,
        "requestContext": {
            "accountId": api.account_id,
            "apiId": api.api_id,
            "domainName": domain,
            "domainPrefix": domain.split(".")[0],
            "extendedRequestId": request.request_id,
            "httpMethod": request.method,
            "identity": identity,
            "path": f"{api.base_path}{request.path}",
            "protocol": request.protocol,
            "requestId": request.request_id,
            "requestTime": _clf_time(request.received),
            "requestTimeEpoch": _epoch_ms(request.received),
            "resourceId": route.resource_id,
            "resourcePath": route.path,
            "stage": api.stage,
        },
        "body": body,
        "isBase64Encoded": encoded,
    }


def http_event(
    request: GatewayRequest, api: DeployedApi, route: Route, path_parameters: Mapping[str, str]
) -> dict[str, Any]:
    """The payload 2.0 event an HTTP API sends its Lambda proxy integration."""
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers:
        lowered = name.lower()
        if lowered == "cookie":
            cookies += [cookie.strip() for cookie in value.split(";") if cookie.strip()]
            continue
        headers[lowered] = f"{headers[lowered]},{value}" if lowered in headers else value
    query: dict[str, str] = {}
    for name, value in parse_qsl(request.query, keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value
    raw_path = f"{api.base_path}{request.path}"
    domain = request.header("Host") or "localhost"
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": raw_path,
        "rawQueryString": request.query,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    if query:
        event["queryStringParameters"] = query
    event["requestContext"] = {
        "accountId": api.account_id,
        "apiId": api.api_id,
        "domainName": domain,
        "domainPrefix": domain.split(".")[0],
        "http": {
            "method": request.method,
            "path": raw_path,
            "protocol": request.protocol,
            "sourceIp": request.source_ip,
            "userAgent": request.header("User-Agent") or "",
        },
        "requestId": _http_request_id(request.request_id),
        "routeKey": route.route_key,
        "stage": api.stage,
        "time": _clf_time(request.received),
        "timeEpoch": _epoch_ms(request.received),
    }
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    if api.stage_variables:
        event["stageVariables"] = dict(api.stage_variables)
    if request.body:
        body, encoded = _body(request, binary=not _is_text(request.header("Content-Type")))
        event["body"] = body
        event["isBase64Encoded"] = encoded
    else:
        event["isBase64Encoded"] = False
    return event


def rest_response(output: Any) -> HttpResponse:
    """A payload 1.0 proxy response as the client receives it; MalformedResponse otherwise."""
    if not isinstance(output, dict) or "statusCode" not in output:
        raise MalformedResponse("the output is not an object with statusCode")
    extra = set(output) - V1_RESPONSE_KEYS
    if extra:
        raise MalformedResponse(f"unexpected keys {sorted(extra)}")
    headers = _single_headers(output.get("headers"))
    multi = output.get("multiValueHeaders") or {}
    if not isinstance(multi, dict) or not all(
        isinstance(values, list) for values in multi.values()
    ):
        raise MalformedResponse("multiValueHeaders must map names to lists")
    # Names in multiValueHeaders win; API Gateway merges the rest of headers into the list.
    merged = [(name, _text(value)) for name, values in multi.items() for value in values]
    known = {name.lower() for name in multi}
    merged += [(name, value) for name, value in headers if name.lower() not in known]
    return HttpResponse(
        status=_status(output["statusCode"]),
        headers=merged,
        body=_response_body(output.get("body"), output.get("isBase64Encoded")),
    )


def http_response(output: Any) -> HttpResponse:
    """A payload 2.0 response; an output without statusCode is the JSON body of a 200."""
    if not (isinstance(output, dict) and "statusCode" in output):
        return HttpResponse(
            status=200,
            headers=[("Content-Type", "application/json")],
            body=(output if isinstance(output, str) else json.dumps(output)).encode(),
        )
    headers = _single_headers(output.get("headers"))
    cookies = output.get("cookies") or []
    if not isinstance(cookies, list):
        raise MalformedResponse("cookies must be a list")
    headers += [("Set-Cookie", _text(cookie)) for cookie in cookies]
    return HttpResponse(
        status=_status(output["statusCode"]),
        headers=headers,
        body=_response_body(output.get("body"), output.get("isBase64Encoded")),
    )


def _status(value: Any) -> int:
    try:
        status = int(value)
    except (TypeError, ValueError):
        raise MalformedResponse(f"statusCode {value!r} is not a number") from None
    if not 100 <= status <= 599:
        raise MalformedResponse(f"statusCode {status} is not an HTTP status")
    return status


def _single_headers(value: Any) -> list[tuple[str, str]]:
    if value is None:
        return []
    if not isinstance(value, dict) or any(isinstance(v, (dict, list)) for v in value.values()):
        raise MalformedResponse("headers must map names to single values")
    return [(str(name), _text(header)) for name, header in value.items()]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _response_body(body: Any, encoded: Any) -> bytes:
    if body is None:
        return b""
    if not isinstance(body, str):
        raise MalformedResponse("body must be a string")
    if encoded:
        try:
            return base64.b64decode(body, validate=True)
        except binascii.Error:
            raise MalformedResponse("isBase64Encoded is set but body is not base64") from None
    return body.encode()


def _body(request: GatewayRequest, *, binary: bool) -> tuple[str | None, bool]:
    if not request.body:
        return None, False
    if not binary:
        try:
            return request.body.decode(), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(request.body).decode(), True


def _is_binary(request: GatewayRequest, binary_media_types: Sequence[str]) -> bool:
    content_type = (request.header("Content-Type") or "").split(";")[0].strip().lower()
    for media_type in binary_media_types:
        pattern = media_type.lower()
        if pattern in ("*/*", content_type) or (
            pattern.endswith("/*") and content_type.startswith(pattern[:-1])
        ):
            return True
    return False


def _is_text(content_type: str | None) -> bool:
    if not content_type:
        return True
    media = content_type.split(";")[0].strip().lower()
    return media.startswith(_TEXT_TYPES) or media.endswith(_TEXT_SUFFIXES)


def _clf_time(moment: datetime) -> str:
    return moment.strftime("%d/%b/%Y:%H:%M:%S +0000")


def _epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _http_request_id(request_id: str) -> str:
    """HTTP APIs use short base64 ids (JKJaXmPLvHcESHA=), not UUIDs; one request, one id."""
    try:
        raw = uuid.UUID(request_id).bytes[:11]
    except ValueError:
        raw = secrets.token_bytes(11)
    return base64.b64encode(raw).decode()

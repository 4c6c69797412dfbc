"""An HTTP API's CORS configuration applied the way API Gateway applies it.

With CORS configured, API Gateway answers every preflight itself (the function never sees
it) and sets the Access-Control-* response headers on actual requests, replacing any the
function sent. Only an allowed origin gets Access-Control-Allow-Origin back; a browser then
refuses the response for any other. REST APIs have no such setting: their OPTIONS methods
are ordinary routes (here proxied to the function, which answers the preflight).
"""

from __future__ import annotations

import fnmatch

from tools.localcloud.gateway.deployed import Cors
from tools.localcloud.gateway.events import GatewayRequest, HttpResponse

WILDCARD = "*"
PREFLIGHT_METHOD = "OPTIONS"


def is_preflight(request: GatewayRequest) -> bool:
    return (
        request.method == PREFLIGHT_METHOD
        and request.header("Origin") is not None
        and request.header("Access-Control-Request-Method") is not None
    )


def origin_allowed(cors: Cors, origin: str | None) -> bool:
    """Exact origins (case-insensitive), '*', or wildcard subdomains like https://*.example.com."""
    if not origin:
        return False
    lowered = origin.lower()
    return any(
        allowed == WILDCARD or fnmatch.fnmatchcase(lowered, allowed.lower())
        for allowed in cors.allow_origins
    )


def preflight(cors: Cors, request: GatewayRequest) -> HttpResponse:
    """The preflight answer: 204, with CORS headers only for an allowed origin and method."""
    origin = request.header("Origin")
    method = (request.header("Access-Control-Request-Method") or "").upper()
    methods = {allowed.upper() for allowed in cors.allow_methods}
    if not origin_allowed(cors, origin) or not (WILDCARD in methods or method in methods):
        return HttpResponse(status=204, headers=[])
    headers = [
        ("Access-Control-Allow-Origin", _allow_origin(cors, origin or "")),
        ("Access-Control-Allow-Methods", ",".join(cors.allow_methods)),
    ]
    if cors.allow_headers:
        headers.append(("Access-Control-Allow-Headers", ",".join(cors.allow_headers)))
    if cors.max_age is not None:
        headers.append(("Access-Control-Max-Age", str(cors.max_age)))
    if cors.allow_credentials:
        headers.append(("Access-Control-Allow-Credentials", "true"))
    if WILDCARD not in cors.allow_origins:
        headers.append(("Vary", "Origin"))
    return HttpResponse(status=204, headers=headers)


def apply(cors: Cors, request: GatewayRequest, response: HttpResponse) -> HttpResponse:
    """The response with the function's CORS headers replaced by the configured ones."""
    kept = [
        (name, value)
        for name, value in response.headers
        if not name.lower().startswith("access-control-")
    ]
    origin = request.header("Origin")
    if origin_allowed(cors, origin):
        kept.append(("Access-Control-Allow-Origin", _allow_origin(cors, origin or "")))
        if cors.expose_headers:
            kept.append(("Access-Control-Expose-Headers", ",".join(cors.expose_headers)))
        if cors.allow_credentials:
            kept.append(("Access-Control-Allow-Credentials", "true"))
    return HttpResponse(status=response.status, headers=kept, body=response.body)


def _allow_origin(cors: Cors, origin: str) -> str:
    # '*' may not be combined with credentials, so the origin itself is echoed then.
    if WILDCARD in cors.allow_origins and not cors.allow_credentials:
        return WILDCARD
    return origin

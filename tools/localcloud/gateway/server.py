"""The local gateway: each deployed API stage on its own 127.0.0.1 port, invoking the deployed
function through the emulator's Lambda ``Invoke``.

    gateway = Gateway("http://127.0.0.1:4566", "us-west-2")
    for api in gateway.start():
        print(api.kind, api.name, api.url)   # rest evpipe-dev-rest-api http://127.0.0.1:41234/dev
    ...
    gateway.stop()

A REST stage is served under ``/<stage>`` (as its invoke URL is), an HTTP API's ``$default``
stage at the root. What it enforces as API Gateway does: routes (403 Missing Authentication
Token / 404 Not Found), API keys of the stage's usage plans (403 Forbidden), the REST
request validators and models (400), the 10 MB payload limit (413), an HTTP API's CORS
configuration (preflight answered, Access-Control-Allow-Origin only for allowed origins), the
function's resource policy (500 unless it lets API Gateway invoke it for the route), the
integration timeout (504) and malformed function output (502 REST / 500 HTTP API). What it
cannot verify (SigV4/IAM, Lambda, Cognito and JWT authorizers, WAF, throttling and quotas) is
named per route in a warning at start and on every request it lets through.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal, Protocol
from urllib.parse import parse_qsl, urlsplit

import boto3
import fastjsonschema
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ReadTimeoutError

from tools.localcloud.gateway import cors
from tools.localcloud.gateway.deployed import DeployedApi, Route, read_apis
from tools.localcloud.gateway.events import (
    GatewayRequest,
    HttpResponse,
    MalformedResponse,
    http_event,
    http_response,
    rest_event,
    rest_response,
)
from tools.localcloud.gateway.permissions import (
    API_GATEWAY_PRINCIPAL,
    allows,
    read_policy,
    source_arns,
)
from tools.localcloud.gateway.routing import find_route

LOG = logging.getLogger("tools.localcloud.gateway")
LOOPBACK = "127.0.0.1"
DEFAULT_REGION = "us-west-2"
# Emulators accept any credentials; these are the conventional placeholders.
EMULATOR_CREDENTIALS = ("test", "test")
# API Gateway's payload limit for REST and HTTP APIs (10 MB).
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024
# What a request may do on a route whose authorization the gateway cannot verify: "warn" lets
# it through with a warning (the local default, so curl works); "deny" answers 403.
UnverifiedAuth = Literal["warn", "deny"]
# How long the emulator may take to accept the Invoke call itself (seconds).
CONNECT_TIMEOUT_SECONDS = 5
# What the gateway adds to API Gateway's integration timeout for the emulator's own overhead.
INVOKE_OVERHEAD_SECONDS = 1
# An oversized body up to this many times the limit is read and dropped before the 413, so the
# client sees the answer rather than a reset connection; anything larger is cut off.
DRAIN_LIMIT_FACTOR = 4
DRAIN_CHUNK_BYTES = 1024 * 1024
HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
WHAT_IS_NOT_VERIFIED = {
    "AWS_IAM": "SigV4 (IAM) signatures",
    "CUSTOM": "the Lambda authorizer",
    "COGNITO_USER_POOLS": "the Cognito authorizer",
    "JWT": "the JWT authorizer",
}


class HasEndpoint(Protocol):
    """A running local cloud (the emulator server, or anything that fronts it)."""

    @property
    def endpoint_url(self) -> str: ...


@dataclass(kw_only=True, eq=False)
class ServedApi:
    """One API stage served on localhost."""

    name: str
    kind: Literal["rest", "http"]
    url: str
    api_id: str
    stage: str
    # An enabled key of the stage's usage plan, for x-api-key (emulator values, not secrets).
    api_key: str | None = None
    # Route keys as deployed: "GET /records", "POST /records", "$default".
    routes: tuple[str, ...] = ()
    _server: ThreadingHTTPServer | None = field(default=None, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None


class Gateway:
    """Reads the deployed APIs from the emulator and serves them until stopped."""

    def __init__(
        self,
        endpoint_url: str,
        region: str = DEFAULT_REGION,
        *,
        aws_access_key_id: str = EMULATOR_CREDENTIALS[0],
        aws_secret_access_key: str = EMULATOR_CREDENTIALS[1],
        host: str = LOOPBACK,
        base_port: int | None = None,
        unverified_auth: UnverifiedAuth = "warn",
        max_payload_bytes: int = MAX_PAYLOAD_BYTES,
    ) -> None:
        if unverified_auth not in ("warn", "deny"):
            raise ValueError(f"unverified_auth must be 'warn' or 'deny', got {unverified_auth!r}")
        if max_payload_bytes <= 0:
            raise ValueError(f"max_payload_bytes must be positive, got {max_payload_bytes}")
        self.endpoint_url = endpoint_url
        self.region = region
        self.host = host
        self.base_port = base_port
        self.unverified_auth = unverified_auth
        self.max_payload_bytes = max_payload_bytes
        self._session = boto3.session.Session(
            aws_access_key_id=aws_access_key_id,
            aws_secret_access_key=aws_secret_access_key,
            region_name=region,
        )
        self.served: list[ServedApi] = []

    def client(self, service: str, config: Config | None = None) -> Any:
        """A client of the emulator (apigateway and apigatewayv2 have no stubs here: Any)."""
        return self._session.client(
            service,  # type: ignore[call-overload]
            endpoint_url=self.endpoint_url,
            config=config,
        )

    def read(self) -> list[DeployedApi]:
        """Every deployed API stage, read from the emulator."""
        account_id = self.client("sts").get_caller_identity()["Account"]
        return read_apis(
            self.client("apigateway"),
            self.client("apigatewayv2"),
            account_id=account_id,
            region=self.region,
        )

    def start(self) -> list[ServedApi]:
        """Serve every deployed API stage; returns what is served where."""
        if self.served:
            raise RuntimeError("the gateway is already serving; stop() it first")
        LOG.warning(
            "local gateway: enforces routes, API keys, REST request validation, CORS, the "
            "10 MB payload limit, Lambda invoke permissions and integration timeouts; it does "
            "NOT verify SigV4/IAM, "
            "Lambda/Cognito/JWT authorizers, WAF, throttling or quotas"
        )
        invoker = _Invoker(self)
        apis = self.read()
        policies = self._policies(apis)
        for index, api in enumerate(apis):
            port = 0 if self.base_port is None else self.base_port + index
            self.served.append(self._serve(api, port, invoker, policies))
        return list(self.served)

    def stop(self) -> None:
        for api in self.served:
            api.stop()
        self.served = []

    def __enter__(self) -> list[ServedApi]:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _policies(self, apis: list[DeployedApi]) -> dict[str, Mapping[str, Any] | None]:
        """Each integrated function's resource policy, read once."""
        client = self.client("lambda")
        arns = {
            route.integration.function_arn
            for api in apis
            for route in api.routes
            if route.integration is not None and route.integration.function_arn is not None
        }
        return {arn: read_policy(client, arn) for arn in sorted(arns)}

    def _serve(
        self,
        api: DeployedApi,
        port: int,
        invoker: _Invoker,
        policies: Mapping[str, Mapping[str, Any] | None],
    ) -> ServedApi:
        _warn_at_start(api, self.unverified_auth, policies)
        handler = _ApiHandler(
            api, invoker, self.unverified_auth, self.max_payload_bytes, policies=policies
        )
        server = ThreadingHTTPServer((self.host, port), _request_handler(handler))
        server.daemon_threads = True
        thread = threading.Thread(
            target=server.serve_forever, name=f"gateway-{api.api_id}-{api.stage}", daemon=True
        )
        thread.start()
        bound_port = server.server_address[1]
        url = f"http://{self.host}:{bound_port}{api.base_path}"
        LOG.info("serving %s at %s", api.label, url)
        return ServedApi(
            name=api.name,
            kind=api.kind,
            url=url,
            api_id=api.api_id,
            stage=api.stage,
            api_key=next(iter(api.api_keys), None),
            routes=tuple(route.route_key for route in api.routes),
            _server=server,
            _thread=thread,
        )


def serve_apis(
    cloud_endpoint: str | HasEndpoint, region: str = DEFAULT_REGION, **options: Any
) -> list[ServedApi]:
    """Serve every API deployed on the local cloud; stop each returned ServedApi when done."""
    endpoint = cloud_endpoint if isinstance(cloud_endpoint, str) else cloud_endpoint.endpoint_url
    return Gateway(endpoint, region, **options).start()


def _warn_at_start(
    api: DeployedApi,
    unverified_auth: UnverifiedAuth,
    policies: Mapping[str, Mapping[str, Any] | None],
) -> None:
    """Name every route the gateway will not serve as AWS would, before the first request."""
    outcome = "let through" if unverified_auth == "warn" else "answered 403"
    for route in api.routes:
        if not route.verified_auth:
            what = WHAT_IS_NOT_VERIFIED.get(route.authorization, route.authorization)
            LOG.warning(
                "%s: route %s requires %s, which the local gateway cannot verify; requests are %s",
                api.label,
                route.route_key,
                what,
                outcome,
            )
        integration = route.integration
        if integration is None or not (integration.is_lambda_proxy or integration.mock_response):
            kind = integration.type if integration else "no"
            LOG.warning(
                "%s: route %s has %s integration; the local gateway serves only Lambda proxy "
                "and MOCK integrations and answers it 500",
                api.label,
                route.route_key,
                kind,
            )
        elif integration.function_arn is not None:
            arns = source_arns(api, [route.method], [route.path])
            policy = policies.get(integration.function_arn)
            if not allows(policy, account_id=api.account_id, source_arns=arns):
                LOG.warning(
                    "%s: route %s: the policy of %s does not let %s invoke it for %s; "
                    "requests get 500, as on AWS",
                    api.label,
                    route.route_key,
                    integration.function_arn,
                    API_GATEWAY_PRINCIPAL,
                    arns[0],
                )


class _Invoker:
    """Calls the emulator's Lambda Invoke, one client per integration timeout."""

    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway
        self._lock = threading.Lock()
        self._clients: dict[int, Any] = {}

    def __call__(self, function_arn: str, event: Mapping[str, Any], timeout_ms: int) -> Any:
        """The function's output; raises _FunctionFailed, TimeoutError or MalformedResponse."""
        response = self._client(timeout_ms).invoke(
            FunctionName=function_arn,
            InvocationType="RequestResponse",
            Payload=json.dumps(event).encode(),
        )
        payload = response["Payload"].read()
        if response.get("FunctionError"):
            raise _FunctionFailed(payload.decode(errors="replace"))
        try:
            return json.loads(payload) if payload else None
        except json.JSONDecodeError:
            raise MalformedResponse("the output is not JSON") from None

    def _client(self, timeout_ms: int) -> Any:
        with self._lock:
            if timeout_ms not in self._clients:
                self._clients[timeout_ms] = self._gateway.client(
                    "lambda",
                    Config(
                        connect_timeout=CONNECT_TIMEOUT_SECONDS,
                        read_timeout=timeout_ms / 1000 + INVOKE_OVERHEAD_SECONDS,
                        retries={"max_attempts": 0},
                    ),
                )
            return self._clients[timeout_ms]


class _FunctionFailed(Exception):
    """The function raised; the argument is Lambda's error payload."""


@dataclass(frozen=True)
class _ApiHandler:
    """Everything one API stage does with a request, from routing to the response."""

    api: DeployedApi
    invoke: Callable[[str, Mapping[str, Any], int], Any]
    unverified_auth: UnverifiedAuth = "warn"
    max_payload_bytes: int = MAX_PAYLOAD_BYTES
    # Each function's resource policy (None: it has none); None here skips the permission check.
    policies: Mapping[str, Mapping[str, Any] | None] | None = None

    def handle(self, request: GatewayRequest) -> HttpResponse:
        api = self.api
        if api.kind == "http" and api.cors is not None and cors.is_preflight(request):
            return cors.preflight(api.cors, request)
        response = self._route(request)
        if api.kind == "http" and api.cors is not None:
            response = cors.apply(api.cors, request, response)
        return response

    def _route(self, request: GatewayRequest) -> HttpResponse:
        api = self.api
        match = find_route(api.routes, request.method, request.path)
        if match is None:
            if api.kind == "rest":
                # REST APIs answer unknown paths and methods alike, without revealing which.
                return HttpResponse.message(403, "Missing Authentication Token")
            return HttpResponse.message(404, "Not Found")
        route = match.route
        refusal = self._refusal(route, request)
        if refusal is not None:
            return refusal
        integration = route.integration
        if integration is not None and integration.mock_response is not None:
            mock = integration.mock_response
            return HttpResponse(
                status=mock.status, headers=list(mock.headers), body=mock.body.encode()
            )
        if integration is None or not integration.is_lambda_proxy:
            return self._server_error(500)
        function_arn = integration.function_arn or ""
        if not self._permitted(route, request, function_arn):
            return self._server_error(500)
        api_key_id = api.api_keys.get(request.header("x-api-key") or "")
        if api.kind == "rest":
            event = rest_event(
                request,
                api,
                route,
                match.path_parameters,
                api_key_id=api_key_id if route.api_key_required else None,
            )
        elif integration.payload_format_version == "2.0":
            event = http_event(request, api, route, match.path_parameters)
        else:
            # An HTTP API integration may ask for payload 1.0, as REST APIs send it.
            event = rest_event(request, api, route, match.path_parameters)
        v2 = api.kind == "http" and integration.payload_format_version == "2.0"
        # A function error or malformed output: REST says 502, HTTP APIs 500.
        failure = self._server_error(500 if api.kind == "http" else 502)
        try:
            output = self.invoke(function_arn, event, integration.timeout_ms)
            return http_response(output) if v2 else rest_response(output)
        except _FunctionFailed as error:
            LOG.warning("%s %s: the function failed: %s", request.method, request.path, error)
            return failure
        except MalformedResponse as error:
            LOG.warning(
                "%s %s: malformed Lambda proxy response: %s", request.method, request.path, error
            )
            return failure
        except ReadTimeoutError:
            return HttpResponse.message(504, "Endpoint request timed out")
        except (ClientError, BotoCoreError) as error:
            LOG.warning("%s %s: Invoke failed: %s", request.method, request.path, error)
            return self._server_error(500)

    def _refusal(self, route: Route, request: GatewayRequest) -> HttpResponse | None:
        """What API Gateway answers before the integration (auth, API key, validation)."""
        if not route.verified_auth:
            what = WHAT_IS_NOT_VERIFIED.get(route.authorization, route.authorization)
            if self.unverified_auth == "deny":
                return HttpResponse.message(403, "Forbidden")
            LOG.warning(
                "%s %s %s: %s NOT verified locally (route %s)",
                self.api.name,
                request.method,
                request.path,
                what,
                route.route_key,
            )
        if route.api_key_required and (request.header("x-api-key") or "") not in self.api.api_keys:
            return HttpResponse.message(403, "Forbidden")
        problem = _validation_problem(route, request)
        return HttpResponse.message(400, problem) if problem is not None else None

    def _permitted(self, route: Route, request: GatewayRequest, function_arn: str) -> bool:
        """Whether the function's policy lets API Gateway invoke it for this request."""
        if self.policies is None:
            return True
        api = self.api
        arns = source_arns(api, (request.method, route.method), (route.path, request.path))
        if allows(self.policies.get(function_arn), account_id=api.account_id, source_arns=arns):
            return True
        LOG.warning(
            "%s %s %s: no permission for %s to invoke %s (route %s)",
            api.name,
            request.method,
            request.path,
            API_GATEWAY_PRINCIPAL,
            function_arn,
            route.route_key,
        )
        return False

    def _server_error(self, status: int) -> HttpResponse:
        """API Gateway's own server error, worded as each API kind words it."""
        if self.api.kind == "http":
            return HttpResponse.message(status, "Internal Server Error")
        return HttpResponse.message(status, "Internal server error")


def _validation_problem(route: Route, request: GatewayRequest) -> str | None:
    """What a REST request validator rejects, in API Gateway's words; None when valid."""
    if route.validate_parameters and route.required_parameters:
        query = {name for name, _ in parse_qsl(request.query, keep_blank_values=True)}
        missing = [
            name
            for location, name in route.required_parameters
            if (location == "querystring" and name not in query)
            or (location == "header" and request.header(name) is None)
        ]
        if missing:
            return f"Missing required request parameters: [{', '.join(missing)}]"
    if route.validate_body and route.body_models:
        content_type = (request.header("Content-Type") or "application/json").split(";")[0]
        schema = route.body_models.get(content_type.strip().lower()) or route.body_models.get(
            "$default"
        )
        if schema is not None:
            try:
                _compiled(json.dumps(schema, sort_keys=True))(json.loads(request.body or b"null"))
            except (ValueError, fastjsonschema.JsonSchemaException):
                return "Invalid request body"
    return None


@cache
def _compiled(schema: str) -> Callable[[Any], Any]:
    compiled: Callable[[Any], Any] = fastjsonschema.compile(json.loads(schema))
    return compiled


def _request_handler(api: _ApiHandler) -> type[BaseHTTPRequestHandler]:
    """A request handler class bound to one API stage."""
    base_path = api.api.base_path

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "localcloud-gateway"

        def _serve(self) -> None:
            url = urlsplit(self.path)
            path = url.path
            if base_path and not (path == base_path or path.startswith(f"{base_path}/")):
                self._send(HttpResponse.message(403, "Missing Authentication Token"), head=False)
                return
            body = self._body(api.max_payload_bytes)
            if body is None:
                self._send(HttpResponse.message(413, "Request Entity Too Large"), head=False)
                self.close_connection = True
                return
            request = GatewayRequest(
                method=self.command,
                path=path[len(base_path) :] or "/",
                query=url.query,
                headers=list(self.headers.items()),
                body=body,
                source_ip=self.client_address[0],
                protocol=self.request_version,
            )
            response = api.handle(request)
            LOG.info(
                "%s %s %s -> %s (%s)",
                api.api.kind,
                self.command,
                self.path,
                response.status,
                request.request_id,
            )
            self._send(response, head=self.command == "HEAD")

        def _body(self, limit: int) -> bytes | None:
            """The request body, or None when it is over the payload limit."""
            if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                chunks: list[bytes] = []
                total = 0
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        self.rfile.readline()
                        return b"".join(chunks)
                    total += size
                    if total > limit:
                        return None
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
            length = int(self.headers.get("Content-Length") or 0)
            if length > limit:
                # Read what was sent, so the client sees the 413 instead of a reset connection.
                if length <= DRAIN_LIMIT_FACTOR * limit:
                    while length > 0:
                        chunk = self.rfile.read(min(length, DRAIN_CHUNK_BYTES))
                        if not chunk:
                            break
                        length -= len(chunk)
                return None
            return self.rfile.read(length) if length else b""

        def _send(self, response: HttpResponse, *, head: bool) -> None:
            self.send_response(response.status)
            for name, value in response.headers:
                if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if not head:
                self.wfile.write(response.body)

        def log_message(self, format: str, *args: Any) -> None:
            LOG.debug(format, *args)

    for method in HTTP_METHODS:
        setattr(Handler, f"do_{method}", Handler._serve)
    return Handler

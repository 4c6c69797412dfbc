"""Drive the deployed API through the packaged API handler: a POST, then a GET of that record.

moto stores REST and HTTP APIs but does not serve them, and cannot run Lambda code. So this
reads the API back from the emulator (resources, methods, integrations, stage, routes,
authorizers), checks that each route is a Lambda proxy integration of the API function, builds
the event API Gateway would send for it (payload 1.0 for the REST API, 2.0 for the HTTP API,
with the deployed resource path, stage and caller identity) and runs the very zip Terraform
deployed on it through ``tools.local_invoke.invoke_packaged``. The records land in the
emulated DynamoDB table. For the REST API, whose CORS preflight API Gateway answers itself (a
MOCK integration), the deployed answer to a preflight from the first configured origin is
read back and checked as well.

    responses = drive_api(outputs, api_zip=zip_path, layer_dir=layer, variant="rest",
                          endpoint_url=moto.endpoint_url)

Every failed expectation raises ApiSmokeError (a RuntimeError) naming what was wrong.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import boto3

from tools.emulator import EMULATOR_ENV
from tools.local_invoke import invoke_packaged

Variant = Literal["rest", "http"]
VARIANTS: tuple[Variant, ...] = ("rest", "http")
# The routes driven: create a record, then read it back by the id the POST returned.
COLLECTION_PATH = "/records"
ITEM_PATH = "/records/{id}"
# Where the caller of a smoke request seems to come from.
SOURCE_IP = "127.0.0.1"
USER_AGENT = "api-smoke/1.0"
# HTTP APIs serve their auto-deployed stage at the base URL.
HTTP_STAGE = "$default"


class ApiSmokeError(RuntimeError):
    """The deployed API or the handler did not behave as expected; the message says how."""


@dataclass(frozen=True, kw_only=True)
class DeployedRoute:
    """One route as API Gateway would present it to the integration."""

    variant: Variant
    api_id: str
    stage: str
    method: str
    resource_path: str
    # REST: the resource id; HTTP: the route id.
    resource_id: str
    authorization: str
    jwt_issuer: str | None = None
    # REST preflights (MOCK integrations): the headers of the deployed 200 answer.
    preflight_headers: Mapping[str, str] | None = None

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.resource_path}"


@dataclass(frozen=True, kw_only=True)
class _Caller:
    account_id: str
    region: str
    api_key_id: str | None


def drive_api(
    stack_outputs: Mapping[str, Any],
    *,
    api_zip: Path,
    layer_dir: Path,
    endpoint_url: str,
    variant: str,
) -> list[dict[str, Any]]:
    """POST a record and GET it back through the packaged handler; return each response."""
    if variant not in VARIANTS:
        raise ApiSmokeError(f"variant must be one of {', '.join(VARIANTS)}, got {variant!r}")
    function_name = _output(stack_outputs, "api_function_name")
    function_arn = _output(stack_outputs, "api_function_arn")
    region = EMULATOR_ENV["AWS_DEFAULT_REGION"]
    caller = _Caller(
        account_id=function_arn.split(":")[4],
        region=region,
        api_key_id=stack_outputs.get("rest_api_key_id") if variant == "rest" else None,
    )
    lambda_client = emulator_client("lambda", endpoint_url)
    configuration = lambda_client.get_function_configuration(FunctionName=function_name)
    variables: dict[str, str] = configuration.get("Environment", {}).get("Variables", {})
    if variant == "rest":
        routes = _rest_routes(
            emulator_client("apigateway", endpoint_url),
            _output(stack_outputs, "rest_api_id"),
            function_arn,
        )
    else:
        routes = _http_routes(
            emulator_client("apigatewayv2", endpoint_url),
            _output(stack_outputs, "http_api_id"),
            function_arn,
        )
    origin = next(iter(variables.get("CORS_ALLOWED_ORIGINS", "").split(",")), "") or None

    def invoke(route: DeployedRoute, event: dict[str, Any]) -> dict[str, Any]:
        result = invoke_packaged(
            api_zip,
            event,
            environment={
                **variables,
                **EMULATOR_ENV,
                "AWS_ENDPOINT_URL": endpoint_url,
                "AWS_LAMBDA_FUNCTION_NAME": function_name,
            },
            layer_dir=layer_dir,
            function_name=function_name,
            timeout_seconds=int(configuration.get("Timeout", 30)),
            memory_mb=int(configuration.get("MemorySize", 128)),
        )
        if not result.ok:
            raise ApiSmokeError(
                f"{variant} {route.route_key}: the handler raised {result.error}\n{result.logs}"
            )
        response = _parsed(result.response, f"{variant} {route.route_key}")
        print(f"{variant} {event_line(event)} -> {response['status']}", flush=True)
        return response

    body = {
        "bucket": stack_outputs.get("ingest_bucket_name") or "api-smoke-bucket",
        "key": f"api-smoke/{variant}/{uuid.uuid4().hex}.json",
        "size": 42,
        "attributes": {"source": "api-smoke", "variant": variant},
    }
    post = _route(routes, "POST", COLLECTION_PATH)
    created = invoke(post, build_event(post, COLLECTION_PATH, caller, body=body, origin=origin))
    _expect_status(created, 201, variant, post)
    record_id = created["body"].get("id") if isinstance(created["body"], dict) else None
    if not record_id:
        raise ApiSmokeError(f"{variant} POST {COLLECTION_PATH} returned no record id: {created}")
    get = _route(routes, "GET", ITEM_PATH)
    item_path = ITEM_PATH.replace("{id}", record_id)
    fetched = invoke(get, build_event(get, item_path, caller, origin=origin))
    _expect_status(fetched, 200, variant, get)
    if fetched["body"].get("id") != record_id or fetched["body"].get("key") != body["key"]:
        raise ApiSmokeError(f"{variant} GET {item_path} returned another record: {fetched['body']}")
    responses = [created, fetched]
    if variant == "rest" and origin is not None:
        responses.append(_preflight(routes, post, origin))
    return responses


def build_event(
    route: DeployedRoute,
    path: str,
    caller: _Caller,
    *,
    body: Mapping[str, Any] | None = None,
    origin: str | None = None,
    extra_headers: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The proxy event API Gateway sends for ``route`` requested at ``path``."""
    headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
    if body is not None:
        headers["Content-Type"] = "application/json"
    if origin is not None:
        headers["Origin"] = origin
    headers.update(extra_headers or {})
    parameters = _path_parameters(route.resource_path, path)
    now = datetime.now(UTC)
    domain = f"{route.api_id}.execute-api.{caller.region}.amazonaws.com"
    payload = json.dumps(body) if body is not None else None
    if route.variant == "rest":
        return {
            "resource": route.resource_path,
            "path": path,
            "httpMethod": route.method,
            "headers": headers,
            "multiValueHeaders": {name: [value] for name, value in headers.items()},
            "queryStringParameters": None,
            "multiValueQueryStringParameters": None,
            "pathParameters": parameters or None,
            "stageVariables": None,
            "requestContext": {
                "accountId": caller.account_id,
                "apiId": route.api_id,
                "domainName": domain,
                "domainPrefix": route.api_id,
                "httpMethod": route.method,
                "identity": _rest_identity(route, caller),
                "path": f"/{route.stage}{path}",
                "protocol": "HTTP/1.1",
                "requestId": str(uuid.uuid4()),
                "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
                "requestTimeEpoch": int(now.timestamp() * 1000),
                "resourceId": route.resource_id,
                "resourcePath": route.resource_path,
                "stage": route.stage,
            },
            "body": payload,
            "isBase64Encoded": False,
        }
    lowered = {name.lower(): value for name, value in headers.items()}
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": path,
        "rawQueryString": "",
        "headers": lowered,
        "requestContext": {
            "accountId": caller.account_id,
            "apiId": route.api_id,
            "domainName": domain,
            "domainPrefix": route.api_id,
            "http": {
                "method": route.method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": SOURCE_IP,
                "userAgent": USER_AGENT,
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": route.route_key,
            "stage": route.stage,
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": False,
    }
    authorizer = _http_authorizer(route, caller)
    if authorizer is not None:
        event["requestContext"]["authorizer"] = authorizer
    if parameters:
        event["pathParameters"] = parameters
    if payload is not None:
        event["body"] = payload
    return event


def event_line(event: Mapping[str, Any]) -> str:
    """``METHOD /path`` of either payload format, for progress lines."""
    if event.get("version") == "2.0":
        return f"{event['requestContext']['http']['method']} {event['rawPath']}"
    return f"{event['httpMethod']} {event['path']}"


def _rest_routes(client: Any, api_id: str, function_arn: str) -> dict[str, DeployedRoute]:
    stages = [stage["stageName"] for stage in client.get_stages(restApiId=api_id)["item"]]
    if len(stages) != 1:
        raise ApiSmokeError(f"REST API {api_id} should have one stage, has {stages}")
    routes: dict[str, DeployedRoute] = {}
    for resource in client.get_resources(restApiId=api_id, limit=500)["items"]:
        for method in resource.get("resourceMethods") or {}:
            found = client.get_method(
                restApiId=api_id, resourceId=resource["id"], httpMethod=method
            )
            integration = found.get("methodIntegration") or client.get_integration(
                restApiId=api_id, resourceId=resource["id"], httpMethod=method
            )
            key = f"{method} {resource['path']}"
            preflight = None
            if method == "OPTIONS" and integration.get("type") == "MOCK":
                preflight = _mock_answer(key, integration)
            else:
                _expect_proxy(
                    key, integration.get("type"), integration.get("uri", ""), function_arn
                )
            routes[key] = DeployedRoute(
                variant="rest",
                api_id=api_id,
                stage=stages[0],
                method=method,
                resource_path=resource["path"],
                resource_id=resource["id"],
                authorization=found.get("authorizationType", "NONE"),
                preflight_headers=preflight,
            )
    return routes


def _mock_answer(key: str, integration: Mapping[str, Any]) -> dict[str, str]:
    """The static headers of a MOCK integration's 200 response (what a preflight gets)."""
    answer = (integration.get("integrationResponses") or {}).get("200")
    if answer is None:
        raise ApiSmokeError(f"route {key} is a MOCK integration with no 200 response")
    prefix = "method.response.header."
    return {
        name.removeprefix(prefix): value.strip("'")
        for name, value in (answer.get("responseParameters") or {}).items()
        if name.startswith(prefix)
    }


def _http_routes(client: Any, api_id: str, function_arn: str) -> dict[str, DeployedRoute]:
    stages = [stage["StageName"] for stage in client.get_stages(ApiId=api_id)["Items"]]
    if stages != [HTTP_STAGE]:
        raise ApiSmokeError(f"HTTP API {api_id} should have only the $default stage, has {stages}")
    routes: dict[str, DeployedRoute] = {}
    for route in client.get_routes(ApiId=api_id)["Items"]:
        key = route["RouteKey"]
        target = route.get("Target", "")
        if not target.startswith("integrations/"):
            raise ApiSmokeError(f"HTTP API route {key} has no integration target ({target!r})")
        integration = client.get_integration(
            ApiId=api_id, IntegrationId=target.removeprefix("integrations/")
        )
        _expect_proxy(
            key,
            integration.get("IntegrationType"),
            integration.get("IntegrationUri", ""),
            function_arn,
        )
        if integration.get("PayloadFormatVersion") != "2.0":
            raise ApiSmokeError(
                f"HTTP API route {key} sends payload format "
                f"{integration.get('PayloadFormatVersion')!r}, the handler expects 2.0"
            )
        issuer = None
        if route.get("AuthorizationType") == "JWT":
            authorizer = client.get_authorizer(ApiId=api_id, AuthorizerId=route["AuthorizerId"])
            issuer = authorizer.get("JwtConfiguration", {}).get("Issuer")
        method, _, path = key.partition(" ")
        routes[key] = DeployedRoute(
            variant="http",
            api_id=api_id,
            stage=HTTP_STAGE,
            method=method,
            resource_path=path,
            resource_id=route["RouteId"],
            authorization=route.get("AuthorizationType", "NONE"),
            jwt_issuer=issuer,
        )
    return routes


def _expect_proxy(key: str, kind: str | None, uri: str, function_arn: str) -> None:
    if kind != "AWS_PROXY" or function_arn not in uri:
        raise ApiSmokeError(
            f"route {key} is a {kind} integration with {uri!r}, not a Lambda proxy "
            f"integration of {function_arn}"
        )


def _route(routes: Mapping[str, DeployedRoute], method: str, path: str) -> DeployedRoute:
    key = f"{method} {path}"
    if key not in routes:
        raise ApiSmokeError(f"the deployed API has no route {key}; it has {sorted(routes)}")
    return routes[key]


def _rest_identity(route: DeployedRoute, caller: _Caller) -> dict[str, Any]:
    identity: dict[str, Any] = {"sourceIp": SOURCE_IP, "userAgent": USER_AGENT}
    if route.authorization == "AWS_IAM":
        identity.update(_iam_caller(caller))
    if caller.api_key_id is not None and route.method != "OPTIONS":
        identity["apiKeyId"] = caller.api_key_id
    return identity


def _http_authorizer(route: DeployedRoute, caller: _Caller) -> dict[str, Any] | None:
    if route.authorization == "AWS_IAM":
        return {"iam": {**_iam_caller(caller), "principalOrgId": None}}
    if route.authorization == "JWT":
        claims = {"sub": "api-smoke", "iss": route.jwt_issuer, "iat": int(time.time())}
        return {"jwt": {"claims": claims, "scopes": None}}
    return None


def _iam_caller(caller: _Caller) -> dict[str, str]:
    user_arn = f"arn:aws:iam::{caller.account_id}:user/api-smoke"
    return {
        "accessKey": EMULATOR_ENV["AWS_ACCESS_KEY_ID"],
        "accountId": caller.account_id,
        "caller": "AIDAAPISMOKE",
        "user": "AIDAAPISMOKE",
        "userArn": user_arn,
    }


def _path_parameters(template: str, path: str) -> dict[str, str]:
    names = template.split("/")
    values = path.split("/")
    if len(names) != len(values):
        raise ApiSmokeError(f"path {path} does not fit the route path {template}")
    return {
        name[1:-1]: value for name, value in zip(names, values, strict=True) if name.startswith("{")
    }


def _preflight(
    routes: Mapping[str, DeployedRoute], post: DeployedRoute, origin: str
) -> dict[str, Any]:
    """The deployed answer to a CORS preflight for POST from ``origin``; API Gateway gives it."""
    options = routes.get(f"OPTIONS {post.resource_path}")
    if options is None or options.preflight_headers is None:
        raise ApiSmokeError(
            f"OPTIONS {post.resource_path} is not answered by API Gateway (a MOCK integration)"
        )
    headers = dict(options.preflight_headers)
    allowed_methods = headers.get("Access-Control-Allow-Methods", "").split(",")
    if headers.get("Access-Control-Allow-Origin") not in (origin, "*") or "POST" not in (
        allowed_methods
    ):
        raise ApiSmokeError(f"the CORS preflight from {origin} would not be allowed: {headers}")
    print(f"rest OPTIONS {post.resource_path} -> 200 (MOCK)", flush=True)
    return {"status": 200, "headers": headers, "body": None}


def _parsed(raw: Any, what: str) -> dict[str, Any]:
    """The proxy response as status, headers and decoded JSON body."""
    if not isinstance(raw, dict) or "statusCode" not in raw:
        raise ApiSmokeError(f"{what}: the handler returned no proxy response: {raw!r}")
    headers = dict(raw.get("headers") or {})
    for name, values in (raw.get("multiValueHeaders") or {}).items():
        headers.setdefault(name, ",".join(values))
    text = raw.get("body") or ""
    try:
        body: Any = json.loads(text) if text else None
    except json.JSONDecodeError:
        body = text
    return {"request": what, "status": raw["statusCode"], "headers": headers, "body": body}


def _expect_status(
    response: Mapping[str, Any], status: int, variant: str, route: DeployedRoute
) -> None:
    if response["status"] != status:
        raise ApiSmokeError(
            f"{variant} {route.route_key} answered {response['status']}, expected {status}: "
            f"{response['body']}"
        )


def _output(outputs: Mapping[str, Any], name: str) -> str:
    value = outputs.get(name)
    if not isinstance(value, str) or not value:
        raise ApiSmokeError(
            f"stack output {name} is missing; is that API variant deployed in this environment?"
        )
    return value


def emulator_client(service: str, endpoint_url: str) -> Any:
    """A boto3 client for the emulator (apigateway and apigatewayv2 have no stubs: Any)."""
    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=endpoint_url,
        region_name=EMULATOR_ENV["AWS_DEFAULT_REGION"],
        aws_access_key_id=EMULATOR_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=EMULATOR_ENV["AWS_SECRET_ACCESS_KEY"],
    )

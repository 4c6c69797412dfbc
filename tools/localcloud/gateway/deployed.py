"""Deployed APIs as the gateway serves them, read back from the emulator's own API Gateway.

Nothing here comes from our synth output or stack outputs: the REST APIs (resources,
methods, integrations, request validators and models, usage plans and their keys, stages)
and HTTP APIs (routes, integrations, CORS configuration, stages) are whatever the emulator
holds, so the gateway serves exactly what Terraform deployed. The live resources are read,
not a stage's deployment snapshot (moto keeps none worth reading); call ``read_apis`` again
after a redeploy.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

ApiKind = Literal["rest", "http"]
# Authorization types the gateway enforces itself; any other one is reported, never verified.
NO_AUTHORIZATION = "NONE"
# An HTTP API's default stage is served at the API's base URL, without a stage segment.
HTTP_DEFAULT_STAGE = "$default"
# The catch-all route key of an HTTP API.
HTTP_DEFAULT_ROUTE = "$default"
# Lambda integrations name the function inside an invoke ARN:
# arn:aws:apigateway:<region>:lambda:path/2015-03-31/functions/<function arn>/invocations
_INVOKE_ARN = re.compile(
    r"^arn:[^:]+:apigateway:[^:]*:lambda:path/[^/]+/functions/(.+)/invocations$"
)
_FUNCTION_ARN = re.compile(r"^arn:[^:]+:lambda:[^:]*:\d{12}:function:.+$")
# How an integration response names a method response header it sets.
_RESPONSE_HEADER = "method.response.header."
# API Gateway's limit for integration timeouts when none is set (milliseconds).
DEFAULT_INTEGRATION_TIMEOUT_MS = 29_000


class DeployedApiError(RuntimeError):
    """The emulator holds an API the gateway cannot serve; the message names what and why."""


@dataclass(frozen=True, kw_only=True)
class MockResponse:
    """What a REST MOCK integration answers (often a CORS preflight): its default response."""

    status: int
    # Static header values of the integration response ('...' literals in responseParameters).
    headers: tuple[tuple[str, str], ...] = ()
    body: str = ""


@dataclass(frozen=True, kw_only=True)
class Integration:
    """Where a route sends its requests."""

    type: str
    # The function (ARN, with a version or alias when the URI names one) for Lambda proxies.
    function_arn: str | None
    payload_format_version: str
    timeout_ms: int = DEFAULT_INTEGRATION_TIMEOUT_MS
    mock_response: MockResponse | None = None

    @property
    def is_lambda_proxy(self) -> bool:
        return self.type == "AWS_PROXY" and self.function_arn is not None


@dataclass(frozen=True, kw_only=True)
class Route:
    """One method on one path template (REST) or one route key (HTTP API)."""

    method: str  # GET, POST, ..., ANY, or $default for the HTTP catch-all
    path: str  # /records/{id}, /{proxy+}; "" for the HTTP $default route
    resource_id: str  # the REST resource id, or the HTTP route id
    integration: Integration | None
    authorization: str = NO_AUTHORIZATION
    api_key_required: bool = False
    # REST request validation: what the method's validator checks, and against what.
    validate_parameters: bool = False
    validate_body: bool = False
    # method.request.<location>.<name> the method marks required: ("querystring", "limit").
    required_parameters: tuple[tuple[str, str], ...] = ()
    # JSON schema of the request model per content type, e.g. {"application/json": {...}}.
    body_models: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def route_key(self) -> str:
        if self.method == HTTP_DEFAULT_ROUTE:
            return HTTP_DEFAULT_ROUTE
        return f"{self.method} {self.path}"

    @property
    def verified_auth(self) -> bool:
        """True when the gateway can enforce this route's authorization as AWS would."""
        return self.authorization == NO_AUTHORIZATION


@dataclass(frozen=True, kw_only=True)
class Cors:
    """An HTTP API's CORS configuration (REST APIs answer CORS through their OPTIONS methods)."""

    allow_origins: tuple[str, ...] = ()
    allow_methods: tuple[str, ...] = ()
    allow_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    max_age: int | None = None
    allow_credentials: bool = False


@dataclass(frozen=True, kw_only=True)
class DeployedApi:
    """One stage of one API: what a single local port serves."""

    kind: ApiKind
    api_id: str
    name: str
    stage: str
    account_id: str
    region: str
    routes: tuple[Route, ...]
    cors: Cors | None = None
    # Values of the enabled API keys of the usage plans attached to this stage, with their ids.
    api_keys: Mapping[str, str] = field(default_factory=dict)
    stage_variables: Mapping[str, str] = field(default_factory=dict)
    # REST: request content types passed to the function base64-encoded.
    binary_media_types: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.kind} {self.name} ({self.api_id}) stage {self.stage}"

    @property
    def base_path(self) -> str:
        """The path prefix of this stage: /<stage> for REST and named HTTP stages, else ""."""
        if self.kind == "http" and self.stage == HTTP_DEFAULT_STAGE:
            return ""
        return f"/{self.stage}"


def function_arn_of(uri: str) -> str | None:
    """The Lambda function a proxy integration URI names (an invoke ARN or a function ARN)."""
    match = _INVOKE_ARN.match(uri)
    arn = match.group(1) if match else uri
    return arn if _FUNCTION_ARN.match(arn) else None


def read_apis(
    apigateway: Any, apigatewayv2: Any, *, account_id: str, region: str
) -> list[DeployedApi]:
    """Every stage of every REST and HTTP API in the emulator, REST first, in name order."""
    apis = [
        api
        for rest_api in _paged(apigateway.get_rest_apis, "items", "position", "position")
        for api in _rest_stages(apigateway, rest_api, account_id=account_id, region=region)
    ]
    apis += [
        api
        for http_api in _paged(apigatewayv2.get_apis, "Items", "NextToken", "NextToken")
        if http_api.get("ProtocolType", "HTTP") == "HTTP"
        for api in _http_stages(apigatewayv2, http_api, account_id=account_id, region=region)
    ]
    return sorted(apis, key=lambda api: (api.kind != "rest", api.name, api.stage))


def _paged(call: Any, items: str, token_in: str, token_out: str) -> Iterator[dict[str, Any]]:
    kwargs: dict[str, Any] = {}
    while True:
        page = call(**kwargs)
        yield from page.get(items) or []
        token = page.get(token_out)
        if not token:
            return
        kwargs = {token_in: token}


def _rest_stages(
    client: Any, rest_api: Mapping[str, Any], *, account_id: str, region: str
) -> list[DeployedApi]:
    api_id = rest_api["id"]
    stages = client.get_stages(restApiId=api_id).get("item") or []
    if not stages:
        return []
    routes = tuple(_rest_routes(client, api_id))
    keys = _rest_api_keys(client, api_id)
    return [
        DeployedApi(
            kind="rest",
            api_id=api_id,
            name=rest_api.get("name", api_id),
            stage=stage["stageName"],
            account_id=account_id,
            region=region,
            routes=routes,
            api_keys=keys.get(stage["stageName"], {}),
            stage_variables=dict(stage.get("variables") or {}),
            binary_media_types=tuple(rest_api.get("binaryMediaTypes") or ()),
        )
        for stage in stages
    ]


def _rest_routes(client: Any, api_id: str) -> Iterator[Route]:
    validators = {
        validator["id"]: validator
        for validator in client.get_request_validators(restApiId=api_id).get("items") or []
    }
    models: dict[str, Mapping[str, Any]] = {}

    def model(name: str) -> Mapping[str, Any]:
        if name not in models:
            schema = client.get_model(restApiId=api_id, modelName=name).get("schema") or "{}"
            models[name] = json.loads(schema)
        return models[name]

    resources = _paged(
        lambda **kw: client.get_resources(restApiId=api_id, limit=500, **kw),
        "items",
        "position",
        "position",
    )
    for resource in resources:
        for http_method in resource.get("resourceMethods") or {}:
            method = client.get_method(
                restApiId=api_id, resourceId=resource["id"], httpMethod=http_method
            )
            validator = validators.get(method.get("requestValidatorId") or "", {})
            required = tuple(
                (parts[2], ".".join(parts[3:]))
                for name, is_required in (method.get("requestParameters") or {}).items()
                if is_required and len(parts := name.split(".")) >= 4
            )
            yield Route(
                method=http_method,
                path=resource["path"],
                resource_id=resource["id"],
                integration=_rest_integration(method.get("methodIntegration")),
                authorization=method.get("authorizationType") or NO_AUTHORIZATION,
                api_key_required=bool(method.get("apiKeyRequired")),
                validate_parameters=bool(validator.get("validateRequestParameters")),
                validate_body=bool(validator.get("validateRequestBody")),
                required_parameters=required,
                body_models={
                    content_type: model(name)
                    for content_type, name in (method.get("requestModels") or {}).items()
                },
            )


def _rest_integration(found: Mapping[str, Any] | None) -> Integration | None:
    if not found:
        return None
    timeout = found.get("timeoutInMillis") or DEFAULT_INTEGRATION_TIMEOUT_MS
    return Integration(
        type=found.get("type", ""),
        function_arn=function_arn_of(found.get("uri") or ""),
        payload_format_version="1.0",
        timeout_ms=int(timeout),
        mock_response=_mock_response(found) if found.get("type") == "MOCK" else None,
    )


def _mock_response(integration: Mapping[str, Any]) -> MockResponse | None:
    """The default integration response (no selection pattern) with its static parts only.

    Mapping templates (VTL) are not evaluated: a template using $ or # gives an empty body.
    """
    responses = integration.get("integrationResponses") or {}
    default = next(
        (found for found in responses.values() if not found.get("selectionPattern")), None
    )
    if default is None:
        return None
    headers = tuple(
        (name.removeprefix(_RESPONSE_HEADER), value[1:-1])
        for name, value in (default.get("responseParameters") or {}).items()
        if name.startswith(_RESPONSE_HEADER) and len(value) >= 2 and value[0] == value[-1] == "'"
    )
    template = (default.get("responseTemplates") or {}).get("application/json") or ""
    return MockResponse(
        status=int(default.get("statusCode") or 200),
        headers=headers,
        body="" if "$" in template or "#" in template else template,
    )


def _rest_api_keys(client: Any, api_id: str) -> dict[str, dict[str, str]]:
    """Per stage of the API: the value -> id of each enabled key of the plans attached to it."""
    keys: dict[str, dict[str, str]] = {}
    for plan in _paged(client.get_usage_plans, "items", "position", "position"):
        stages = [
            stage["stage"]
            for stage in plan.get("apiStages") or []
            if stage.get("apiId") == api_id and stage.get("stage")
        ]
        if not stages:
            continue
        for plan_key in client.get_usage_plan_keys(usagePlanId=plan["id"]).get("items") or []:
            key = client.get_api_key(apiKey=plan_key["id"], includeValue=True)
            if not key.get("enabled") or not key.get("value"):
                continue
            for stage in stages:
                keys.setdefault(stage, {})[key["value"]] = key["id"]
    return keys


def _http_stages(
    client: Any, http_api: Mapping[str, Any], *, account_id: str, region: str
) -> list[DeployedApi]:
    api_id = http_api["ApiId"]
    stages = client.get_stages(ApiId=api_id).get("Items") or []
    if not stages:
        return []
    integrations: dict[str, Integration] = {}
    routes = []
    for route in client.get_routes(ApiId=api_id).get("Items") or []:
        target = route.get("Target") or ""
        integration = None
        if target.startswith("integrations/"):
            integration_id = target.removeprefix("integrations/")
            if integration_id not in integrations:
                found = client.get_integration(ApiId=api_id, IntegrationId=integration_id)
                integrations[integration_id] = Integration(
                    type=found.get("IntegrationType", ""),
                    function_arn=function_arn_of(found.get("IntegrationUri") or ""),
                    payload_format_version=found.get("PayloadFormatVersion") or "1.0",
                    timeout_ms=int(found.get("TimeoutInMillis") or DEFAULT_INTEGRATION_TIMEOUT_MS),
                )
            integration = integrations[integration_id]
        key = route["RouteKey"]
        method, _, path = key.partition(" ")
        routes.append(
            Route(
                method=method,
                path=path,
                resource_id=route["RouteId"],
                integration=integration,
                authorization=route.get("AuthorizationType") or NO_AUTHORIZATION,
                api_key_required=bool(route.get("ApiKeyRequired")),
            )
        )
    configured = http_api.get("CorsConfiguration")
    cors = (
        Cors(
            allow_origins=tuple(configured.get("AllowOrigins") or ()),
            allow_methods=tuple(configured.get("AllowMethods") or ()),
            allow_headers=tuple(configured.get("AllowHeaders") or ()),
            expose_headers=tuple(configured.get("ExposeHeaders") or ()),
            max_age=configured.get("MaxAge"),
            allow_credentials=bool(configured.get("AllowCredentials")),
        )
        if configured
        else None
    )
    return [
        DeployedApi(
            kind="http",
            api_id=api_id,
            name=http_api.get("Name", api_id),
            stage=stage["StageName"],
            account_id=account_id,
            region=region,
            routes=tuple(routes),
            cors=cors,
            stage_variables=dict(stage.get("StageVariables") or {}),
        )
        for stage in stages
    ]

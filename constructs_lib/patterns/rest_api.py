"""A regional REST API in front of one Lambda function: authenticated, validated, throttled,
logged and traced.

Every route is a Lambda proxy integration. Each path also gets an unauthenticated OPTIONS
method (browsers never send credentials on a preflight) that API Gateway answers itself
through a MOCK integration: a flood of preflights costs no Lambda invocation and none of the
function's reserved concurrency. The deployment is replaced, create-before-destroy, whenever
a method or integration changes.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from cdktf import Fn, TerraformResourceLifecycle
from cdktf_cdktf_provider_aws.api_gateway_api_key import ApiGatewayApiKey
from cdktf_cdktf_provider_aws.api_gateway_deployment import ApiGatewayDeployment
from cdktf_cdktf_provider_aws.api_gateway_integration import ApiGatewayIntegration
from cdktf_cdktf_provider_aws.api_gateway_integration_response import (
    ApiGatewayIntegrationResponse,
)
from cdktf_cdktf_provider_aws.api_gateway_method import ApiGatewayMethod
from cdktf_cdktf_provider_aws.api_gateway_method_response import ApiGatewayMethodResponse
from cdktf_cdktf_provider_aws.api_gateway_method_settings import (
    ApiGatewayMethodSettings,
    ApiGatewayMethodSettingsSettings,
)
from cdktf_cdktf_provider_aws.api_gateway_model import ApiGatewayModel
from cdktf_cdktf_provider_aws.api_gateway_request_validator import ApiGatewayRequestValidator
from cdktf_cdktf_provider_aws.api_gateway_resource import ApiGatewayResource
from cdktf_cdktf_provider_aws.api_gateway_rest_api import (
    ApiGatewayRestApi,
    ApiGatewayRestApiEndpointConfiguration,
)
from cdktf_cdktf_provider_aws.api_gateway_stage import (
    ApiGatewayStage,
    ApiGatewayStageAccessLogSettings,
)
from cdktf_cdktf_provider_aws.api_gateway_usage_plan import (
    ApiGatewayUsagePlan,
    ApiGatewayUsagePlanApiStages,
    ApiGatewayUsagePlanQuotaSettings,
    ApiGatewayUsagePlanThrottleSettings,
)
from cdktf_cdktf_provider_aws.api_gateway_usage_plan_key import ApiGatewayUsagePlanKey
from cdktf_cdktf_provider_aws.lambda_permission import LambdaPermission
from cdktf_cdktf_provider_aws.wafv2_web_acl_association import Wafv2WebAclAssociation
from constructs import Construct
from pipeline_common.api_contract import CORS_ALLOWED_HEADERS, CORS_MAX_AGE_SECONDS

from constructs_lib.aws_limits import check_log_retention
from constructs_lib.base.log_groups import encrypted_log_group
from constructs_lib.base.python_function import PythonFunction
from constructs_lib.checkov_suppression import skip_check
from constructs_lib.patterns.api_routes import (
    API_AUTH_MODES,
    WILDCARD_ORIGIN,
    ApiAuth,
    ApiRoute,
    arn_path,
    check_origins,
    check_routes,
    path_parameters,
    path_slug,
)
from constructs_lib.specs import QuotaSettings, ThrottleSettings

# One JSON object per request, so log queries can filter on any field.
ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "caller": "$context.identity.caller",
        "user": "$context.identity.user",
        "requestTime": "$context.requestTime",
        "httpMethod": "$context.httpMethod",
        "resourcePath": "$context.resourcePath",
        "status": "$context.status",
        "protocol": "$context.protocol",
        "responseLength": "$context.responseLength",
        "apiKeyId": "$context.identity.apiKeyId",
        "integrationLatency": "$context.integrationLatency",
        "xrayTraceId": "$context.xrayTraceId",
        "errorMessage": "$context.error.message",
    },
    separators=(",", ":"),
)
# ERROR execution logs show failures without logging every request; INFO is for debugging.
DEFAULT_LOGGING_LEVEL: Literal["ERROR", "INFO"] = "ERROR"
# The most API Gateway waits for a Lambda integration (milliseconds).
INTEGRATION_TIMEOUT_MS = 29_000
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH"})
PREFLIGHT_METHOD = "OPTIONS"
_RESPONSE_HEADER = "method.response.header."
# The model of write_body_schema (named before models took their name from the schema).
_DEFAULT_MODEL_NAME = "RecordInput"
# API Gateway model names: letters and digits.
_MODEL_NAME = re.compile(r"^[A-Za-z0-9]{1,128}$")


@dataclass(frozen=True, kw_only=True)
class RestApiProps:
    # Physical name of the API; log groups and the usage plan derive from it.
    name: str
    stage_name: str
    # The function every route proxies to.
    function: PythonFunction
    # Callers authenticate with an API key (usage plan with quota) or SigV4 (IAM).
    auth: ApiAuth
    throttle: ThrottleSettings
    # Per API key; required when auth is "api_key", unused otherwise.
    quota: QuotaSettings | None = None
    # GET routes skip authentication. Only ever set from an explicit environment choice.
    open_read_access: bool = False
    log_retention_days: int
    # Encrypts the access and execution log groups.
    kms_key_arn: str
    routes: Sequence[ApiRoute]
    # JSON Schema (draft 4) that API Gateway checks on POST, PUT and PATCH bodies.
    write_body_schema: Mapping[str, Any]
    logging_level: Literal["ERROR", "INFO"] = DEFAULT_LOGGING_LEVEL
    xray_tracing: bool = True
    # A WAFv2 web ACL for the stage; otherwise say why there is none.
    web_acl_arn: str | None = None
    no_web_acl_reason: str | None = None
    # Browser origins the OPTIONS preflight answers (API Gateway answers, not the function).
    cors_allowed_origins: Sequence[str]
    # Write routes whose body has a model of its own ("POST /process" -> schema); the schema's
    # "title" names the model. Other write routes use write_body_schema.
    body_schemas: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 1 <= len(self.name) <= 1024:
            raise ValueError(f"name must be 1-1024 characters, got {self.name!r}")
        if not self.stage_name or not all(c.isalnum() or c in "-_" for c in self.stage_name):
            raise ValueError(f"stage_name must be letters, digits, - or _, got {self.stage_name!r}")
        check_routes("routes", self.routes)
        if self.auth not in API_AUTH_MODES:
            raise ValueError(f"auth must be 'api_key' or 'iam', got {self.auth!r}")
        self.throttle.validate("throttle")
        if self.auth == "api_key":
            if self.quota is None:
                raise ValueError("quota is required when auth is 'api_key'")
            self.quota.validate("quota")
        elif self.quota is not None:
            raise ValueError("quota applies only when auth is 'api_key'; leave it unset")
        check_log_retention("log_retention_days", self.log_retention_days)
        if self.logging_level not in ("ERROR", "INFO"):
            raise ValueError(f"logging_level must be 'ERROR' or 'INFO', got {self.logging_level!r}")
        if (self.web_acl_arn is None) == (self.no_web_acl_reason is None):
            raise ValueError("set exactly one of web_acl_arn and no_web_acl_reason")
        check_origins("cors_allowed_origins", self.cors_allowed_origins, allow_wildcard=True)
        write_routes = {route.route_key for route in self.routes if route.method in WRITE_METHODS}
        titles = [str(self.write_body_schema.get("title", _DEFAULT_MODEL_NAME))]
        for route_key, schema in self.body_schemas.items():
            if route_key not in write_routes:
                raise ValueError(
                    f"body_schemas names {route_key!r}, which is not a POST, PUT or PATCH route "
                    "in routes"
                )
            title = schema.get("title")
            if not isinstance(title, str) or not _MODEL_NAME.fullmatch(title):
                raise ValueError(
                    f'body_schemas[{route_key!r}] needs a "title" of letters and digits to '
                    f"name its model, got {title!r}"
                )
            if title in titles:
                raise ValueError(f"body_schemas[{route_key!r}]: model name {title!r} is taken")
            titles.append(title)


@dataclass(frozen=True)
class _MethodSpec:
    """What one method is, known at synth time; part of the redeployment hash."""

    method: str
    path: str
    authorization: str
    api_key_required: bool
    validator: Literal["parameters", "body"]
    public_reason: str | None = None
    # "mock": API Gateway answers (the CORS preflight); "lambda": the function does.
    integration: Literal["lambda", "mock"] = "lambda"


class RestApi(Construct):
    """REST API, its stage, logging, throttling, auth and the Lambda permissions it needs."""

    def __init__(self, scope: Construct, construct_id: str, *, props: RestApiProps) -> None:
        super().__init__(scope, construct_id)
        self.props = props
        self.api = ApiGatewayRestApi(
            self,
            "api",
            name=props.name,
            description=f"{props.name} records API",
            endpoint_configuration=ApiGatewayRestApiEndpointConfiguration(types=["REGIONAL"]),
            # Keeps the API serving while a replacement is created.
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
        )
        self.validators = {
            "parameters": ApiGatewayRequestValidator(
                self,
                "validate-parameters",
                rest_api_id=self.api.id,
                name="parameters",
                validate_request_parameters=True,
                validate_request_body=False,
            ),
            "body": ApiGatewayRequestValidator(
                self,
                "validate-body",
                rest_api_id=self.api.id,
                name="body-and-parameters",
                validate_request_parameters=True,
                validate_request_body=True,
            ),
        }
        self.write_model = ApiGatewayModel(
            self,
            "write-model",
            rest_api_id=self.api.id,
            name=_DEFAULT_MODEL_NAME,
            content_type="application/json",
            schema=json.dumps(dict(props.write_body_schema), sort_keys=True),
        )
        # Added after write-model, so existing addresses and the default model stay as they were.
        self.route_models = {
            route_key: ApiGatewayModel(
                self,
                f"model-{route_key.split(' ')[0].lower()}-{path_slug(route_key.split(' ')[1])}",
                rest_api_id=self.api.id,
                name=str(schema["title"]),
                content_type="application/json",
                schema=json.dumps(dict(schema), sort_keys=True),
            )
            for route_key, schema in props.body_schemas.items()
        }
        self.resources = self._resources(props.routes)
        self.methods: dict[str, ApiGatewayMethod] = {}
        self.integrations: dict[str, ApiGatewayIntegration] = {}
        self.permissions: dict[str, LambdaPermission] = {}
        # Only for the MOCK preflights: their fixed 200 answer.
        self.method_responses: dict[str, ApiGatewayMethodResponse] = {}
        self.integration_responses: dict[str, ApiGatewayIntegrationResponse] = {}
        specs = self._method_specs(props)
        for spec in specs:
            self._method(spec)
        self.deployment = ApiGatewayDeployment(
            self,
            "deployment",
            rest_api_id=self.api.id,
            description=f"{props.name} routes",
            triggers={"redeployment": Fn.sha1(Fn.jsonencode(self._redeployment_inputs(specs)))},
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
        )
        self.access_log_group = encrypted_log_group(
            self,
            "access-logs",
            name=f"/aws/apigateway/{props.name}/{props.stage_name}/access",
            retention_days=props.log_retention_days,
            kms_key_arn=props.kms_key_arn,
        )
        # API Gateway creates this name itself on first use, with no retention; own it first.
        self.execution_log_group = encrypted_log_group(
            self,
            "execution-logs",
            name=f"API-Gateway-Execution-Logs_{self.api.id}/{props.stage_name}",
            retention_days=props.log_retention_days,
            kms_key_arn=props.kms_key_arn,
        )
        self.stage = ApiGatewayStage(
            self,
            "stage",
            rest_api_id=self.api.id,
            stage_name=props.stage_name,
            deployment_id=self.deployment.id,
            xray_tracing_enabled=props.xray_tracing,
            access_log_settings=ApiGatewayStageAccessLogSettings(
                destination_arn=self.access_log_group.arn, format=ACCESS_LOG_FORMAT
            ),
            # Execution logs need the account's CloudWatch role, which is account- and
            # region-wide and set once by the bootstrap stack (ApiGatewayAccountLogging).
        )
        self.method_settings = ApiGatewayMethodSettings(
            self,
            "method-settings",
            rest_api_id=self.api.id,
            stage_name=self.stage.stage_name,
            method_path="*/*",
            settings=ApiGatewayMethodSettingsSettings(
                metrics_enabled=True,
                logging_level=props.logging_level,
                # Full request and response bodies in logs would copy record data out.
                data_trace_enabled=False,
                throttling_rate_limit=props.throttle.rate_limit,
                throttling_burst_limit=props.throttle.burst_limit,
                cache_data_encrypted=True,
            ),
            depends_on=[self.execution_log_group],
        )
        self._suppress_stage_checks(props)
        self.api_key: ApiGatewayApiKey | None = None
        self.usage_plan: ApiGatewayUsagePlan | None = None
        if props.auth == "api_key" and props.quota is not None:
            self._usage_plan(props, props.quota)

    @property
    def url(self) -> str:
        return self.stage.invoke_url

    def _resources(self, routes: Sequence[ApiRoute]) -> dict[str, ApiGatewayResource]:
        resources: dict[str, ApiGatewayResource] = {}
        for route in routes:
            parent_path = ""
            for segment in route.path.split("/")[1:]:
                path = f"{parent_path}/{segment}"
                if path not in resources:
                    resources[path] = ApiGatewayResource(
                        self,
                        f"resource-{path_slug(path)}",
                        rest_api_id=self.api.id,
                        parent_id=resources[parent_path].id
                        if parent_path
                        else self.api.root_resource_id,
                        path_part=segment,
                    )
                parent_path = path
        return resources

    @staticmethod
    def _method_specs(props: RestApiProps) -> list[_MethodSpec]:
        specs = []
        for route in props.routes:
            validator: Literal["parameters", "body"] = (
                "body" if route.method in WRITE_METHODS else "parameters"
            )
            if props.open_read_access and route.is_read:
                specs.append(
                    _MethodSpec(
                        method=route.method,
                        path=route.path,
                        authorization="NONE",
                        api_key_required=False,
                        validator=validator,
                        public_reason=(
                            "open_read_access is set for this environment: read-only GET "
                            "routes are public by explicit choice, still throttled per stage."
                        ),
                    )
                )
            else:
                specs.append(
                    _MethodSpec(
                        method=route.method,
                        path=route.path,
                        authorization="AWS_IAM" if props.auth == "iam" else "NONE",
                        api_key_required=props.auth == "api_key",
                        validator=validator,
                    )
                )
        for path in dict.fromkeys(route.path for route in props.routes):
            specs.append(
                _MethodSpec(
                    method=PREFLIGHT_METHOD,
                    path=path,
                    authorization="NONE",
                    api_key_required=False,
                    validator="parameters",
                    integration="mock",
                )
            )
        return specs

    def _method(self, spec: _MethodSpec) -> None:
        props = self.props
        key = f"{spec.method} {spec.path}"
        name = f"{spec.method.lower()}-{path_slug(spec.path)}"
        resource = self.resources[spec.path]
        method = ApiGatewayMethod(
            self,
            f"method-{name}",
            rest_api_id=self.api.id,
            resource_id=resource.id,
            http_method=spec.method,
            authorization=spec.authorization,
            api_key_required=spec.api_key_required,
            request_validator_id=self.validators[spec.validator].id,
            request_parameters={
                f"method.request.path.{parameter}": True for parameter in path_parameters(spec.path)
            }
            or None,
            request_models={"application/json": self._body_model(key).name}
            if spec.validator == "body"
            else None,
        )
        if spec.public_reason is not None:
            skip_check(method, "CKV_AWS_59", spec.public_reason)
        self.methods[key] = method
        if spec.integration == "mock":
            self._preflight(name, key, method, spec.path)
            return
        self.integrations[key] = ApiGatewayIntegration(
            self,
            f"integration-{name}",
            rest_api_id=self.api.id,
            resource_id=resource.id,
            http_method=method.http_method,
            type="AWS_PROXY",
            # Lambda is always invoked with POST, whatever the client's method.
            integration_http_method="POST",
            uri=props.function.invoke_arn,
            timeout_milliseconds=INTEGRATION_TIMEOUT_MS,
        )
        self.permissions[key] = LambdaPermission(
            self,
            f"permission-{name}",
            statement_id=f"{props.name}-{props.stage_name}-{name}"[:100],
            action="lambda:InvokeFunction",
            function_name=props.function.function_name,
            qualifier=props.function.qualifier,
            principal="apigateway.amazonaws.com",
            source_arn=(
                f"{self.api.execution_arn}/{props.stage_name}/{spec.method}{arn_path(spec.path)}"
            ),
        )

    def _body_model(self, route_key: str) -> ApiGatewayModel:
        return self.route_models.get(route_key, self.write_model)

    def _preflight(self, name: str, key: str, method: ApiGatewayMethod, path: str) -> None:
        """OPTIONS answered by API Gateway: 200 with the CORS headers, no Lambda invocation."""
        resource = self.resources[path]
        self.integrations[key] = ApiGatewayIntegration(
            self,
            f"integration-{name}",
            rest_api_id=self.api.id,
            resource_id=resource.id,
            http_method=method.http_method,
            type="MOCK",
            request_templates={"application/json": '{"statusCode": 200}'},
            timeout_milliseconds=INTEGRATION_TIMEOUT_MS,
        )
        headers = preflight_headers(self.props.routes, path, self.props.cors_allowed_origins)
        self.method_responses[key] = ApiGatewayMethodResponse(
            self,
            f"method-response-{name}",
            rest_api_id=self.api.id,
            resource_id=resource.id,
            http_method=method.http_method,
            status_code="200",
            response_parameters={f"{_RESPONSE_HEADER}{header}": True for header in headers},
        )
        template = preflight_origin_template(self.props.cors_allowed_origins)
        self.integration_responses[key] = ApiGatewayIntegrationResponse(
            self,
            f"integration-response-{name}",
            rest_api_id=self.api.id,
            resource_id=resource.id,
            http_method=method.http_method,
            status_code=self.method_responses[key].status_code,
            response_parameters={
                f"{_RESPONSE_HEADER}{header}": f"'{value}'" for header, value in headers.items()
            },
            response_templates={"application/json": template} if template else None,
            depends_on=[self.integrations[key]],
        )

    def _redeployment_inputs(self, specs: Sequence[_MethodSpec]) -> list[str]:
        """Ids change when a resource is replaced; the specs and URIs change in place."""
        # Hashed here: cdktf does not escape quotes in string literals inside Fn calls.
        synth_time = json.dumps(
            [
                [asdict(spec) for spec in specs],
                dict(self.props.write_body_schema),
                list(self.props.cors_allowed_origins),
                *(
                    [{k: dict(v) for k, v in self.props.body_schemas.items()}]
                    if self.props.body_schemas
                    else []
                ),
            ],
            sort_keys=True,
        )
        inputs = [hashlib.sha256(synth_time.encode()).hexdigest()]
        inputs += [resource.id for resource in self.resources.values()]
        inputs += [validator.id for validator in self.validators.values()]
        inputs.append(self.write_model.id)
        inputs += [model.id for model in self.route_models.values()]
        for key, method in self.methods.items():
            integration = self.integrations[key]
            inputs += [method.id, integration.id]
            if key in self.integration_responses:
                inputs.append(self.integration_responses[key].id)
            else:
                inputs.append(integration.uri)
        return inputs

    def _usage_plan(self, props: RestApiProps, quota: QuotaSettings) -> None:
        # The key's value is generated by API Gateway and stays in state, never in outputs.
        self.api_key = ApiGatewayApiKey(
            self,
            "api-key",
            name=f"{props.name}-default",
            description=f"Default client key for {props.name}",
            enabled=True,
        )
        self.usage_plan = ApiGatewayUsagePlan(
            self,
            "usage-plan",
            name=f"{props.name}-default",
            description=f"Throttle and quota for each {props.name} API key",
            api_stages=[
                ApiGatewayUsagePlanApiStages(api_id=self.api.id, stage=self.stage.stage_name)
            ],
            throttle_settings=ApiGatewayUsagePlanThrottleSettings(
                rate_limit=props.throttle.rate_limit, burst_limit=props.throttle.burst_limit
            ),
            quota_settings=ApiGatewayUsagePlanQuotaSettings(limit=quota.limit, period=quota.period),
        )
        ApiGatewayUsagePlanKey(
            self,
            "usage-plan-key",
            key_id=self.api_key.id,
            key_type="API_KEY",
            usage_plan_id=self.usage_plan.id,
        )

    def _suppress_stage_checks(self, props: RestApiProps) -> None:
        skip_check(
            self.stage,
            "CKV2_AWS_51",
            "A client certificate authenticates API Gateway to an HTTP backend; the only "
            "backend here is a Lambda proxy integration, invoked through IAM.",
        )
        cache_reason = (
            "Responses are not cached: a record written by POST must be readable at once, and "
            "a per-stage cache would serve stale lists and bill per hour."
        )
        skip_check(self.stage, "CKV_AWS_120", cache_reason)
        skip_check(self.method_settings, "CKV_AWS_225", cache_reason)
        if props.web_acl_arn is not None:
            self.web_acl_association: Wafv2WebAclAssociation | None = Wafv2WebAclAssociation(
                self, "web-acl", resource_arn=self.stage.arn, web_acl_arn=props.web_acl_arn
            )
        else:
            self.web_acl_association = None
            skip_check(self.stage, "CKV2_AWS_29", props.no_web_acl_reason or "")


def preflight_headers(
    routes: Sequence[ApiRoute], path: str, origins: Sequence[str]
) -> dict[str, str]:
    """The CORS headers a preflight on ``path`` answers, as static values.

    With several origins the static Allow-Origin is the first; the response template echoes
    the caller's origin instead when it is another allowed one.
    """
    methods = sorted({route.method for route in routes if route.path == path} | {PREFLIGHT_METHOD})
    return {
        "Access-Control-Allow-Origin": origins[0] if origins else WILDCARD_ORIGIN,
        "Access-Control-Allow-Methods": ",".join(methods),
        "Access-Control-Allow-Headers": ",".join(CORS_ALLOWED_HEADERS),
        "Access-Control-Max-Age": str(CORS_MAX_AGE_SECONDS),
        "Vary": "Origin",
    }


def preflight_origin_template(origins: Sequence[str]) -> str | None:
    """VTL that answers an allowed Origin with itself; None when a static value suffices."""
    if len(origins) < 2:
        return None
    allowed = " || ".join(f'$origin == "{origin}"' for origin in origins)
    return (
        '#set($origin = $input.params().header.get("Origin"))\n'
        f"#if({allowed})\n"
        "#set($context.responseOverride.header.Access-Control-Allow-Origin = $origin)\n"
        "#end\n"
    )

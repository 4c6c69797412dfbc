"""An HTTP API (API Gateway v2) in front of one Lambda function: CORS, auth, throttling, logs.

API Gateway answers CORS preflights itself from ``cors_configuration``. Every route is a
Lambda proxy integration with payload format 2.0 and needs a JWT (when an issuer is
configured) or SigV4 (IAM); only ``open_read_access`` leaves GET routes public. HTTP APIs
support neither X-Ray tracing nor request validation: the function traces (active tracing)
and validates each request itself.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from cdktf_cdktf_provider_aws.apigatewayv2_api import (
    Apigatewayv2Api,
    Apigatewayv2ApiCorsConfiguration,
)
from cdktf_cdktf_provider_aws.apigatewayv2_authorizer import (
    Apigatewayv2Authorizer,
    Apigatewayv2AuthorizerJwtConfiguration,
)
from cdktf_cdktf_provider_aws.apigatewayv2_integration import Apigatewayv2Integration
from cdktf_cdktf_provider_aws.apigatewayv2_route import Apigatewayv2Route
from cdktf_cdktf_provider_aws.apigatewayv2_stage import (
    Apigatewayv2Stage,
    Apigatewayv2StageAccessLogSettings,
    Apigatewayv2StageDefaultRouteSettings,
)
from cdktf_cdktf_provider_aws.lambda_permission import LambdaPermission
from constructs import Construct

from constructs_lib.aws_limits import check_log_retention
from constructs_lib.base.log_groups import encrypted_log_group
from constructs_lib.base.python_function import PythonFunction
from constructs_lib.checkov_suppression import skip_check
from constructs_lib.patterns.api_routes import ApiRoute, check_origins, check_routes, path_slug
from constructs_lib.specs import ThrottleSettings

# The auto-deployed stage served at the API's base URL, with no stage name in the path.
DEFAULT_STAGE_NAME = "$default"
# One JSON object per request, so log queries can filter on any field.
ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "caller": "$context.identity.caller",
        "user": "$context.identity.user",
        "requestTime": "$context.requestTime",
        "httpMethod": "$context.httpMethod",
        "routeKey": "$context.routeKey",
        "resourcePath": "$context.path",
        "status": "$context.status",
        "protocol": "$context.protocol",
        "responseLength": "$context.responseLength",
        "integrationLatency": "$context.integrationLatency",
        "authorizerError": "$context.authorizer.error",
        "errorMessage": "$context.error.message",
    },
    separators=(",", ":"),
)
# Headers a browser may send: JSON bodies plus what JWT and SigV4 callers need.
DEFAULT_CORS_ALLOW_HEADERS = (
    "authorization",
    "content-type",
    "x-amz-date",
    "x-amz-security-token",
)
# Browsers cache a preflight answer this long (seconds); shorter means more OPTIONS trips.
DEFAULT_CORS_MAX_AGE_SECONDS = 300
# The most an HTTP API waits for a Lambda integration (milliseconds).
INTEGRATION_TIMEOUT_MS = 30_000
# The route that catches every request no other route matches.
CATCH_ALL_ROUTE_KEY = "$default"
# Where the JWT authorizer finds the bearer token.
JWT_IDENTITY_SOURCE = "$request.header.Authorization"


@dataclass(frozen=True, kw_only=True)
class HttpApiProps:
    # Physical name of the API; the log group derives from it.
    name: str
    # The function every route proxies to.
    function: PythonFunction
    # Browser origins allowed by CORS; '*' (alone) allows any site.
    cors_allowed_origins: Sequence[str]
    throttle: ThrottleSettings
    log_retention_days: int
    # Encrypts the access log group.
    kms_key_arn: str
    routes: Sequence[ApiRoute]
    # With an issuer, routes need a JWT from it; without one they need SigV4 (AWS_IAM).
    jwt_issuer: str | None = None
    jwt_audience: Sequence[str] = ()
    # GET routes skip authentication. Only ever set from an explicit environment choice.
    open_read_access: bool = False
    cors_allow_headers: Sequence[str] = DEFAULT_CORS_ALLOW_HEADERS
    cors_max_age_seconds: int = DEFAULT_CORS_MAX_AGE_SECONDS
    # A $default route sending any other method and path to the function, authenticated like
    # every write route (open_read_access never opens it: it matches every method).
    catch_all: bool = False

    def __post_init__(self) -> None:
        if not 1 <= len(self.name) <= 128:
            raise ValueError(f"name must be 1-128 characters, got {self.name!r}")
        check_routes("routes", self.routes)
        check_origins("cors_allowed_origins", self.cors_allowed_origins, allow_wildcard=True)
        self.throttle.validate("throttle")
        check_log_retention("log_retention_days", self.log_retention_days)
        if self.jwt_issuer is None and self.jwt_audience:
            raise ValueError("jwt_audience needs jwt_issuer")
        if self.jwt_issuer is not None:
            if not self.jwt_issuer.startswith("https://"):
                raise ValueError(f"jwt_issuer must be an https:// URL, got {self.jwt_issuer!r}")
            if isinstance(self.jwt_audience, str) or not self.jwt_audience:
                raise ValueError("jwt_audience must list at least one audience")
        if not 0 <= self.cors_max_age_seconds <= 86_400:
            raise ValueError(
                f"cors_max_age_seconds must be from 0 to 86400, got {self.cors_max_age_seconds}"
            )

    @property
    def authorization_type(self) -> str:
        return "JWT" if self.jwt_issuer is not None else "AWS_IAM"


class HttpApi(Construct):
    """HTTP API, its auto-deployed $default stage, routes and scoped Lambda permissions."""

    def __init__(self, scope: Construct, construct_id: str, *, props: HttpApiProps) -> None:
        super().__init__(scope, construct_id)
        self.props = props
        methods = sorted({route.method for route in props.routes} | {"OPTIONS"})
        self.api = Apigatewayv2Api(
            self,
            "api",
            name=props.name,
            description=f"{props.name} records API",
            protocol_type="HTTP",
            cors_configuration=Apigatewayv2ApiCorsConfiguration(
                allow_origins=list(props.cors_allowed_origins),
                allow_methods=methods,
                allow_headers=list(props.cors_allow_headers),
                max_age=props.cors_max_age_seconds,
            ),
        )
        self.integration = Apigatewayv2Integration(
            self,
            "integration",
            api_id=self.api.id,
            integration_type="AWS_PROXY",
            integration_method="POST",
            integration_uri=props.function.invoke_arn,
            payload_format_version="2.0",
            timeout_milliseconds=INTEGRATION_TIMEOUT_MS,
        )
        self.authorizer: Apigatewayv2Authorizer | None = None
        if props.jwt_issuer is not None:
            self.authorizer = Apigatewayv2Authorizer(
                self,
                "jwt-authorizer",
                api_id=self.api.id,
                name=f"{props.name}-jwt",
                authorizer_type="JWT",
                identity_sources=[JWT_IDENTITY_SOURCE],
                jwt_configuration=Apigatewayv2AuthorizerJwtConfiguration(
                    issuer=props.jwt_issuer, audience=list(props.jwt_audience)
                ),
            )
        self.routes: dict[str, Apigatewayv2Route] = {}
        self.permissions: dict[str, LambdaPermission] = {}
        for route in props.routes:
            self._route(route)
        if props.catch_all:
            self._catch_all()
        self.access_log_group = encrypted_log_group(
            self,
            "access-logs",
            name=f"/aws/apigateway/{props.name}/access",
            retention_days=props.log_retention_days,
            kms_key_arn=props.kms_key_arn,
        )
        self.stage = Apigatewayv2Stage(
            self,
            "stage",
            api_id=self.api.id,
            name=DEFAULT_STAGE_NAME,
            auto_deploy=True,
            access_log_settings=Apigatewayv2StageAccessLogSettings(
                destination_arn=self.access_log_group.arn, format=ACCESS_LOG_FORMAT
            ),
            default_route_settings=Apigatewayv2StageDefaultRouteSettings(
                detailed_metrics_enabled=True,
                throttling_rate_limit=props.throttle.rate_limit,
                throttling_burst_limit=props.throttle.burst_limit,
            ),
        )

    @property
    def url(self) -> str:
        return self.api.api_endpoint

    def _route(self, route: ApiRoute) -> None:
        props = self.props
        public = props.open_read_access and route.is_read
        name = f"{route.method.lower()}-{path_slug(route.path)}"
        authorization = "NONE" if public else props.authorization_type
        resource = Apigatewayv2Route(
            self,
            f"route-{name}",
            api_id=self.api.id,
            route_key=route.route_key,
            target=f"integrations/{self.integration.id}",
            authorization_type=authorization,
            authorizer_id=self.authorizer.id
            if authorization == "JWT" and self.authorizer is not None
            else None,
        )
        if public:
            skip_check(
                resource,
                "CKV_AWS_309",
                "open_read_access is set for this environment: read-only GET routes are "
                "public by explicit choice, still throttled on the stage.",
            )
        self.routes[route.route_key] = resource
        self.permissions[route.route_key] = LambdaPermission(
            self,
            f"permission-{name}",
            statement_id=f"{props.name}-http-{name}"[:100],
            action="lambda:InvokeFunction",
            function_name=props.function.function_name,
            qualifier=props.function.qualifier,
            principal="apigateway.amazonaws.com",
            source_arn=f"{self.api.execution_arn}/{DEFAULT_STAGE_NAME}/{route.method}{route.arn_path}",
        )

    def _catch_all(self) -> None:
        props = self.props
        authorization = props.authorization_type
        self.routes[CATCH_ALL_ROUTE_KEY] = Apigatewayv2Route(
            self,
            "route-default",
            api_id=self.api.id,
            route_key=CATCH_ALL_ROUTE_KEY,
            target=f"integrations/{self.integration.id}",
            authorization_type=authorization,
            authorizer_id=self.authorizer.id
            if authorization == "JWT" and self.authorizer is not None
            else None,
        )
        self.permissions[CATCH_ALL_ROUTE_KEY] = LambdaPermission(
            self,
            "permission-default",
            statement_id=f"{props.name}-http-default"[:100],
            action="lambda:InvokeFunction",
            function_name=props.function.function.function_name,
            qualifier=props.function.qualifier,
            principal="apigateway.amazonaws.com",
            # The $default route's own ARN: requests it catches, on the $default stage only.
            source_arn=f"{self.api.execution_arn}/{DEFAULT_STAGE_NAME}/{CATCH_ALL_ROUTE_KEY}",
        )

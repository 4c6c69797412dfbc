"""The records API: one function behind a REST API, an HTTP API, or both.

Routes and the write schema are the contract with ``lambda_functions/api``; the REST API
checks POST bodies against the schema before invoking the function, which still validates
every field itself. Each variant's metrics (REST ``5XXError``, HTTP ``5xx``) are known here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocumentStatement,
)
from constructs import Construct
from pipeline_common.api_contract import RECORDS_ROUTES as API_ROUTES
from pipeline_common.api_contract import RECORDS_WRITE_SCHEMA, WRITE_SCHEMA_BY_ROUTE
from pipeline_common.environment import (
    API_ENVIRONMENT,
    CORS_ALLOWED_ORIGINS,
    MAX_PAGE_SIZE,
    RECORD_TTL_DAYS,
    RECORD_WRITE_SHARDS,
    TABLE_NAME,
)

from constructs_lib.base.python_function import PythonFunction
from constructs_lib.base.web_acl import WebAcl, WebAclProps
from constructs_lib.patterns.alarms import MetricRef, api_alarm_specs
from constructs_lib.patterns.api_routes import ApiAuth, ApiRoute
from constructs_lib.patterns.dashboard import Graph
from constructs_lib.patterns.http_api import HttpApi, HttpApiProps
from constructs_lib.patterns.rest_api import RestApi, RestApiProps
from constructs_lib.pipeline.foundation import Foundation
from constructs_lib.pipeline.monitoring import (
    AlarmGroup,
    AlarmPolicy,
    add_outputs,
    function_alarm_group,
)
from constructs_lib.specs import FunctionSettings, QuotaSettings, ThrottleSettings

# The routes and request model of pipeline_common.api_contract, as the API constructs take them.
RECORDS_ROUTES = tuple(ApiRoute(method=method, path=path) for method, path in API_ROUTES)
SYNCHRONOUS_CALLER_REASON = (
    "API Gateway invokes the function synchronously; a failure returns to the caller, so no "
    "event is ever queued or dropped."
)


@dataclass(frozen=True, kw_only=True)
class ApiStage:
    """One deployed stage as CloudWatch names it, with its error metrics' names."""

    label: str
    dimensions: Mapping[str, str]
    server_error_metric: str
    client_error_metric: str


@dataclass(frozen=True, kw_only=True)
class RecordsApiProps:
    foundation: Foundation
    function: FunctionSettings
    # The stage name of the REST API; environments use their own name.
    stage_name: str
    deploy_rest: bool
    deploy_http: bool
    cors_allowed_origins: Sequence[str]
    # How REST callers authenticate; the HTTP API uses JWT when jwt_issuer is set, else IAM.
    auth: ApiAuth
    throttle: ThrottleSettings
    # Per API key, when auth is "api_key".
    quota: QuotaSettings
    open_read_access: bool
    max_page_size: int
    # Records created through the API expire like those the processor writes.
    record_ttl_days: int
    jwt_issuer: str | None = None
    jwt_audience: Sequence[str] = ()
    # The REST stage's web ACL: its per-IP limit per 5 minutes, or why there is none.
    web_acl_rate_limit: int | None = None
    no_web_acl_reason: str | None = None

    def __post_init__(self) -> None:
        if not (self.deploy_rest or self.deploy_http):
            raise ValueError("deploy at least one of the REST and HTTP APIs")
        if self.deploy_rest and (self.web_acl_rate_limit is None) == (
            self.no_web_acl_reason is None
        ):
            raise ValueError("set exactly one of web_acl_rate_limit and no_web_acl_reason")


class RecordsApi(Construct):
    """The API function and the REST and/or HTTP API in front of it."""

    def __init__(self, scope: Construct, construct_id: str, *, props: RecordsApiProps) -> None:
        super().__init__(scope, construct_id)
        foundation = props.foundation
        base = foundation.props
        prefix = base.name_prefix
        table = foundation.records.table
        self.function = foundation.function(
            self,
            "api",
            description="Serves the records API behind API Gateway",
            sizing=props.function,
            environment=API_ENVIRONMENT.render(
                TABLE_NAME.set(table.name),
                CORS_ALLOWED_ORIGINS.set(tuple(props.cors_allowed_origins)),
                MAX_PAGE_SIZE.set(props.max_page_size),
                RECORD_TTL_DAYS.set(props.record_ttl_days),
                *foundation.request_log_environment(),
                RECORD_WRITE_SHARDS.set(base.record_write_shards),
            ),
            statements=[
                DataAwsIamPolicyDocumentStatement(
                    sid="ReadRecords",
                    # Scan serves GET /records with neither date nor key (no index can).
                    actions=["dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan"],
                    resources=[table.arn],
                ),
                DataAwsIamPolicyDocumentStatement(
                    sid="QueryRecordsByKey",
                    actions=["dynamodb:Query"],
                    resources=[foundation.records.index_arn],
                ),
                DataAwsIamPolicyDocumentStatement(
                    sid="WriteRecords", actions=["dynamodb:PutItem"], resources=[table.arn]
                ),
                # Every request writes its row to the request log (seed 002).
                *foundation.request_log_statements(),
            ],
            no_dead_letter_reason=SYNCHRONOUS_CALLER_REASON,
        )
        outputs: dict[str, object] = {
            "api_function_name": self.function.function.function_name,
            "api_function_arn": self.function.function.arn,
        }
        self.rest_api: RestApi | None = None
        self.http_api: HttpApi | None = None
        self.web_acl: WebAcl | None = None
        if props.deploy_rest and props.web_acl_rate_limit is not None:
            self.web_acl = WebAcl(
                self,
                "web-acl",
                props=WebAclProps(
                    name=f"{prefix}-rest-api",
                    rate_limit_per_5_minutes=props.web_acl_rate_limit,
                    log_retention_days=base.log_retention_days,
                    kms_key_arn=foundation.key.key.arn,
                ),
            )
        if props.deploy_rest:
            self.rest_api = RestApi(
                self,
                "rest-api",
                props=RestApiProps(
                    name=f"{prefix}-rest-api",
                    stage_name=props.stage_name,
                    function=self.function,
                    auth=props.auth,
                    throttle=props.throttle,
                    quota=props.quota if props.auth == "api_key" else None,
                    open_read_access=props.open_read_access,
                    log_retention_days=base.log_retention_days,
                    kms_key_arn=foundation.key.key.arn,
                    routes=RECORDS_ROUTES,
                    write_body_schema=RECORDS_WRITE_SCHEMA,
                    body_schemas=WRITE_SCHEMA_BY_ROUTE,
                    web_acl_arn=self.web_acl.arn if self.web_acl is not None else None,
                    no_web_acl_reason=props.no_web_acl_reason if self.web_acl is None else None,
                    cors_allowed_origins=tuple(props.cors_allowed_origins),
                ),
            )
            outputs["rest_api_id"] = self.rest_api.api.id
            outputs["rest_api_url"] = self.rest_api.url
            if self.rest_api.api_key is not None:
                outputs["rest_api_key_id"] = self.rest_api.api_key.id
        if props.deploy_http:
            self.http_api = HttpApi(
                self,
                "http-api",
                props=HttpApiProps(
                    name=f"{prefix}-http-api",
                    function=self.function,
                    cors_allowed_origins=props.cors_allowed_origins,
                    throttle=props.throttle,
                    jwt_issuer=props.jwt_issuer,
                    jwt_audience=props.jwt_audience,
                    open_read_access=props.open_read_access,
                    log_retention_days=base.log_retention_days,
                    kms_key_arn=foundation.key.key.arn,
                    routes=RECORDS_ROUTES,
                    # Seed 002's clients send any method and path; each is logged.
                    catch_all=True,
                ),
            )
            outputs["http_api_id"] = self.http_api.api.id
            outputs["http_api_url"] = self.http_api.url
        self.outputs = add_outputs(self, outputs)

    @property
    def stages(self) -> list[ApiStage]:
        """Each deployed stage with the dimensions and error metrics CloudWatch uses for it."""
        stages = []
        if self.rest_api is not None:
            stages.append(
                ApiStage(
                    label="rest-api",
                    dimensions={
                        "ApiName": self.rest_api.api.name,
                        "Stage": self.rest_api.stage.stage_name,
                    },
                    server_error_metric="5XXError",
                    client_error_metric="4XXError",
                )
            )
        if self.http_api is not None:
            stages.append(
                ApiStage(
                    label="http-api",
                    dimensions={"ApiId": self.http_api.api.id, "Stage": self.http_api.stage.name},
                    server_error_metric="5xx",
                    client_error_metric="4xx",
                )
            )
        return stages

    @property
    def functions(self) -> Sequence[PythonFunction]:
        return (self.function,)

    def alarm_groups(self, policy: AlarmPolicy) -> list[AlarmGroup]:
        thresholds = policy.thresholds
        groups = [function_alarm_group(self.function, policy)]
        for stage in self.stages:
            specs = api_alarm_specs(
                label=stage.label,
                dimensions=stage.dimensions,
                server_error_metric=stage.server_error_metric,
                client_error_metric=stage.client_error_metric,
                server_error_rate=thresholds.api_5xx_rate,
                client_error_rate=thresholds.api_4xx_rate,
                latency_p99_ms=thresholds.api_latency_p99_ms,
                window=policy.window,
            )
            groups.append(AlarmGroup(title=stage.label.replace("-", " ").upper(), specs=specs))
        return groups

    def traffic_graphs(self) -> list[Graph]:
        return [
            Graph(
                title="API requests",
                metrics=[
                    MetricRef(
                        namespace="AWS/ApiGateway",
                        metric_name="Count",
                        dimensions=stage.dimensions,
                        statistic="Sum",
                        label=stage.label,
                    )
                    for stage in self.stages
                ],
            )
        ]

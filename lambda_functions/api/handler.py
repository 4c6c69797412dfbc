"""Lambda entry point for REST API (payload v1) and HTTP API (payload v2) proxy events.

Routes are written once in ``build_resolver`` and registered on a Powertools
APIGatewayRestResolver and an APIGatewayHttpResolver; ``lambda_handler`` picks the one that
matches the event's payload version. Every error leaves through ``STATUS_BY_ERROR`` and
``_error_response``: client errors say what was wrong, anything unexpected becomes a 500 with
a generic message and the request's correlation id, never exception text.

    GET  /records               ?date=YYYY-MM-DD &prefix=<key prefix> | &key=<object key>
                                &limit=N &next_token=T
    GET  /records/{id}
    POST /records               {"bucket", "key", "size", "etag"?, "version_id"?, "attributes"?}
    GET  /process               seed 001: {"message", "records": [...]}, the 10 most recent
    POST /process               seed 001: any JSON object -> 201 {"message", "processing_id"}
    (HTTP API $default)         seed 002: any other method and path -> 200 {"message",
                                "requestId", "timestamp"}

Every request, whatever its answer, also writes one row to the request log (seed 002,
pipeline_common.request_log); that write never fails the request.
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from http import HTTPStatus
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import (
    APIGatewayHttpResolver,
    APIGatewayRestResolver,
    CORSConfig,
    Response,
    content_types,
)
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pipeline_common.api_contract import (
    CORS_MAX_AGE_SECONDS,
    HTTP_CATCH_ALL,
    PROCESS_RECENT_RECORDS,
)
from pipeline_common.aws import client_config
from pipeline_common.observability import build_tracer
from pipeline_common.records import (
    InvalidRecordId,
    Invocation,
    decode_record_id,
    manual_item,
    record_view,
    to_item,
)
from pipeline_common.request_log import RequestLogWriter

from .data_access import RecordRepository
from .errors import (
    ApiError,
    InvalidRequest,
    MethodNotAllowed,
    PayloadTooLarge,
    RecordAlreadyExists,
    RecordNotFound,
    StoreUnavailable,
)
from .logic import (
    PROCESS_PAGES_PER_DAY,
    ListQuery,
    api_request_entry,
    encode_page_token,
    most_recent,
    parse_create_body,
    parse_list_query,
    parse_process_body,
    process_view,
    read_body,
    recent_days,
)
from .settings import load_settings

STATUS_BY_ERROR: dict[type[ApiError], HTTPStatus] = {
    InvalidRequest: HTTPStatus.BAD_REQUEST,
    PayloadTooLarge: HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
    RecordNotFound: HTTPStatus.NOT_FOUND,
    MethodNotAllowed: HTTPStatus.METHOD_NOT_ALLOWED,
    RecordAlreadyExists: HTTPStatus.CONFLICT,
    StoreUnavailable: HTTPStatus.SERVICE_UNAVAILABLE,
}
INTERNAL_ERROR_MESSAGE = "internal error; quote the correlation_id when reporting it"
# Seconds a client should wait before retrying after a 503.
RETRY_AFTER_SECONDS = 2
# The HTTP API's catch-all route (seed 002); REST APIs answer unknown paths themselves.
CATCH_ALL_ROUTE_KEY = HTTP_CATCH_ALL.path
# Methods a route does not serve get a 405 naming the ones it does.
_OTHER_METHODS = ("PUT", "PATCH", "DELETE", "HEAD")

logger = Logger()
tracer = build_tracer()
metrics = Metrics()

SETTINGS = load_settings(os.environ)
DYNAMODB = boto3.client("dynamodb", config=client_config())
REPOSITORY = RecordRepository(DYNAMODB, SETTINGS.table_name, write_shards=SETTINGS.write_shards)
REQUEST_LOG = RequestLogWriter(
    DYNAMODB, SETTINGS.request_log_table, ttl_days=SETTINGS.request_log_ttl_days, logger=logger
)
CORS = (
    CORSConfig(
        allow_origin=SETTINGS.cors_allowed_origins[0],
        extra_origins=list(SETTINGS.cors_allowed_origins[1:]),
        expose_headers=["Location"],
        max_age=CORS_MAX_AGE_SECONDS,
    )
    if SETTINGS.cors_allowed_origins
    else None
)


def dumps_json(value: Any) -> str:
    """Response JSON in which DynamoDB's Decimals are exact JSON numbers.

    The json module can turn a Decimal only into a float (rounding 38-digit values) or a
    string, so containers are walked here and everything else is left to json.dumps.
    """
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} has no JSON representation")
        return str(value)
    if isinstance(value, dict):
        members = (f"{json.dumps(str(name))}:{dumps_json(item)}" for name, item in value.items())
        return "{" + ",".join(members) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(dumps_json(item) for item in value) + "]"
    if isinstance(value, set | frozenset):  # DynamoDB string and number sets
        return dumps_json(sorted(value, key=str))
    return json.dumps(value, allow_nan=False)


def build_resolver(
    resolver_class: type[ApiGatewayResolver], *, catch_all: bool = False
) -> ApiGatewayResolver:
    """One resolver with every route and error mapping; called once per payload format.

    ``catch_all``: a request that reached the function through the HTTP API's ``$default``
    route and matches no route gets seed 002's answer instead of a 404.
    """
    app = resolver_class(cors=CORS, serializer=dumps_json)

    @app.get("/records")
    def list_records() -> dict[str, Any]:
        query = parse_list_query(
            app.current_event.query_string_parameters,
            default_limit=SETTINGS.default_page_size,
            max_limit=SETTINGS.max_page_size,
        )
        items, last_key = REPOSITORY.page(query)
        return {
            "items": [record_view(item) for item in items],
            "count": len(items),
            "next_token": encode_page_token(last_key, query) if last_key else None,
        }

    @app.get("/records/<record_id>")
    def get_record(record_id: str) -> dict[str, Any]:
        try:
            pk, sk = decode_record_id(record_id)
        except InvalidRecordId:
            raise RecordNotFound("no record has this id") from None
        item = REPOSITORY.get(pk, sk)
        if item is None:
            raise RecordNotFound("no record has this id")
        return record_view(item)

    @app.post("/records")
    def create_record() -> Response[Any]:
        event = app.current_event
        data = read_body(event.body, is_base64_encoded=bool(event.is_base64_encoded))
        now = datetime.now(UTC)
        version = parse_create_body(
            data, now=now, nonce=uuid.uuid4().hex, write_shards=SETTINGS.write_shards
        )
        item = to_item(version, recorded_at=now, ttl_days=SETTINGS.record_ttl_days)
        REPOSITORY.create(item)
        metrics.add_metric(name="RecordsCreated", unit=MetricUnit.Count, value=1)
        record = record_view(item)
        return Response(
            status_code=HTTPStatus.CREATED,
            content_type=content_types.APPLICATION_JSON,
            body=record,
            headers={"Location": f"/records/{record['id']}"},
        )

    @app.get("/process")
    def recent_records() -> dict[str, Any]:
        items: list[dict[str, Any]] = []
        for day in recent_days(datetime.now(UTC)):
            query = ListQuery(day=day, prefix=None, limit=SETTINGS.max_page_size)
            for _ in range(PROCESS_PAGES_PER_DAY):
                page, continuation = REPOSITORY.page(query)
                items.extend(page)
                if continuation is None:
                    break
                query = query.continued(continuation)
            if len(items) >= PROCESS_RECENT_RECORDS:
                break
        records = most_recent(items, PROCESS_RECENT_RECORDS)
        return {
            "message": f"{len(records)} most recent records",
            "records": [process_view(item) for item in records],
        }

    @app.post("/process")
    def create_manual_record() -> Response[Any]:
        event = app.current_event
        data = read_body(event.body, is_base64_encoded=bool(event.is_base64_encoded))
        manual = parse_process_body(data)
        processing_id = str(uuid.uuid4())
        item = manual_item(
            name=manual.key or processing_id,
            data=manual.data,
            size=len(data),
            processing_id=processing_id,
            recorded_at=datetime.now(UTC),
            ttl_days=SETTINGS.record_ttl_days,
            invocation=Invocation(
                function_name=app.lambda_context.function_name,
                aws_request_id=app.lambda_context.aws_request_id,
            ),
            write_shards=SETTINGS.write_shards,
        )
        REPOSITORY.create(item)
        metrics.add_metric(name="RecordsCreated", unit=MetricUnit.Count, value=1)
        return Response(
            status_code=HTTPStatus.CREATED,
            content_type=content_types.APPLICATION_JSON,
            body={"message": "manual record stored", "processing_id": processing_id},
            headers={"Location": f"/records/{record_view(item)['id']}"},
        )

    @app.route("/process", method=[*_OTHER_METHODS])
    def process_other_method() -> None:
        raise MethodNotAllowed(app.current_event.http_method, ("GET", "POST"))

    @app.route("/records", method=[*_OTHER_METHODS])
    def records_other_method() -> None:
        raise MethodNotAllowed(app.current_event.http_method, ("GET", "POST"))

    @app.route("/records/<record_id>", method=["POST", *_OTHER_METHODS])
    def record_other_method(record_id: str) -> None:
        raise MethodNotAllowed(app.current_event.http_method, ("GET",))

    @app.not_found
    def route_not_found(_: NotFoundError) -> Response[Any]:
        if catch_all and app.current_event.raw_event.get("routeKey") == CATCH_ALL_ROUTE_KEY:
            # Seed 002's contract: any request is logged (lambda_handler) and acknowledged.
            return Response(
                status_code=HTTPStatus.OK,
                content_type=content_types.APPLICATION_JSON,
                body={
                    "message": "request logged",
                    "requestId": logger.get_correlation_id(),
                    "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
                },
            )
        method = app.current_event.http_method
        return _error_response(HTTPStatus.NOT_FOUND, f"no route for {method} {_path(app)}")

    def api_error(error: ApiError) -> Response[Any]:
        status = next(
            (STATUS_BY_ERROR[kind] for kind in type(error).__mro__ if kind in STATUS_BY_ERROR),
            HTTPStatus.INTERNAL_SERVER_ERROR,
        )
        headers: dict[str, str] = {}
        if isinstance(error, MethodNotAllowed):
            headers["Allow"] = ", ".join(error.allowed)
        if isinstance(error, StoreUnavailable):
            headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return _error_response(status, error.message, headers)

    def unexpected_error(_: Exception) -> Response[Any]:
        logger.exception("Unhandled error")
        metrics.add_metric(name="UnhandledErrors", unit=MetricUnit.Count, value=1)
        return _error_response(HTTPStatus.INTERNAL_SERVER_ERROR, INTERNAL_ERROR_MESSAGE)

    # Registered by call: the decorator form is untyped. Lookups walk the exception's MRO, so
    # ApiError subclasses and NotFoundError (route_not_found) never reach unexpected_error.
    app.exception_handler(ApiError)(api_error)
    app.exception_handler(Exception)(unexpected_error)

    return app


def _error_response(
    status: HTTPStatus, message: str, headers: dict[str, str] | None = None
) -> Response[Any]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body={"message": message, "correlation_id": logger.get_correlation_id()},
        headers=headers or {},
    )


def _path(app: ApiGatewayResolver) -> str:
    path = app.current_event.path
    return path if len(path) <= 80 else path[:80] + "..."


REST_APP = build_resolver(APIGatewayRestResolver)
HTTP_APP = build_resolver(APIGatewayHttpResolver, catch_all=True)


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if not logger.get_correlation_id():
        logger.set_correlation_id(context.aws_request_id)
    app = HTTP_APP if event.get("version") == "2.0" else REST_APP
    response = app.resolve(event, context)
    REQUEST_LOG.write(
        api_request_entry(
            event,
            now=datetime.now(UTC),
            aws_request_id=context.aws_request_id,
            status_code=response.get("statusCode"),
        )
    )
    # One line per request (the correlation id is API Gateway's request id), errors included.
    logger.info(
        "Request served",
        extra={
            "http_method": app.current_event.http_method,
            "path": _path(app),
            "status_code": response.get("statusCode"),
        },
    )
    return response

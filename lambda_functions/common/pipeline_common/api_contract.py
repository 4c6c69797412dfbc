"""The records API as its clients see it: routes, and what API Gateway checks before the function.

The API constructs deploy exactly these routes and this request model; the API function's
resolver serves them (a test checks both sides). Standard library only: it ships in the layer
and is imported by the synth.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from pipeline_common.environment import MAX_JSON_SAFE_INTEGER

# GET /process answers at most this many records (seed 001's page).
PROCESS_RECENT_RECORDS = 10

# Where a route's contract comes from: the project's own API, or a seed template whose
# clients relied on it (/work/shared/seeds; see the README's seed table).
OWN_API = "project"
SEED_REST_PROCESS = "seed 001 (REST /process)"
SEED_HTTP_DEFAULT = "seed 002 (HTTP API $default)"


@dataclass(frozen=True, kw_only=True)
class RouteContract:
    """One route as its clients see it, for CONTRACTS.md."""

    method: str
    path: str
    request: str
    response: str
    origin: str


# Every route both API variants deploy, in API Gateway's {parameter} syntax. The HTTP API
# serves /process too: otherwise a seed 001 client pointed at it would reach the $default
# catch-all, whose 200 logs the request but stores no record.
ROUTE_CONTRACTS: tuple[RouteContract, ...] = (
    RouteContract(
        method="GET",
        path="/records",
        request="query `date`, `prefix`, `limit`, `next_token` (all optional)",
        response='200 `{"items": [record], "count", "next_token"}`',
        origin=OWN_API,
    ),
    RouteContract(
        method="POST",
        path="/records",
        request='`{"bucket", "key", "size", "etag"?, "version_id"?, "attributes"?}`',
        response="201 record, `Location: /records/{id}`",
        origin=OWN_API,
    ),
    RouteContract(
        method="GET",
        path="/records/{id}",
        request="the record id in the path",
        response="200 record",
        origin=OWN_API,
    ),
    RouteContract(
        method="GET",
        path="/process",
        request="nothing",
        response='200 `{"message", "records": [record + "data"?, "processing_id"?]}`: '
        f"the {PROCESS_RECENT_RECORDS} most recent",
        origin=SEED_REST_PROCESS,
    ),
    RouteContract(
        method="POST",
        path="/process",
        request='any JSON object; an optional string `"key"` names the record',
        response='201 `{"message", "processing_id"}`; stored as a `manual` record, the body '
        "in `data`",
        origin=SEED_REST_PROCESS,
    ),
)
# (method, path) of every route, in API Gateway's {parameter} syntax.
RECORDS_ROUTES: tuple[tuple[str, str], ...] = tuple(
    (route.method, route.path) for route in ROUTE_CONTRACTS
)
# The HTTP API's catch-all: any other method and path, logged, answered like seed 002.
HTTP_CATCH_ALL = RouteContract(
    method="ANY",
    path="$default",
    request="any method, path and body (HTTP API only)",
    response='200 `{"message", "requestId", "timestamp"}`; the request log holds the row',
    origin=SEED_HTTP_DEFAULT,
)

# Request headers a browser may send cross-origin: JSON bodies, SigV4 and API keys.
CORS_ALLOWED_HEADERS = (
    "Authorization",
    "Content-Type",
    "X-Amz-Date",
    "X-Amz-Security-Token",
    "X-Api-Key",
)
# Seconds a browser may cache a preflight answer, whoever answers it.
CORS_MAX_AGE_SECONDS = 600

# Size limits of a POST /records body, shared by the handler's own checks
# (lambda_functions/api/logic.py, pipeline_common.object_schema) and the REST API's model.
# S3 keys are at most this many bytes of UTF-8; ETags and version ids this many characters.
MAX_KEY_BYTES = 1024
# A record is metadata: bucket, key and a few attributes fit in well under this.
MAX_BODY_BYTES = 16 * 1024
MAX_ATTRIBUTES = 32
MAX_ATTRIBUTE_TEXT = 1024
BUCKET_NAME_LENGTH = (3, 63)

# What API Gateway checks on POST /records before invoking the function, in JSON Schema
# draft 4 (all API Gateway models support), with the handler's limits: an oversized field is
# refused before it costs an invocation. Draft 4 counts characters, not bytes, so the handler
# still checks key bytes and every field in detail.
RECORDS_WRITE_SCHEMA: Mapping[str, Any] = MappingProxyType(
    {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "title": "RecordInput",
        "type": "object",
        "required": ["bucket", "key", "size"],
        "additionalProperties": False,
        "properties": {
            "bucket": {
                "type": "string",
                "minLength": BUCKET_NAME_LENGTH[0],
                "maxLength": BUCKET_NAME_LENGTH[1],
            },
            "key": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_BYTES},
            "size": {"type": "integer", "minimum": 0, "maximum": MAX_JSON_SAFE_INTEGER},
            "etag": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_BYTES},
            "version_id": {"type": ["string", "null"], "minLength": 1, "maxLength": MAX_KEY_BYTES},
            "attributes": {
                "type": "object",
                "maxProperties": MAX_ATTRIBUTES,
                "additionalProperties": {
                    "type": ["string", "number", "boolean", "null"],
                    "maxLength": MAX_ATTRIBUTE_TEXT,
                },
            },
        },
    }
)

# What API Gateway checks on POST /process: any JSON object (seed 001), with a string "key"
# if it names one. The handler still checks the body's size and what DynamoDB can store.
PROCESS_WRITE_SCHEMA: Mapping[str, Any] = MappingProxyType(
    {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "title": "ProcessInput",
        "type": "object",
        "properties": {"key": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_BYTES}},
    }
)
# Write routes whose body is not RECORDS_WRITE_SCHEMA, by route key.
WRITE_SCHEMA_BY_ROUTE: Mapping[str, Mapping[str, Any]] = MappingProxyType(
    {"POST /process": PROCESS_WRITE_SCHEMA}
)

"""The records API as its clients see it: routes, and what API Gateway checks before the function.

The API constructs deploy exactly these routes and this request model; the API function's
resolver serves them (a test checks both sides). Standard library only: it ships in the layer
and is imported by the synth.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from pipeline_common.environment import MAX_JSON_SAFE_INTEGER

# (method, path) of every route, in API Gateway's {parameter} syntax.
RECORDS_ROUTES: tuple[tuple[str, str], ...] = (
    ("GET", "/records"),
    ("POST", "/records"),
    ("GET", "/records/{id}"),
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

"""The records API as its clients see it: routes, and what API Gateway checks before the function.

The API constructs deploy exactly these routes and this request model; the API function's
resolver serves them (a test checks both sides). Standard library only: it ships in the layer
and is imported by the synth.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

# (method, path) of every route, in API Gateway's {parameter} syntax.
RECORDS_ROUTES: tuple[tuple[str, str], ...] = (
    ("GET", "/records"),
    ("POST", "/records"),
    ("GET", "/records/{id}"),
)

# What API Gateway checks on POST /records before invoking the function, in JSON Schema
# draft 4 (all API Gateway models support); the handler still validates every field in detail.
RECORDS_WRITE_SCHEMA: Mapping[str, Any] = MappingProxyType(
    {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "title": "RecordInput",
        "type": "object",
        "required": ["bucket", "key", "size"],
        "properties": {
            "bucket": {"type": "string", "minLength": 3, "maxLength": 63},
            "key": {"type": "string", "minLength": 1},
            "size": {"type": "integer", "minimum": 0},
            "etag": {"type": "string", "minLength": 1},
            "version_id": {"type": ["string", "null"]},
            "attributes": {"type": "object"},
        },
    }
)

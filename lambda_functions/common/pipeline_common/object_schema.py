"""The object description the workflow passes around, checked field by field.

The same field rules back validate (which reports every problem), the processor's direct
workflow invocation and the API's ``POST /records`` body. Schemas are compiled once per
container with fastjsonschema: Powertools' ``validate()`` recompiles its schema on every call
(about 2 ms here, as much as a DynamoDB write), while a compiled validator takes microseconds.
Each is compiled on its first call, not at import: a cold start pays only for the validators
its handler uses (issue 14).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import fastjsonschema

# Sizes above MAX_JSON_SAFE_INTEGER lose precision as JSON numbers in many clients.
from pipeline_common.environment import MAX_JSON_SAFE_INTEGER

# S3 keys, etags and version ids are at most this many bytes (characters for the latter two).
MAX_KEY_BYTES = 1024
MAX_ERROR_TEXT = 300


def _is_s3_key(value: str) -> bool:
    try:
        return 0 < len(value.encode("utf-8")) <= MAX_KEY_BYTES
    except UnicodeEncodeError:  # a lone surrogate, which DynamoDB and S3 both reject
        return False


def _is_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


FORMATS: dict[str, Callable[[str], bool]] = {"s3-key": _is_s3_key, "text": _is_text}

OBJECT_FIELDS: dict[str, dict[str, Any]] = {
    "bucket": {
        "type": "string",
        "pattern": r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
        "description": "an S3 bucket name: 3-63 lowercase letters, digits, dots or hyphens",
    },
    "key": {
        "type": "string",
        "format": "s3-key",
        "description": f"an S3 object key: 1 to {MAX_KEY_BYTES} bytes of UTF-8",
    },
    "size": {"type": "integer", "minimum": 0, "maximum": MAX_JSON_SAFE_INTEGER},
    "etag": {
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_KEY_BYTES,
        "format": "text",
        "description": f"a non-empty ETag of at most {MAX_KEY_BYTES} characters",
    },
    "version_id": {
        "type": ["string", "null"],
        "minLength": 1,
        "maxLength": MAX_KEY_BYTES,
        "format": "text",
        "description": f"null or a version id of 1 to {MAX_KEY_BYTES} characters",
    },
}
REQUIRED_OBJECT_FIELDS = ("bucket", "key", "size", "etag")


def compile_schema(schema: Mapping[str, Any]) -> Callable[[Any], Any]:
    """A validator for ``schema``, compiled once, on its first call."""
    frozen = dict(schema)
    compiled: list[Callable[[Any], Any]] = []

    def validate(data: Any) -> Any:
        if not compiled:
            compiled.append(fastjsonschema.compile(frozen, formats=FORMATS))
        return compiled[0](data)

    return validate


def describe_schema_error(error: fastjsonschema.JsonSchemaValueException, root: str) -> str:
    """A message naming the field, e.g. ``object.size must be integer``."""
    name = (error.name or "data").replace("data", root, 1)
    definition = error.definition if isinstance(error.definition, dict) else {}
    description = definition.get("description")
    names_rule = error.rule_definition if isinstance(error.rule_definition, dict) else {}
    if error.rule == "propertyNames" and names_rule.get("description"):
        message = f"{name} names must be {names_rule['description']}"
    elif error.rule in {"pattern", "format", "minLength", "maxLength"} and description:
        message = f"{name} must be {description}"
    else:
        message = (error.message or "is invalid").replace("data", root, 1)
    return message[:MAX_ERROR_TEXT]


_FIELD_VALIDATORS = {name: compile_schema(rule) for name, rule in OBJECT_FIELDS.items()}


@dataclass(frozen=True)
class ObjectCheck:
    """A normalized object description, or every reason it is not one."""

    errors: tuple[str, ...]
    normalized: dict[str, Any]

    @property
    def valid(self) -> bool:
        return not self.errors


def check_object(payload: Any, *, root: str = "object") -> ObjectCheck:
    """Check every field, so the caller can report all problems at once."""
    if not isinstance(payload, Mapping):
        return ObjectCheck(errors=(f"{root} must be a JSON object",), normalized={})
    errors = [
        f"{root}.{name} is required" for name in REQUIRED_OBJECT_FIELDS if name not in payload
    ]
    normalized: dict[str, Any] = {}
    for name, validator in _FIELD_VALIDATORS.items():
        if name not in payload:
            continue
        try:
            validator(payload[name])
        except fastjsonschema.JsonSchemaValueException as error:
            errors.append(describe_schema_error(error, f"{root}.{name}"))
            continue
        normalized[name] = payload[name]
    if isinstance(normalized.get("etag"), str):
        normalized["etag"] = normalize_etag(normalized["etag"])
    normalized.setdefault("version_id", None)
    return ObjectCheck(errors=tuple(errors), normalized=normalized if not errors else {})


def normalize_etag(etag: str) -> str:
    """S3 quotes ETags in HTTP headers but not in events; store the bare value."""
    return etag.strip('"') or etag

"""The request log (seed 002): one bounded row per API request and per scheduled run.

Table layout (hash key ``request_id``, range key ``timestamp``; see CONTRACTS.md):

* ``request_id``: API Gateway's request id (the API's correlation id), or the EventBridge
  event id of a scheduled run (Lambda's request id for a run started by hand).
* ``timestamp``: when the function handled it, ISO 8601 UTC with milliseconds.
* ``source`` (``api`` or ``schedule``), ``method`` and ``path`` (cut to MAX_LOGGED_PATH_BYTES).
* ``body``: the request body (a scheduled run's event) as compact JSON with every credential
  redacted, cut to MAX_LOGGED_BODY_BYTES; ``body_bytes`` is the size received and
  ``body_truncated`` says whether the stored text was cut. Headers are never stored, so
  ``Authorization`` and ``x-api-key`` never reach the table; a body that is not JSON is not
  stored at all (free text cannot be searched for credentials reliably), only its size.
* ``status_code`` (API requests), ``aws_request_id`` (the Lambda request that wrote the row),
  ``expires_at`` (epoch seconds, the table's TTL attribute; absent when TTL days is 0).

Writing a row never fails the request or the run it describes: ``RequestLogWriter.write``
logs a warning and carries on. Standard library only: the synth imports the layout.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from pipeline_common.records import truncate_utf8

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

# Attribute names: the table's keys and each row's fields.
REQUEST_ID = "request_id"
TIMESTAMP = "timestamp"
SOURCE = "source"
METHOD = "method"
PATH = "path"
BODY = "body"
BODY_BYTES = "body_bytes"
BODY_TRUNCATED = "body_truncated"
STATUS_CODE = "status_code"
AWS_REQUEST_ID = "aws_request_id"
EXPIRES_AT = "expires_at"

SOURCE_API = "api"
SOURCE_SCHEDULE = "schedule"
# Seed 002's method and path for a scheduled run.
SCHEDULED_METHOD = "SCHEDULED"
SCHEDULED_PATH = "/scheduled"
# A row stays small (a few KB of DynamoDB's 400 KB) whatever the caller sends.
MAX_LOGGED_BODY_BYTES = 2048
# API Gateway paths are at most 8 KB; the log keeps enough to tell routes and ids apart.
MAX_LOGGED_PATH_BYTES = 512
# Larger bodies are not parsed for redaction (time and memory); only their size is logged.
MAX_REDACTED_BODY_BYTES = 64 * 1024
REDACTED = "[redacted]"
# What each attribute holds, for CONTRACTS.md.
REQUEST_LOG_ATTRIBUTES: Mapping[str, str] = {
    REQUEST_ID: "S, hash key: API Gateway's request id, or the scheduled event's id",
    TIMESTAMP: "S, range key: when the function handled it (ISO 8601 UTC)",
    SOURCE: "S: `api` or `schedule`",
    METHOD: "S: the HTTP method, or `SCHEDULED`",
    PATH: "S: the request path, or `/scheduled`",
    BODY: f"S: the body (a run's event) as JSON, credentials redacted, cut to "
    f"{MAX_LOGGED_BODY_BYTES} bytes",
    BODY_BYTES: "N: the size of the body as received",
    BODY_TRUNCATED: "BOOL: whether `body` was cut, or left empty (not JSON, or over "
    f"{MAX_REDACTED_BODY_BYTES} bytes)",
    STATUS_CODE: "N: the API's answer (API requests only)",
    AWS_REQUEST_ID: "S: the Lambda request that wrote the row",
    EXPIRES_AT: "N: epoch seconds when TTL deletes the row (absent when kept forever)",
}
# Object members whose values are credentials, whatever their nesting.
_SENSITIVE_NAME = re.compile(
    r"authorization|api[-_]?key|token|secret|password|passwd|credential|cookie|session|signature",
    re.IGNORECASE,
)
# Values that are credentials whatever their name: HTTP auth schemes and SigV4 headers.
_SENSITIVE_VALUE = re.compile(r"^\s*(bearer|basic|digest|aws4-hmac-sha256)\s", re.IGNORECASE)


@dataclass(frozen=True, kw_only=True)
class LoggedBody:
    text: str
    size: int
    truncated: bool


def redact(value: Any) -> Any:
    """``value`` with every credential-looking member or string replaced by REDACTED."""
    if isinstance(value, Mapping):
        return {
            str(name): REDACTED if _SENSITIVE_NAME.search(str(name)) else redact(item)
            for name, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    if isinstance(value, str) and _SENSITIVE_VALUE.match(value):
        return REDACTED
    return value


def logged_body(body: bytes | str | Mapping[str, Any] | None) -> LoggedBody:
    """What the log stores of a body: redacted compact JSON, cut to MAX_LOGGED_BODY_BYTES."""
    if body is None:
        return LoggedBody(text="", size=0, truncated=False)
    if isinstance(body, Mapping):
        parsed: Any = body
        size = len(_compact(body).encode("utf-8"))
    else:
        raw = body.encode("utf-8", errors="replace") if isinstance(body, str) else body
        size = len(raw)
        if size == 0:
            return LoggedBody(text="", size=0, truncated=False)
        if size > MAX_REDACTED_BODY_BYTES:
            return LoggedBody(text="", size=size, truncated=True)
        try:
            parsed = json.loads(raw)
        except (ValueError, RecursionError):
            return LoggedBody(text="", size=size, truncated=True)
    try:
        text = _compact(redact(parsed))
    except (ValueError, TypeError, RecursionError):
        return LoggedBody(text="", size=size, truncated=True)
    cut = truncate_utf8(text, MAX_LOGGED_BODY_BYTES)
    return LoggedBody(text=cut, size=size, truncated=cut != text)


@dataclass(frozen=True, kw_only=True)
class RequestLogEntry:
    """One API request or scheduled run, before it is bounded into a row."""

    request_id: str
    timestamp: datetime
    source: str
    method: str
    path: str
    body: bytes | str | Mapping[str, Any] | None
    aws_request_id: str
    status_code: int | None = None


def request_log_row(entry: RequestLogEntry, *, ttl_days: int) -> dict[str, Any]:
    """The table item for ``entry`` (plain values; the writer serializes them)."""
    body = logged_body(entry.body)
    moment = entry.timestamp.astimezone(UTC)
    row: dict[str, Any] = {
        REQUEST_ID: entry.request_id[:MAX_LOGGED_PATH_BYTES] or entry.aws_request_id,
        TIMESTAMP: moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        SOURCE: entry.source,
        METHOD: entry.method[:16],
        PATH: truncate_utf8(entry.path, MAX_LOGGED_PATH_BYTES),
        BODY: body.text,
        BODY_BYTES: body.size,
        BODY_TRUNCATED: body.truncated,
        AWS_REQUEST_ID: entry.aws_request_id,
    }
    if entry.status_code is not None:
        row[STATUS_CODE] = entry.status_code
    if ttl_days > 0:
        row[EXPIRES_AT] = int((moment + timedelta(days=ttl_days)).timestamp())
    return row


class WarningLogger(Protocol):
    def warning(self, msg: str, *args: Any, **kwargs: Any) -> Any: ...


class RequestLogWriter:
    """PutItem of one row per request; a failure is logged, never raised."""

    def __init__(
        self, client: DynamoDBClient, table_name: str, *, ttl_days: int, logger: WarningLogger
    ) -> None:
        self._client = client
        self._table_name = table_name
        self._ttl_days = ttl_days
        self._logger = logger

    def write(self, entry: RequestLogEntry) -> bool:
        """Store the row; False (and a warning) if it could not be stored."""
        try:
            row = request_log_row(entry, ttl_days=self._ttl_days)
            self._client.put_item(TableName=self._table_name, Item=_attribute_values(row))
        # The log records a request; it must never be the reason that request fails.
        except Exception as error:
            self._logger.warning(
                "Request log row not written",
                extra={"request_id": entry.request_id, "error_type": type(error).__name__},
            )
            return False
        return True


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def _attribute_values(row: Mapping[str, Any]) -> dict[str, Any]:
    """DynamoDB's typed form of a row of strings, integers and booleans."""
    typed: dict[str, Any] = {}
    for name, value in row.items():
        if isinstance(value, bool):
            typed[name] = {"BOOL": value}
        elif isinstance(value, int):
            typed[name] = {"N": str(value)}
        else:
            typed[name] = {"S": str(value)}
    return typed

"""Request parsing and validation for the records API; no AWS calls and no HTTP statuses.

Listing:

* ``key`` (an exact object key) is one Query on index GSI1: every record of that key across
  days, newest first; with ``date``, that day's only.
* ``date`` alone reads the day's partitions (its write shards and the unsharded key, see
  pipeline_common/records.py), one Query each, merged in sort-key order as one list; a page
  holds at most ``limit`` records.
* Neither: the table is Scanned page by page. No index serves "every record" or a key prefix
  across days (GSI1 is keyed by the exact key), so this stays a Scan.

``prefix`` narrows a day or the Scan to object keys starting with it. On a Scan ``limit``
bounds the items DynamoDB evaluates per page, so a filtered page may hold fewer items and
still carry a ``next_token``.

The page token is the unpadded urlsafe base64 of ``{"v": 1, "q": <query fingerprint>,
"k": <keys>}`` and, for a day, ``"d": [<partitions read to the end>]``. ``k`` is DynamoDB's
LastEvaluatedKey for the Scan and the index, and for a day the keys of the last record
returned (the merge resumes after it in every partition), so a token issued before sharding
still continues its day. On the way back in it must decode, belong to the same query, and hold
keys inside that query's range, so a tampered or reused token is a 400, never a DynamoDB
ValidationException.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, DecimalException
from typing import Any, NoReturn

import fastjsonschema
from boto3.dynamodb.types import DYNAMODB_CONTEXT
from pipeline_common.api_contract import (
    MAX_ATTRIBUTE_TEXT,
    MAX_ATTRIBUTES,
    MAX_BODY_BYTES,
    MAX_KEY_BYTES,
)
from pipeline_common.object_schema import (
    OBJECT_FIELDS,
    compile_schema,
    describe_schema_error,
    normalize_etag,
)
from pipeline_common.records import (
    DATA,
    INDEX_PARTITION_KEY,
    INDEX_SORT_KEY,
    MAX_WRITE_SHARDS,
    NULL_VERSION_ID,
    SORT_PREFIX,
    ObjectVersion,
    fits_sort_key,
    index_partition_key,
    partition_day,
    partition_key,
    record_view,
    sort_key_prefix,
)
from pipeline_common.records import PROCESSING_ID as PROCESSING_ID_ATTRIBUTE
from pipeline_common.request_log import SOURCE_API, RequestLogEntry

from .errors import InvalidRequest, PayloadTooLarge

# Longer than any token we issue (two 1 KB keys, base64-encoded), short enough to refuse junk.
MAX_TOKEN_CHARS = 4096
# DynamoDB's number range; boto3's decimal context alone lets up to 1E+127 through.
MIN_NUMBER_MAGNITUDE = Decimal("1E-130")
MAX_NUMBER_MAGNITUDE = Decimal("1E+126")
# The most digits an integer below MAX_NUMBER_MAGNITUDE has. Longer integers are refused while
# parsing, before Python's own limit on int conversion (4,300 digits) words the error.
MAX_INTEGER_DIGITS = 126
QUERY_PARAMETERS = ("date", "prefix", "key", "limit", "next_token")
API_EVENT_NAME = "Api:CreateRecord"
_TOKEN_VERSION = 1
_TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]+$")
_DATE_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_LIMIT_PATTERN = re.compile(r"^\d{1,7}$")
_SHOWN_INPUT_CHARS = 40

CREATE_RECORD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["bucket", "key", "size"],
    "additionalProperties": False,
    "properties": {
        **OBJECT_FIELDS,
        "attributes": {
            "type": "object",
            "maxProperties": MAX_ATTRIBUTES,
            "propertyNames": {
                "pattern": "^[A-Za-z0-9_.-]{1,64}$",
                "description": "1-64 letters, digits, '_', '.' or '-'",
            },
            "additionalProperties": {
                "type": ["string", "number", "boolean", "null"],
                "maxLength": MAX_ATTRIBUTE_TEXT,
                "format": "text",
                "description": f"a string of at most {MAX_ATTRIBUTE_TEXT} characters, "
                "a number, a boolean or null",
            },
        },
    },
}
_validate_create_body = compile_schema(CREATE_RECORD_SCHEMA)
# DynamoDB stores maps and lists nested at most 32 levels deep.
MAX_DATA_DEPTH = 32
# GET /process reads at most this many pages per day (today, then yesterday) to find the most
# recent records: a bounded read, never a whole busy day.
PROCESS_PAGES_PER_DAY = 3
_validate_process_key = compile_schema(OBJECT_FIELDS["key"])


@dataclass(frozen=True, kw_only=True)
class ListQuery:
    day: date | None
    prefix: str | None
    limit: int
    # Where the page starts: see the module docstring for what the keys are per query.
    start_key: dict[str, str] | None = None
    # One exact object key: served by index GSI1.
    key: str | None = None
    # A day's partitions (slot 0 the unsharded key, slot n + 1 shard n) already read to the end.
    done_slots: tuple[int, ...] = ()

    def continued(self, continuation: Continuation) -> ListQuery:
        """The same query from where a page (or a page token) left off."""
        return replace(self, start_key=dict(continuation.key), done_slots=continuation.done_slots)

    @property
    def partition(self) -> str | None:
        """The day's unsharded partition key (the only one when the day has one shard)."""
        return partition_key(self.day) if self.day else None

    @property
    def sort_prefix(self) -> str:
        return sort_key_prefix(self.prefix) if self.prefix else SORT_PREFIX

    @property
    def index_key(self) -> str | None:
        return index_partition_key(self.key) if self.key is not None else None

    @property
    def index_sort_prefix(self) -> str:
        """GSI1 sort keys start with the event time: a day is ``begins_with(gsi1sk, day+T)``."""
        return f"{self.day.isoformat()}T" if self.day else ""

    @property
    def fingerprint(self) -> str:
        scope: list[str | None] = [self.day.isoformat() if self.day else None, self.prefix]
        if self.key is not None:  # tokens issued before ``key`` existed keep their fingerprint
            scope.append(self.key)
        return hashlib.sha256(json.dumps(scope).encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Continuation:
    """Where the next page of a listing starts (the repository's answer, the token's payload)."""

    key: Mapping[str, str]
    done_slots: tuple[int, ...] = ()


def parse_list_query(
    params: Mapping[str, str] | None, *, default_limit: int, max_limit: int
) -> ListQuery:
    params = params or {}
    unknown = sorted(name for name in params if name not in QUERY_PARAMETERS)
    if unknown:
        names = ", ".join(repr(_shown(name)) for name in unknown)
        raise InvalidRequest(f"unknown query parameter {names}; use {', '.join(QUERY_PARAMETERS)}")
    if "key" in params and "prefix" in params:
        raise InvalidRequest("key and prefix cannot be combined: key names one object, prefix many")
    query = ListQuery(
        day=_parse_day(params.get("date")),
        prefix=_parse_prefix(params.get("prefix")),
        key=_parse_key(params.get("key")),
        limit=_parse_limit(params.get("limit"), default=default_limit, maximum=max_limit),
    )
    token = params.get("next_token")
    if token is None:
        return query
    return query.continued(decode_page_token(token, query))


def encode_page_token(last_key: Mapping[str, str] | Continuation, query: ListQuery) -> str:
    position = last_key if isinstance(last_key, Continuation) else Continuation(last_key)
    payload: dict[str, Any] = {"v": _TOKEN_VERSION, "q": query.fingerprint}
    payload["k"] = dict(position.key)
    if position.done_slots:
        payload["d"] = sorted(position.done_slots)
    raw = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_page_token(token: str, query: ListQuery) -> Continuation:
    if not token or len(token) > MAX_TOKEN_CHARS or not _TOKEN_PATTERN.fullmatch(token):
        _bad_token()
    try:
        payload = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, UnicodeDecodeError, ValueError, RecursionError):
        _bad_token()
    if not isinstance(payload, dict) or payload.get("v") != _TOKEN_VERSION:
        _bad_token()
    if payload.get("q") != query.fingerprint:
        raise InvalidRequest(
            "next_token belongs to a different date, prefix or key; "
            "repeat the query that returned it or start again without it"
        )
    key = payload.get("k")
    names = {"pk", "sk"} | ({INDEX_PARTITION_KEY, INDEX_SORT_KEY} if query.key else set())
    if (
        not isinstance(key, dict)
        or set(key) != names
        or not all(isinstance(value, str) for value in key.values())
        or partition_day(key["pk"]) is None
        or not key["sk"].startswith(_range_of_last_key(query))
        or not fits_sort_key(key["sk"])
    ):
        _bad_token()
    if query.key is not None:
        if key[INDEX_PARTITION_KEY] != query.index_key or not (
            key[INDEX_SORT_KEY].startswith(query.index_sort_prefix)
            and fits_sort_key(key[INDEX_SORT_KEY])
        ):
            _bad_token()
    elif query.day is not None and partition_day(key["pk"]) != query.day:
        _bad_token()
    done = payload.get("d", [])
    if (
        not isinstance(done, list)
        or (done and (query.day is None or query.key is not None))
        or len(set(done)) != len(done)
        or not all(
            isinstance(slot, int) and not isinstance(slot, bool) and 0 <= slot <= MAX_WRITE_SHARDS
            for slot in done
        )
    ):
        _bad_token()
    return Continuation({name: key[name] for name in sorted(names)}, tuple(sorted(done)))


def _range_of_last_key(query: ListQuery) -> str:
    """A day's Query stops inside its key condition; a Scan or the index on any record."""
    return query.sort_prefix if query.day is not None and query.key is None else SORT_PREFIX


def read_body(body: str | None, *, is_base64_encoded: bool) -> bytes:
    """The request body's bytes, refusing missing, undecodable and oversized bodies."""
    if body is None or body == "":
        raise InvalidRequest("a JSON object body is required")
    if is_base64_encoded:
        try:
            data = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidRequest("the body is marked base64-encoded but is not base64") from None
    else:
        data = body.encode("utf-8", errors="surrogatepass")
    if len(data) > MAX_BODY_BYTES:
        raise PayloadTooLarge(
            f"the body is {len(data)} bytes; records accept at most {MAX_BODY_BYTES}"
        )
    return data


def parse_create_body(
    data: bytes, *, now: datetime, nonce: str, write_shards: int = 1
) -> ObjectVersion:
    """The object version a POST describes, or InvalidRequest naming the problem."""
    payload = _parse_json_object(data)
    try:
        _validate_create_body(payload)
    except fastjsonschema.JsonSchemaValueException as error:
        raise InvalidRequest(describe_schema_error(error, "body")) from None
    version_id = payload.get("version_id")
    etag = payload.get("etag")
    return ObjectVersion(
        bucket=payload["bucket"],
        key=payload["key"],
        size=payload["size"],
        etag=normalize_etag(etag) if etag else None,
        version_id=version_id,
        event_name=API_EVENT_NAME,
        event_time=now,
        source="api",
        # "null" (S3's id for unversioned objects) names no version: a nonce keeps it unique.
        nonce=None if version_id and version_id != NULL_VERSION_ID else nonce,
        attributes={
            name: _storable(value, f"body.attributes.{name}")
            for name, value in payload.get("attributes", {}).items()
        },
        write_shards=write_shards,
    )


@dataclass(frozen=True, kw_only=True)
class ManualRecord:
    """What a POST /process body stores (seed 001): the object, and the key naming it."""

    data: dict[str, Any]
    key: str | None


def parse_process_body(data: bytes) -> ManualRecord:
    """Any JSON object DynamoDB can store; an optional ``key`` must be an S3-style key."""
    payload = _parse_json_object(data)
    key = payload.get("key")
    if "key" in payload:
        try:
            _validate_process_key(key)
        except fastjsonschema.JsonSchemaValueException as error:
            raise InvalidRequest(describe_schema_error(error, "body.key")) from None
    return ManualRecord(data=_storable_tree(payload, "body", depth=1), key=key)


def _storable_tree(value: Any, field: str, *, depth: int) -> Any:
    """``value`` with every number checked as DynamoDB stores it, no deeper than it nests."""
    if isinstance(value, dict | list):
        if depth > MAX_DATA_DEPTH:
            raise InvalidRequest(f"{field} nests deeper than {MAX_DATA_DEPTH} levels")
        if isinstance(value, dict):
            return {
                name: _storable_tree(item, f"{field}.{_shown(name)}", depth=depth + 1)
                for name, item in value.items()
            }
        return [
            _storable_tree(item, f"{field}[{index}]", depth=depth + 1)
            for index, item in enumerate(value)
        ]
    if isinstance(value, str) and not _is_utf8(value):
        raise InvalidRequest(f"{field} is not valid UTF-8 text")
    return _storable(value, field)


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from a crafted "\\ud800" escape
        return False
    return True


def recent_days(now: datetime) -> tuple[date, date]:
    """The days GET /process looks in for recent records: today and yesterday (UTC)."""
    today = now.astimezone(UTC).date()
    return today, today - timedelta(days=1)


def most_recent(items: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    """The ``count`` latest items by when they were recorded, newest first."""
    return sorted(items, key=lambda item: str(item.get("recorded_at", "")), reverse=True)[:count]


def process_view(item: dict[str, Any]) -> dict[str, Any]:
    """A record as GET /process shows it: the public view, plus a manual record's data."""
    view = record_view(item)
    if DATA in item:
        view[DATA] = item[DATA]
    if PROCESSING_ID_ATTRIBUTE in item:
        view[PROCESSING_ID_ATTRIBUTE] = item[PROCESSING_ID_ATTRIBUTE]
    return view


def api_request_entry(
    event: Mapping[str, Any], *, now: datetime, aws_request_id: str, status_code: int | None
) -> RequestLogEntry:
    """The request log's view of a REST (v1) or HTTP API (v2) proxy event; never raises."""
    context = event.get("requestContext")
    context = context if isinstance(context, Mapping) else {}
    http = context.get("http")
    http = http if isinstance(http, Mapping) else {}
    method = event.get("httpMethod") or http.get("method") or ""
    path = event.get("path") or event.get("rawPath") or http.get("path") or ""
    return RequestLogEntry(
        request_id=str(context.get("requestId") or aws_request_id),
        timestamp=now,
        source=SOURCE_API,
        method=str(method),
        path=str(path),
        body=_received_body(event.get("body"), bool(event.get("isBase64Encoded"))),
        aws_request_id=aws_request_id,
        status_code=status_code,
    )


def _received_body(body: Any, is_base64_encoded: bool) -> bytes | None:
    if not isinstance(body, str) or not body:
        return None
    if is_base64_encoded:
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            pass
    return body.encode("utf-8", errors="replace")


def _parse_json_object(data: bytes) -> dict[str, Any]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidRequest(f"the body is not UTF-8 (byte {error.start})") from None
    try:
        payload = json.loads(
            text, parse_float=Decimal, parse_int=_parse_int, parse_constant=_reject_constant
        )
    except json.JSONDecodeError as error:
        raise InvalidRequest(
            f"the body is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
        ) from None
    except RecursionError:
        raise InvalidRequest("the body nests JSON too deeply") from None
    except _BadNumber as error:
        raise InvalidRequest(str(error)) from None
    except ValueError:  # any other conversion the json module refuses; its words are not ours
        raise InvalidRequest("the body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise InvalidRequest(f"the body must be a JSON object, not {_json_type(payload)}")
    return payload


class _BadNumber(ValueError):
    """A number in the body that no field accepts; the message is the caller's."""


def _reject_constant(name: str) -> NoReturn:
    raise _BadNumber(f"the body is not valid JSON: {name} is not a JSON number")


def _parse_int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_INTEGER_DIGITS:
        raise _BadNumber(
            f"the body holds an integer of {digits} digits; "
            f"no field accepts more than {MAX_INTEGER_DIGITS}"
        )
    return int(text)


def _storable(value: Any, field: str) -> Any:
    """Numbers as DynamoDB stores them: 38 significant digits, magnitude 1E-130 to 1E+126."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        return value
    try:
        number = DYNAMODB_CONTEXT.create_decimal(value)
    except DecimalException:
        number = None
    # copy_abs, not abs(): abs() rounds to the default context's 28 digits.
    if number is None or (
        number and not MIN_NUMBER_MAGNITUDE <= number.copy_abs() < MAX_NUMBER_MAGNITUDE
    ):
        raise InvalidRequest(
            f"{field} does not fit a DynamoDB number "
            "(38 significant digits, magnitude 1E-130 to below 1E+126)"
        )
    return number


def _parse_day(raw: str | None) -> date | None:
    if raw is None:
        return None
    try:
        if not _DATE_PATTERN.fullmatch(raw):
            raise ValueError
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidRequest(
            f"date must be a calendar date like 2024-05-01, got {_shown(raw)!r}"
        ) from None


def _parse_prefix(raw: str | None) -> str | None:
    return _bounded_key_text(raw, f"prefix must be 1 to {MAX_KEY_BYTES} bytes of UTF-8")


def _parse_key(raw: str | None) -> str | None:
    return _bounded_key_text(
        raw, f"key must be an object key of 1 to {MAX_KEY_BYTES} bytes of UTF-8"
    )


def _bounded_key_text(raw: str | None, message: str) -> str | None:
    """An object key or key prefix as given, if it is 1 to MAX_KEY_BYTES bytes of UTF-8."""
    if raw is None:
        return None
    try:
        size = len(raw.encode("utf-8"))
    except UnicodeEncodeError:
        size = 0
    if not 0 < size <= MAX_KEY_BYTES:
        raise InvalidRequest(message)
    return raw


def _parse_limit(raw: str | None, *, default: int, maximum: int) -> int:
    if raw is None:
        return default
    value = int(raw) if _LIMIT_PATTERN.fullmatch(raw) else 0
    if not 1 <= value <= maximum:
        raise InvalidRequest(f"limit must be an integer from 1 to {maximum}, got {_shown(raw)!r}")
    return value


def _bad_token() -> NoReturn:
    raise InvalidRequest("next_token is not a token this API issued; start again without it")


def _shown(text: str) -> str:
    """User input echoed in a message, cut short."""
    return text if len(text) <= _SHOWN_INPUT_CHARS else text[:_SHOWN_INPUT_CHARS] + "..."


def _json_type(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return "a number"

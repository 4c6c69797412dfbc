"""How one record of one object version is laid out in the records table.

Keys (the table has hash key ``pk`` and range key ``sk``, see CONTRACTS.md):

* ``pk = "DATE#<YYYY-MM-DD>"``: the UTC day of the event. Listing a day is a Query on one
  partition, and writes spread over days instead of piling onto one key.
* ``sk = "OBJECT#<key>#<bucket>#<identity>"``: the object key comes first so that a key-prefix
  filter is ``begins_with(sk, "OBJECT#<prefix>")`` inside a day. ``identity`` names the object
  version: ``V#<version id>`` on versioned buckets, ``S#<sequencer>`` for S3 events on
  unversioned buckets, ``E#<etag>`` for workflow input without a version, ``R#<uuid>`` for API
  records without a version.
* A sort key over DynamoDB's 1,024-byte limit keeps the key cut to a byte budget followed by
  ``#~<sha256 of bucket, key and identity>``, so it stays unique. Prefix queries also filter on
  the stored ``object_key``, which keeps them exact for long keys and for keys containing ``#``.

Idempotency: every write is conditional on ``attribute_not_exists(pk)``. A redelivered S3 event
carries the same eventTime, key and version or sequencer, so it maps to the same item and the
condition fails instead of a second item being created.

Every writer that runs in Lambda also stores which invocation wrote the record
(``function_name`` and ``aws_request_id``, seed 003). A manual record (``POST /process``,
seed 001) has source ``manual``, no bucket, the caller's ``key`` (or its processing id) as
object key, identity ``R#<processing id>``, and the caller's JSON object in ``data``.

A record id is the unpadded urlsafe base64 of the JSON array ``[pk, sk]``. Callers treat it as
opaque, and ``GET /records/{id}`` is a single GetItem.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

PARTITION_PREFIX = "DATE#"
SORT_PREFIX = "OBJECT#"
# DynamoDB rejects range key values longer than this many bytes of UTF-8.
MAX_SORT_KEY_BYTES = 1024
_DIGEST_MARK = "#~"
_DIGEST_CHARS = 64
# Bytes of the object key a cut sort key keeps: the limit less the prefix, mark and digest.
KEY_BYTES_IN_SORT_KEY = MAX_SORT_KEY_BYTES - len(SORT_PREFIX) - len(_DIGEST_MARK) - _DIGEST_CHARS
# S3 reports this version id for objects written while versioning was off or suspended;
# it names no single version, so the sequencer identifies those objects instead.
NULL_VERSION_ID = "null"

PARTITION_PATTERN = re.compile(r"^DATE#\d{4}-\d{2}-\d{2}$")
_RECORD_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,2048}$")


# Seed 003: the Lambda invocation that wrote a record.
FUNCTION_NAME = "function_name"
AWS_REQUEST_ID = "aws_request_id"
# Seed 001: a record stored by POST /process, its caller's JSON object and its answer's id.
MANUAL_SOURCE = "manual"
MANUAL_EVENT_NAME = "Api:Process"
DATA = "data"
PROCESSING_ID = "processing_id"


class InvalidRecordId(ValueError):
    """A text that this module never issued as a record id."""


@dataclass(frozen=True, kw_only=True)
class ObjectVersion:
    """What we record about one version of one S3 object."""

    bucket: str
    key: str
    size: int
    etag: str | None
    event_name: str
    event_time: datetime
    # "s3" (bucket notification), "workflow" (Step Functions) or "api" (POST /records).
    source: str
    version_id: str | None = None
    sequencer: str | None = None
    s3_request_id: str | None = None
    # Identifies an API record that has no version id; unique per request.
    nonce: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)

    @property
    def identity(self) -> str:
        if self.version_id and self.version_id != NULL_VERSION_ID:
            return f"V#{self.version_id}"
        if self.sequencer:
            return f"S#{self.sequencer}"
        if self.nonce:
            return f"R#{self.nonce}"
        if self.etag:
            return f"E#{self.etag}"
        raise ValueError("an object version needs a version id, sequencer, nonce or etag")

    @property
    def partition_key(self) -> str:
        return partition_key(self.event_time.astimezone(UTC).date())

    @property
    def sort_key(self) -> str:
        return sort_key(bucket=self.bucket, key=self.key, identity=self.identity)

    @property
    def record_id(self) -> str:
        return encode_record_id(self.partition_key, self.sort_key)


@dataclass(frozen=True, kw_only=True)
class Invocation:
    """The Lambda invocation writing a record (from its context)."""

    function_name: str
    aws_request_id: str


def partition_key(day: date) -> str:
    return f"{PARTITION_PREFIX}{day.isoformat()}"


def truncate_utf8(text: str, max_bytes: int) -> str:
    """The longest prefix of ``text`` whose UTF-8 form fits ``max_bytes`` (whole characters)."""
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return text
    return encoded[:max_bytes].decode("utf-8", errors="ignore")


def sort_key(*, bucket: str, key: str, identity: str) -> str:
    full = f"{SORT_PREFIX}{key}#{bucket}#{identity}"
    if len(full.encode("utf-8")) <= MAX_SORT_KEY_BYTES:
        return full
    digest = hashlib.sha256(f"{bucket}\0{key}\0{identity}".encode()).hexdigest()
    return f"{SORT_PREFIX}{truncate_utf8(key, KEY_BYTES_IN_SORT_KEY)}{_DIGEST_MARK}{digest}"


def sort_key_prefix(key_prefix: str) -> str:
    """A ``begins_with`` operand matching every sort key whose object key starts so."""
    return f"{SORT_PREFIX}{truncate_utf8(key_prefix, KEY_BYTES_IN_SORT_KEY)}"


def encode_record_id(pk: str, sk: str) -> str:
    raw = json.dumps([pk, sk], separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_record_id(record_id: str) -> tuple[str, str]:
    """Return ``(pk, sk)``; raise InvalidRecordId for anything we did not issue."""
    if not _RECORD_ID_PATTERN.fullmatch(record_id):
        raise InvalidRecordId("not a record id")
    try:
        raw = base64.urlsafe_b64decode(record_id + "=" * (-len(record_id) % 4))
        keys = json.loads(raw.decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidRecordId("not a record id") from None
    if (
        not isinstance(keys, list)
        or len(keys) != 2
        or not all(isinstance(part, str) for part in keys)
        or not PARTITION_PATTERN.fullmatch(keys[0])
        or not keys[1].startswith(SORT_PREFIX)
        or not fits_sort_key(keys[1])
    ):
        raise InvalidRecordId("not a record id")
    return keys[0], keys[1]


def fits_sort_key(value: str) -> bool:
    """Whether DynamoDB accepts ``value`` as a range key: valid UTF-8 of at most 1,024 bytes."""
    try:
        return len(value.encode("utf-8")) <= MAX_SORT_KEY_BYTES
    except UnicodeEncodeError:  # a lone surrogate from a crafted "\\ud800" escape
        return False


def to_item(
    obj: ObjectVersion,
    *,
    recorded_at: datetime,
    ttl_days: int,
    invocation: Invocation | None = None,
) -> dict[str, Any]:
    """The table item for ``obj``; optional fields that are unset are left out."""
    item: dict[str, Any] = {
        "pk": obj.partition_key,
        "sk": obj.sort_key,
        "bucket": obj.bucket,
        "object_key": obj.key,
        "size": obj.size,
        "event_name": obj.event_name,
        "event_time": _iso(obj.event_time),
        "source": obj.source,
        "recorded_at": _iso(recorded_at),
    }
    optional = {
        "etag": obj.etag,
        "version_id": obj.version_id,
        "sequencer": obj.sequencer,
        "s3_request_id": obj.s3_request_id,
    }
    item.update({name: value for name, value in optional.items() if value is not None})
    if obj.attributes:
        item["attributes"] = dict(obj.attributes)
    if ttl_days > 0:
        item["expires_at"] = int((recorded_at + timedelta(days=ttl_days)).timestamp())
    if invocation is not None:
        item[FUNCTION_NAME] = invocation.function_name
        item[AWS_REQUEST_ID] = invocation.aws_request_id
    return item


def manual_item(
    *,
    name: str,
    data: Mapping[str, Any],
    size: int,
    processing_id: str,
    recorded_at: datetime,
    ttl_days: int,
    invocation: Invocation | None = None,
) -> dict[str, Any]:
    """The table item for a POST /process body: a record of source ``manual``."""
    version = ObjectVersion(
        bucket="",
        key=name,
        size=size,
        etag=None,
        event_name=MANUAL_EVENT_NAME,
        event_time=recorded_at,
        source=MANUAL_SOURCE,
        nonce=processing_id,
    )
    item = to_item(version, recorded_at=recorded_at, ttl_days=ttl_days, invocation=invocation)
    item[DATA] = dict(data)
    item[PROCESSING_ID] = processing_id
    return item


def record_view(item: Mapping[str, Any]) -> dict[str, Any]:
    """The public JSON shape of a stored item; table keys stay hidden behind the id."""
    return {
        "id": encode_record_id(item["pk"], item["sk"]),
        "bucket": item.get("bucket"),
        "key": item.get("object_key"),
        "size": item.get("size"),
        "etag": item.get("etag"),
        "version_id": item.get("version_id"),
        "sequencer": item.get("sequencer"),
        "event_name": item.get("event_name"),
        "event_time": item.get("event_time"),
        "source": item.get("source"),
        "recorded_at": item.get("recorded_at"),
        "attributes": item.get("attributes", {}),
    }


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")

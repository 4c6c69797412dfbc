"""How one record of one object version is laid out in the records table.

Keys (the table has hash key ``pk`` and range key ``sk``, see CONTRACTS.md):

* ``pk = "DATE#<YYYY-MM-DD>#<shard>"``: the UTC day of the event and one of the day's write
  shards (``00`` to ``NN-1``, two digits). DynamoDB serves about 1,000 write units per second
  per partition-key value, so a day spread over N keys takes N times that. The shard is
  derived from the object version alone (SHA-256 of bucket, key and identity, modulo N): a
  redelivered event maps to the same key. With one shard (``RECORD_WRITE_SHARDS=1``) the key
  is the unsharded ``DATE#<YYYY-MM-DD>``, which is also where every record written before
  sharding lives; readers treat that key as one more shard of the day (``day_partitions``).
* ``sk = "OBJECT#<key>#<bucket>#<identity>"``: the object key comes first so that a key-prefix
  filter is ``begins_with(sk, "OBJECT#<prefix>")`` inside a day. ``identity`` names the object
  version: ``V#<version id>`` on versioned buckets, ``S#<sequencer>`` for S3 events on
  unversioned buckets, ``E#<etag>`` for workflow input without a version, ``R#<uuid>`` for API
  records without a version.
* A sort key over DynamoDB's 1,024-byte limit keeps the key cut to a byte budget followed by
  ``#~<sha256 of bucket, key and identity>``, so it stays unique. Prefix queries also filter on
  the stored ``object_key``, which keeps them exact for long keys and for keys containing ``#``.
* Index ``GSI1`` (projection ALL): ``gsi1pk = "KEY#<object key>"``, ``gsi1sk =
  "<event time, ISO 8601 UTC with milliseconds>#<bucket>#<identity>"``: every record of one
  object key across days and buckets, in event-time order, so "the history of this object"
  is one Query and a day inside it is ``begins_with(gsi1sk, "<YYYY-MM-DD>T")``. The key alone
  (not bucket and key) because the API filters by key without a bucket, as ``prefix`` does;
  one object key is written far below a partition's 1,000 writes per second. Index keys need
  not be unique, so a sort key over 1,024 bytes is simply cut.

Idempotency: every write is conditional on ``attribute_not_exists(pk)``. A redelivered S3 event
carries the same eventTime, key and version or sequencer, so it maps to the same item (same
day, same shard, same sort key) and the condition fails instead of a second item being created.
This holds for a fixed shard count: changing ``RECORD_WRITE_SHARDS`` moves objects to other
shards, so an event first delivered before the change and redelivered after it is recorded
again under its new key (change it when the ingest queue is drained).

Every writer that runs in Lambda also stores which invocation wrote the record
(``function_name`` and ``aws_request_id``, seed 003). A manual record (``POST /process``,
seed 001) has source ``manual``, no bucket, the caller's ``key`` (or its processing id) as
object key, identity ``R#<processing id>``, and the caller's JSON object in ``data``.

A record id is the unpadded urlsafe base64 of the JSON array ``[pk, sk]``. Callers treat it as
opaque, and ``GET /records/{id}`` is a single GetItem; ids of unsharded records keep working.
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
# Between the day and the shard number in a sharded partition key.
SHARD_SEPARATOR = "#"
# 40 shards take 40,000 writes per second, the default per-table quota: more cannot help.
MAX_WRITE_SHARDS = 40
# Shard numbers are printed with this many digits, so a day's keys sort in shard order.
_SHARD_DIGITS = 2
INDEX_NAME = "GSI1"
INDEX_PARTITION_KEY = "gsi1pk"
INDEX_SORT_KEY = "gsi1sk"
INDEX_PARTITION_PREFIX = "KEY#"
# DynamoDB rejects range key values longer than this many bytes of UTF-8.
MAX_SORT_KEY_BYTES = 1024
_DIGEST_MARK = "#~"
_DIGEST_CHARS = 64
# Bytes of the object key a cut sort key keeps: the limit less the prefix, mark and digest.
KEY_BYTES_IN_SORT_KEY = MAX_SORT_KEY_BYTES - len(SORT_PREFIX) - len(_DIGEST_MARK) - _DIGEST_CHARS
# S3 reports this version id for objects written while versioning was off or suspended;
# it names no single version, so the sequencer identifies those objects instead.
NULL_VERSION_ID = "null"

# A day's key, unsharded (records written before sharding, or one shard) or sharded.
PARTITION_PATTERN = re.compile(r"^DATE#(?P<day>\d{4}-\d{2}-\d{2})(#(?P<shard>\d{2}))?$")
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
    # How many partition keys the day is spread over (RECORD_WRITE_SHARDS); 1 is unsharded.
    write_shards: int = 1

    def __post_init__(self) -> None:
        check_write_shards(self.write_shards)

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
        shard = write_shard(
            bucket=self.bucket, key=self.key, identity=self.identity, shards=self.write_shards
        )
        return partition_key(self.event_time.astimezone(UTC).date(), shard)

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


def check_write_shards(shards: int) -> None:
    if isinstance(shards, bool) or not isinstance(shards, int):
        raise ValueError(f"write_shards must be an integer, got {shards!r}")
    if not 1 <= shards <= MAX_WRITE_SHARDS:
        raise ValueError(f"write_shards must be from 1 to {MAX_WRITE_SHARDS}, got {shards}")


def write_shard(*, bucket: str, key: str, identity: str, shards: int) -> int | None:
    """The shard of one object version: the same every time; None when the day is unsharded."""
    check_write_shards(shards)
    if shards == 1:
        return None
    digest = hashlib.sha256(f"{bucket}\0{key}\0{identity}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % shards


def partition_key(day: date, shard: int | None = None) -> str:
    """``DATE#<day>`` unsharded, ``DATE#<day>#<shard>`` otherwise."""
    base = f"{PARTITION_PREFIX}{day.isoformat()}"
    if shard is None:
        return base
    if not 0 <= shard < MAX_WRITE_SHARDS:
        raise ValueError(f"shard must be from 0 to {MAX_WRITE_SHARDS - 1}, got {shard}")
    return f"{base}{SHARD_SEPARATOR}{shard:0{_SHARD_DIGITS}d}"


def day_partitions(day: date, shards: int) -> tuple[str, ...]:
    """Every partition key holding records of ``day``, in key order.

    The unsharded key comes first: with one shard it is the only key, and with more it holds
    the records written before sharding was turned on, so it is read as one more shard.
    """
    check_write_shards(shards)
    if shards == 1:
        return (partition_key(day),)
    return (partition_key(day), *(partition_key(day, shard) for shard in range(shards)))


def partition_day(pk: str) -> date | None:
    """The day of a partition key in either layout; None for anything else."""
    match = PARTITION_PATTERN.fullmatch(pk)
    if match is None:
        return None
    try:
        return date.fromisoformat(match["day"])
    except ValueError:
        return None


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


def prefix_upper_bound(prefix: str) -> str:
    """The least string above every string that starts with ``prefix``.

    ``sk BETWEEN <a key starting so> AND prefix_upper_bound(prefix)`` is the rest of a
    ``begins_with`` range (DynamoDB orders strings by UTF-8 bytes, which is code point order).
    """
    text = prefix
    while text:
        last = ord(text[-1])
        if last < 0x10FFFF:
            # Skip the surrogates: they are not characters and UTF-8 cannot hold them.
            following = 0xE000 if 0xD800 <= last + 1 <= 0xDFFF else last + 1
            return text[:-1] + chr(following)
        text = text[:-1]
    raise ValueError("a prefix of U+10FFFF characters only has no upper bound")


def index_partition_key(object_key: str) -> str:
    """The GSI1 partition of every record of one object key."""
    return f"{INDEX_PARTITION_PREFIX}{object_key}"


def index_sort_key(*, event_time: datetime, bucket: str, identity: str) -> str:
    """Event time first: GSI1 lists an object's records in time order and filters by day."""
    return truncate_utf8(f"{_iso(event_time)}#{bucket}#{identity}", MAX_SORT_KEY_BYTES)


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
        or partition_day(keys[0]) is None
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
        INDEX_PARTITION_KEY: index_partition_key(obj.key),
        INDEX_SORT_KEY: index_sort_key(
            event_time=obj.event_time, bucket=obj.bucket, identity=obj.identity
        ),
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
    write_shards: int = 1,
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
        write_shards=write_shards,
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

"""Turn S3 notification records, ingest-queue messages and workflow objects into record items.

Every record is handled on its own: good records are written even when others in the same
event are malformed or fail to write, and the failures are then raised together so that the
invocation fails and Lambda's async retries and the DLQ or failure destination get the event.
A retried event rewrites nothing: the conditional write reports its good records as duplicates.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import unquote_plus

import fastjsonschema
from aws_lambda_powertools.utilities.data_classes.s3_event import S3EventRecord
from pipeline_common.object_events import BACKFILL_RESULT_FIELDS
from pipeline_common.object_schema import (
    OBJECT_FIELDS,
    check_object,
    compile_schema,
    describe_schema_error,
    normalize_etag,
)
from pipeline_common.records import Invocation, ObjectVersion, to_item

from .data_access import ObjectHead, ObjectReadError, RecordWriteError

WORKFLOW_EVENT_NAME = "Workflow:Process"
# Every record of a batch Lambda reads from SQS carries this source.
SQS_EVENT_SOURCE = "aws:sqs"
# S3 sends one message of this kind when a queue notification is saved; it names no object.
S3_TEST_EVENT = "s3:TestEvent"
# Characters of a bad message body quoted in an error.
MAX_BODY_IN_MESSAGE = 60
# Failures named in the raised error; the rest are counted, and all are logged.
MAX_FAILURES_IN_MESSAGE = 10

# Only the fields the record needs; anything else in the notification is ignored.
S3_RECORD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["eventSource", "eventName", "eventTime", "s3"],
    "properties": {
        "eventSource": {"const": "aws:s3"},
        "eventName": {
            "type": "string",
            "pattern": "^ObjectCreated:",
            "description": "an ObjectCreated event (the processor records new objects only)",
        },
        "eventTime": {"type": "string"},
        "responseElements": {"type": "object"},
        "s3": {
            "type": "object",
            "required": ["bucket", "object"],
            "properties": {
                "bucket": {
                    "type": "object",
                    "required": ["name"],
                    "properties": {"name": OBJECT_FIELDS["bucket"]},
                },
                "object": {
                    "type": "object",
                    "required": ["key", "size", "eTag", "sequencer"],
                    "properties": {
                        "key": {"type": "string", "minLength": 1},
                        "size": OBJECT_FIELDS["size"],
                        "eTag": {"type": "string", "minLength": 1},
                        "versionId": {"type": ["string", "null"]},
                        "sequencer": {"type": "string", "minLength": 1},
                    },
                },
            },
        },
    },
}
_validate_s3_record = compile_schema(S3_RECORD_SCHEMA)
# Checked after URL-decoding: a key DynamoDB cannot store (a lone surrogate) is bad input.
_validate_object_key = compile_schema(OBJECT_FIELDS["key"])


class MalformedEventError(ValueError):
    """The event, or one of its records, is not something the processor can record."""


class RecordBatchError(RuntimeError):
    """Some records of an event failed; the others were written."""

    def __init__(self, failures: Sequence[RecordFailure], total: int) -> None:
        self.failures = tuple(failures)
        named = "; ".join(str(failure) for failure in failures[:MAX_FAILURES_IN_MESSAGE])
        more = len(failures) - MAX_FAILURES_IN_MESSAGE
        suffix = f"; and {more} more" if more > 0 else ""
        super().__init__(f"{len(failures)} of {total} records failed: {named}{suffix}")


class RecordWriter(Protocol):
    def put_if_absent(self, item: Mapping[str, Any]) -> bool: ...


@dataclass(frozen=True)
class RecordFailure:
    index: int
    # Starts with the record's place in the event, e.g. "Records[2].eventTime must be ...".
    reason: str
    # Whether a retry of the same event can succeed (a write failure, not bad input).
    retryable: bool

    def __str__(self) -> str:
        return self.reason


@dataclass(frozen=True)
class RecordedObject:
    version: ObjectVersion
    # False when an earlier delivery already recorded this version.
    created: bool


@dataclass
class BatchOutcome:
    created: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    failures: list[RecordFailure] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "records_created": len(self.created),
            "records_already_recorded": len(self.duplicates),
            "record_ids": self.created + self.duplicates,
        }


def notification_records(event: Any) -> list[Any]:
    """The ``Records`` list of an S3 notification, or MalformedEventError."""
    records = event.get("Records") if isinstance(event, Mapping) else None
    if not isinstance(records, list) or not records:
        raise MalformedEventError("an S3 notification needs a non-empty Records list")
    return records


def is_queue_batch(records: Sequence[Any]) -> bool:
    """Whether the event is a batch from the ingest queue (its first record says so)."""
    first = records[0]
    return isinstance(first, Mapping) and first.get("eventSource") == SQS_EVENT_SOURCE


def check_queue_batch(records: Sequence[Any]) -> None:
    """Every record of a queue batch must be an SQS message; name the first that is not."""
    for index, record in enumerate(records):
        source = record.get("eventSource") if isinstance(record, Mapping) else None
        if source != SQS_EVENT_SOURCE:
            raise MalformedEventError(
                f"Records[{index}].eventSource must be {SQS_EVENT_SOURCE!r} like Records[0] "
                f"(a batch from the ingest queue), got {source!r}"
            )
        if not isinstance(record.get("body"), str):
            raise MalformedEventError(f"Records[{index}].body must be the SQS message's text")


def record_queue_message(
    body: str,
    writer: RecordWriter,
    *,
    where: str,
    now: datetime,
    ttl_days: int,
    invocation: Invocation | None = None,
    write_shards: int = 1,
) -> list[RecordedObject]:
    """Record every object of the S3 notification one queue message carries.

    Returns nothing for S3's test message. Raises MalformedEventError naming ``where`` for a
    body that is not an S3 notification, and RecordWriteError when a write fails; either
    way the message is reported as failed and received again, then dead-lettered.
    """
    try:
        notification = json.loads(body)
    except json.JSONDecodeError:
        raise MalformedEventError(
            f"{where}.body must be an S3 notification in JSON, got {body[:MAX_BODY_IN_MESSAGE]!r}"
        ) from None
    if isinstance(notification, Mapping) and notification.get("Event") == S3_TEST_EVENT:
        return []
    try:
        records = notification_records(notification)
    except MalformedEventError as error:
        raise MalformedEventError(f"{where}.body: {error}") from None
    recorded = []
    for index, raw in enumerate(records):
        try:
            version = parse_s3_record(raw, index, write_shards=write_shards)
        except MalformedEventError as error:
            raise MalformedEventError(f"{where}.body.{error}") from None
        created = writer.put_if_absent(
            to_item(version, recorded_at=now, ttl_days=ttl_days, invocation=invocation)
        )
        recorded.append(RecordedObject(version=version, created=created))
    return recorded


def processed_notice(version: ObjectVersion) -> dict[str, Any]:
    """The notify contract's input for a recorded object (what the workflow's notify gets)."""
    return {
        "status": "processed",
        "record_id": version.record_id,
        "object": {
            "bucket": version.bucket,
            "key": version.key,
            "size": version.size,
            "etag": version.etag,
            "version_id": version.version_id,
        },
        "errors": [],
    }


def parse_s3_record(raw: Any, index: int, *, write_shards: int = 1) -> ObjectVersion:
    try:
        _validate_s3_record(raw)
    except fastjsonschema.JsonSchemaValueException as error:
        raise MalformedEventError(describe_schema_error(error, f"Records[{index}]")) from None
    record = S3EventRecord(raw)
    s3_object = record.s3.get_object
    # S3 URL-encodes keys in notifications (a space arrives as "+"). Powertools decodes only
    # S3Event.object_key, the first record's key, so each record's key is decoded here.
    key = unquote_plus(s3_object.key)
    try:
        _validate_object_key(key)
    except fastjsonschema.JsonSchemaValueException as error:
        raise MalformedEventError(
            describe_schema_error(error, f"Records[{index}].s3.object.key")
        ) from None
    return ObjectVersion(
        bucket=record.s3.bucket.name,
        key=key,
        size=s3_object.size,
        etag=normalize_etag(s3_object.etag),
        version_id=s3_object.version_id,
        sequencer=s3_object.sequencer,
        event_name=record.event_name,
        event_time=_parse_event_time(record.event_time, index),
        source="s3",
        s3_request_id=(raw.get("responseElements") or {}).get("x-amz-request-id"),
        write_shards=write_shards,
    )


def record_notification(
    records: Sequence[Any],
    writer: RecordWriter,
    *,
    now: datetime,
    ttl_days: int,
    invocation: Invocation | None = None,
    write_shards: int = 1,
) -> BatchOutcome:
    """Write every well-formed record; collect, never skip, the ones that fail."""
    outcome = BatchOutcome()
    for index, raw in enumerate(records):
        try:
            version = parse_s3_record(raw, index, write_shards=write_shards)
        except MalformedEventError as error:
            outcome.failures.append(RecordFailure(index, str(error), retryable=False))
            continue
        except Exception as error:
            outcome.failures.append(unexpected_failure(index, error))
            continue
        try:
            created = writer.put_if_absent(
                to_item(version, recorded_at=now, ttl_days=ttl_days, invocation=invocation)
            )
        except RecordWriteError as error:
            reason = f"Records[{index}]: {error}"
            outcome.failures.append(RecordFailure(index, reason, retryable=True))
            continue
        except Exception as error:
            outcome.failures.append(unexpected_failure(index, error))
            continue
        (outcome.created if created else outcome.duplicates).append(version.record_id)
    return outcome


def unexpected_failure(index: int, error: Exception) -> RecordFailure:
    """A record that failed in a way no check foresaw: its own failure, not the batch's.

    Not retryable: the same record fails the same way. The reason names the error's class
    only: exception text can quote record data.
    """
    return RecordFailure(
        index, f"Records[{index}] failed unexpectedly ({type(error).__name__})", retryable=False
    )


def record_workflow_object(
    payload: Any,
    writer: RecordWriter,
    *,
    now: datetime,
    ttl_days: int,
    invocation: Invocation | None = None,
    write_shards: int = 1,
) -> dict[str, Any]:
    """Record the object the workflow validated; raise on bad input or a failed write."""
    check = check_object(payload, root="object")
    if not check.valid:
        raise MalformedEventError("; ".join(check.errors))
    fields = check.normalized
    version = ObjectVersion(
        bucket=fields["bucket"],
        key=fields["key"],
        size=fields["size"],
        etag=fields["etag"],
        version_id=fields["version_id"],
        event_name=WORKFLOW_EVENT_NAME,
        event_time=now,
        source="workflow",
        write_shards=write_shards,
    )
    created = writer.put_if_absent(
        to_item(version, recorded_at=now, ttl_days=ttl_days, invocation=invocation)
    )
    return {"record_id": version.record_id, "created": created}


def _parse_event_time(text: str, index: int) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise MalformedEventError(
            f"Records[{index}].eventTime must be an ISO 8601 time, got {text[:40]!r}"
        ) from None
    if not moment.tzinfo:
        return moment.replace(tzinfo=UTC)
    try:
        # The partition is the UTC day: a time that has none (0001-01-01T00:00+05:00) is bad.
        moment.astimezone(UTC)
    except OverflowError:
        raise MalformedEventError(
            f"Records[{index}].eventTime must fall within years 1-9999 in UTC, got {text[:40]!r}"
        ) from None
    return moment


# Backfill batches (the backfill workflow's Distributed Map): what a record of one says.
BACKFILL_EVENT_NAME = "Backfill:Reprocess"
BACKFILL_SOURCE = "backfill"


class ObjectMetadataReader(Protocol):
    def head(self, bucket: str, key: str) -> ObjectHead | None:
        """The current version's metadata; None when the object is gone."""
        ...


@dataclass
class BackfillOutcome:
    created: int = 0
    already_recorded: int = 0
    # Listed, then deleted before its batch ran: nothing left to record.
    gone: int = 0
    failures: list[RecordFailure] = field(default_factory=list)

    def summary(self) -> dict[str, int]:
        counts = {
            "records_created": self.created,
            "records_already_recorded": self.already_recorded,
            "objects_gone": self.gone,
        }
        # Exactly the contract's fields: the workflow selects these and nothing else.
        return {name: counts[name] for name in BACKFILL_RESULT_FIELDS}


def is_backfill_batch(event: Any) -> bool:
    """Whether the event is a batch from the backfill workflow's ItemBatcher."""
    return isinstance(event, Mapping) and "Items" in event and "BatchInput" in event


def backfill_batch_objects(event: Mapping[str, Any]) -> tuple[str, list[str]]:
    """The bucket and the listed keys of a backfill batch; MalformedEventError naming a field."""
    batch_input = event.get("BatchInput")
    bucket = batch_input.get("bucket") if isinstance(batch_input, Mapping) else None
    if not isinstance(bucket, str) or not bucket:
        raise MalformedEventError("BatchInput.bucket must name the listed bucket")
    items = event.get("Items")
    if not isinstance(items, list) or not items:
        raise MalformedEventError("Items must be a non-empty list of listed objects")
    keys = []
    for index, item in enumerate(items):
        key = item.get("Key") if isinstance(item, Mapping) else None
        if not isinstance(key, str) or not key:
            raise MalformedEventError(f"Items[{index}].Key must be the listed object's key")
        keys.append(key)
    return bucket, keys


def record_listed_objects(
    bucket: str,
    keys: Sequence[str],
    reader: ObjectMetadataReader,
    writer: RecordWriter,
    *,
    now: datetime,
    ttl_days: int,
    invocation: Invocation | None = None,
    write_shards: int = 1,
) -> BackfillOutcome:
    """Record each listed object's current version, as its S3 event would have.

    The record's keys come from the object's version id and its last-modified time (the
    moment S3 stored it, which is the eventTime of its notification), so an object already
    recorded by ingest is a duplicate here and nothing is written twice.
    """
    outcome = BackfillOutcome()
    for index, key in enumerate(keys):
        try:
            head = reader.head(bucket, key)
            if head is None:
                outcome.gone += 1
                continue
            version = ObjectVersion(
                bucket=bucket,
                key=key,
                size=head.size,
                etag=normalize_etag(head.etag) if head.etag else None,
                version_id=head.version_id,
                event_name=BACKFILL_EVENT_NAME,
                event_time=head.last_modified,
                source=BACKFILL_SOURCE,
                write_shards=write_shards,
            )
            created = writer.put_if_absent(
                to_item(version, recorded_at=now, ttl_days=ttl_days, invocation=invocation)
            )
        except (RecordWriteError, ObjectReadError) as error:
            outcome.failures.append(RecordFailure(index, f"Items[{index}]: {error}", True))
            continue
        except Exception as error:
            outcome.failures.append(unexpected_failure(index, error))
            continue
        if created:
            outcome.created += 1
        else:
            outcome.already_recorded += 1
    return outcome

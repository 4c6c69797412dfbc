"""Lambda entry point: ingest-queue batches, workflow invocations and S3 notifications.

* ``{"Records": [SQS messages]}`` (the ingest queue, where ingest_path is "queue"): each
  message carries one S3 notification; every object version is recorded once and its notice
  published. Returns ``{"batchItemFailures": [...]}`` naming only the messages that failed
  (Powertools' batch utility), so SQS receives just those again and then dead-letters them.
* ``{"object": {...}}`` (the workflow's process step): returns ``{"record_id", "created"}``;
  raises MalformedEventError (do not retry) or RecordWriteError (retry).
* ``{"Records": [S3 records]}`` (an S3 notification invoked asynchronously: a redrive of an
  event from the failure queue): one record per object version. Returns a summary; raises
  RecordBatchError after writing the good records if any record failed.
* ``{"Items": [listed objects], "BatchInput": {"bucket", ...}}`` (a batch of the backfill
  workflow): each object's current version is read (HeadObject) and recorded with the same
  conditional write, so objects already recorded create nothing. Returns the counts; raises
  RecordBatchError after writing the good ones if any failed (the child workflow retries,
  then the map run counts the batch against its tolerated failures). No notice is published:
  a backfill rebuilds records, it does not announce old objects as new.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pipeline_common.aws import client_config
from pipeline_common.environment import NOTICE_TOPIC_ARN, ConfigurationError
from pipeline_common.notices import NotificationPublisher, PublishError, build_notification
from pipeline_common.observability import build_tracer
from pipeline_common.records import Invocation

from .data_access import ObjectMetadataStore, RecordStore, RecordWriteError
from .logic import (
    MalformedEventError,
    RecordBatchError,
    backfill_batch_objects,
    check_queue_batch,
    is_backfill_batch,
    is_queue_batch,
    notification_records,
    processed_notice,
    record_listed_objects,
    record_notification,
    record_queue_message,
    record_workflow_object,
)
from .settings import load_settings

# The S3 request that created the first object: what AWS Support asks for.
S3_REQUEST_ID_PATH = 'Records[0].responseElements."x-amz-request-id"'

logger = Logger()
tracer = build_tracer()
metrics = Metrics()

SETTINGS = load_settings(os.environ)
STORE = RecordStore(boto3.client("dynamodb", config=client_config()), SETTINGS.table_name)
# Only where the processor reads the ingest queue; elsewhere no SNS client is built at all.
PUBLISHER = (
    NotificationPublisher(boto3.client("sns", config=client_config()), SETTINGS.notice_topic_arn)
    if SETTINGS.notice_topic_arn
    else None
)


@cache
def object_metadata() -> ObjectMetadataStore:
    """S3, only for backfill batches: ingest's hot path never builds the client."""
    return ObjectMetadataStore(boto3.client("s3", config=client_config()))


# A batch that fails entirely is reported message by message too, like a partial failure.
BATCH = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context(correlation_id_path=S3_REQUEST_ID_PATH)
def lambda_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    now = datetime.now(UTC)
    # Stored with every record this invocation writes (seed 003's invocation log).
    invocation = Invocation(
        function_name=context.function_name, aws_request_id=context.aws_request_id
    )
    if isinstance(event, dict) and "object" in event and "Records" not in event:
        _log_invocation(context, source="workflow", record_count=1)
        result = record_workflow_object(
            event["object"],
            STORE,
            now=now,
            ttl_days=SETTINGS.record_ttl_days,
            invocation=invocation,
            write_shards=SETTINGS.write_shards,
        )
        metrics.add_metric(
            name="RecordsCreated" if result["created"] else "DuplicateRecords",
            unit=MetricUnit.Count,
            value=1,
        )
        return result

    if is_backfill_batch(event):
        return _record_backfill_batch(event, context, now=now, invocation=invocation)

    if not isinstance(event, dict) or "Records" not in event:
        raise MalformedEventError(
            "expected an S3 notification ({'Records': [...]}) "
            "or a workflow call ({'object': {...}})"
        )
    records = notification_records(event)
    if is_queue_batch(records):
        check_queue_batch(records)
        _log_invocation(context, source="sqs", record_count=len(records))
        return _record_queue_batch(event, records, context, now=now, invocation=invocation)
    _log_invocation(context, source="s3", record_count=len(records))
    outcome = record_notification(
        records,
        STORE,
        now=now,
        ttl_days=SETTINGS.record_ttl_days,
        invocation=invocation,
        write_shards=SETTINGS.write_shards,
    )
    counts = {
        "RecordsCreated": len(outcome.created),
        "DuplicateRecords": len(outcome.duplicates),
        "FailedRecords": len(outcome.failures),
    }
    # Zero counts are left out (each metric costs time): alarms must treat missing data as 0.
    for name, value in counts.items():
        if value:
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    for failure in outcome.failures:
        logger.error(
            "Record failed",
            extra={
                "index": failure.index,
                "reason": failure.reason,
                "retryable": failure.retryable,
            },
        )
    if outcome.failures:
        raise RecordBatchError(outcome.failures, total=len(records))
    summary = outcome.summary()
    logger.debug("Records written", extra=summary)
    return summary


def _record_queue_batch(
    event: dict[str, Any],
    records: list[Any],
    context: LambdaContext,
    *,
    now: datetime,
    invocation: Invocation,
) -> dict[str, Any]:
    publisher = PUBLISHER
    if publisher is None:
        raise ConfigurationError(
            f"environment variable {NOTICE_TOPIC_ARN.name} is required to read the ingest "
            "queue: every recorded object gets a notice"
        )
    positions = {record.get("messageId"): index for index, record in enumerate(records)}
    counts = {"RecordsCreated": 0, "DuplicateRecords": 0}

    # Powertools passes the message as the keyword argument "record".
    def record_message(record: SQSRecord) -> None:
        where = f"Records[{positions.get(record.message_id, '?')}]"
        try:
            recorded = record_queue_message(
                record.body,
                STORE,
                where=where,
                now=now,
                ttl_days=SETTINGS.record_ttl_days,
                invocation=invocation,
                write_shards=SETTINGS.write_shards,
            )
            for item in recorded:
                counts["RecordsCreated" if item.created else "DuplicateRecords"] += 1
                # Published for duplicates too: a redelivery after a failed publish notifies.
                publisher.publish(build_notification(processed_notice(item.version)))
        except (MalformedEventError, RecordWriteError, PublishError) as error:
            # Powertools reports the message as failed; the log says why.
            logger.error(
                "Message failed",
                extra={"message_id": record.message_id, "reason": str(error)},
            )
            raise
        except Exception:
            # Anything else fails this message only (Powertools catches it); keep the traceback.
            logger.exception("Message failed unexpectedly", extra={"message_id": record.message_id})
            raise

    response = process_partial_response(
        event=event, record_handler=record_message, processor=BATCH, context=context
    )
    counts["FailedMessages"] = len(response["batchItemFailures"])
    for name, value in counts.items():
        if value:
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    return dict(response)


def _record_backfill_batch(
    event: dict[str, Any], context: LambdaContext, *, now: datetime, invocation: Invocation
) -> dict[str, Any]:
    bucket, keys = backfill_batch_objects(event)
    _log_invocation(context, source="backfill", record_count=len(keys))
    outcome = record_listed_objects(
        bucket,
        keys,
        object_metadata(),
        STORE,
        now=now,
        ttl_days=SETTINGS.record_ttl_days,
        invocation=invocation,
        write_shards=SETTINGS.write_shards,
    )
    counts = {
        "RecordsCreated": outcome.created,
        "DuplicateRecords": outcome.already_recorded,
        "FailedRecords": len(outcome.failures),
    }
    for name, value in counts.items():
        if value:
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    for failure in outcome.failures:
        logger.error(
            "Backfill object failed", extra={"index": failure.index, "reason": failure.reason}
        )
    if outcome.failures:
        raise RecordBatchError(outcome.failures, total=len(keys))
    summary = outcome.summary()
    logger.info("Backfill batch recorded", extra=summary)
    return summary


def _log_invocation(context: LambdaContext, *, source: str, record_count: int) -> None:
    # Powertools adds the timestamp; the ids tie this line to S3's and Lambda's own logs.
    logger.info(
        "Invocation received",
        extra={
            "request_id": logger.get_correlation_id() or context.aws_request_id,
            "function_name": context.function_name,
            "aws_request_id": context.aws_request_id,
            "source": source,
            "record_count": record_count,
        },
    )

"""Lambda entry point: S3 ObjectCreated notifications and direct workflow invocations.

* ``{"Records": [...]}`` (S3 notification, async): one record per object version, written
  from the event's own metadata without calling S3. Returns a summary; raises
  RecordBatchError after writing the good records if any record failed.
* ``{"object": {...}}`` (Step Functions task): returns ``{"record_id", "created"}``; raises
  MalformedEventError (do not retry) or RecordWriteError (retry).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pipeline_common.aws import client_config
from pipeline_common.observability import build_tracer

from .data_access import RecordStore
from .logic import (
    MalformedEventError,
    RecordBatchError,
    notification_records,
    record_notification,
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


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context(correlation_id_path=S3_REQUEST_ID_PATH)
def lambda_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    now = datetime.now(UTC)
    if isinstance(event, dict) and "object" in event and "Records" not in event:
        _log_invocation(context, source="workflow", record_count=1)
        result = record_workflow_object(
            event["object"], STORE, now=now, ttl_days=SETTINGS.record_ttl_days
        )
        metrics.add_metric(
            name="RecordsCreated" if result["created"] else "DuplicateRecords",
            unit=MetricUnit.Count,
            value=1,
        )
        return result

    if not isinstance(event, dict) or "Records" not in event:
        raise MalformedEventError(
            "expected an S3 notification ({'Records': [...]}) "
            "or a workflow call ({'object': {...}})"
        )
    records = notification_records(event)
    _log_invocation(context, source="s3", record_count=len(records))
    outcome = record_notification(records, STORE, now=now, ttl_days=SETTINGS.record_ttl_days)
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

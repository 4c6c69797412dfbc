"""Lambda entry point for the daily schedule: count yesterday's records, publish the number.

* EventBridge scheduled event (``source`` ``aws.events``): reports on the UTC day before
  the event's ``time``.
* Manual run ``{"day": "YYYY-MM-DD"}``: reports on that day (backfill or a re-run).

Every run first writes one row to the request log (seed 002's scheduled-run log).

Publishes the ``RecordsPerDay`` metric and returns ``{"day", "records"}``. A malformed event
raises MalformedEventError, so the run fails visibly instead of reporting a wrong day.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pipeline_common.aws import client_config
from pipeline_common.records import day_partitions
from pipeline_common.request_log import RequestLogWriter

from .data_access import RecordCounts
from .logic import report_day, run_entry
from .settings import load_settings

RECORDS_PER_DAY_METRIC = "RecordsPerDay"

logger = Logger()
tracer = Tracer()
metrics = Metrics()

SETTINGS = load_settings(os.environ)
DYNAMODB = boto3.client("dynamodb", config=client_config())
COUNTS = RecordCounts(DYNAMODB, SETTINGS.table_name)
REQUEST_LOG = RequestLogWriter(
    DYNAMODB, SETTINGS.request_log_table, ttl_days=SETTINGS.request_log_ttl_days, logger=logger
)


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context
def lambda_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    # Logged first, so a run that then fails is in the log too; the write never fails the run.
    REQUEST_LOG.write(
        run_entry(event, now=datetime.now(UTC), aws_request_id=context.aws_request_id)
    )
    day = report_day(event)
    # Every shard of the day, and the unsharded key that holds records from before sharding.
    records = sum(COUNTS.count_partition(pk) for pk in day_partitions(day, SETTINGS.write_shards))
    metrics.add_metric(name=RECORDS_PER_DAY_METRIC, unit=MetricUnit.Count, value=records)
    logger.info("Daily record count", extra={"day": day.isoformat(), "records": records})
    return {"day": day.isoformat(), "records": records}

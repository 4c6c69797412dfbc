"""The backfill workflow's definition: one Distributed Map over the objects under a prefix.

    ListObjectsV2(bucket, prefix) -> batches of objects -> Record (processor) per batch
                                  -> results (manifest and per-status files) to S3

The execution input is ``{"bucket": "<ingest bucket>", "prefix": "incoming/..."}``. Step
Functions lists the objects itself (``ItemReader``: ``s3:listObjectsV2``, every page), groups
them (``ItemBatcher``), starts one child workflow per batch, each invoking the processor with
``{"Items": [listed objects], "BatchInput": {"bucket", "prefix"}}``, and writes what every
child did to S3 (``ResultWriter``). More than ``tolerated_failure_percentage`` of the objects
failing fails the run.

Child workflows are EXPRESS: a child is one Lambda invocation (with retries) that finishes in
seconds, billed by duration instead of per state transition, and at-least-once delivery is
safe because the processor's write is conditional (a repeated batch creates nothing). The
run's own record of each child is the ResultWriter's files, not the children's history; the
parent is STANDARD, as a Distributed Map requires.

State names and paths are part of the interface: executions, logs and ``tools.backfill`` read
them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline_common.object_events import BACKFILL_BATCH_INPUT_PATHS, BACKFILL_RESULT_FIELDS

from constructs_lib.aws_limits import (
    SFN_DISTRIBUTED_MAP_MAX_CONCURRENCY_RANGE,
    SFN_TOLERATED_FAILURE_PERCENTAGE_RANGE,
)
from constructs_lib.pipeline.workflow_definition import (
    JITTER_STRATEGY,
    LAMBDA_INVOKE_RESOURCE,
    LAMBDA_SERVICE_ERRORS,
)

# Step Functions reads the listing itself; each object is one item.
LIST_OBJECTS_RESOURCE = "arn:aws:states:::s3:listObjectsV2"
# Where the run's results go: a manifest and SUCCEEDED_n / FAILED_n files per map run.
RESULT_WRITER_RESOURCE = "arn:aws:states:::s3:putObject"
CHILD_EXECUTION_TYPE = "EXPRESS"
# Each run's manifest and result files go here in the ingest bucket, outside the ingest
# prefix, so results are never ingested themselves.
DEFAULT_RESULTS_PREFIX = "backfill-results/"
MAP_STATE = "ReprocessObjects"
RECORD_STATE = "RecordBatch"
# Where the map run's summary (MapRunArn, ResultWriterDetails) lands in the output.
MAP_RESULT_PATH = "$.map_run"
# A run of millions of objects takes hours; longer than this means it is stuck.
EXECUTION_TIMEOUT_SECONDS = 24 * 3600
# Lambda service errors and throttles, retried by each child before its batch counts failed.
SERVICE_RETRY_MAX_ATTEMPTS = 5
SERVICE_RETRY_INTERVAL_SECONDS = 2
SERVICE_RETRY_BACKOFF_RATE = 2.0
# Our own errors (RecordBatchError after a failed write) get one more try: writes that did
# succeed are duplicates then, so a retry only redoes the failed ones.
TASK_RETRY_MAX_ATTEMPTS = 1


@dataclass(frozen=True, kw_only=True)
class BackfillPlan:
    """The Distributed Map's tuning, straight from the environment's backfill settings."""

    batch_size: int
    max_concurrency: int
    tolerated_failure_percentage: int
    results_bucket: str
    results_prefix: str

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {self.batch_size}")
        low, high = SFN_DISTRIBUTED_MAP_MAX_CONCURRENCY_RANGE
        if not low <= self.max_concurrency <= high:
            raise ValueError(
                f"max_concurrency must be between {low} and {high}, got {self.max_concurrency}"
            )
        low, high = SFN_TOLERATED_FAILURE_PERCENTAGE_RANGE
        if not low <= self.tolerated_failure_percentage <= high:
            raise ValueError(
                f"tolerated_failure_percentage must be between {low} and {high}, "
                f"got {self.tolerated_failure_percentage}"
            )
        if not self.results_prefix.endswith("/") or self.results_prefix.startswith("/"):
            raise ValueError(
                f"results_prefix must be a key prefix ending in '/', got {self.results_prefix!r}"
            )


def build_backfill_definition(*, processor_function_arn: str, plan: BackfillPlan) -> dict[str, Any]:
    """The backfill workflow as an Amazon States Language document (plain data)."""
    record_batch = {
        "Type": "Task",
        "Resource": LAMBDA_INVOKE_RESOURCE,
        "Parameters": {"FunctionName": processor_function_arn, "Payload.$": "$"},
        # The processor's counts, not Lambda's invocation metadata.
        "ResultSelector": {f"{name}.$": f"$.Payload.{name}" for name in BACKFILL_RESULT_FIELDS},
        "Retry": [
            {
                "ErrorEquals": list(LAMBDA_SERVICE_ERRORS),
                "IntervalSeconds": SERVICE_RETRY_INTERVAL_SECONDS,
                "MaxAttempts": SERVICE_RETRY_MAX_ATTEMPTS,
                "BackoffRate": SERVICE_RETRY_BACKOFF_RATE,
                "JitterStrategy": JITTER_STRATEGY,
            },
            {
                "ErrorEquals": ["States.TaskFailed"],
                "IntervalSeconds": SERVICE_RETRY_INTERVAL_SECONDS,
                "MaxAttempts": TASK_RETRY_MAX_ATTEMPTS,
                "BackoffRate": SERVICE_RETRY_BACKOFF_RATE,
                "JitterStrategy": JITTER_STRATEGY,
            },
        ],
        "End": True,
    }
    return {
        "Comment": "Reprocess every object under a prefix of the ingest bucket, in batches.",
        "StartAt": MAP_STATE,
        "TimeoutSeconds": EXECUTION_TIMEOUT_SECONDS,
        "States": {
            MAP_STATE: {
                "Type": "Map",
                "Comment": "One child workflow per batch of listed objects.",
                "ItemReader": {
                    "Resource": LIST_OBJECTS_RESOURCE,
                    "Parameters": {"Bucket.$": "$.bucket", "Prefix.$": "$.prefix"},
                },
                "ItemBatcher": {
                    "MaxItemsPerBatch": plan.batch_size,
                    # Every batch says where its objects are: a listed item names only its key.
                    "BatchInput": {
                        f"{name}.$": path for name, path in BACKFILL_BATCH_INPUT_PATHS.items()
                    },
                },
                "MaxConcurrency": plan.max_concurrency,
                "ToleratedFailurePercentage": plan.tolerated_failure_percentage,
                "ItemProcessor": {
                    "ProcessorConfig": {
                        "Mode": "DISTRIBUTED",
                        "ExecutionType": CHILD_EXECUTION_TYPE,
                    },
                    "StartAt": RECORD_STATE,
                    "States": {RECORD_STATE: record_batch},
                },
                "ResultWriter": {
                    "Resource": RESULT_WRITER_RESOURCE,
                    "Parameters": {
                        "Bucket": plan.results_bucket,
                        "Prefix": plan.results_prefix.rstrip("/"),
                    },
                },
                "ResultPath": MAP_RESULT_PATH,
                "End": True,
            }
        },
    }

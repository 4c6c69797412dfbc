"""How created objects reach the processor, per environment: one path, never two.

``workflow``: S3 sends "Object Created" events to EventBridge; a rule starts the Standard
state machine (validate -> process -> notify) once per object. Every object's history is a
Step Functions execution, which suits development and review.

``queue``: S3 sends notifications to an SQS queue; the processor reads it in batches
(partial batch responses), records each object version once and publishes its notice. The
workflow is not deployed there: nothing would start it.

Why the queue for staging and prod: the scale target is 10,000 objects per second, and a
per-object Standard workflow cannot start that many (see ``workflow_path_ceiling``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from constructs_lib.aws_limits import (
    LAMBDA_SQS_BATCH_SIZE_RANGE,
    LAMBDA_SQS_BATCH_SIZE_WITHOUT_WINDOW_MAX,
    LAMBDA_SQS_BATCHING_WINDOW_SECONDS_RANGE,
    SFN_STANDARD_START_EXECUTION_REFILL_PER_SECOND,
    SFN_STANDARD_STATE_TRANSITIONS_PER_SECOND,
    SFN_STANDARD_USD_PER_STATE_TRANSITION,
    SQS_MAX_RECEIVE_COUNT_RANGE,
    require_int_range,
)

IngestPath = Literal["workflow", "queue"]
INGEST_PATHS: tuple[IngestPath, ...] = ("workflow", "queue")
# The synth-time switch that overrides every synthesized environment's ingest_path.
INGEST_PATH_VARIABLE = "PIPELINE_INGEST_PATH"
# The queue scales; an environment that wants per-object executions says so.
DEFAULT_INGEST_PATH: IngestPath = "queue"

# One record per object: 100 objects per invocation amortise the cold start and the
# per-invocation overhead, and still finish well inside the processor's timeout.
DEFAULT_BATCH_SIZE = 100
# Waits at most this long to fill a batch; bounds the added latency when traffic is light.
DEFAULT_BATCHING_WINDOW_SECONDS = 5
# A message failing five receives is not transient: move it to the ingest DLQ for a human.
DEFAULT_MAX_RECEIVE_COUNT = 5

# The objects-per-second target of the scale issue for prod.
PROD_TARGET_OBJECTS_PER_SECOND = 10_000
# State transitions of one processed object: Validate, IsValid, Process,
# PrepareProcessedNotice, Notify (workflow_definition.py).
WORKFLOW_TRANSITIONS_PER_OBJECT = 5


def workflow_path_ceiling() -> int:
    """Objects per second the workflow path sustains under AWS's default Standard quotas."""
    by_transitions = SFN_STANDARD_STATE_TRANSITIONS_PER_SECOND // WORKFLOW_TRANSITIONS_PER_OBJECT
    return min(SFN_STANDARD_START_EXECUTION_REFILL_PER_SECOND, by_transitions)


def workflow_path_usd_per_day(objects_per_second: int) -> float:
    """State-transition cost of sending ``objects_per_second`` through the workflow all day."""
    transitions = objects_per_second * 86_400 * WORKFLOW_TRANSITIONS_PER_OBJECT
    return transitions * SFN_STANDARD_USD_PER_STATE_TRANSITION


@dataclass(frozen=True, kw_only=True)
class IngestQueueSettings:
    """How the processor reads the ingest queue (used where ingest_path is "queue")."""

    batch_size: int = DEFAULT_BATCH_SIZE
    batching_window_seconds: int = DEFAULT_BATCHING_WINDOW_SECONDS
    max_receive_count: int = DEFAULT_MAX_RECEIVE_COUNT

    def validate(self, prefix: str) -> None:
        require_int_range(f"{prefix}.batch_size", self.batch_size, LAMBDA_SQS_BATCH_SIZE_RANGE)
        require_int_range(
            f"{prefix}.batching_window_seconds",
            self.batching_window_seconds,
            LAMBDA_SQS_BATCHING_WINDOW_SECONDS_RANGE,
        )
        if (
            self.batch_size > LAMBDA_SQS_BATCH_SIZE_WITHOUT_WINDOW_MAX
            and self.batching_window_seconds < 1
        ):
            raise ValueError(
                f"{prefix}.batching_window_seconds must be at least 1 when {prefix}.batch_size "
                f"is above {LAMBDA_SQS_BATCH_SIZE_WITHOUT_WINDOW_MAX} (got {self.batch_size})"
            )
        require_int_range(
            f"{prefix}.max_receive_count", self.max_receive_count, SQS_MAX_RECEIVE_COUNT_RANGE
        )


def parse_ingest_path(raw: str) -> IngestPath | None:
    """The value of PIPELINE_INGEST_PATH: None when unset; ValueError naming it otherwise."""
    value = raw.strip()
    if not value:
        return None
    for path in INGEST_PATHS:
        if value == path:
            return path
    raise ValueError(
        f"{INGEST_PATH_VARIABLE} must be one of {', '.join(INGEST_PATHS)}, got {value!r}"
    )

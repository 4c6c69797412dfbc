"""How a backfill reprocesses the objects already in the ingest bucket (the Distributed Map).

A backfill lists every object under a prefix of the ingest bucket (S3 ``ListObjectsV2``,
read by Step Functions itself), hands them to the processor in batches of ``batch_size``,
runs at most ``max_concurrency`` batches at once, and fails the run once more than
``tolerated_failure_percentage`` of the objects failed. The processor writes with the same
conditional put as ingest, so objects already recorded create nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from constructs_lib.aws_limits import (
    SFN_DISTRIBUTED_MAP_MAX_CONCURRENCY_RANGE,
    SFN_TOLERATED_FAILURE_PERCENTAGE_RANGE,
    require_int_range,
)
from constructs_lib.pipeline.backfill_definition import DEFAULT_RESULTS_PREFIX

# An object listed by S3 is about 200 bytes of batch input; 100 per batch stays far below the
# 256 KiB input limit and makes one processor invocation of a few seconds.
DEFAULT_BATCH_SIZE = 100
# The most items one batch may hold: 256 KiB of input at up to ~1.2 KiB per listed object
# (a key can be 1,024 bytes).
BATCH_SIZE_RANGE = (1, 200)
# Batches in flight at once: the processor's writes stay well below a day's partition limit
# (1,000 writes per second) while ingest goes on beside the backfill.
DEFAULT_MAX_CONCURRENCY = 5
# A few unreadable objects should not stop a reprocessing of millions; more than this many
# failing means something is broken and the run stops.
DEFAULT_TOLERATED_FAILURE_PERCENTAGE = 5


@dataclass(frozen=True, kw_only=True)
class BackfillSettings:
    """The backfill workflow's batching, concurrency and failure tolerance."""

    batch_size: int = DEFAULT_BATCH_SIZE
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    tolerated_failure_percentage: int = DEFAULT_TOLERATED_FAILURE_PERCENTAGE
    results_prefix: str = DEFAULT_RESULTS_PREFIX

    def validate(self, prefix: str) -> None:
        require_int_range(f"{prefix}.batch_size", self.batch_size, BATCH_SIZE_RANGE)
        require_int_range(
            f"{prefix}.max_concurrency",
            self.max_concurrency,
            SFN_DISTRIBUTED_MAP_MAX_CONCURRENCY_RANGE,
        )
        require_int_range(
            f"{prefix}.tolerated_failure_percentage",
            self.tolerated_failure_percentage,
            SFN_TOLERATED_FAILURE_PERCENTAGE_RANGE,
        )
        if not self.results_prefix.endswith("/") or self.results_prefix.startswith("/"):
            raise ValueError(
                f"{prefix}.results_prefix must be a key prefix ending in '/' like "
                f"'backfill-results/', got {self.results_prefix!r}"
            )

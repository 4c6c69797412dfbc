"""Step Functions workflow settings for one environment: validate -> choice -> process -> notify.

The validate and notify functions are sized in ``config/functions.py`` like every function.
"""

from __future__ import annotations

from dataclasses import dataclass

from constructs_lib.aws_limits import (
    S3_MAX_OBJECT_BYTES,
    require_int_range,
    require_number,
)

# Lambda service errors and throttles are transient; three more tries ride out a short burst.
DEFAULT_RETRY_MAX_ATTEMPTS = 3
# First wait before a retry; doubled (BACKOFF_RATE) each time: 2, 4, 8 s.
DEFAULT_RETRY_INTERVAL_SECONDS = 2
DEFAULT_RETRY_BACKOFF_RATE = 2.0
# Caps the exponential wait so a long retry chain never sleeps for minutes.
DEFAULT_RETRY_MAX_DELAY_SECONDS = 30
# An error raised by our own code is rarely transient: retry it once, then fail the execution.
DEFAULT_TASK_ERROR_MAX_ATTEMPTS = 1
# Bounds we hold retries to: beyond them an execution waits longer than anyone would want.
RETRY_MAX_ATTEMPTS_RANGE = (1, 10)
RETRY_INTERVAL_SECONDS_RANGE = (1, 300)
RETRY_BACKOFF_RATE_RANGE = (1.0, 10.0)
RETRY_MAX_DELAY_SECONDS_RANGE = (1, 3600)
TASK_ERROR_MAX_ATTEMPTS_RANGE = (0, 5)
# validate rejects larger objects; 50 MiB bounds what one processor run has to handle.
DEFAULT_MAX_OBJECT_BYTES = 50 * 1024 * 1024
MAX_OBJECT_BYTES_RANGE = (1, S3_MAX_OBJECT_BYTES)


@dataclass(frozen=True, kw_only=True)
class WorkflowSettings:
    """How patiently the workflow's tasks retry (deployed where ingest_path is "workflow")."""

    # Applies to Lambda service errors and throttling (Lambda.TooManyRequestsException).
    retry_max_attempts: int = DEFAULT_RETRY_MAX_ATTEMPTS
    retry_interval_seconds: int = DEFAULT_RETRY_INTERVAL_SECONDS
    retry_backoff_rate: float = DEFAULT_RETRY_BACKOFF_RATE
    retry_max_delay_seconds: int = DEFAULT_RETRY_MAX_DELAY_SECONDS
    # Applies to errors our functions raise (States.TaskFailed); 0 fails on the first one.
    task_error_max_attempts: int = DEFAULT_TASK_ERROR_MAX_ATTEMPTS
    # Objects larger than this are rejected by validate (MAX_OBJECT_BYTES).
    max_object_bytes: int = DEFAULT_MAX_OBJECT_BYTES

    def validate(self, prefix: str) -> None:
        require_int_range(
            f"{prefix}.retry_max_attempts", self.retry_max_attempts, RETRY_MAX_ATTEMPTS_RANGE
        )
        require_int_range(
            f"{prefix}.retry_interval_seconds",
            self.retry_interval_seconds,
            RETRY_INTERVAL_SECONDS_RANGE,
        )
        require_number(
            f"{prefix}.retry_backoff_rate", self.retry_backoff_rate, *RETRY_BACKOFF_RATE_RANGE
        )
        require_int_range(
            f"{prefix}.retry_max_delay_seconds",
            self.retry_max_delay_seconds,
            RETRY_MAX_DELAY_SECONDS_RANGE,
        )
        if self.retry_max_delay_seconds < self.retry_interval_seconds:
            raise ValueError(
                f"{prefix}.retry_max_delay_seconds ({self.retry_max_delay_seconds}) must not be "
                f"below {prefix}.retry_interval_seconds ({self.retry_interval_seconds})"
            )
        require_int_range(
            f"{prefix}.task_error_max_attempts",
            self.task_error_max_attempts,
            TASK_ERROR_MAX_ATTEMPTS_RANGE,
        )
        require_int_range(
            f"{prefix}.max_object_bytes", self.max_object_bytes, MAX_OBJECT_BYTES_RANGE
        )

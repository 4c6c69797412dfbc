"""Step Functions workflow settings for one environment: validate -> choice -> process -> notify."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # config.environments imports this module; a runtime import would cycle.
    from config.environments import FunctionSettings

# Lambda service errors and throttles are transient; three more tries ride out a short burst.
DEFAULT_RETRY_MAX_ATTEMPTS = 3
# First wait before a retry; doubled (BACKOFF_RATE) each time: 2, 4, 8 s.
DEFAULT_RETRY_INTERVAL_SECONDS = 2
DEFAULT_RETRY_BACKOFF_RATE = 2.0
# Caps the exponential wait so a long retry chain never sleeps for minutes.
DEFAULT_RETRY_MAX_DELAY_SECONDS = 30
# An error raised by our own code is rarely transient: retry it once, then fail the execution.
DEFAULT_TASK_ERROR_MAX_ATTEMPTS = 1
# Step Functions limits (States Language spec and service quotas).
RETRY_MAX_ATTEMPTS_RANGE = (1, 10)
RETRY_INTERVAL_SECONDS_RANGE = (1, 300)
RETRY_BACKOFF_RATE_RANGE = (1.0, 10.0)
RETRY_MAX_DELAY_SECONDS_RANGE = (1, 3600)
TASK_ERROR_MAX_ATTEMPTS_RANGE = (0, 5)
# validate rejects larger objects; 50 MiB bounds what one processor run has to handle.
DEFAULT_MAX_OBJECT_BYTES = 50 * 1024 * 1024
# S3's own maximum object size (5 TiB).
MAX_OBJECT_BYTES_RANGE = (1, 5 * 1024**4)
# validate reads one object's metadata and notify publishes one message: small and quick.
DEFAULT_FUNCTION_MEMORY_MB = 256
DEFAULT_FUNCTION_TIMEOUT_SECONDS = 15


def _require_int(field_name: str, value: object, bounds: tuple[int, int]) -> None:
    low, high = bounds
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{field_name} must be an integer from {low} to {high}, got {value!r}")


def _default_function() -> FunctionSettings:
    from config.environments import FunctionSettings  # imported late: see TYPE_CHECKING

    return FunctionSettings(
        memory_mb=DEFAULT_FUNCTION_MEMORY_MB, timeout_seconds=DEFAULT_FUNCTION_TIMEOUT_SECONDS
    )


@dataclass(frozen=True, kw_only=True)
class WorkflowSettings:
    """Whether the state machine exists, and how patiently its tasks retry."""

    enabled: bool = True
    # Applies to Lambda service errors and throttling (Lambda.TooManyRequestsException).
    retry_max_attempts: int = DEFAULT_RETRY_MAX_ATTEMPTS
    retry_interval_seconds: int = DEFAULT_RETRY_INTERVAL_SECONDS
    retry_backoff_rate: float = DEFAULT_RETRY_BACKOFF_RATE
    retry_max_delay_seconds: int = DEFAULT_RETRY_MAX_DELAY_SECONDS
    # Applies to errors our functions raise (States.TaskFailed); 0 fails on the first one.
    task_error_max_attempts: int = DEFAULT_TASK_ERROR_MAX_ATTEMPTS
    # Objects larger than this are rejected by validate (MAX_OBJECT_BYTES).
    max_object_bytes: int = DEFAULT_MAX_OBJECT_BYTES
    # Sizing shared by the validate and notify functions.
    function: FunctionSettings = field(default_factory=_default_function)

    def validate(self, prefix: str) -> None:
        if not isinstance(self.enabled, bool):
            raise ValueError(f"{prefix}.enabled must be true or false, got {self.enabled!r}")
        _require_int(
            f"{prefix}.retry_max_attempts", self.retry_max_attempts, RETRY_MAX_ATTEMPTS_RANGE
        )
        _require_int(
            f"{prefix}.retry_interval_seconds",
            self.retry_interval_seconds,
            RETRY_INTERVAL_SECONDS_RANGE,
        )
        low, high = RETRY_BACKOFF_RATE_RANGE
        rate = self.retry_backoff_rate
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not low <= rate <= high:
            raise ValueError(
                f"{prefix}.retry_backoff_rate must be a number from {low} to {high}, got {rate!r}"
            )
        _require_int(
            f"{prefix}.retry_max_delay_seconds",
            self.retry_max_delay_seconds,
            RETRY_MAX_DELAY_SECONDS_RANGE,
        )
        if self.retry_max_delay_seconds < self.retry_interval_seconds:
            raise ValueError(
                f"{prefix}.retry_max_delay_seconds ({self.retry_max_delay_seconds}) must not be "
                f"below {prefix}.retry_interval_seconds ({self.retry_interval_seconds})"
            )
        _require_int(
            f"{prefix}.task_error_max_attempts",
            self.task_error_max_attempts,
            TASK_ERROR_MAX_ATTEMPTS_RANGE,
        )
        _require_int(f"{prefix}.max_object_bytes", self.max_object_bytes, MAX_OBJECT_BYTES_RANGE)
        self.function.validate(f"{prefix}.function")

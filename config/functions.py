"""Sizing for every function of the pipeline: one ``FunctionSettings`` each, in one place."""

from __future__ import annotations

from dataclasses import dataclass, field

from constructs_lib.aws_limits import API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS
from constructs_lib.specs import FunctionSettings


def _api_default() -> FunctionSettings:
    # The API handler only reads and writes single items or short pages: small and quick.
    return FunctionSettings(memory_mb=256, timeout_seconds=10)


def _workflow_step_default() -> FunctionSettings:
    # validate reads one object's metadata and notify publishes one message.
    return FunctionSettings(memory_mb=256, timeout_seconds=15)


def _maintenance_default() -> FunctionSettings:
    # One paginated COUNT query a day: little memory, and two minutes covers a day of millions
    # of records at one 1 MB page per round trip. One execution at a time can never crowd out
    # the processor.
    return FunctionSettings(memory_mb=256, timeout_seconds=120, reserved_concurrency=1)


@dataclass(frozen=True, kw_only=True)
class FunctionSizes:
    """Memory, timeout and reserved concurrency of each function."""

    # Every environment sizes the processor itself: it carries the ingest volume.
    processor: FunctionSettings
    api: FunctionSettings = field(default_factory=_api_default)
    validate: FunctionSettings = field(default_factory=_workflow_step_default)
    notify: FunctionSettings = field(default_factory=_workflow_step_default)
    maintenance: FunctionSettings = field(default_factory=_maintenance_default)

    # Named check, not validate: `validate` is the validate function's field.
    def check(self, prefix: str) -> None:
        for name in ("processor", "api", "validate", "notify", "maintenance"):
            sizing: FunctionSettings = getattr(self, name)
            sizing.validate(f"{prefix}.{name}")
        if self.api.timeout_seconds > API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS:
            raise ValueError(
                f"{prefix}.api.timeout_seconds must be at most "
                f"{API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS} (API Gateway's integration "
                f"timeout), got {self.api.timeout_seconds}"
            )

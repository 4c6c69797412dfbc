"""The maintenance function's environment, parsed once per container (MAINTENANCE_ENVIRONMENT)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pipeline_common.environment import (
    RECORD_WRITE_SHARDS,
    REQUEST_LOG_TABLE,
    REQUEST_LOG_TTL_DAYS,
    TABLE_NAME,
)


@dataclass(frozen=True, kw_only=True)
class MaintenanceSettings:
    table_name: str
    # Each run writes one row here (seed 002's scheduled-run log); 0 TTL days keeps rows.
    request_log_table: str
    request_log_ttl_days: int
    # A day's records are counted across this many shards plus the unsharded key.
    write_shards: int


def load_settings(environ: Mapping[str, str]) -> MaintenanceSettings:
    return MaintenanceSettings(
        table_name=TABLE_NAME.read(environ),
        request_log_table=REQUEST_LOG_TABLE.read(environ),
        request_log_ttl_days=REQUEST_LOG_TTL_DAYS.read(environ),
        write_shards=RECORD_WRITE_SHARDS.read(environ),
    )

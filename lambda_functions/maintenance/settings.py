"""The maintenance function's environment, parsed once per container (MAINTENANCE_ENVIRONMENT)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pipeline_common.environment import RECORD_WRITE_SHARDS, TABLE_NAME


@dataclass(frozen=True, kw_only=True)
class MaintenanceSettings:
    table_name: str
    # A day's records are counted across this many shards plus the unsharded key.
    write_shards: int


def load_settings(environ: Mapping[str, str]) -> MaintenanceSettings:
    return MaintenanceSettings(
        table_name=TABLE_NAME.read(environ), write_shards=RECORD_WRITE_SHARDS.read(environ)
    )

"""The maintenance function's environment, parsed once per container (MAINTENANCE_ENVIRONMENT)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pipeline_common.environment import TABLE_NAME


@dataclass(frozen=True, kw_only=True)
class MaintenanceSettings:
    table_name: str


def load_settings(environ: Mapping[str, str]) -> MaintenanceSettings:
    return MaintenanceSettings(table_name=TABLE_NAME.read(environ))

"""The maintenance function's environment, parsed once per container."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pipeline_common.settings import required_text


@dataclass(frozen=True, kw_only=True)
class MaintenanceSettings:
    table_name: str


def load_settings(environ: Mapping[str, str]) -> MaintenanceSettings:
    return MaintenanceSettings(table_name=required_text(environ, "TABLE_NAME"))

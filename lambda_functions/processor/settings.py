"""The processor's environment, parsed once per container."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pipeline_common.settings import bounded_int, required_text

# Ten years; a larger value is almost certainly a unit mistake.
MAX_RECORD_TTL_DAYS = 3653


@dataclass(frozen=True, kw_only=True)
class ProcessorSettings:
    table_name: str
    # 0 keeps records forever; otherwise DynamoDB TTL deletes them this many days later.
    record_ttl_days: int


def load_settings(environ: Mapping[str, str]) -> ProcessorSettings:
    return ProcessorSettings(
        table_name=required_text(environ, "TABLE_NAME"),
        record_ttl_days=bounded_int(
            environ, "RECORD_TTL_DAYS", minimum=0, maximum=MAX_RECORD_TTL_DAYS
        ),
    )

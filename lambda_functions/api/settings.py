"""The API's environment, parsed once per container (contract: API_ENVIRONMENT)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pipeline_common.environment import (
    CORS_ALLOWED_ORIGINS,
    MAX_PAGE_SIZE,
    RECORD_TTL_DAYS,
    RECORD_WRITE_SHARDS,
    REQUEST_LOG_TABLE,
    REQUEST_LOG_TTL_DAYS,
    TABLE_NAME,
)

# What a list request returns when it names no limit, unless MAX_PAGE_SIZE is smaller.
DEFAULT_PAGE_SIZE = 25


@dataclass(frozen=True, kw_only=True)
class ApiSettings:
    table_name: str
    # Browser origins allowed to call the API; empty turns CORS headers off.
    cors_allowed_origins: tuple[str, ...]
    max_page_size: int
    # 0 keeps records created through the API forever.
    record_ttl_days: int
    # One row per request (seed 002); 0 TTL days keeps rows forever.
    request_log_table: str
    request_log_ttl_days: int
    # Partition keys per day (pipeline_common/records.py): a day is listed across all of them.
    write_shards: int

    @property
    def default_page_size(self) -> int:
        return min(DEFAULT_PAGE_SIZE, self.max_page_size)


def load_settings(environ: Mapping[str, str]) -> ApiSettings:
    return ApiSettings(
        table_name=TABLE_NAME.read(environ),
        cors_allowed_origins=CORS_ALLOWED_ORIGINS.read(environ),
        max_page_size=MAX_PAGE_SIZE.read(environ),
        record_ttl_days=RECORD_TTL_DAYS.read(environ),
        request_log_table=REQUEST_LOG_TABLE.read(environ),
        request_log_ttl_days=REQUEST_LOG_TTL_DAYS.read(environ),
        write_shards=RECORD_WRITE_SHARDS.read(environ),
    )

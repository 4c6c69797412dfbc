"""The API's environment, parsed once per container."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from pipeline_common.settings import ConfigurationError, bounded_int, required_text

# Large enough for any UI page, small enough that one Query stays well under 1 MB and 1 s.
MAX_PAGE_SIZE_LIMIT = 1000
# What a list request returns when it names no limit, unless MAX_PAGE_SIZE is smaller.
DEFAULT_PAGE_SIZE = 25
# Ten years, as for the processor.
MAX_RECORD_TTL_DAYS = 3653
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?$")


@dataclass(frozen=True, kw_only=True)
class ApiSettings:
    table_name: str
    # Browser origins allowed to call the API; empty turns CORS headers off.
    cors_allowed_origins: tuple[str, ...]
    max_page_size: int
    # 0 keeps records created through the API forever.
    record_ttl_days: int

    @property
    def default_page_size(self) -> int:
        return min(DEFAULT_PAGE_SIZE, self.max_page_size)


def load_settings(environ: Mapping[str, str]) -> ApiSettings:
    origins = tuple(
        origin.strip()
        for origin in environ.get("CORS_ALLOWED_ORIGINS", "").split(",")
        if origin.strip()
    )
    for origin in origins:
        if origin != "*" and not _ORIGIN.fullmatch(origin):
            raise ConfigurationError(
                "environment variable CORS_ALLOWED_ORIGINS must list origins like "
                f"https://app.example.com (scheme and host, no path), got {origin!r}"
            )
    if "*" in origins and len(origins) > 1:
        raise ConfigurationError(
            "environment variable CORS_ALLOWED_ORIGINS cannot combine '*' with other origins"
        )
    return ApiSettings(
        table_name=required_text(environ, "TABLE_NAME"),
        cors_allowed_origins=origins,
        max_page_size=bounded_int(environ, "MAX_PAGE_SIZE", minimum=1, maximum=MAX_PAGE_SIZE_LIMIT),
        record_ttl_days=bounded_int(
            environ, "RECORD_TTL_DAYS", minimum=0, maximum=MAX_RECORD_TTL_DAYS, default=0
        ),
    )

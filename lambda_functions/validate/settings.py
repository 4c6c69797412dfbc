"""The validate function's environment, parsed once per container."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pipeline_common.object_schema import MAX_JSON_SAFE_INTEGER
from pipeline_common.settings import bounded_int


@dataclass(frozen=True, kw_only=True)
class ValidateSettings:
    # Objects larger than this are rejected rather than processed.
    max_object_bytes: int


def load_settings(environ: Mapping[str, str]) -> ValidateSettings:
    return ValidateSettings(
        max_object_bytes=bounded_int(
            environ, "MAX_OBJECT_BYTES", minimum=0, maximum=MAX_JSON_SAFE_INTEGER
        )
    )

"""The validate function's environment, parsed once per container (VALIDATE_ENVIRONMENT)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pipeline_common.environment import MAX_OBJECT_BYTES


@dataclass(frozen=True, kw_only=True)
class ValidateSettings:
    # Objects larger than this are rejected rather than processed.
    max_object_bytes: int


def load_settings(environ: Mapping[str, str]) -> ValidateSettings:
    return ValidateSettings(max_object_bytes=MAX_OBJECT_BYTES.read(environ))

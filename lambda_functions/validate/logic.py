"""Decide whether an object description may be processed; report every reason it may not."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pipeline_common.object_schema import OBJECT_FIELDS, check_object


@dataclass(frozen=True)
class ValidationResult:
    """validate's output: ``{"valid", "errors", "object"}`` (see CONTRACTS.md)."""

    valid: bool
    errors: tuple[str, ...] = ()
    # The normalized object when valid; otherwise the known fields as received.
    object: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"valid": self.valid, "errors": list(self.errors), "object": self.object}


def validate_object(payload: Any, *, max_object_bytes: int) -> ValidationResult:
    check = check_object(payload, root="object")
    errors = list(check.errors)
    size = check.normalized.get("size")
    if isinstance(size, int) and size > max_object_bytes:
        errors.append(f"object.size {size} exceeds the limit of {max_object_bytes} bytes")
    if errors:
        received = (
            {name: payload[name] for name in OBJECT_FIELDS if name in payload}
            if isinstance(payload, Mapping)
            else {}
        )
        return ValidationResult(valid=False, errors=tuple(errors), object=received)
    return ValidationResult(valid=True, object=check.normalized)

"""Read a function's environment once, at import, with errors that name the variable."""

from __future__ import annotations

from collections.abc import Mapping


class ConfigurationError(RuntimeError):
    """The function's environment is missing a variable or holds a bad value."""


def required_text(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name, "").strip()
    if not value:
        raise ConfigurationError(f"environment variable {name} is required and must not be empty")
    return value


def bounded_int(
    environ: Mapping[str, str],
    name: str,
    *,
    minimum: int,
    maximum: int,
    default: int | None = None,
) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        if default is None:
            raise ConfigurationError(f"environment variable {name} is required")
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(
            f"environment variable {name} must be an integer, got {raw!r}"
        ) from None
    if not minimum <= value <= maximum:
        raise ConfigurationError(
            f"environment variable {name} must be from {minimum} to {maximum}, got {value}"
        )
    return value

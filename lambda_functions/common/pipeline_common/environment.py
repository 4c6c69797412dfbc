"""Each function's environment variables: names, meaning and bounds, defined once.

This is the contract between the infrastructure and the code. The construct that deploys a
function renders its variables from it (``PROCESSOR_ENVIRONMENT.render(...)``), and the
function's ``settings.py`` reads them back through the same ``Variable`` objects, so the two
sides cannot spell a name differently or disagree on a bound. ``render`` refuses a missing,
unknown or out-of-bounds value at synth time (``ValueError``); ``read`` refuses them at cold
start (``ConfigurationError``), naming the variable either way.

A value Terraform only knows at apply time (a cdktf token such as a table name) is passed
through by ``render`` and checked by ``read`` when the function starts.

Standard library only: it ships in the layer and is imported by the synth.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pipeline_common.records import MAX_WRITE_SHARDS

T = TypeVar("T")

# cdktf renders every unresolved reference as "${TfToken[...]}"; Terraform fills it in.
_UNRESOLVED_MARK = "${"
# scheme://host[:port] and nothing else: browsers send Origin without path or trailing slash.
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?$")
# A standard topic: FIFO topics also need a message group id, which notify never sends.
_TOPIC_ARN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$")
# DynamoDB table names: 3-255 letters, digits, '_', '-' and '.'.
_TABLE_NAME = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")
# The largest integer every JSON parser reads exactly (Number.MAX_SAFE_INTEGER).
MAX_JSON_SAFE_INTEGER = 2**53 - 1
WILDCARD_ORIGIN = "*"


class ConfigurationError(RuntimeError):
    """The function's environment is missing a variable or holds a bad value."""


def is_unresolved(value: object) -> bool:
    """Whether ``value`` is a reference Terraform resolves at apply time."""
    return isinstance(value, str) and _UNRESOLVED_MARK in value


@dataclass(frozen=True)
class Variable(Generic[T]):
    """One environment variable: its name, what it means, and how its text maps to a value."""

    name: str
    description: str

    def parse(self, raw: str) -> T:
        """The value of ``raw``; raise ValueError saying what is wrong (without the name)."""
        raise NotImplementedError

    def format(self, value: T) -> str:
        return str(value)

    def default(self) -> T | None:
        return None

    def read(self, environ: Mapping[str, str]) -> T:
        """The variable's value in ``environ``; ConfigurationError naming it otherwise."""
        raw = environ.get(self.name, "").strip()
        if not raw:
            fallback = self.default()
            if fallback is None:
                raise ConfigurationError(
                    f"environment variable {self.name} is required and must not be empty"
                )
            return fallback
        try:
            return self.parse(raw)
        except ValueError as error:
            raise ConfigurationError(f"environment variable {self.name} {error}") from None

    def set(self, value: T) -> Assignment:
        """This variable set to ``value``, checked now unless Terraform resolves it later."""
        if not is_unresolved(value):
            try:
                self.parse(self.format(value))
            except ValueError as error:
                raise ValueError(f"environment variable {self.name} {error}") from None
        return Assignment(self, self.format(value))


@dataclass(frozen=True)
class Text(Variable[str]):
    """Free text, optionally held to a pattern."""

    pattern: re.Pattern[str] | None = None
    # What a valid value looks like, for the error message.
    looks_like: str = ""

    def parse(self, raw: str) -> str:
        if self.pattern is not None and not self.pattern.fullmatch(raw):
            raise ValueError(f"must be {self.looks_like}, got {raw!r}")
        return raw


@dataclass(frozen=True)
class OptionalText(Text):
    """Text that may be left out: unset or empty turns off what it configures."""

    def parse(self, raw: str) -> str:
        return super().parse(raw) if raw else ""

    def default(self) -> str:
        return ""


@dataclass(frozen=True)
class Integer(Variable[int]):
    """A whole number from ``minimum`` to ``maximum``."""

    minimum: int = 0
    maximum: int = MAX_JSON_SAFE_INTEGER

    def parse(self, raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise ValueError(f"must be an integer, got {raw!r}") from None
        if not self.minimum <= value <= self.maximum:
            raise ValueError(f"must be from {self.minimum} to {self.maximum}, got {value}")
        return value


@dataclass(frozen=True)
class OriginList(Variable[tuple[str, ...]]):
    """Comma-separated browser origins (scheme://host[:port]), or '*' alone; may be empty."""

    def parse(self, raw: str) -> tuple[str, ...]:
        origins = tuple(origin.strip() for origin in raw.split(",") if origin.strip())
        for origin in origins:
            if origin != WILDCARD_ORIGIN and not _ORIGIN.fullmatch(origin):
                raise ValueError(
                    "must list origins like https://app.example.com (scheme and host, no "
                    f"path), got {origin!r}"
                )
        if WILDCARD_ORIGIN in origins and len(origins) > 1:
            raise ValueError("cannot combine '*' with other origins")
        return origins

    def format(self, value: tuple[str, ...]) -> str:
        return ",".join(value)

    def default(self) -> tuple[str, ...]:
        # No origins means no CORS headers at all: same-origin and server-side callers only.
        return ()


@dataclass(frozen=True)
class Assignment:
    variable: Variable[Any]
    text: str


@dataclass(frozen=True)
class FunctionEnvironment:
    """The variables one function is deployed with and reads."""

    function: str
    variables: Sequence[Variable[Any]] = field(default_factory=tuple)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(variable.name for variable in self.variables)

    def render(self, *assignments: Assignment) -> dict[str, str]:
        """The deployed variables: each of this function's variables set exactly once."""
        given = [assignment.variable.name for assignment in assignments]
        unknown = sorted(set(given) - set(self.names))
        if unknown:
            raise ValueError(
                f"{self.function} does not read environment variable(s) {', '.join(unknown)}"
            )
        repeated = sorted({name for name in given if given.count(name) > 1})
        if repeated:
            raise ValueError(f"{self.function}: {', '.join(repeated)} set more than once")
        # A variable with a default may be left out; the function then reads the default.
        missing = [
            variable.name
            for variable in self.variables
            if variable.name not in given and variable.default() is None
        ]
        if missing:
            raise ValueError(f"{self.function} needs environment variable(s) {', '.join(missing)}")
        return {assignment.variable.name: assignment.text for assignment in assignments}


TABLE_NAME = Text(
    "TABLE_NAME",
    "The records table the function reads or writes.",
    pattern=_TABLE_NAME,
    looks_like="a DynamoDB table name (3-255 letters, digits, '_', '-' or '.')",
)
RECORD_TTL_DAYS = Integer(
    "RECORD_TTL_DAYS",
    "Days until a new record expires through the table's TTL; 0 keeps records forever.",
    minimum=0,
    # Ten years; a larger value is almost certainly a unit mistake.
    maximum=3650,
)
RECORD_WRITE_SHARDS = Integer(
    "RECORD_WRITE_SHARDS",
    "Partition keys each day's records are spread over (records.py); 1 is the unsharded "
    "DATE#<day> key. Writers and readers of one table must agree.",
    minimum=1,
    maximum=MAX_WRITE_SHARDS,
)
CORS_ALLOWED_ORIGINS = OriginList(
    "CORS_ALLOWED_ORIGINS",
    "Browser origins allowed to call the API; empty turns CORS headers off.",
)
MAX_PAGE_SIZE = Integer(
    "MAX_PAGE_SIZE",
    "The most records one list request returns.",
    minimum=1,
    # DynamoDB returns at most 1 MB per page anyway; larger pages only slow responses.
    maximum=1000,
)
MAX_OBJECT_BYTES = Integer(
    "MAX_OBJECT_BYTES",
    "Objects larger than this are rejected by the workflow's validate step.",
    minimum=1,
    # S3's own maximum object size (5 TiB).
    maximum=5 * 1024**4,
)
TOPIC_ARN = Text(
    "TOPIC_ARN",
    "The SNS topic the workflow's notices are published to.",
    pattern=_TOPIC_ARN,
    looks_like="a standard SNS topic ARN",
)

NOTICE_TOPIC_ARN = OptionalText(
    "NOTICE_TOPIC_ARN",
    "The SNS topic the processor publishes each object's notice to when it reads the ingest "
    "queue; unset where the workflow's notify step publishes instead.",
    pattern=_TOPIC_ARN,
    looks_like="a standard SNS topic ARN",
)

REQUEST_LOG_TABLE = Text(
    "REQUEST_LOG_TABLE",
    "The request log table: one row per API request or scheduled run (seed 002).",
    pattern=_TABLE_NAME,
    looks_like="a DynamoDB table name (3-255 letters, digits, '_', '-' or '.')",
)
REQUEST_LOG_TTL_DAYS = Integer(
    "REQUEST_LOG_TTL_DAYS",
    "Days until a request log row expires through the table's TTL; 0 keeps rows forever.",
    minimum=0,
    # Ten years; a larger value is almost certainly a unit mistake.
    maximum=3650,
)

PROCESSOR_ENVIRONMENT = FunctionEnvironment(
    "processor", (TABLE_NAME, RECORD_TTL_DAYS, RECORD_WRITE_SHARDS, NOTICE_TOPIC_ARN)
)
API_ENVIRONMENT = FunctionEnvironment(
    "api",
    (
        TABLE_NAME,
        CORS_ALLOWED_ORIGINS,
        MAX_PAGE_SIZE,
        RECORD_TTL_DAYS,
        RECORD_WRITE_SHARDS,
        REQUEST_LOG_TABLE,
        REQUEST_LOG_TTL_DAYS,
    ),
)
VALIDATE_ENVIRONMENT = FunctionEnvironment("validate", (MAX_OBJECT_BYTES,))
NOTIFY_ENVIRONMENT = FunctionEnvironment("notify", (TOPIC_ARN,))
MAINTENANCE_ENVIRONMENT = FunctionEnvironment(
    "maintenance", (TABLE_NAME, RECORD_WRITE_SHARDS, REQUEST_LOG_TABLE, REQUEST_LOG_TTL_DAYS)
)
FUNCTION_ENVIRONMENTS: Mapping[str, FunctionEnvironment] = {
    contract.function: contract
    for contract in (
        PROCESSOR_ENVIRONMENT,
        API_ENVIRONMENT,
        VALIDATE_ENVIRONMENT,
        NOTIFY_ENVIRONMENT,
        MAINTENANCE_ENVIRONMENT,
    )
}

# Read by Powertools itself in every function; set by the construct that builds functions.
POWERTOOLS_SERVICE_NAME = "POWERTOOLS_SERVICE_NAME"
POWERTOOLS_METRICS_NAMESPACE = "POWERTOOLS_METRICS_NAMESPACE"
POWERTOOLS_LOG_LEVEL = "POWERTOOLS_LOG_LEVEL"
POWERTOOLS_VARIABLES = (POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE, POWERTOOLS_LOG_LEVEL)

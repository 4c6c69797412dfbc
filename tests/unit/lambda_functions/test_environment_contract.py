"""The environment contract (pipeline_common.environment): rendered at synth, read at cold start."""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from pipeline_common.environment import (
    CORS_ALLOWED_ORIGINS,
    FUNCTION_ENVIRONMENTS,
    MAX_PAGE_SIZE,
    NOTICE_TOPIC_ARN,
    PROCESSOR_ENVIRONMENT,
    RECORD_TTL_DAYS,
    RECORD_WRITE_SHARDS,
    TABLE_NAME,
    TOPIC_ARN,
    ConfigurationError,
)

# A value of every kind each variable accepts, as the synth would render it.
SAMPLE_VALUES: dict[str, Any] = {
    "TABLE_NAME": "evpipe-dev-records",
    "RECORD_TTL_DAYS": 30,
    "RECORD_WRITE_SHARDS": 4,
    "CORS_ALLOWED_ORIGINS": ("https://app.example.com",),
    "MAX_PAGE_SIZE": 100,
    "MAX_OBJECT_BYTES": 1024,
    "TOPIC_ARN": "arn:aws:sns:us-west-2:123456789012:evpipe-dev-notifications",
    "NOTICE_TOPIC_ARN": "arn:aws:sns:us-west-2:123456789012:evpipe-prod-notifications",
    "REQUEST_LOG_TABLE": "evpipe-dev-request-log",
    "REQUEST_LOG_TTL_DAYS": 90,
}


class RecordingEnviron(Mapping[str, str]):
    """An environment that remembers which variables were read."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = dict(values)
        self.read: set[str] = set()

    def __getitem__(self, key: str) -> str:
        self.read.add(key)
        return self._values[key]

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return self._values.get(key, default)

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


@pytest.mark.parametrize("function", sorted(FUNCTION_ENVIRONMENTS))
def test_each_function_reads_exactly_the_variables_its_contract_deploys(function: str) -> None:
    # Given the variables the construct renders for this function
    contract = FUNCTION_ENVIRONMENTS[function]
    rendered = contract.render(
        *(variable.set(SAMPLE_VALUES[variable.name]) for variable in contract.variables)
    )
    environ = RecordingEnviron(rendered)
    # When the function's settings load them
    settings = importlib.import_module(f"lambda_functions.{function}.settings")
    settings.load_settings(environ)
    # Then it read every deployed variable and nothing the construct does not set
    assert environ.read == set(contract.names)


def test_render_refuses_a_missing_an_unknown_or_a_repeated_variable() -> None:
    with pytest.raises(
        ValueError,
        match=r"^processor needs environment variable\(s\) RECORD_TTL_DAYS, RECORD_WRITE_SHARDS$",
    ):
        PROCESSOR_ENVIRONMENT.render(TABLE_NAME.set("records"))
    with pytest.raises(
        ValueError, match=r"^processor does not read environment variable\(s\) TOPIC"
    ):
        PROCESSOR_ENVIRONMENT.render(
            TABLE_NAME.set("records"),
            RECORD_TTL_DAYS.set(1),
            RECORD_WRITE_SHARDS.set(1),
            TOPIC_ARN.set("arn:aws:sns:us-west-2:123456789012:topic"),
        )
    with pytest.raises(ValueError, match="TABLE_NAME set more than once"):
        PROCESSOR_ENVIRONMENT.render(
            TABLE_NAME.set("a-table"),
            TABLE_NAME.set("b-table"),
            RECORD_TTL_DAYS.set(1),
            RECORD_WRITE_SHARDS.set(1),
        )


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        (lambda: RECORD_TTL_DAYS.set(3651), "RECORD_TTL_DAYS must be from 0 to 3650, got 3651"),
        (lambda: MAX_PAGE_SIZE.set(0), "MAX_PAGE_SIZE must be from 1 to 1000, got 0"),
        (
            lambda: RECORD_WRITE_SHARDS.set(0),
            "RECORD_WRITE_SHARDS must be from 1 to 40, got 0",
        ),
        (
            lambda: RECORD_WRITE_SHARDS.set(41),
            "RECORD_WRITE_SHARDS must be from 1 to 40, got 41",
        ),
        (lambda: TABLE_NAME.set("no spaces allowed"), "TABLE_NAME must be a DynamoDB table name"),
        (
            lambda: CORS_ALLOWED_ORIGINS.set(("*", "https://a.example.com")),
            "CORS_ALLOWED_ORIGINS cannot combine '*' with other origins",
        ),
    ],
)
def test_values_are_checked_at_synth_naming_the_variable(assignment: Any, message: str) -> None:
    with pytest.raises(ValueError, match=f"^environment variable {re.escape(message)}"):
        assignment()


def test_values_terraform_resolves_later_are_checked_at_cold_start_instead() -> None:
    # Given a table name only Terraform knows at synth time
    token = "${TfToken[TOKEN.42]}"
    # When rendered / Then it passes through, and the handler's read would check it
    rendered = PROCESSOR_ENVIRONMENT.render(
        TABLE_NAME.set(token), RECORD_TTL_DAYS.set(0), RECORD_WRITE_SHARDS.set(1)
    )
    assert rendered == {"TABLE_NAME": token, "RECORD_TTL_DAYS": "0", "RECORD_WRITE_SHARDS": "1"}
    with pytest.raises(ConfigurationError, match="TABLE_NAME must be a DynamoDB table name"):
        TABLE_NAME.read({"TABLE_NAME": token})


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({}, "environment variable RECORD_TTL_DAYS is required and must not be empty"),
        ({"RECORD_TTL_DAYS": "1.5"}, "RECORD_TTL_DAYS must be an integer, got '1.5'"),
        ({"RECORD_TTL_DAYS": "3651"}, "RECORD_TTL_DAYS must be from 0 to 3650, got 3651"),
    ],
)
def test_read_names_the_variable(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        RECORD_TTL_DAYS.read(environ)


def test_an_optional_variable_may_be_left_out_and_reads_as_empty() -> None:
    # Given the processor deployed where the workflow publishes notices (no notice topic)
    rendered = PROCESSOR_ENVIRONMENT.render(
        TABLE_NAME.set("records"), RECORD_TTL_DAYS.set(1), RECORD_WRITE_SHARDS.set(1)
    )
    # Then the variable is absent, reads as empty, and a set value is still checked
    assert "NOTICE_TOPIC_ARN" not in rendered
    assert NOTICE_TOPIC_ARN.read(rendered) == ""
    with pytest.raises(ValueError, match="NOTICE_TOPIC_ARN must be a standard SNS topic ARN"):
        NOTICE_TOPIC_ARN.set("arn:aws:sns:us-west-2:123456789012:orders.fifo")
    with pytest.raises(ConfigurationError, match="NOTICE_TOPIC_ARN must be a standard SNS"):
        NOTICE_TOPIC_ARN.read({"NOTICE_TOPIC_ARN": "not-an-arn"})


def test_cors_origins_default_to_none_and_blank_values_are_refused() -> None:
    assert CORS_ALLOWED_ORIGINS.read({}) == ()
    with pytest.raises(ConfigurationError, match="TABLE_NAME is required and must not be empty"):
        TABLE_NAME.read({"TABLE_NAME": "  "})

"""validate returns a typed verdict for the workflow's Choice state and never raises on input."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

from .support import MAX_OBJECT_BYTES, FakeLambdaContext, import_handler, load_event

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")


@pytest.fixture(scope="module")
def validate(handler_env: None) -> ModuleType:
    return import_handler("validate")


def test_valid_object_is_normalized(
    validate: ModuleType, lambda_context: FakeLambdaContext
) -> None:
    # Given the workflow's input with a quoted ETag
    event = load_event("validate-input")

    # When it is validated
    result = validate.lambda_handler(event, lambda_context)

    # Then it is valid and the ETag loses its quotes
    assert result == {
        "valid": True,
        "errors": [],
        "object": {
            "bucket": "evpipe-dev-ingest-us-west-2",
            "key": "incoming/sample file (1).csv",
            "size": 1024,
            "etag": "d41d8cd98f00b204e9800998ecf8427e",
            "version_id": None,
        },
    }


def test_every_problem_is_reported_at_once(
    validate: ModuleType, lambda_context: FakeLambdaContext
) -> None:
    # Given an object with a bad bucket, a string size, no key and no etag
    event = {"bucket": "Not A Bucket", "size": "12", "version_id": 7}

    # When it is validated
    result = validate.lambda_handler(event, lambda_context)

    # Then every problem is named, and the received fields are passed on for the notice
    assert result["valid"] is False
    assert result["errors"] == [
        "object.key is required",
        "object.etag is required",
        "object.bucket must be an S3 bucket name: 3-63 lowercase letters, digits, dots or hyphens",
        "object.size must be integer",
        "object.version_id must be string or null",
    ]
    assert result["object"] == {"bucket": "Not A Bucket", "size": "12", "version_id": 7}


def test_object_over_the_size_limit_is_rejected(
    validate: ModuleType, lambda_context: FakeLambdaContext
) -> None:
    # Given an object one byte over MAX_OBJECT_BYTES
    event = load_event("validate-input")
    event["size"] = MAX_OBJECT_BYTES + 1

    # When it is validated, Then the limit is named
    result = validate.lambda_handler(event, lambda_context)
    assert result["valid"] is False
    assert result["errors"] == [
        f"object.size {MAX_OBJECT_BYTES + 1} exceeds the limit of {MAX_OBJECT_BYTES} bytes"
    ]


def test_object_at_the_size_limit_is_accepted(
    validate: ModuleType, lambda_context: FakeLambdaContext
) -> None:
    event = load_event("validate-input")
    event["size"] = MAX_OBJECT_BYTES
    assert validate.lambda_handler(event, lambda_context)["valid"] is True


@pytest.mark.parametrize("event", [None, [], "s3://bucket/key", 42])
def test_non_object_input_is_invalid_not_an_error(
    validate: ModuleType, lambda_context: FakeLambdaContext, event: Any
) -> None:
    result = validate.lambda_handler(event, lambda_context)
    assert result == {"valid": False, "errors": ["object must be a JSON object"], "object": {}}


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({}, "environment variable MAX_OBJECT_BYTES is required"),
        ({"MAX_OBJECT_BYTES": "ten"}, "MAX_OBJECT_BYTES must be an integer, got 'ten'"),
        ({"MAX_OBJECT_BYTES": "0"}, "MAX_OBJECT_BYTES must be from 1 to"),
    ],
)
def test_bad_environment_fails_at_import_naming_the_variable(
    validate: ModuleType, environ: dict[str, str], message: str
) -> None:
    from pipeline_common.environment import ConfigurationError

    from lambda_functions.validate.settings import load_settings

    with pytest.raises(ConfigurationError, match=message):
        load_settings(environ)

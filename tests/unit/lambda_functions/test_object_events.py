"""The workflow's input contract: the rule's input transformer gives validate what it expects."""

from __future__ import annotations

import json
from typing import Any

from pipeline_common.object_events import (
    OBJECT_CREATED_INPUT_PATHS,
    object_created_input_template,
    object_created_pattern,
)
from pipeline_common.object_schema import OBJECT_FIELDS

from lambda_functions.validate.logic import validate_object

from .support import load_event


def transform(event: dict[str, Any]) -> Any:
    """EventBridge's InputTransformer for dotted JSONPaths, as its user guide describes it:
    each unquoted <name> becomes the JSON value at its path. Written here because no library
    ships EventBridge's transformer; the local cloud's own delivery is tested end to end."""
    text = object_created_input_template()
    for name, path in OBJECT_CREATED_INPUT_PATHS.items():
        value: Any = event
        for part in path.removeprefix("$.").split("."):
            value = value[part]
        text = text.replace(f"<{name}>", json.dumps(value))
    return json.loads(text)


def test_the_transformed_event_is_exactly_validates_input() -> None:
    # Given S3's "Object Created" event for a key with spaces and parentheses
    event = load_event("eventbridge-object-created")
    # When the rule's input transformer shapes it
    payload = transform(event)
    # Then it is validate's input field for field, and validate accepts it unchanged
    assert list(payload) == list(OBJECT_FIELDS)
    assert payload == load_event("validate-input") | {
        "version_id": "3HL4kqtJlcpXroDTDmjVBH40Nrjfkd",
        "etag": "d41d8cd98f00b204e9800998ecf8427e",
    }
    result = validate_object(payload, max_object_bytes=10_000)
    assert result.valid, result.errors
    assert result.object["key"] == "incoming/sample file (1).csv"


def test_a_key_with_quotes_survives_the_template() -> None:
    # Given a key with a double quote and a backslash (values are inserted as JSON)
    event = load_event("eventbridge-object-created")
    event["detail"]["object"]["key"] = 'incoming/a "quoted" \\ name.csv'
    # Then the input is still valid JSON holding the exact key
    assert transform(event)["key"] == 'incoming/a "quoted" \\ name.csv'


def test_the_pattern_matches_one_bucket_and_prefix_of_created_objects() -> None:
    pattern = object_created_pattern(bucket_name="evpipe-dev-ingest-us-west-2", key_prefix="in/")
    assert pattern == {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {
            "bucket": {"name": ["evpipe-dev-ingest-us-west-2"]},
            "object": {"key": [{"prefix": "in/"}]},
        },
    }

"""The on-failure destination record: Lambda's format, with the event's bytes untouched."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tools.async_failure import (
    DestinationError,
    FunctionError,
    destination_record,
    main,
    queue_url_for,
)

FUNCTION_ARN = "arn:aws:lambda:us-west-2:123456789012:function:evpipe-dev-processor"
ERROR = FunctionError(
    error_type="RecordBatchError",
    error_message="1 of 1 records failed: Records[0]: Records[0].eventTime must be ...",
    stack_trace=('  File "/var/task/processor/handler.py", line 80',),
)
# Key order, spacing, a non-ASCII key and an escaped quote: all must survive unchanged.
PAYLOAD = (
    '{"Records": [{"s3": {"object": {"key": "dossier/r\\u00e9sum\\u00e9 \\"v2\\".csv"}}, '
    '"eventTime": "soon", "größe": 1}]}'
)


def test_record_has_lambdas_shape_and_embeds_the_payload_byte_for_byte() -> None:
    # Given a failed event's exact text
    record = destination_record(
        payload=PAYLOAD,
        function_arn=FUNCTION_ARN,
        error=ERROR,
        attempts=3,
        request_id="req-1",
        timestamp=datetime(2024, 5, 1, 12, 0, tzinfo=UTC),
    )
    # When parsed as the destination would receive it
    parsed = json.loads(record)
    # Then the original text appears verbatim and parses to the original event
    assert PAYLOAD in record
    assert parsed["requestPayload"] == json.loads(PAYLOAD)
    # And the envelope is what Lambda sends when retries are exhausted
    assert parsed["version"] == "1.0"
    assert parsed["timestamp"] == "2024-05-01T12:00:00.000Z"
    assert parsed["requestContext"] == {
        "requestId": "req-1",
        "functionArn": f"{FUNCTION_ARN}:$LATEST",
        "condition": "RetriesExhausted",
        "approximateInvokeCount": 3,
    }
    assert parsed["responseContext"] == {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": "Unhandled",
    }
    assert parsed["responsePayload"] == {
        "errorMessage": ERROR.error_message,
        "errorType": "RecordBatchError",
        "requestId": "req-1",
        "stackTrace": list(ERROR.stack_trace),
    }


def test_event_age_condition_is_recorded() -> None:
    record = destination_record(
        payload="{}",
        function_arn=FUNCTION_ARN,
        error=ERROR,
        attempts=1,
        condition="EventAgeExceeded",
    )
    assert json.loads(record)["requestContext"]["condition"] == "EventAgeExceeded"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            {"payload": "{not json"},
            "payload is not JSON (Expecting property name enclosed in double quotes at 1)",
        ),
        ({"attempts": 0}, "attempts must be at least 1, got 0"),
        (
            {"condition": "Timeout"},
            "condition must be one of RetriesExhausted, EventAgeExceeded, got 'Timeout'",
        ),
    ],
)
def test_bad_input_is_refused_with_the_reason(arguments: dict[str, object], message: str) -> None:
    settings: dict[str, object] = {
        "payload": "{}",
        "function_arn": FUNCTION_ARN,
        "error": ERROR,
        "attempts": 1,
    }
    settings.update(arguments)
    with pytest.raises(DestinationError, match=f"^{re.escape(message)}$"):
        destination_record(**settings)  # type: ignore[arg-type]


def test_only_sqs_destinations_can_be_emulated() -> None:
    topic = "arn:aws:sns:us-west-2:123456789012:failures"
    with pytest.raises(DestinationError, match=re.escape(f"got {topic!r}")):
        queue_url_for(object(), topic)


def test_cli_reports_an_unreadable_event_file_without_calling_aws(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an event path that does not exist
    missing = tmp_path / "missing.json"
    arguments = ["--function", "evpipe-dev-processor", "--event", str(missing)]
    arguments += ["--error-type", "RecordBatchError", "--error-message", "boom"]
    # When the CLI runs / Then it exits 2 and names the file
    assert main(arguments) == 2
    assert str(missing) in capsys.readouterr().err

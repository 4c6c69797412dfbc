"""The scheduled maintenance run counts the previous day's records and publishes the number."""

from __future__ import annotations

import json
import re
from types import ModuleType
from typing import Any

import pytest

from .support import TABLE_NAME, WRITE_SHARDS, FakeLambdaContext, import_handler, load_event

# A rejected event publishes no custom metric; Powertools warns about that.
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")


@pytest.fixture(scope="module")
def maintenance(handler_env: None) -> ModuleType:
    return import_handler("maintenance")


@pytest.fixture(scope="module")
def logic(handler_env: None) -> ModuleType:
    import lambda_functions.maintenance.logic as module

    return module


def put_records(dynamodb: Any, day: str, count: int, *, shard: int | None = None) -> None:
    """``count`` records of ``day`` under one shard, or the unsharded key (``shard=None``)."""
    pk = f"DATE#{day}" if shard is None else f"DATE#{day}#{shard:02d}"
    for index in range(count):
        dynamodb.put_item(
            TableName=TABLE_NAME,
            Item={"pk": {"S": pk}, "sk": {"S": f"OBJECT#key-{index}#bucket#E#{index}"}},
        )


def emitted_metrics(output: str) -> dict[str, Any]:
    """The EMF document Powertools printed (CloudWatch turns it into metrics)."""
    for line in output.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            document: dict[str, Any] = json.loads(line)
            return document
    raise AssertionError(f"no EMF metrics line in {output!r}")


def test_scheduled_run_counts_only_the_previous_utc_day(
    maintenance: ModuleType,
    dynamodb: Any,
    lambda_context: FakeLambdaContext,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given records on three days and a schedule that fired just after midnight on May 2
    put_records(dynamodb, "2024-04-30", 2)
    put_records(dynamodb, "2024-05-01", 3)
    put_records(dynamodb, "2024-05-02", 1)
    event = load_event("scheduled-maintenance")

    # When the maintenance function runs
    result = maintenance.lambda_handler(event, lambda_context)

    # Then it reports May 1 with its three records and publishes that number
    assert result == {"day": "2024-05-01", "records": 3}
    metrics = emitted_metrics(capsys.readouterr().out)
    assert metrics["RecordsPerDay"] == [3.0]
    (definition,) = metrics["_aws"]["CloudWatchMetrics"]
    assert definition["Metrics"] == [{"Name": "RecordsPerDay", "Unit": "Count"}]
    assert definition["Dimensions"] == [["service"]]


def test_manual_run_reports_the_day_it_names(
    maintenance: ModuleType, dynamodb: Any, lambda_context: FakeLambdaContext
) -> None:
    # Given records on April 30 and a backfill request for that day
    put_records(dynamodb, "2024-04-30", 2)
    # When run by hand / Then that day is counted
    assert maintenance.lambda_handler({"day": "2024-04-30"}, lambda_context) == {
        "day": "2024-04-30",
        "records": 2,
    }


def test_a_day_without_records_reports_zero(
    maintenance: ModuleType, dynamodb: Any, lambda_context: FakeLambdaContext
) -> None:
    assert maintenance.lambda_handler({"day": "2024-01-01"}, lambda_context)["records"] == 0


@pytest.mark.parametrize(
    ("time", "day"),
    [
        ("2024-05-02T00:00:05Z", "2024-05-01"),
        ("2024-05-01T23:59:59Z", "2024-04-30"),
        # A retried delivery is judged by when the schedule fired, not when it arrived.
        ("2024-03-01T00:30:00+00:00", "2024-02-29"),
        ("2024-05-02T01:00:00+02:00", "2024-04-30"),
    ],
)
def test_report_day_is_the_utc_day_before_the_schedule_fired(
    logic: ModuleType, time: str, day: str
) -> None:
    event = {**load_event("scheduled-maintenance"), "time": time}
    assert logic.report_day(event).isoformat() == day


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ([], "the event must be a JSON object"),
        ({}, 'expected an EventBridge scheduled event or a manual run like {"day": "2024-05-01"}'),
        (
            {"source": "aws.s3", "time": "2024-05-02T00:00:00Z"},
            "expected an EventBridge scheduled event",
        ),
        ({"day": "yesterday"}, "day must be an ISO date like 2024-05-01, got 'yesterday'"),
        ({"day": 20240501}, "day must be an ISO date like 2024-05-01, got '20240501'"),
        (
            {"source": "aws.events", "time": "noon"},
            "time must be an ISO 8601 timestamp, got 'noon'",
        ),
    ],
)
def test_malformed_events_fail_with_a_message_naming_the_problem(
    logic: ModuleType, event: Any, message: str
) -> None:
    with pytest.raises(logic.MalformedEventError, match=f"^{re.escape(message)}"):
        logic.report_day(event)


def test_handler_rejects_a_malformed_event_so_the_run_fails_visibly(
    maintenance: ModuleType, dynamodb: Any, lambda_context: FakeLambdaContext
) -> None:
    with pytest.raises(ValueError, match="day must be an ISO date"):
        maintenance.lambda_handler({"day": "2024-13-01"}, lambda_context)


def test_a_day_is_counted_across_its_shards_and_its_unsharded_key(
    maintenance: ModuleType, dynamodb: Any, lambda_context: FakeLambdaContext
) -> None:
    # Given May 1 with records in every shard, two from before sharding, and a neighbour day
    for shard in range(WRITE_SHARDS):
        put_records(dynamodb, "2024-05-01", shard + 1, shard=shard)
    put_records(dynamodb, "2024-05-01", 2)
    put_records(dynamodb, "2024-05-02", 5, shard=0)
    # When the day is counted / Then every one of its records is, and only those
    expected = sum(range(1, WRITE_SHARDS + 1)) + 2
    assert maintenance.lambda_handler({"day": "2024-05-01"}, lambda_context) == {
        "day": "2024-05-01",
        "records": expected,
    }

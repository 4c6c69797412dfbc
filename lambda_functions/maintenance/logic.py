"""Which day a maintenance run reports on."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent
from pipeline_common.request_log import (
    SCHEDULED_METHOD,
    SCHEDULED_PATH,
    SOURCE_SCHEDULE,
    RequestLogEntry,
)

SCHEDULED_EVENT_SOURCE = "aws.events"


class MalformedEventError(ValueError):
    """The event is neither a scheduled event nor a manual run naming a day."""


def report_day(event: Any) -> date:
    """The UTC day before a scheduled event fired, or the day a manual run names.

    The schedule's own timestamp, not the clock, decides: a delivery EventBridge retried
    after midnight still reports on the day the schedule meant.
    """
    if not isinstance(event, Mapping):
        raise MalformedEventError("the event must be a JSON object")
    if "day" in event:
        return _parse_day(event["day"])
    if event.get("source") == SCHEDULED_EVENT_SOURCE and "time" in event:
        fired = _parse_time(EventBridgeEvent(dict(event)).time)
        return fired.astimezone(UTC).date() - timedelta(days=1)
    raise MalformedEventError(
        'expected an EventBridge scheduled event or a manual run like {"day": "2024-05-01"}'
    )


def _parse_day(value: Any) -> date:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise MalformedEventError(
            f"day must be an ISO date like 2024-05-01, got {str(value)[:40]!r}"
        ) from None


def _parse_time(value: Any) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise MalformedEventError(
            f"time must be an ISO 8601 timestamp, got {str(value)[:40]!r}"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def run_entry(event: Any, *, now: datetime, aws_request_id: str) -> RequestLogEntry:
    """The request log's row for this run (seed 002); never raises, whatever the event."""
    event_id = event.get("id") if isinstance(event, Mapping) else None
    return RequestLogEntry(
        request_id=event_id if isinstance(event_id, str) and event_id else aws_request_id,
        timestamp=now,
        source=SOURCE_SCHEDULE,
        method=SCHEDULED_METHOD,
        path=SCHEDULED_PATH,
        body=event if isinstance(event, Mapping) else None,
        aws_request_id=aws_request_id,
    )

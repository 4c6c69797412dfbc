"""A burst on the queue ingest path: every event recorded exactly once, nothing dead-lettered.

The same run as ``make load-test`` (``benchmarks/ingest_load.py``) with 500 events instead
of 10,000, so it fits the test suite: dev deployed with the queue path (staging's and prod's)
on a local cloud of its own, notifications sent to the ingest queue as S3 sends them, the
deployed mapping and processor doing the rest. Prints events per second next to a bare
put_item loop on the same local cloud.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from benchmarks.ingest_load import INGEST_PATH_ENVIRON, run_load
from tools.local_stack import LocalDeployment, deploy
from tools.localcloud.process import LocalCloudProcess

EVENTS = 500
# Generous: the 2-core machine runs other suites beside this one.
TIMEOUT_SECONDS = 900.0


@pytest.fixture(scope="module")
def queue_dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalDeployment]:
    folder = tmp_path_factory.mktemp("load")
    with LocalCloudProcess(log_path=folder / "localcloud.log") as cloud:
        yield deploy(cloud, folder / "run", environment="dev", environ=INGEST_PATH_ENVIRON)


def test_a_burst_of_events_is_recorded_exactly_once_with_nothing_dead_lettered(
    queue_dev: LocalDeployment,
) -> None:
    # Given dev deployed with the queue ingest path, its table and DLQ as the emulator holds them
    # When 500 S3 notifications arrive on the ingest queue at once
    result = run_load(queue_dev, EVENTS, timeout=TIMEOUT_SECONDS, on_progress=print)
    print(result.report())
    # Then the table holds exactly one record per event, none lost and none doubled
    assert result.records == EVENTS
    # And nothing reached the ingest DLQ, and the ingest queue is empty
    assert result.dlq_messages == 0
    # And the rates were measured (the report prints them)
    assert result.events_per_second > 0
    assert result.bare_put_items_per_second > 0

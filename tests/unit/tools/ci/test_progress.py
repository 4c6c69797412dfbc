"""Progress lines: every phase timed, Terraform's lines counted, never silent for long."""

from __future__ import annotations

import io
import re
import time

import pytest

from tools.ci.progress import Progress


class FakeClock:
    """Seconds that only move when the test says so."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def lines(stream: io.StringIO) -> list[str]:
    return [re.sub(r"^review \[ *[\d.]+ s\] ", "", line) for line in stream.getvalue().splitlines()]


def test_each_phase_says_when_it_starts_and_how_long_it_took() -> None:
    # Given a run with two phases, the second failing
    clock, stream = FakeClock(), io.StringIO()
    progress = Progress("review", stream=stream, clock=clock, heartbeat_seconds=1000)
    with progress.phase("synth"):
        clock.now += 2.5

    def failing_apply() -> None:
        with progress.phase("apply"):
            clock.now += 1.0
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        failing_apply()
    # Then both are reported with their durations, and the failure as a failure
    assert lines(stream) == [
        "synth: started",
        "synth: done in 2.5 s",
        "apply: started",
        "apply: failed after 1.0 s",
    ]
    assert progress.laps == {"synth": 2.5}
    assert stream.getvalue().startswith("review [    0.0 s] synth: started")


def test_terraform_progress_is_counted_and_echoed_at_most_every_few_seconds() -> None:
    # Given an apply printing resource progress, diff lines and a summary
    clock, stream = FakeClock(), io.StringIO()
    progress = Progress(
        "review", stream=stream, clock=clock, heartbeat_seconds=1000, line_interval_seconds=3
    )
    with progress.phase("apply"):
        progress.terraform_line("  + arn = (known after apply)")
        progress.terraform_line("aws_sqs_queue.dlq: Creating...")
        progress.terraform_line("aws_sqs_queue.dlq: Creation complete after 1s [id=x]")
        clock.now += 3
        progress.terraform_line("aws_s3_bucket.in: Creation complete after 2s [id=y]")
        progress.terraform_line("Apply complete! Resources: 2 added, 0 changed, 0 destroyed.")
    # Then only progress lines count, one is echoed per interval, and the total is reported
    assert lines(stream) == [
        "apply: started",
        "apply: 0 done | aws_sqs_queue.dlq: Creating...",
        "apply: 2 done | aws_s3_bucket.in: Creation complete after 2s [id=y]",
        "apply: done in 3.0 s (2 resources)",
    ]


def test_a_quiet_phase_gets_a_heartbeat() -> None:
    # Given a phase that prints nothing for longer than the heartbeat interval
    stream = io.StringIO()
    with (
        Progress("review", stream=stream, heartbeat_seconds=0.2) as progress,
        progress.phase("checkov"),
    ):
        time.sleep(0.7)
    # Then the heartbeat said the phase was still running
    heartbeats = [line for line in lines(stream) if "still running" in line]
    assert heartbeats, stream.getvalue()
    assert all(line.startswith("checkov: still running (") for line in heartbeats)

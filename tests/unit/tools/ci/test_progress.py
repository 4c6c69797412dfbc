"""Progress lines: every phase timed, Terraform's lines counted, never silent for long."""

from __future__ import annotations

import io
import itertools
import os
import re
import sys
import time
from pathlib import Path

import pytest

from tools import cdktf_run
from tools.ci import progress as progress_module
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


def test_stacks_applying_at_once_are_counted_apart_until_each_finishes() -> None:
    # Given the bootstrap and dev applying at once while `make run` names the phase itself
    clock, stream = FakeClock(), io.StringIO()
    progress = Progress(
        "review", stream=stream, clock=clock, heartbeat_seconds=9, line_interval_seconds=3
    )
    progress.track("pipeline-dev apply")
    bucket = "aws_s3_bucket.state: Creation complete after 1s"
    progress.terraform_line(bucket, source="state-bootstrap")
    progress.terraform_line("aws_sqs_queue.dlq: Creation complete after 1s", source="pipeline-dev")
    progress.terraform_line("aws_sqs_queue.q: Creation complete after 1s", source="pipeline-dev")
    clock.now += 10
    # Then a heartbeat says how far each stack is
    assert progress.heartbeat_line() == (
        "pipeline-dev apply: still running (10 s; pipeline-dev 2 done, state-bootstrap 1 done)"
    )
    # When the bootstrap finishes
    progress.terraform_line(
        "Apply complete! Resources: 9 added, 0 changed, 0 destroyed.", source="state-bootstrap"
    )
    clock.now += 10
    # Then that is said, and the heartbeat names only the stack still applying
    assert "state-bootstrap: Apply complete! Resources: 9 added" in stream.getvalue()
    assert progress.heartbeat_line() == (
        "pipeline-dev apply: still running (20 s; pipeline-dev 2 done)"
    )
    assert lines(stream)[0] == f"state-bootstrap: 1 done | {bucket}"


def test_the_heartbeat_cannot_leave_ten_silent_seconds() -> None:
    # Given the defaults: a beat after HEARTBEAT_SECONDS, noticed within one poll
    # Then the longest possible silence is under 10 s
    assert progress_module.HEARTBEAT_SECONDS + progress_module.POLL_SECONDS < 10


class StampedStream(io.StringIO):
    """Remembers when each line was written (both stdout and stderr write here)."""

    def __init__(self, stamps: list[tuple[float, str]]) -> None:
        super().__init__()
        self._stamps = stamps

    def write(self, text: str) -> int:
        if text.strip():
            self._stamps.append((time.monotonic(), text.strip()))
        return len(text)


FAKE_NPX = """#!/bin/sh
echo "pipeline-dev  Synthesizing"
sleep {silence}
echo "pipeline-dev  aws_sqs_queue.dlq: Creating..."
sleep {silence}
echo "pipeline-dev  Apply complete! Resources: 1 added, 0 changed, 0 destroyed."
"""


def test_make_deploy_prints_a_line_at_least_every_heartbeat_while_cdktf_is_quiet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a fake cdktf (npx) that is silent for 6 heartbeats at a time, and a heartbeat
    # of 0.5 s standing in for the real 9 s
    heartbeat = 0.5
    monkeypatch.setattr(progress_module, "HEARTBEAT_SECONDS", heartbeat)
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "npx").write_text(FAKE_NPX.format(silence=6 * heartbeat))
    (fake / "npx").chmod(0o755)
    stamps: list[tuple[float, str]] = []
    monkeypatch.setattr(sys, "stdout", StampedStream(stamps))
    monkeypatch.setattr(sys, "stderr", StampedStream(stamps))
    environ = {
        "PATH": f"{fake}{os.pathsep}{os.environ['PATH']}",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:1",
        "TF_CLI_CONFIG_FILE": str(tmp_path / "terraformrc"),
        "CDKTF_OUT": str(tmp_path / "out"),
    }
    # When make deploy's wrapper runs it
    started = time.monotonic()
    code = cdktf_run.run("deploy", "dev", environ)
    ended = time.monotonic()
    # Then cdktf's own lines came through, and heartbeats filled its silences
    texts = [text for _, text in stamps]
    assert code == 0
    assert "pipeline-dev  aws_sqs_queue.dlq: Creating..." in texts
    assert any("deploy pipeline-dev: still running (" in text for text in texts), texts
    # And no gap between two lines, from start to end, was longer than a heartbeat plus
    # the thread's poll (and some slack for a busy machine)
    times = [started, *(at for at, _ in stamps), ended]
    longest = max(later - earlier for earlier, later in itertools.pairwise(times))
    assert longest < heartbeat + progress_module.POLL_SECONDS + 0.5, texts

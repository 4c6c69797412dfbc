"""Phase-by-phase progress on stderr for long CI commands: never silent for more than 10 s.

    with Progress("plan-review") as progress:
        with progress.phase("apply base"):
            workspace.apply(on_line=progress.terraform_line)

Each phase prints when it starts and how long it took. Terraform's per-resource progress
lines ("...: Creation complete after 2s") are counted and one is echoed every few seconds,
so a four-minute apply shows it is moving without flooding the log; when nothing has been
printed for HEARTBEAT_SECONDS a heartbeat line says which phase is still running. Stdout
stays free for the command's real output (a Markdown summary).
"""

from __future__ import annotations

import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import TextIO

# A CI log quiet for 10 s looks hung; the thread checks every 0.25 s, so beat at 9.
HEARTBEAT_SECONDS = 9.0
# At most one echoed Terraform line per this many seconds.
LINE_INTERVAL_SECONDS = 3.0
# Terraform's per-resource progress lines (plan, apply, destroy), without -json.
_TERRAFORM_PROGRESS = re.compile(
    r"^\S.*: (Refreshing state|Reading|Read complete|Creating|Creation complete|Modifying|"
    r"Modifications complete|Destroying|Destruction complete|Importing|Import complete|Still )"
)
_TERRAFORM_DONE = re.compile(
    r": (Refreshing state|Read complete|Creation complete|Modifications complete|"
    r"Destruction complete|Import complete)"
)


class Progress:
    """Timestamped progress lines for one command run, with a heartbeat thread."""

    def __init__(
        self,
        name: str,
        *,
        stream: TextIO | None = None,
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
        line_interval_seconds: float = LINE_INTERVAL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.laps: dict[str, float] = {}
        self._stream = stream
        self._heartbeat = heartbeat_seconds
        self._line_interval = line_interval_seconds
        self._clock = clock
        self._started = clock()
        self._last_print = self._started
        self._last_echo = float("-inf")
        self._phase: str | None = None
        self._phase_started = self._started
        self._done_in_phase = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"{name}-heartbeat", daemon=True)

    def __enter__(self) -> Progress:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def elapsed(self) -> float:
        return self._clock() - self._started

    def say(self, text: str) -> None:
        with self._lock:
            self._print(text)

    @contextmanager
    def phase(self, title: str) -> Iterator[None]:
        """Announce a phase, time it and report how it ended."""
        with self._lock:
            self._phase, self._phase_started, self._done_in_phase = title, self._clock(), 0
            self._print(f"{title}: started")
        try:
            yield
        except BaseException:
            with self._lock:
                self._print(f"{title}: failed after {self._clock() - self._phase_started:.1f} s")
                self._phase = None
            raise
        with self._lock:
            seconds = self._clock() - self._phase_started
            self.laps[title] = seconds
            counted = f" ({self._done_in_phase} resources)" if self._done_in_phase else ""
            self._print(f"{title}: done in {seconds:.1f} s{counted}")
            self._phase = None

    def terraform_line(self, line: str) -> None:
        """Count one line of Terraform output and echo it if it is time to."""
        if not _TERRAFORM_PROGRESS.match(line):
            return
        with self._lock:
            if _TERRAFORM_DONE.search(line):
                self._done_in_phase += 1
            now = self._clock()
            if now - self._last_echo < self._line_interval:
                return
            self._last_echo = now
            self._print(f"{self._phase or 'terraform'}: {self._done_in_phase} done | {line}")

    def _beat(self) -> None:
        while not self._stop.wait(min(0.25, self._heartbeat / 4)):
            with self._lock:
                if self._phase is None or self._clock() - self._last_print < self._heartbeat:
                    continue
                running = self._clock() - self._phase_started
                self._print(f"{self._phase}: still running ({running:.0f} s)")

    def _print(self, text: str) -> None:
        stream = self._stream or sys.stderr
        print(f"{self.name} [{self.elapsed:7.1f} s] {text}", file=stream, flush=True)
        self._last_print = self._clock()

"""Phase-by-phase progress on stderr for long commands: never silent for more than 10 s.

    with Progress("plan-review") as progress:
        with progress.phase("apply base"):
            workspace.apply(on_line=progress.terraform_line)

Each phase prints when it starts and how long it took. Terraform's per-resource progress
lines ("...: Creation complete after 2s") are counted and one is echoed every few seconds,
so a four-minute apply shows it is moving without flooding the log; when nothing has been
printed for HEARTBEAT_SECONDS a heartbeat line says which phase is still running and, when
several stacks apply at once (``terraform_line(line, source=stack)``), how far each stack
is. Stdout stays free for the command's real output (a Markdown summary).

Commands that announce their own phases (make run) call ``track(title)`` instead of
``phase``; commands that pass another program's output through (make deploy) hand each
line to ``relay``, which prints it and counts as output, so the heartbeat only fills gaps.
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
# How often the heartbeat thread looks at the clock, at most.
POLL_SECONDS = 0.25
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
# Terraform's last line of a successful apply or destroy.
_TERRAFORM_FINISHED = re.compile(r"^(Apply|Destroy) complete!")


class _Source:
    """One Terraform run reporting lines (a stack), while several run at once."""

    def __init__(self) -> None:
        self.done = 0
        self.finished = False


class Progress:
    """Timestamped progress lines for one command run, with a heartbeat thread."""

    def __init__(
        self,
        name: str,
        *,
        stream: TextIO | None = None,
        heartbeat_seconds: float | None = None,
        line_interval_seconds: float = LINE_INTERVAL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.laps: dict[str, float] = {}
        self._stream = stream
        self._heartbeat = HEARTBEAT_SECONDS if heartbeat_seconds is None else heartbeat_seconds
        self._line_interval = line_interval_seconds
        self._clock = clock
        self._started = clock()
        self._last_print = self._started
        self._last_echo = float("-inf")
        self._phase: str | None = None
        self._phase_started = self._started
        self._done_in_phase = 0
        self._sources: dict[str, _Source] = {}
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

    def track(self, title: str | None) -> None:
        """Make ``title`` the running phase without printing (its caller announces it)."""
        with self._lock:
            self._phase, self._phase_started, self._done_in_phase = title, self._clock(), 0

    def relay(self, line: str, stream: TextIO | None = None) -> None:
        """Print another program's output line as it is (stdout by default); it counts as
        output, so no heartbeat is printed while that program talks."""
        with self._lock:
            print(line, file=stream or sys.stdout, flush=True)
            self._last_print = self._clock()

    def terraform_line(self, line: str, *, source: str | None = None) -> None:
        """Count one line of Terraform output and echo it if it is time to.

        ``source`` names the stack when several Terraform runs report at once; its count is
        kept apart and prefixes the echo.
        """
        with self._lock:
            tracked = self._sources.setdefault(source, _Source()) if source else None
            if tracked is not None and _TERRAFORM_FINISHED.match(line):
                tracked.finished = True
                self._print(f"{source}: {line}")
                return
            if not _TERRAFORM_PROGRESS.match(line):
                return
            if _TERRAFORM_DONE.search(line):
                self._done_in_phase += 1
                if tracked is not None:
                    tracked.done += 1
            now = self._clock()
            if now - self._last_echo < self._line_interval:
                return
            self._last_echo = now
            done = tracked.done if tracked is not None else self._done_in_phase
            self._print(f"{source or self._phase or 'terraform'}: {done} done | {line}")

    def heartbeat_line(self) -> str | None:
        """What the heartbeat would print now, or None while output is recent enough."""
        if self._phase is None or self._clock() - self._last_print < self._heartbeat:
            return None
        running = self._clock() - self._phase_started
        stacks = [
            f"{name} {source.done} done"
            for name, source in sorted(self._sources.items())
            if not source.finished
        ]
        per_stack = f"; {', '.join(stacks)}" if stacks else ""
        return f"{self._phase}: still running ({running:.0f} s{per_stack})"

    def _beat(self) -> None:
        while not self._stop.wait(min(POLL_SECONDS, self._heartbeat / 4)):
            with self._lock:
                line = self.heartbeat_line()
                if line is not None:
                    self._print(line)

    def _print(self, text: str) -> None:
        stream = self._stream or sys.stderr
        print(f"{self.name} [{self.elapsed:7.1f} s] {text}", file=stream, flush=True)
        self._last_print = self._clock()

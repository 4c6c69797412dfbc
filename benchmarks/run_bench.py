"""`make run` speed: its phases now against baselines measured in the same run.

Run from the project root: ``pipenv run python -m benchmarks.run_bench [--baseline
commit|plain|both]``. Every figure is one fresh ``python -m tools.run_local`` process (a whole
`make run` after setup), run one after the other on this machine, so load from other work
hits each alike only roughly: compare the ratios, not the seconds, with other runs.

Baselines (issue 11 asks for `make run` cut by at least a third):

- ``commit``: the design before the local cloud, commit ``BASELINE_COMMIT`` exported with
  ``git archive`` into a temporary folder (this tree's Lambda layer copied in, as plan review
  does) and its own ``python -m tools.run_local`` run there with this interpreter. That run
  started moto as a subprocess, deployed dev without the state machine, and ran the packaged
  code through our tools instead of delivering anything. Its printed steps ``[n/8]`` are
  mapped onto today's phases (it has no "workflow finished").
- ``plain``: today's run with the deploy done the plain way (``--plain-deploy``): the
  bootstrap applied fully, then dev, with Terraform's defaults (parallelism 10, a provider
  process started by Terraform for each step). This isolates what tools/local_stack.py
  gains: overlapping the two applies, ``-parallelism``, one reattached provider per stack.

The ratio printed last is current total / baseline total (below 0.67 meets the issue).
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from tools.ci.plan_review.commits import (
    CommitError,
    export_commit,
    provide_layer,
    resolve_commit,
)
from tools.run_local import PHASES, TOTAL

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The last commit before tools/localcloud: moto as a server subprocess, imitation tools.
BASELINE_COMMIT = "6fcd50e"
# What the issue asks: the current total at most two thirds of the old one.
TARGET_RATIO = 2 / 3
# A whole run on a loaded 2-core machine; beyond this something is stuck.
RUN_TIMEOUT_SECONDS = 1200.0
# The baseline commit's steps, "[n/8] ..." printed when each starts, as today's phases.
OLD_STEPS = {
    1: "local cloud start",
    2: "synth",
    3: "bootstrap apply",
    4: "pipeline-dev apply",
    5: "first record visible",  # upload, then its processor run on the built S3 event
    7: "API round trip",  # POST and GET through the packaged handler
    8: None,  # printing the record: the end of the timed work
}
_OLD_STEP = re.compile(r"^\[(\d)/8\]")
_PHASE_ROW = re.compile(r"^  (?P<name>\S.*?)\s+(?P<seconds>\d+\.\d) s$")


class BenchError(RuntimeError):
    """A measured run failed; the message says which and how."""


def _timed_lines(
    command: Sequence[str], cwd: Path, env: dict[str, str], on_line: Callable[[float, str], None]
) -> tuple[float, int, list[str]]:
    """Run ``command``; hand each output line over with its time since start."""
    started = time.monotonic()
    lines: list[str] = []
    with subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as process:
        timer = threading.Timer(RUN_TIMEOUT_SECONDS, process.kill)
        timer.start()
        try:
            assert process.stdout is not None  # stdout=PIPE above
            for line in process.stdout:
                line = line.rstrip("\n")
                lines.append(line)
                on_line(time.monotonic() - started, line)
            code = process.wait()
        finally:
            timer.cancel()
    return time.monotonic() - started, code, lines


def _failed(what: str, code: int, lines: list[str]) -> BenchError:
    tail = " / ".join(line.strip() for line in lines[-5:] if line.strip())
    return BenchError(f"{what} exited {code}: {tail}")


def measure_current(run_dir: Path, *, plain: bool) -> dict[str, float]:
    """Today's make run (or its plain deploy) in a fresh process; its own phase table."""
    command = [sys.executable, "-m", "tools.run_local", "--run-dir", str(run_dir)]
    if plain:
        command.append("--plain-deploy")
    label = "plain-deploy run" if plain else "current run"
    print(f"-- {label}: {' '.join(command[1:])}", flush=True)
    wall, code, lines = _timed_lines(
        command, PROJECT_ROOT, dict(os.environ), lambda t, line: _echo(t, line)
    )
    if code != 0:
        raise _failed(label, code, lines)
    laps: dict[str, float] = {}
    in_table = False
    for line in lines:
        if line == "Phases:":
            in_table = True
            continue
        matched = _PHASE_ROW.match(line) if in_table else None
        if matched is None:
            in_table = False
            continue
        if matched["name"] != TOTAL:
            laps[matched["name"]] = float(matched["seconds"])
    if not laps:
        raise BenchError(f"{label} printed no phase table")
    laps["process wall time"] = wall
    return laps


def measure_commit(commit: str, work: Path) -> dict[str, float]:
    """The baseline commit's own run_local in an exported copy; its steps as phases."""
    ref = resolve_commit(commit, PROJECT_ROOT)
    checkout = export_commit(ref, work / f"checkout-{ref.short}")
    provide_layer(checkout, PROJECT_ROOT)
    node_modules = checkout / "node_modules"
    if not node_modules.exists():
        node_modules.symlink_to(PROJECT_ROOT / "node_modules")
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env.pop("AWS_ENDPOINT_URL", None)
    env["TF_CLI_CONFIG_FILE"] = str(checkout / "build" / "terraformrc")
    starts: list[tuple[int, float]] = []

    def on_line(elapsed: float, line: str) -> None:
        _echo(elapsed, line)
        matched = _OLD_STEP.match(line)
        if matched:
            starts.append((int(matched[1]), elapsed))

    command = [sys.executable, "-m", "tools.run_local"]
    print(f"-- baseline {ref.short}: {' '.join(command[1:])} in {checkout}", flush=True)
    wall, code, lines = _timed_lines(command, checkout, env, on_line)
    if code != 0:
        raise _failed(f"baseline {ref.short}", code, lines)
    laps: dict[str, float] = {}
    for (step, started), (_, ended) in itertools.pairwise(starts):
        phase = OLD_STEPS.get(step)
        if phase is not None:
            laps[phase] = laps.get(phase, 0.0) + ended - started
    if "API round trip" not in laps:
        raise BenchError(f"baseline {ref.short} printed steps {[s for s, _ in starts]}, not 1-8")
    laps["process wall time"] = wall
    return laps


def _echo(elapsed: float, line: str) -> None:
    if _OLD_STEP.match(line) or re.match(r"^\[\s*\d+\.\d s\]", line) or line.startswith("error"):
        print(f"   {elapsed:6.1f} s | {line}", flush=True)


def comparison(columns: dict[str, dict[str, float]]) -> str:
    """Phases down, runs across; totals are the sums of the phases."""
    names = list(columns)
    width = max(12, *(len(name) for name in names))
    header = f"{'phase':<22}" + "".join(f" {name:>{width}}" for name in names)
    rows = [header, "-" * len(header)]
    for phase in (*PHASES, TOTAL, "process wall time"):
        cells = []
        for laps in columns.values():
            value = sum(v for k, v in laps.items() if k in PHASES) if phase == TOTAL else None
            value = laps.get(phase) if value is None else value
            cells.append(f" {'-' if value is None else f'{value:.1f} s':>{width}}")
        rows.append(f"{phase:<22}" + "".join(cells))
    return "\n".join(rows)


def _total(laps: dict[str, float]) -> float:
    return sum(value for name, value in laps.items() if name in PHASES)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run_bench", description=__doc__)
    parser.add_argument("--baseline", choices=("commit", "plain", "both"), default="both")
    parser.add_argument("--commit", default=BASELINE_COMMIT, help="the baseline commit")
    args = parser.parse_args(argv)
    columns: dict[str, dict[str, float]] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="run-bench-") as tmp:
            work = Path(tmp)
            if args.baseline in ("commit", "both"):
                columns[f"commit {args.commit}"] = measure_commit(args.commit, work)
            if args.baseline in ("plain", "both"):
                columns["plain deploy"] = measure_current(work / "plain", plain=True)
            columns["current"] = measure_current(work / "current", plain=False)
    except (BenchError, CommitError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print()
    print(comparison(columns))
    current = _total(columns["current"])
    for name, laps in columns.items():
        if name != "current":
            ratio = current / _total(laps)
            verdict = "meets" if ratio <= TARGET_RATIO else "misses"
            print(
                f"current/{name}: {ratio:.2f} ({verdict} the issue's target of {TARGET_RATIO:.2f})"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())

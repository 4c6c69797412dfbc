"""Check the GitHub Actions workflows and local actions with jactionlint (part of ``make lint``).

    pipenv run python -m tools.ci.workflow_lint            # the repository's .github/
    pipenv run python -m tools.ci.workflow_lint FILE...    # only these files

jactionlint keeps actionlint's checks (syntax, expression types, action inputs, ``needs``)
and adds security and policy rules: actions pinned by commit, explicit permissions, job
timeouts, concurrency groups, script injection. It runs offline (``--no-online``) and every
finding fails (``--strict-exit``). When ``shellcheck`` is on PATH it also checks each
``run:`` script; without it, it says so in one line and checks the rest.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from tools.ci.terraform_cli import PROJECT_ROOT

LINTER = "jactionlint"
# Offline, and warnings fail like errors: a workflow is either clean or the lint says why.
LINTER_ARGS = ("--no-online", "--strict-exit", "--no-color")


class LinterMissing(RuntimeError):
    """The linter is not installed; the message says how to install it."""


def linter_path() -> str:
    """The installed jactionlint (make setup puts it in .venv/bin)."""
    found = shutil.which(LINTER) or shutil.which(LINTER, path=str(Path(sys.executable).parent))
    if found is None:
        raise LinterMissing(
            f"{LINTER} is not installed; run `make setup` (it installs "
            "tools/ci/requirements-lint.txt into .venv)"
        )
    return found


def lint(root: Path = PROJECT_ROOT, files: Sequence[Path] = ()) -> subprocess.CompletedProcess[str]:
    """Run the linter on ``root``'s .github (or on ``files``); return its exit code and text."""
    return subprocess.run(
        [linter_path(), *LINTER_ARGS, *map(str, files)],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )


def main(argv: Sequence[str] | None = None) -> int:
    files = [Path(arg) for arg in (sys.argv[1:] if argv is None else argv)]
    try:
        result = lint(PROJECT_ROOT, files)
    except LinterMissing as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    if result.returncode == 0:
        print(f"{LINTER}: .github workflows and actions are clean")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())

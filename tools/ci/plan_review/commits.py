"""Which code a review compares, and a copy of a commit to synthesize.

``--base <rev>`` deploys a commit to the emulator before the change is planned, and
``--head <rev>`` plans a commit instead of the working tree. Each is exported with
``git archive`` (the repository's worktree list and index are left alone), then given this
checkout's Lambda layer when that commit builds the same one.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

from tools.ci.terraform_cli import PROJECT_ROOT

# Built by `make layer`, not in git; a commit's synth needs it (constructs_lib reads it).
LAYER_PARTS = ("layer", "layer.stamp")
# How a commit is named in the summary: enough to be unique in this repository.
SHORT_SHA = 12


class CommitError(RuntimeError):
    """A revision could not be resolved or exported; the message names it."""


@dataclass(frozen=True, kw_only=True)
class CommitRef:
    """A revision as the user gave it and the commit it named."""

    rev: str
    sha: str

    @property
    def short(self) -> str:
        return self.sha[:SHORT_SHA]

    def describe(self) -> str:
        if self.rev in (self.sha, self.short):
            return f"`{self.short}`"
        return f"`{self.short}` (`{self.rev}`)"


def _git(*args: str, repo: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=False
    )


def resolve_commit(rev: str, repo: Path = PROJECT_ROOT) -> CommitRef:
    """The commit ``rev`` names, or CommitError saying it names none."""
    if not rev or rev.startswith("-"):
        raise CommitError(f"{rev!r} is not a git revision")
    found = _git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", repo=repo)
    if found.returncode != 0:
        why = found.stderr.strip().splitlines()[-1:] or ["no such commit"]
        raise CommitError(f"{rev!r} names no commit in {repo} ({why[0]})")
    return CommitRef(rev=rev, sha=found.stdout.strip())


def working_tree_changes(repo: Path = PROJECT_ROOT) -> bool:
    """Whether tracked or untracked (not ignored) files differ from HEAD."""
    status = _git("status", "--porcelain", "--untracked-files=normal", repo=repo)
    return bool(status.stdout.strip())


def export_commit(commit: CommitRef, destination: Path, repo: Path = PROJECT_ROOT) -> Path:
    """Write the commit's files into ``destination`` (emptied first); return it."""
    shutil.rmtree(destination, ignore_errors=True)
    destination.mkdir(parents=True)
    archive = subprocess.Popen(
        ["git", "-C", str(repo), "archive", "--format=tar", commit.sha],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert archive.stdout is not None  # stdout=PIPE above
    try:
        with tarfile.open(fileobj=archive.stdout, mode="r|") as tar:
            tar.extractall(destination, filter="data")
    except tarfile.TarError as error:
        archive.kill()
        raise CommitError(f"could not export {commit.short}: {error}") from None
    finally:
        _, stderr = archive.communicate()
    if archive.returncode != 0:
        raise CommitError(f"git archive {commit.short} failed: {stderr.decode().strip()}")
    return destination


def provide_layer(checkout: Path, source: Path = PROJECT_ROOT) -> None:
    """Give an exported checkout the Lambda layer its synth packages.

    This tree's built layer is copied in, then the checkout's own ``tools.build_layer``
    runs there: it keeps the copy when that commit's layer inputs hash the same, and
    rebuilds it (pip, from the pinned requirements) when they differ.
    """
    for part in LAYER_PARTS:
        built = source / "build" / part
        target = checkout / "build" / part
        target.parent.mkdir(parents=True, exist_ok=True)
        if built.is_dir():
            shutil.copytree(built, target, symlinks=True, dirs_exist_ok=True)
        elif built.is_file():
            shutil.copy2(built, target)
    if not (checkout / "tools" / "build_layer.py").is_file():
        return  # a commit without the builder synthesizes with the copy, or says what is missing
    result = subprocess.run(
        [sys.executable, "-m", "tools.build_layer"],
        cwd=checkout,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        tail = (result.stdout + result.stderr).strip().splitlines()[-5:]
        raise CommitError("could not build that commit's Lambda layer: " + " / ".join(tail))

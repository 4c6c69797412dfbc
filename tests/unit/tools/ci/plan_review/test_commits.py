"""The commits a review compares: resolved with git, exported without touching the repository."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tools.ci.plan_review import CommitError, export_commit, resolve_commit
from tools.ci.plan_review.commits import provide_layer, working_tree_changes
from tools.ci.terraform_cli import PROJECT_ROOT


def git(repo: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository with two commits of main.py and an uncommitted edit on top."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    (root / "main.py").write_text("VERSION = 1\n")
    (root / "stacks").mkdir()
    (root / "stacks" / "a.py").write_text("A = 1\n")
    git(root, "add", ".")
    git(root, "commit", "-qm", "first")
    (root / "main.py").write_text("VERSION = 2\n")
    git(root, "commit", "-qam", "second")
    (root / "main.py").write_text("VERSION = 3  # not committed\n")
    return root


def test_a_revision_resolves_to_its_commit(repo: Path) -> None:
    # When the parent of HEAD is resolved
    base = resolve_commit("HEAD~1", repo)
    # Then the revision is kept as given and the sha is git's
    assert base.rev == "HEAD~1"
    assert base.sha == git(repo, "rev-parse", "HEAD~1")
    assert base.describe() == f"`{base.sha[:12]}` (`HEAD~1`)"


@pytest.mark.parametrize("rev", ["no-such-branch", "HEAD~5", "--output=/tmp/x", ""])
def test_a_revision_naming_no_commit_is_refused(repo: Path, rev: str) -> None:
    # When a revision that names no commit (or looks like an option) is resolved
    # Then the error names it
    with pytest.raises(CommitError, match=r"no commit|is not a git revision"):
        resolve_commit(rev, repo)


def test_an_exported_commit_holds_that_commit_only(repo: Path, tmp_path: Path) -> None:
    # Given the first commit exported into a folder holding a stale file
    destination = tmp_path / "export"
    destination.mkdir()
    (destination / "stale.txt").write_text("from an earlier run")
    export_commit(resolve_commit("HEAD~1", repo), destination, repo)
    # Then the folder holds exactly that commit's files
    assert (destination / "main.py").read_text() == "VERSION = 1\n"
    assert (destination / "stacks" / "a.py").read_text() == "A = 1\n"
    assert not (destination / "stale.txt").exists()
    assert not (destination / ".git").exists()
    # And the repository itself is untouched: no extra worktree, the edit still there
    assert git(repo, "worktree", "list").count("\n") == 0
    assert (repo / "main.py").read_text() == "VERSION = 3  # not committed\n"
    assert working_tree_changes(repo)


def test_an_exported_commit_gets_the_layer_it_builds(tmp_path: Path) -> None:
    # Given this project's HEAD exported (its layer inputs match this checkout's built layer)
    checkout = export_commit(resolve_commit("HEAD"), tmp_path / "head")
    assert not (checkout / "build").exists()
    # When the layer is provided
    provide_layer(checkout)
    # Then the checkout holds a built layer whose stamp matches this checkout's inputs
    stamp = (PROJECT_ROOT / "build" / "layer.stamp").read_text()
    assert (checkout / "build" / "layer.stamp").read_text() == stamp
    assert (checkout / "build" / "layer" / "python" / "pipeline_common").is_dir()

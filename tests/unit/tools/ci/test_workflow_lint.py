"""make lint checks the GitHub Actions workflows: clean today, and a broken one fails."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tools.ci.terraform_cli import PROJECT_ROOT
from tools.ci.workflow_lint import lint, main

WORKFLOWS = PROJECT_ROOT / ".github" / "workflows"


def copy_of_github_folder(tmp_path: Path) -> Path:
    """The repository's .github in a repository of its own, to break without touching ours."""
    shutil.copytree(PROJECT_ROOT / ".github", tmp_path / ".github")
    # The linter finds .github/workflows from the enclosing Git repository.
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    return tmp_path


def test_the_repositorys_workflows_pass() -> None:
    # Given the committed workflows and local actions
    # When they are linted as make lint does
    result = lint()
    # Then there is no finding
    assert result.returncode == 0, result.stdout + result.stderr
    assert {path.name for path in WORKFLOWS.glob("*.yml")} >= {"ci.yml", "apply.yml"}


@pytest.mark.parametrize(
    ("old", "new", "finding"),
    [
        # A job that waits for one that does not exist never runs.
        ("    needs: apply-dev\n", "    needs: apply-devv\n", "apply-devv"),
        # An action used by a movable tag instead of its commit.
        (
            "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1",
            "actions/checkout@v7",
            "actions/checkout@v7",
        ),
        # A pull request's title pasted into a shell script (script injection).
        (
            "run: bash .ci/run test\n",
            'run: echo "${{ github.event.pull_request.title }}"\n',
            "github.event.pull_request.title",
        ),
    ],
)
def test_a_broken_workflow_fails_the_lint_naming_the_fault(
    tmp_path: Path, old: str, new: str, finding: str
) -> None:
    # Given a copy of the workflows with one mistake
    root = copy_of_github_folder(tmp_path)
    workflow = root / ".github" / "workflows" / "ci.yml"
    text = workflow.read_text()
    assert old in text
    workflow.write_text(text.replace(old, new, 1))
    # When it is linted
    result = lint(root)
    # Then the lint fails and its report points at the mistake
    assert result.returncode != 0
    assert "ci.yml" in result.stdout
    assert finding in result.stdout


def test_the_command_reports_a_clean_tree(capsys: pytest.CaptureFixture[str]) -> None:
    # Given the repository as committed
    # When make lint's command runs
    code = main([])
    # Then it passes and says what it checked
    assert code == 0
    assert "workflows and actions are clean" in capsys.readouterr().out

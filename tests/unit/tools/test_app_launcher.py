"""tools/app.sh, the cdktf.json app command: which Python runs main.py."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[3]
LAUNCHER = PROJECT_ROOT / "tools" / "app.sh"


def fake_executable(path: Path, label: str, body: str = 'echo "{label} $*"') -> Path:
    """A stand-in that prints who it is and what it was asked to run (or runs ``body``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{body.format(label=label)}\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project tree holding a copy of the launcher, without any virtualenv."""
    root = tmp_path / "project"
    (root / "tools").mkdir(parents=True)
    shutil.copy(LAUNCHER, root / "tools" / "app.sh")
    return root


def launch(project: Path, tmp_path: Path, **env: str) -> str:
    """Run the launcher from elsewhere, with only a fake pipenv on PATH besides sh."""
    bin_dir = tmp_path / "bin"
    fake_executable(bin_dir / "pipenv", "pipenv")
    environ = {"PATH": f"{bin_dir}:/usr/bin:/bin", **env}
    result = subprocess.run(
        ["sh", str(project / "tools" / "app.sh"), "--flag"],
        cwd=tmp_path,
        env=environ,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def test_cdktf_json_runs_the_launcher() -> None:
    # Given the project's CDKTF settings
    settings = json.loads((PROJECT_ROOT / "cdktf.json").read_text())
    # Then synth goes through the launcher, which exists and is a shell script
    assert settings["app"] == "sh tools/app.sh"
    assert LAUNCHER.read_text().startswith("#!/bin/sh\n")


def test_an_activated_virtualenv_wins(project: Path, tmp_path: Path) -> None:
    # Given an activated virtualenv and an in-project .venv
    active = tmp_path / "active"
    fake_executable(active / "bin" / "python", "active")
    fake_executable(project / ".venv" / "bin" / "python", "in-project")
    # When the launcher runs
    output = launch(project, tmp_path, VIRTUAL_ENV=str(active))
    # Then the activated one runs main.py with the arguments
    assert output == "active main.py --flag"


def test_the_in_project_venv_is_used_without_pipenv(project: Path, tmp_path: Path) -> None:
    # Given only the .venv that `make setup` creates
    fake_executable(project / ".venv" / "bin" / "python", "in-project")
    # When the launcher runs from another directory
    output = launch(project, tmp_path)
    # Then that interpreter runs main.py
    assert output == "in-project main.py --flag"


def test_pipenv_is_the_fallback(project: Path, tmp_path: Path) -> None:
    # Given no virtualenv at all (and a VIRTUAL_ENV that no longer exists)
    # When the launcher runs
    output = launch(project, tmp_path, VIRTUAL_ENV=str(tmp_path / "gone"))
    # Then pipenv finds the environment
    assert output == "pipenv run python main.py --flag"


def test_main_py_runs_from_the_project_root(project: Path, tmp_path: Path) -> None:
    # Given an in-project interpreter that reports its working directory
    fake_executable(project / ".venv" / "bin" / "python", "in-project", body="pwd")
    # When the launcher runs from elsewhere
    output = launch(project, tmp_path)
    # Then main.py is resolved against the project root
    assert Path(output).resolve() == project.resolve()

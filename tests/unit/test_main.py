"""Bad input to the app gives one clear line and exit code 2, never a jsii stack trace."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def run_main(tmp_path: Path, **environ: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "AWS_ENDPOINT_URL"}
    env.update(environ, CDKTF_OUTDIR=str(tmp_path))
    return subprocess.run(
        [sys.executable, "main.py"], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
        check=False, timeout=300,
    )  # fmt: skip


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"PIPELINE_ENVIRONMENTS": "dev,qa"}, "error: PIPELINE_ENVIRONMENTS names unknown"),
        ({"PIPELINE_REGION": "mars-1"}, "error: region 'mars-1' is not an AWS region name"),
        ({"PIPELINE_PROJECT": "X"}, "error: project 'X' must be 3-16 lowercase"),
        ({"AWS_ENDPOINT_URL": "ftp://x"}, "error: AWS_ENDPOINT_URL 'ftp://x' is not an http"),
        (
            {"PIPELINE_ENVIRONMENTS": "dev,dev"},
            "error: PIPELINE_ENVIRONMENTS names dev more than once; expected a comma-separated "
            "subset of dev, staging, prod, each at most once",
        ),
        (
            {"PIPELINE_ENVIRONMENTS": ","},
            "error: PIPELINE_ENVIRONMENTS ',' has an empty name; expected a comma-separated",
        ),
        (
            {"PIPELINE_STATE_BUCKET": "My_State_Bucket"},
            "error: PIPELINE_STATE_BUCKET 'My_State_Bucket' is not a usable bucket name; use 3-51 "
            "lowercase letters, digits and single hyphens",
        ),
        ({"PIPELINE_STATE_BUCKET": ""}, "error: PIPELINE_STATE_BUCKET '' is not a usable bucket"),
        (
            {"PIPELINE_STATE_BUCKET": "a" * 52},
            f"error: PIPELINE_STATE_BUCKET '{'a' * 52}' is not a usable bucket name; use 3-51",
        ),
        (
            {"PIPELINE_STATE_LOCK_TABLE": "bad table!"},
            "error: PIPELINE_STATE_LOCK_TABLE 'bad table!' is not a DynamoDB table name; use "
            "3-255 letters, digits",
        ),
        (
            {"PIPELINE_ACCOUNT_ID_PROD": "1234"},
            "error: PIPELINE_ACCOUNT_ID_PROD must be a 12-digit AWS account ID, got '1234'",
        ),
    ],
)
def test_bad_settings_print_one_line_and_exit_2(
    tmp_path: Path, environ: dict[str, str], message: str
) -> None:
    # Given a bad setting / When the app runs
    result = run_main(tmp_path, **environ)
    # Then it prints exactly one line naming the problem and writes nothing
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith(message)
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "stacks").exists()


def test_unreachable_emulator_is_one_line(tmp_path: Path) -> None:
    # Given an emulator endpoint nobody listens on
    result = run_main(tmp_path, AWS_ENDPOINT_URL=f"http://127.0.0.1:{closed_port()}")
    # Then the run stops before synth with one line that says how to fix it
    assert result.returncode == 2
    assert "is unreachable" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_failed_synth_removes_the_last_good_output_and_says_so(tmp_path: Path) -> None:
    # Given the output of an earlier, good synth
    outdir = tmp_path / "cdktf.out"
    (outdir / "stacks" / "pipeline-prod").mkdir(parents=True)
    (outdir / "manifest.json").write_text("{}")
    env = {k: v for k, v in os.environ.items() if k != "AWS_ENDPOINT_URL"}
    env.update(CDKTF_OUTDIR=str(outdir), PIPELINE_ENVIRONMENTS="dev,dev")
    # When a synth with bad input fails
    result = subprocess.run(
        [sys.executable, "main.py"], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
        check=False, timeout=300,
    )  # fmt: skip
    # Then the stale stacks are gone, and the one error line says they were removed
    assert result.returncode == 2
    assert not outdir.exists()
    (line,) = result.stderr.strip().splitlines()
    assert line.endswith(f"(removed the previous synth output {outdir}, now stale)")


def test_a_directory_that_is_not_synth_output_is_left_alone(tmp_path: Path) -> None:
    # Given an output directory holding something that is not cdktf's
    (tmp_path / "notes.txt").write_text("mine")
    # When a synth with bad input fails
    result = run_main(tmp_path, PIPELINE_ENVIRONMENTS=",")
    # Then nothing was deleted and nothing was claimed
    assert result.returncode == 2
    assert (tmp_path / "notes.txt").read_text() == "mine"
    assert "removed" not in result.stderr


def test_before_make_setup_one_line_says_what_to_run() -> None:
    # Given an interpreter that sees none of the installed packages: -S skips site-packages
    # (the venv's and the system's), -s the user's, -E any PYTHONPATH
    # When main.py runs with it, as a new user would before `make setup`
    result = subprocess.run(
        [sys.executable, "-S", "-s", "-E", "main.py"], cwd=PROJECT_ROOT, capture_output=True,
        text=True, check=False, timeout=60,
    )  # fmt: skip
    # Then one line names the missing package and what to run, with no traceback
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: Python package '")
    assert "is not installed for" in line
    assert line.endswith(
        "run `make setup` once, then `make synth` (or `pipenv run python main.py`)"
    )

"""Plan review command line: bad input is one clear line, before anything slow starts."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tools.ci import plan_review
from tools.ci.plan_review import EXIT_USAGE

# Every environment variable botocore's credential chain reads.
CREDENTIAL_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_ENDPOINT_URL",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
)


@pytest.fixture(autouse=True)
def no_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests that need AWS_ENDPOINT_URL set it themselves."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


def _single_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err
    assert captured.out == ""
    return lines[0]


def test_unknown_environment_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # When an environment that does not exist is reviewed
    code = plan_review.main(["--env", "qa", "--emulator", "--out", str(tmp_path)])
    # Then the exit code is 2 and the message names it and the choices
    assert code == EXIT_USAGE
    assert _single_error_line(capsys) == (
        "error: unknown environment 'qa'; choose one of dev, staging, prod"
    )


def test_unreachable_emulator_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given AWS_ENDPOINT_URL pointing at a loopback port nobody listens on
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    # When the emulator review starts
    code = plan_review.main(["--env", "dev", "--emulator", "--out", str(tmp_path)])
    # Then it stops at once, naming the endpoint
    assert code == EXIT_USAGE
    line = _single_error_line(capsys)
    assert line.startswith(f"error: AWS_ENDPOINT_URL http://127.0.0.1:{port} is unreachable")


def test_missing_synth_output_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # When a synth folder without the environment's stack is reused
    code = plan_review.main(
        ["--env", "dev", "--emulator", "--synth-dir", str(tmp_path / "nowhere"), "--out",
         str(tmp_path)]
    )  # fmt: skip
    # Then the message names the missing file before any emulator starts
    assert code == EXIT_USAGE
    expected = tmp_path / "nowhere" / "stacks" / "pipeline-dev" / "cdk.tf.json"
    assert _single_error_line(capsys) == (
        f"error: no synthesized stack at {expected}; run `make synth` first"
    )


def test_real_aws_without_credentials_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given no credentials anywhere botocore looks
    for name in CREDENTIAL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    # When a real-AWS review starts
    code = plan_review.main(["--env", "dev", "--out", str(tmp_path)])
    # Then it asks for credentials or --emulator
    assert code == EXIT_USAGE
    assert _single_error_line(capsys).startswith("error: no AWS credentials found")


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_a_shared_environment_without_an_account_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, env: str
) -> None:
    # Given no account named for the environment (credentials or not: refused first)
    monkeypatch.delenv(f"PIPELINE_ACCOUNT_ID_{env.upper()}", raising=False)
    # When a real-AWS review of it starts
    code = plan_review.main(["--env", env, "--out", str(tmp_path)])
    # Then it names the variable to set, and nothing was planned
    assert code == EXIT_USAGE
    assert _single_error_line(capsys) == (
        f"error: PIPELINE_ACCOUNT_ID_{env.upper()} is not set: pin {env}'s 12-digit AWS "
        "account ID before planning it against AWS"
    )
    assert not (tmp_path / env / "plan.tfplan").exists()


def test_endpoint_without_emulator_flag_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an emulator endpoint in the shell but no --emulator
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    # Then the ambiguity is refused rather than guessed
    assert plan_review.main(["--env", "dev", "--out", str(tmp_path)]) == EXIT_USAGE
    assert "pass --emulator to plan against it" in _single_error_line(capsys)


def test_a_base_is_deployed_only_to_an_emulator(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # When --base is asked for against real AWS
    code = plan_review.main(["--env", "dev", "--base", "HEAD", "--out", str(tmp_path)])
    # Then nothing is deployed and the flag it needs is named
    assert code == EXIT_USAGE
    assert _single_error_line(capsys) == (
        "error: --base deploys that commit before planning, which is done only on an "
        "emulator; add --emulator"
    )


def test_a_base_needs_an_emulator_of_its_own(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a shared emulator in AWS_ENDPOINT_URL, which may already hold a deployment
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    # When --base is asked for
    code = plan_review.main(
        ["--env", "dev", "--emulator", "--base", "HEAD", "--out", str(tmp_path)]
    )
    # Then it is refused instead of deploying over whatever is there
    assert code == EXIT_USAGE
    assert _single_error_line(capsys) == (
        "error: --base deploys to an empty local cloud of its own; unset AWS_ENDPOINT_URL"
    )


@pytest.mark.parametrize("flag", ["--base", "--head"])
def test_a_revision_that_names_no_commit_is_one_clear_line(
    flag: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # When the base or head names nothing in this repository
    code = plan_review.main(
        ["--env", "dev", "--emulator", flag, "no-such-branch-xyz", "--out", str(tmp_path)]
    )
    # Then the flag and the revision are named before any emulator starts
    assert code == EXIT_USAGE
    line = _single_error_line(capsys)
    assert line.startswith(f"error: {flag}: 'no-such-branch-xyz' names no commit in ")


def test_reused_synth_output_cannot_be_combined_with_commits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # When a synth folder is reused while a base commit is asked for
    code = plan_review.main(
        ["--env", "dev", "--emulator", "--base", "HEAD", "--synth-dir", str(tmp_path),
         "--out", str(tmp_path)]
    )  # fmt: skip
    # Then the contradiction is named
    assert code == EXIT_USAGE
    assert _single_error_line(capsys) == (
        "error: --synth-dir cannot be combined with --base or --head"
    )


def test_the_package_runs_as_a_module() -> None:
    # When `python -m tools.ci.plan_review --help` runs in a fresh interpreter
    result = subprocess.run(
        [sys.executable, "-m", "tools.ci.plan_review", "--help"],
        cwd=Path(__file__).resolve().parents[5],
        capture_output=True,
        text=True,
        check=False,
    )
    # Then it prints its usage, with the commit options
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: python -m tools.ci.plan_review")
    assert "--base REV" in result.stdout
    assert "--head REV" in result.stdout

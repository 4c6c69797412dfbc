"""Terraform runs with this project's settings; long commands can stream their output."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tools.ci.terraform_cli import TerraformError, terraform


def test_streamed_output_reaches_the_caller_line_by_line(tmp_path: Path) -> None:
    # Given the real Terraform CLI
    seen: list[str] = []
    # When a command runs with a line callback
    result = terraform(["version"], cwd=tmp_path, on_line=seen.append)
    # Then every line was handed over as printed, and the result still holds them all
    assert seen[0].startswith("Terraform v")
    assert result.stdout.splitlines() == seen


def test_a_failing_streamed_command_raises_with_its_output_tail(tmp_path: Path) -> None:
    # When terraform is asked for a subcommand that does not exist
    with pytest.raises(TerraformError) as failed:
        terraform(["no-such-subcommand"], cwd=tmp_path, on_line=lambda _: None)
    # Then the error names the command and the folder, with Terraform's own words
    assert str(failed.value).startswith(f"terraform no-such-subcommand failed in {tmp_path}:")


def test_a_streamed_command_that_hangs_is_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a `terraform` on PATH that prints one line and then hangs
    fake = tmp_path / "bin" / "terraform"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho started\nexec sleep 30\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    # When it runs with a short timeout
    with pytest.raises(TerraformError) as stopped:
        terraform(["apply"], cwd=tmp_path, timeout=1, on_line=lambda _: None)
    # Then it is killed and the error says so, with what it printed
    assert "apply did not finish within 1 s in" in str(stopped.value)
    assert str(stopped.value).endswith("started")

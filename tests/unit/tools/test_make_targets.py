"""`make system-deps` as root, as a user with sudo, and as a user without: it installs what it
may and says what it could not, without failing `make setup` (the packages are optional).

apt-get, sudo and id are fakes on PATH that record how they were called. Also: `make emulator`
takes PORT."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[3]
SCRIPT = PROJECT_ROOT / "tools" / "system_deps.sh"

FAKE_ID = '#!/bin/bash\n[ "$1" = "-u" ] && echo "${FAKE_UID}"\n'
FAKE_APT = """#!/bin/bash
echo "${SUDO_USED:-direct} apt-get $*" >> "$CALLS"
[ "$1" = install ] && exit "${FAKE_APT_INSTALL_STATUS:-0}"
exit 0
"""
FAKE_SUDO = """#!/bin/bash
[ "$1" = -n ] || { echo "sudo without -n would prompt" >&2; exit 99; }
shift
[ "$1" = true ] && exit "${FAKE_SUDO_STATUS:-0}"
SUDO_USED=sudo exec "$@"
"""


@dataclass
class Machine:
    bin: Path
    calls: Path

    def env(self, **extra: str) -> dict[str, str]:
        return {"PATH": str(self.bin), "CALLS": str(self.calls), "HOME": str(self.bin), **extra}

    def recorded(self) -> list[str]:
        return self.calls.read_text().splitlines() if self.calls.exists() else []


@pytest.fixture
def machine(tmp_path: Path) -> Machine:
    """A PATH with only fakes and the few real tools the script and make need; no `dot`."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (("id", FAKE_ID), ("apt-get", FAKE_APT)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    for tool in ("bash", "env"):
        real = shutil.which(tool)
        assert real is not None
        (bin_dir / tool).symlink_to(real)
    return Machine(bin=bin_dir, calls=tmp_path / "calls.log")


def add_sudo(machine: Machine) -> None:
    (machine.bin / "sudo").write_text(FAKE_SUDO)
    (machine.bin / "sudo").chmod(0o755)


def run_script(machine: Machine, **extra: str) -> subprocess.CompletedProcess[str]:
    bash = os.readlink(machine.bin / "bash")
    return subprocess.run(
        [bash, str(SCRIPT)], env=machine.env(**extra), capture_output=True, text=True,
        check=False, timeout=30,
    )  # fmt: skip


def test_as_root_apt_get_runs_directly(machine: Machine) -> None:
    # Given root, with apt-get and no graphviz
    # When system-deps runs
    result = run_script(machine, FAKE_UID="0")
    # Then apt-get ran without sudo and the result is said
    assert result.returncode == 0, result.stderr
    assert machine.recorded() == [
        "direct apt-get update -qq",
        "direct apt-get install -y -qq graphviz",
    ]
    assert "system-deps: installed graphviz" in result.stderr


def test_a_user_with_sudo_goes_through_sudo_n(machine: Machine) -> None:
    # Given a user whose sudo needs no password (a hosted CI runner)
    add_sudo(machine)
    # When `make system-deps` runs (the Makefile's own recipe)
    make = shutil.which("make")
    assert make is not None
    result = subprocess.run(
        [make, "--no-print-directory", "-C", str(PROJECT_ROOT), "system-deps"],
        env=machine.env(FAKE_UID="1001"), capture_output=True, text=True, check=False, timeout=30,
    )  # fmt: skip
    # Then apt-get ran through sudo -n (which never prompts)
    assert result.returncode == 0, result.stderr
    assert machine.recorded() == [
        "sudo apt-get update -qq",
        "sudo apt-get install -y -qq graphviz",
    ]
    assert "installing graphviz with sudo -n apt-get" in result.stderr


@pytest.mark.parametrize("sudo", ["absent", "wants a password"])
def test_a_user_without_usable_sudo_is_told_what_was_not_installed(
    machine: Machine, sudo: str
) -> None:
    # Given a user with no sudo, or a sudo that would ask for a password
    if sudo != "absent":
        add_sudo(machine)
    # When system-deps runs
    result = run_script(machine, FAKE_UID="1001", FAKE_SUDO_STATUS="1")
    # Then nothing was attempted, one line says what is missing and why, and setup goes on
    assert result.returncode == 0
    assert machine.recorded() == []
    (line,) = result.stderr.splitlines()
    assert line.startswith(
        "system-deps: could not install graphviz: not root, and sudo is missing or wants a "
        "password; only `make diagram` needs it"
    )


def test_a_failed_install_is_reported_and_not_fatal(machine: Machine) -> None:
    # Given root, and apt-get failing to install
    result = run_script(machine, FAKE_UID="0", FAKE_APT_INSTALL_STATUS="100")
    # Then the failure is named and the target still succeeds
    assert result.returncode == 0
    assert "could not install graphviz: apt-get install failed" in result.stderr


def test_nothing_happens_when_graphviz_is_there(machine: Machine) -> None:
    # Given `dot` already on PATH
    (machine.bin / "dot").write_text("#!/bin/bash\n")
    (machine.bin / "dot").chmod(0o755)
    # When system-deps runs
    result = run_script(machine, FAKE_UID="1001")
    # Then it is silent and calls nothing
    assert (result.returncode, result.stderr, machine.recorded()) == (0, "", [])


def test_make_emulator_listens_on_the_port_given() -> None:
    # Given `make emulator PORT=5000`, as typed
    make = shutil.which("make")
    assert make is not None
    result = subprocess.run(
        [make, "-n", "--no-print-directory", "-C", str(PROJECT_ROOT), "emulator", "PORT=5000"],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    # Then the local cloud is started on that port
    assert result.returncode == 0, result.stderr
    assert "python -m tools.localcloud --port 5000" in result.stdout.splitlines()[-1]

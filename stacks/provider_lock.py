"""Give every synthesized stack the committed provider lock file, so cdktf never locks on its own.

Why: `cdktf deploy|diff|destroy` runs `terraform providers lock -platform=linux_amd64` after
`init` whenever the stack's folder (cdktf.out/stacks/<stack>) has no `.terraform.lock.hcl`, or
one whose constraints do not match the stack's (cdktf-cli's `checkNeedsLockfileUpdate`).
`providers lock` ignores the CLI configuration's provider mirrors (hashicorp/terraform-cdk#3568,
hashicorp/terraform#35106), so on a machine without registry access the first deploy of every
stack failed with "Could not retrieve providers for locking". cdktf has no setting to skip that
step; a lock file that is already there is the supported way, and it is what Terraform asks for
anyway: commit the lock file, so every machine installs the same, verified provider release.

So `providers.lock.hcl` (made by `python -m tools.ci.provider_lock` from the provider mirror,
see there) is copied into each stack folder after every synth, by main.py, which both
`python main.py` and the cdktf CLI (through cdktf.json's app) run. Its `# Platforms:` line says
which platforms its hashes cover: on any other platform the copy is skipped and cdktf locks as
before (online that works; `terraform init` would reject a lock file without this platform's
hash). A stack whose folder already has a lock file from Terraform is given the committed one
again: Terraform re-adds any hash it recorded, and the committed file stays the one truth.
"""

from __future__ import annotations

import json
import platform
import shutil
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
COMMITTED_LOCK_FILE = PROJECT_ROOT / "providers.lock.hcl"
# The name Terraform (and cdktf) look for in a stack's working directory.
STACK_LOCK_FILE_NAME = ".terraform.lock.hcl"
PLATFORMS_PREFIX = "# Platforms:"

_OS_NAMES = {"linux": "linux", "darwin": "darwin", "win32": "windows", "freebsd": "freebsd"}
_ARCH_NAMES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


def host_platform() -> str:
    """Terraform's name for this machine's platform, such as ``linux_amd64``."""
    os_name = _OS_NAMES.get(sys.platform, sys.platform)
    machine = platform.machine().lower()
    return f"{os_name}_{_ARCH_NAMES.get(machine, machine)}"


def covered_platforms(lock_text: str) -> tuple[str, ...]:
    """The platforms named on the lock file's ``# Platforms:`` line (none without one)."""
    for line in lock_text.splitlines():
        if line.startswith(PLATFORMS_PREFIX):
            return tuple(line.removeprefix(PLATFORMS_PREFIX).replace(",", " ").split())
    return ()


def stack_directories(outdir: Path) -> list[Path]:
    """Each synthesized stack's working directory, from cdktf's manifest.json."""
    manifest = json.loads((outdir / "manifest.json").read_text())
    return [outdir / stack["workingDirectory"] for stack in manifest["stacks"].values()]


def place_lock_files(
    outdir: Path, *, lock_file: Path = COMMITTED_LOCK_FILE, platform_name: str | None = None
) -> list[Path]:
    """Copy ``lock_file`` into every stack folder under ``outdir``; return the copies made.

    Nothing is copied when the lock file is missing or does not cover ``platform_name``
    (default: this machine).
    """
    if not lock_file.is_file():
        return []
    text = lock_file.read_text()
    if (platform_name or host_platform()) not in covered_platforms(text):
        return []
    placed = []
    for directory in stack_directories(outdir):
        target = directory / STACK_LOCK_FILE_NAME
        if not target.is_file() or target.read_text() != text:
            shutil.copyfile(lock_file, target)
        placed.append(target)
    return placed

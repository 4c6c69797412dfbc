"""The committed provider lock reaches every stack folder, where cdktf looks for it."""

from __future__ import annotations

import json
import re
from pathlib import Path

from constructs_lib.base.aws_provider import PROVIDER_VERSION_CONSTRAINT
from stacks.provider_lock import (
    COMMITTED_LOCK_FILE,
    STACK_LOCK_FILE_NAME,
    covered_platforms,
    place_lock_files,
)

LOCK = """\
# Platforms: linux_amd64 darwin_arm64

provider "registry.terraform.io/hashicorp/aws" {
  version     = "5.100.0"
  constraints = "~> 5.99"
  hashes = ["h1:abc="]
}
"""


def synthesized(outdir: Path, *stacks: str) -> Path:
    """An output folder shaped like cdktf's: manifest.json and one folder per stack."""
    manifest = {"stacks": {name: {"workingDirectory": f"stacks/{name}"} for name in stacks}}
    for name in stacks:
        (outdir / "stacks" / name).mkdir(parents=True)
    (outdir / "manifest.json").write_text(json.dumps(manifest))
    return outdir


def test_every_stack_gets_the_lock_on_a_covered_platform(tmp_path: Path) -> None:
    # Given a lock for linux_amd64 and two synthesized stacks, one with an old lock of its own
    lock = tmp_path / "providers.lock.hcl"
    lock.write_text(LOCK)
    outdir = synthesized(tmp_path / "out", "state-bootstrap", "pipeline-dev")
    (outdir / "stacks" / "pipeline-dev" / STACK_LOCK_FILE_NAME).write_text("stale")
    # When the lock files are placed on linux_amd64
    placed = place_lock_files(outdir, lock_file=lock, platform_name="linux_amd64")
    # Then both stack folders hold the committed text
    assert len(placed) == 2
    for name in ("state-bootstrap", "pipeline-dev"):
        assert (outdir / "stacks" / name / STACK_LOCK_FILE_NAME).read_text() == LOCK


def test_an_uncovered_platform_is_left_to_cdktf(tmp_path: Path) -> None:
    # Given a lock without linux_arm64's hashes
    lock = tmp_path / "providers.lock.hcl"
    lock.write_text(LOCK)
    outdir = synthesized(tmp_path / "out", "pipeline-dev")
    # When the lock files are placed on linux_arm64
    placed = place_lock_files(outdir, lock_file=lock, platform_name="linux_arm64")
    # Then no stack gets it (terraform init would reject a lock without this platform's hash)
    assert placed == []
    assert not (outdir / "stacks" / "pipeline-dev" / STACK_LOCK_FILE_NAME).exists()


def test_committed_lock_matches_what_the_stacks_require() -> None:
    # Given the committed lock file
    text = COMMITTED_LOCK_FILE.read_text()
    # Then it covers linux_amd64 (CI runners and this image) with a hash
    assert "linux_amd64" in covered_platforms(text)
    assert re.search(r'"(h1|zh):[^"]+"', text)
    # And its constraint is the synthesized one: cdktf locks again on any mismatch
    provider = re.search(r'provider "registry.terraform.io/hashicorp/aws" \{(.*?)\}', text, re.S)
    assert provider is not None
    assert f'constraints = "{PROVIDER_VERSION_CONSTRAINT}"' in provider.group(1)

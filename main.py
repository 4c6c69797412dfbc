#!/usr/bin/env python
"""CDKTF app entry point: read the deployment switches, build every stack, synthesize."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

# Packages of this checkout; any other missing module is one `make setup` installs.
_OWN_PACKAGES = frozenset({"config", "constructs_lib", "stacks", "tools"})

try:
    from config.deployment import DeploymentTarget
    from constructs_lib import speedups
    from stacks.provider_lock import place_lock_files
except ModuleNotFoundError as missing:
    if (missing.name or "").partition(".")[0] in _OWN_PACKAGES:
        raise
    print(
        f"error: Python package {missing.name!r} is not installed for {sys.executable}: "
        "run `make setup` once, then `make synth` (or `pipenv run python main.py`)",
        file=sys.stderr,
    )
    raise SystemExit(2) from None


def main() -> int:
    # Before the first cdktf import (stacks.app below): ~4x faster synth, same output.
    speedups.install()
    from stacks.app import build_app

    try:
        target = DeploymentTarget.from_environ(os.environ)
        app = build_app(target)
    except ValueError as error:  # ConfigError and every props/config validation error
        print(f"error: {error}{_drop_stale_output()}", file=sys.stderr)
        return 2
    app.synth()
    # cdktf deploy|diff|destroy then find a lock file and skip their own `providers lock`.
    place_lock_files(Path(app.outdir))
    return 0


def _drop_stale_output() -> str:
    """Remove the last good run's stacks, so nothing deploys them by mistake; say so."""
    outdir = Path(os.environ.get("CDKTF_OUTDIR") or "cdktf.out")
    # Only a directory cdktf wrote (it always has a manifest) is ours to delete.
    if not (outdir / "manifest.json").is_file():
        return ""
    shutil.rmtree(outdir, ignore_errors=True)
    return f" (removed the previous synth output {outdir}, now stale)"


if __name__ == "__main__":
    sys.exit(main())

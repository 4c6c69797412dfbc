"""Build the functions' dependency layer into build/layer/python/.

    pipenv run python -m tools.build_layer            # skipped when nothing changed
    pipenv run python -m tools.build_layer --force

pip installs lambda_functions/requirements.txt (a fully pinned, hash-checked closure) as
binary wheels for python3.12 on manylinux2014_aarch64, without dependencies or bytecode, then
the shared lambda_functions/common/pipeline_common package is copied beside them. Scripts and
caches are dropped and timestamps and permissions fixed, so the same inputs give the same tree.
A stamp (build/layer.stamp) holds the hash of every input; when it matches, the build is
skipped. The layer is assembled in build/layer.tmp and swapped in only when complete.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = PROJECT_ROOT / "lambda_functions" / "requirements.txt"
SHARED_PACKAGE = PROJECT_ROOT / "lambda_functions" / "common" / "pipeline_common"
LAYER_DIR = PROJECT_ROOT / "build" / "layer"
STAMP = PROJECT_ROOT / "build" / "layer.stamp"
# The runtime and architecture constructs_lib/base/python_function.py deploys.
PLATFORM = "manylinux2014_aarch64"
PYTHON_VERSION = "3.12"
IMPLEMENTATION = "cp"
# 2000-01-01T00:00:00Z: any fixed time makes the tree reproducible; zip needs >= 1980.
FIXED_MTIME = 946_684_800
_DROPPED_DIRS = frozenset({"__pycache__", "bin"})


class LayerBuildError(Exception):
    """The layer could not be built; the message is one line for the user."""


def input_digest() -> str:
    """Hash of everything that decides the layer's content."""
    digest = hashlib.sha256()
    digest.update(f"{PLATFORM} {IMPLEMENTATION}{PYTHON_VERSION}\n".encode())
    digest.update(REQUIREMENTS.read_bytes())
    for path in _shared_files():
        digest.update(path.relative_to(SHARED_PACKAGE).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def is_current() -> bool:
    return (
        (LAYER_DIR / "python").is_dir()
        and STAMP.is_file()
        and STAMP.read_text().strip() == input_digest()
    )


def build(*, force: bool = False) -> bool:
    """Build the layer unless it is current; return whether it was built."""
    if not force and is_current():
        return False
    staging = LAYER_DIR.with_name("layer.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    target = staging / "python"
    _pip_install(target)
    shutil.copytree(
        SHARED_PACKAGE, target / SHARED_PACKAGE.name, ignore=shutil.ignore_patterns("__pycache__")
    )
    _normalize(staging)
    shutil.rmtree(LAYER_DIR, ignore_errors=True)
    staging.replace(LAYER_DIR)
    STAMP.write_text(input_digest() + "\n")
    return True


def _pip_install(target: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--no-deps",
        "--require-hashes",
        "--only-binary=:all:",
        f"--platform={PLATFORM}",
        f"--implementation={IMPLEMENTATION}",
        f"--python-version={PYTHON_VERSION}",
        "--no-compile",
        "--disable-pip-version-check",
        "--no-input",
        "--quiet",
        f"--target={target}",
        f"--requirement={REQUIREMENTS}",
    ]
    completed = subprocess.run(command, check=False)
    if completed.returncode != 0:
        raise LayerBuildError(
            f"pip could not install {REQUIREMENTS.relative_to(PROJECT_ROOT)} "
            f"(exit {completed.returncode}); see its output above"
        )


def _shared_files() -> Iterator[Path]:
    for path in sorted(SHARED_PACKAGE.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            yield path


def _normalize(root: Path) -> None:
    """Drop scripts and caches; fix timestamps and permissions."""
    for path in sorted(root.rglob("*"), reverse=True):
        if path.is_dir() and path.name in _DROPPED_DIRS:
            shutil.rmtree(path)
        elif path.suffix == ".pyc":
            path.unlink()
    for path in [root, *root.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
        os.utime(path, (FIXED_MTIME, FIXED_MTIME))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.build_layer", description=__doc__)
    parser.add_argument("--force", action="store_true", help="rebuild even if current")
    args = parser.parse_args(argv)
    try:
        built = build(force=args.force)
    except LayerBuildError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    where = LAYER_DIR.relative_to(PROJECT_ROOT)
    print(f"layer built in {where}" if built else f"layer in {where} is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Build the functions' dependency layer into build/layer/python/.

    pipenv run python -m tools.build_layer            # skipped when nothing changed
    pipenv run python -m tools.build_layer --force

pip installs lambda_functions/requirements.txt (a fully pinned, hash-checked closure) as
binary wheels for python3.12 on manylinux2014_aarch64, without dependencies or bytecode, then
the shared lambda_functions/common/pipeline_common package is copied beside them. Scripts and
stray caches are dropped.

Then every module is compiled to bytecode by CPython 3.12 (the runtime Lambda runs), so a
cold start reads code instead of compiling Powertools first (issue 14). The bytecode is
reproducible: unchecked-hash .pyc files (PEP 552: no timestamps, and Lambda's /opt is
read-only, so nothing can go stale), PYTHONHASHSEED fixed in case anything marshals in hash
order (3.12 already sorts set constants), and each code object names its file as Lambda
mounts it (/opt/python/...), so tracebacks read right. Timestamps and permissions are fixed
last, so the same inputs give the same tree, and build/layer.zip (written here and by the
construct) the same bytes.

A stamp (build/layer.stamp) holds the hash of every input, the compiler's version included;
when it matches, the build is skipped. The layer is assembled in build/layer.tmp and swapped
in only when complete.
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

from constructs_lib.code_archive import build_archive

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
# Where Lambda mounts a layer's python/ folder: the file name each code object carries.
RUNTIME_LAYER_PATH = "/opt/python"
# No source check at import: the layer is read-only where it runs (PEP 552).
INVALIDATION_MODE = "unchecked-hash"
# Any fixed seed, so nothing hash-ordered can reach the bytecode.
HASH_SEED = "0"


class LayerBuildError(Exception):
    """The layer could not be built; the message is one line for the user."""


def runtime_python() -> Path:
    """CPython 3.12 (pyenv's newest, else python3.12 on PATH): the compiler of the bytecode."""
    candidates: list[Path] = []
    try:
        root = subprocess.run(
            ["pyenv", "root"], capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        root = ""
    if root:
        candidates += sorted(
            Path(root).glob(f"versions/{PYTHON_VERSION}.*/bin/python{PYTHON_VERSION}"),
            key=lambda path: _version_key(path.parts[-3]),
            reverse=True,
        )
    on_path = shutil.which(f"python{PYTHON_VERSION}")
    if on_path:
        candidates.append(Path(on_path))
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise LayerBuildError(
        f"CPython {PYTHON_VERSION} is needed to compile the layer's bytecode "
        f"(`pyenv install {PYTHON_VERSION}` or python{PYTHON_VERSION} on PATH)"
    )


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) if part.isdigit() else -1 for part in version.split("."))


def compiler_version(python: Path) -> str:
    return subprocess.run(
        [str(python), "-c", "import sys; print(sys.version)"],
        capture_output=True, text=True, check=True, timeout=30,
    ).stdout.strip()  # fmt: skip


def input_digest(python: Path | None = None) -> str:
    """Hash of everything that decides the layer's content, the bytecode compiler included."""
    digest = hashlib.sha256()
    digest.update(f"{PLATFORM} {IMPLEMENTATION}{PYTHON_VERSION}\n".encode())
    compiler = compiler_version(python or runtime_python())
    digest.update(f"{compiler} {INVALIDATION_MODE} {RUNTIME_LAYER_PATH} {HASH_SEED}\n".encode())
    digest.update(REQUIREMENTS.read_bytes())
    for path in _shared_files():
        digest.update(path.relative_to(SHARED_PACKAGE).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def is_current() -> bool:
    try:
        return (
            (LAYER_DIR / "python").is_dir()
            and STAMP.is_file()
            and STAMP.read_text().strip() == input_digest()
        )
    except LayerBuildError:
        return False


def build(*, force: bool = False) -> bool:
    """Build the layer unless it is current; return whether it was built."""
    python = runtime_python()
    digest = input_digest(python)
    if not force and (LAYER_DIR / "python").is_dir() and _stamp() == digest:
        layer_archive()
        return False
    staging = LAYER_DIR.with_name("layer.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    target = staging / "python"
    _pip_install(target)
    shutil.copytree(
        SHARED_PACKAGE, target / SHARED_PACKAGE.name, ignore=shutil.ignore_patterns("__pycache__")
    )
    _drop_unwanted(staging)
    compile_bytecode(target, python=python)
    _fix_metadata(staging)
    shutil.rmtree(LAYER_DIR, ignore_errors=True)
    staging.replace(LAYER_DIR)
    STAMP.write_text(digest + "\n")
    layer_archive()
    return True


def layer_archive() -> Path:
    """build/layer.zip, as the construct deploys it (constructs_lib/base/dependencies_layer.py)."""
    return build_archive(LAYER_DIR, LAYER_DIR.with_suffix(".zip"), keep_bytecode=True)


def _stamp() -> str | None:
    try:
        return STAMP.read_text().strip()
    except OSError:
        return None


def compile_bytecode(root: Path, *, python: Path, runtime_path: str = RUNTIME_LAYER_PATH) -> None:
    """Compile every module under ``root`` as if it lived at ``runtime_path``."""
    command = [
        str(python), "-m", "compileall", "-q", "-f",
        f"--invalidation-mode={INVALIDATION_MODE}",
        "-s", str(root), "-p", runtime_path, str(root),
    ]  # fmt: skip
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONHASHSEED": HASH_SEED}
    completed = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        detail = (completed.stdout + completed.stderr).strip().splitlines()
        raise LayerBuildError(
            f"python{PYTHON_VERSION} could not compile the layer: "
            f"{detail[-1] if detail else f'exit {completed.returncode}'}"
        )


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
    _drop_unwanted(root)
    _fix_metadata(root)


def _drop_unwanted(root: Path) -> None:
    """Scripts, and bytecode not compiled here (pip's, or a developer's)."""
    for path in sorted(root.rglob("*"), reverse=True):
        if path.is_dir() and path.name in _DROPPED_DIRS:
            shutil.rmtree(path)
        elif path.suffix == ".pyc":
            path.unlink()


def _fix_metadata(root: Path) -> None:
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
    print(f"layer archive: {where.with_suffix('.zip')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

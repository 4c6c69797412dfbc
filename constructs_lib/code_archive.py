"""Reproducible zip archives for Lambda code and layers.

cdktf 0.20.12 closes an ARCHIVE asset's zip before the stream finishes writing, so from
Python the archive in cdktf.out is truncated (hashicorp/terraform-cdk#3858, fixed after
0.20.12, which is the last 0.20 release). We therefore zip the code ourselves and hand
the archive to TerraformAsset as a FILE asset. The zip is byte-for-byte reproducible
(sorted entries, fixed timestamps and permissions), so the same sources always give the
same source_code_hash, on any clone.

Compressing is most of a synth's Python time (every stack packages the same five functions
and the layer), so each archive has a sidecar ``<name>.zip.sha256`` holding the digest of
its inputs and of the archive itself. When both still match, the archive is reused as is.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path

# The earliest timestamp a zip entry can hold; any fixed value makes archives reproducible.
FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
# Smallest packages; compression runs only when the inputs change.
COMPRESS_LEVEL = 9
# Read-only for everyone, the same on every clone whatever the umask.
ENTRY_MODE = 0o644
# What never belongs in a deployment package.
EXCLUDED_PARTS = frozenset({"__pycache__", ".mypy_cache", ".pytest_cache", "tests"})
EXCLUDED_SUFFIXES = frozenset({".pyc", ".pyo"})
# Bump when the archive layout changes, so no sidecar written before is trusted.
ARCHIVE_FORMAT = "1"
SIDECAR_SUFFIX = ".sha256"

Entry = tuple[str, bytes]


def _files(root: Path, *, keep_bytecode: bool = False) -> Iterator[Path]:
    excluded_parts = EXCLUDED_PARTS - {"__pycache__"} if keep_bytecode else EXCLUDED_PARTS
    excluded_suffixes = frozenset() if keep_bytecode else EXCLUDED_SUFFIXES
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if (
            path.is_file()
            and not excluded_parts.intersection(relative.parts)
            and (path.suffix not in excluded_suffixes)
        ):
            yield path


def build_archive(
    source: Path, destination: Path, *, prefix: str = "", keep_bytecode: bool = False
) -> Path:
    """Zip every file under ``source`` into ``destination``, each path under ``prefix``.

    ``keep_bytecode`` is for a tree whose bytecode was compiled on purpose and reproducibly
    (the dependencies layer, tools/build_layer.py); elsewhere .pyc files are local leftovers.
    The archive is rewritten only when its content changes, so repeated synths leave
    timestamps alone, and it is not even recompressed while its inputs are unchanged.
    """
    entries = [
        (prefix + path.relative_to(source).as_posix(), path.read_bytes())
        for path in _files(source, keep_bytecode=keep_bytecode)
    ]
    inputs = inputs_digest(entries)
    sidecar = destination.with_name(destination.name + SIDECAR_SUFFIX)
    if _read_sidecar(sidecar) == (inputs, _digest(destination)):
        return destination
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = _private_file(destination.parent, ".zip.tmp")
    _write_zip(staging, entries)
    archive = _digest(staging)
    if _digest(destination) == archive:
        staging.unlink()
    else:
        staging.replace(destination)
    sidecar_staging = _private_file(destination.parent, ".sha256.tmp")
    sidecar_staging.write_text(f"{inputs} {archive}\n", encoding="ascii")
    sidecar_staging.replace(sidecar)
    return destination


def inputs_digest(entries: Sequence[Entry]) -> str:
    """What determines the archive: its entries and every fixed setting used to write them."""
    digest = hashlib.sha256(
        f"{ARCHIVE_FORMAT} {FIXED_ZIP_TIME} {COMPRESS_LEVEL} {ENTRY_MODE:o}\n".encode()
    )
    for name, data in entries:
        encoded = name.encode()
        digest.update(len(encoded).to_bytes(8, "big") + encoded)
        digest.update(len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()


def _write_zip(path: Path, entries: Sequence[Entry]) -> None:
    with zipfile.ZipFile(
        path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=COMPRESS_LEVEL
    ) as zf:
        for name, data in entries:
            info = zipfile.ZipInfo(name, FIXED_ZIP_TIME)
            info.external_attr = ENTRY_MODE << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)


def _private_file(directory: Path, suffix: str) -> Path:
    """A private temporary name, so concurrent synths never write into each other's file."""
    descriptor, name = tempfile.mkstemp(dir=directory, suffix=suffix)
    os.close(descriptor)
    return Path(name)


def _read_sidecar(path: Path) -> tuple[str, str] | None:
    try:
        inputs, archive = path.read_text(encoding="ascii").split()
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return inputs, archive


def _digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return None

"""Reproducible zip archives for Lambda code and layers.

cdktf 0.20.12 closes an ARCHIVE asset's zip before the stream finishes writing, so from
Python the archive in cdktf.out is truncated (hashicorp/terraform-cdk#3858, fixed after
0.20.12, which is the last 0.20 release). We therefore zip the code ourselves and hand
the archive to TerraformAsset as a FILE asset. The zip is byte-for-byte reproducible
(sorted entries, fixed timestamps and permissions), so the same sources always give the
same source_code_hash, on any clone.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

# The earliest timestamp a zip entry can hold; any fixed value makes archives reproducible.
FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
# What never belongs in a deployment package.
EXCLUDED_PARTS = frozenset({"__pycache__", ".mypy_cache", ".pytest_cache", "tests"})
EXCLUDED_SUFFIXES = frozenset({".pyc", ".pyo"})


def _files(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if (
            path.is_file()
            and not EXCLUDED_PARTS.intersection(relative.parts)
            and (path.suffix not in EXCLUDED_SUFFIXES)
        ):
            yield path


def build_archive(source: Path, destination: Path, *, prefix: str = "") -> Path:
    """Zip every file under ``source`` into ``destination``, each path under ``prefix``.

    The archive is rewritten only when its content changes, so repeated synths leave
    timestamps alone.
    """
    destination.parent.mkdir(parents=True, exist_ok=True)
    # A private temporary name, so concurrent synths never write into each other's file.
    descriptor, temporary = tempfile.mkstemp(dir=destination.parent, suffix=".zip.tmp")
    os.close(descriptor)
    staging = Path(temporary)
    with zipfile.ZipFile(staging, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for path in _files(source):
            info = zipfile.ZipInfo(prefix + path.relative_to(source).as_posix(), FIXED_ZIP_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, path.read_bytes())
    if destination.exists() and _digest(destination) == _digest(staging):
        staging.unlink()
    else:
        staging.replace(destination)
    return destination


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()

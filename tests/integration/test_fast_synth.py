"""The lazy provider import (constructs_lib/_provider_import.py) changes speed, never output."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import textwrap
from pathlib import Path

from constructs_lib import _provider_import

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# What a synth does not read; the rest is copied so both synths see the same sources.
NOT_SYNTH_INPUT = shutil.ignore_patterns(
    ".git", ".venv", "node_modules", "cdktf.out", "__pycache__", ".*_cache", ".hypothesis"
)
# Every resource and data source module of the pinned bindings (what the stock import loads).
PROVIDER_SUBMODULE_COUNT = 2123

# `python main.py`, plus a count of the provider submodules it imported, to prove which path ran.
RUN_MAIN_AND_COUNT = textwrap.dedent(
    """
    import runpy, sys
    try:
        runpy.run_path("main.py", run_name="__main__")
    finally:
        names = getattr(sys.modules.get("cdktf_cdktf_provider_aws"), "__all__", [])
        loaded = [n for n in names if f"cdktf_cdktf_provider_aws.{n}" in sys.modules]
        print(f"provider submodules imported: {len(loaded)}", file=sys.stderr)
    """
)


def synth_whole_app(project: Path, outdir: Path, *, stock_import: bool) -> int:
    """Synthesize every stack into outdir; return how many provider submodules were imported."""
    env = {
        **os.environ,
        "CDKTF_OUTDIR": str(outdir),
        _provider_import.STOCK_IMPORT_ENV: "1" if stock_import else "0",
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
    }
    env.pop("AWS_ENDPOINT_URL", None)
    result = subprocess.run(
        [sys.executable, "-c", RUN_MAIN_AND_COUNT],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"synth failed:\n{result.stderr[-3000:]}"
    found = re.search(r"provider submodules imported: (\d+)", result.stderr)
    assert found is not None, result.stderr[-3000:]
    return int(found.group(1))


def files_under(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def test_fast_and_stock_import_synthesize_byte_identical_output(tmp_path: Path) -> None:
    # Given a snapshot of the project (edits made meanwhile in the tree cannot skew the runs)
    project = tmp_path / "project"
    shutil.copytree(PROJECT_ROOT, project, ignore=NOT_SYNTH_INPUT)
    # When the whole app is synthesized with the stock provider import, then the lazy one
    stock_count = synth_whole_app(project, tmp_path / "stock", stock_import=True)
    fast_count = synth_whole_app(project, tmp_path / "fast", stock_import=False)
    # Then each run took the path it was asked for
    assert stock_count == PROVIDER_SUBMODULE_COUNT
    assert 0 < fast_count < PROVIDER_SUBMODULE_COUNT // 10
    # And every file (each stack's cdk.tf.json, the manifest, asset archives) is byte-identical
    stock, fast = files_under(tmp_path / "stock"), files_under(tmp_path / "fast")
    assert any(name.endswith("/cdk.tf.json") for name in stock)
    assert "manifest.json" in stock
    assert sorted(fast) == sorted(stock)
    assert [name for name in stock if fast[name] != stock[name]] == []


def test_submodule_fqn_map_matches_the_assembly() -> None:
    # Given the submodule list in the pinned jsii assembly (the source jsii-pacmak maps from)
    spec = importlib.util.find_spec("cdktf_cdktf_provider_aws")  # finds without importing
    assert spec is not None
    assert spec.submodule_search_locations is not None
    package_dir = Path(next(iter(spec.submodule_search_locations)))
    version = _provider_import.VERIFIED_PROVIDER_VERSION
    tarball = package_dir / "_jsii" / f"provider-aws@{version}.jsii.tgz"
    with tarfile.open(tarball) as archive:
        member = archive.extractfile("package/.jsii")
        assert member is not None
        assembly_submodules = set(json.load(member)["submodules"])
    # When the map is built from the package's Python submodule folders
    python_names = [p.parent.name for p in package_dir.glob("[!_]*/__init__.py")]
    fqn_map = _provider_import.submodule_fqn_map(python_names)
    # Then it names exactly the assembly's submodules, one Python module each
    assert len(python_names) == PROVIDER_SUBMODULE_COUNT
    assert set(fqn_map) == assembly_submodules

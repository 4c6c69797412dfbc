"""The layer's inputs: pins that match the dev environment, and a stamp over every input."""

from __future__ import annotations

import json
import os
import re
import subprocess
import zipfile
from pathlib import Path

import pytest

from constructs_lib.code_archive import build_archive
from tools import build_layer

from .support import PROJECT_ROOT

PIN = re.compile(r"^([A-Za-z0-9_.-]+)(?:\[[^]]*\])?==([^\s\\]+)", re.M)
HASH = re.compile(r"--hash=(sha256:[0-9a-f]{64})")


def _pins() -> dict[str, str]:
    text = build_layer.REQUIREMENTS.read_text()
    return {name.lower(): version for name, version in PIN.findall(text)}


def test_every_requirement_is_pinned_with_a_hash() -> None:
    # Given the layer's requirements, When parsed
    text = build_layer.REQUIREMENTS.read_text()
    blocks = [block for block in re.split(r"\n(?=[A-Za-z])", text) if PIN.match(block)]

    # Then each names one exact version and at least one sha256 hash
    assert len(blocks) == len(_pins()) >= 6
    assert all(HASH.search(block) for block in blocks), blocks


def test_layer_pins_match_the_locked_dev_environment() -> None:
    # Given Pipfile.lock, which the tests run against
    lock = json.loads((PROJECT_ROOT / "Pipfile.lock").read_text())
    locked = {**lock["default"], **lock["develop"]}

    # Then the layer ships the same versions, and its hashes are among the lock's
    for name, version in _pins().items():
        assert name in locked, f"{name} is in the layer but not in Pipfile.lock"
        assert locked[name]["version"] == f"=={version}", name
    text = build_layer.REQUIREMENTS.read_text()
    locked_hashes = {digest for entry in locked.values() for digest in entry.get("hashes", [])}
    assert set(HASH.findall(text)) <= locked_hashes


def test_runtime_provided_libraries_stay_out_of_the_layer() -> None:
    assert not {"boto3", "botocore", "s3transfer", "urllib3"} & set(_pins())


def test_the_stamp_covers_requirements_and_shared_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given copies of the layer's inputs
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(build_layer.REQUIREMENTS.read_text())
    shared = tmp_path / "pipeline_common"
    shared.mkdir()
    (shared / "records.py").write_text("A = 1\n")
    monkeypatch.setattr(build_layer, "REQUIREMENTS", requirements)
    monkeypatch.setattr(build_layer, "SHARED_PACKAGE", shared)
    first = build_layer.input_digest()

    # When shared code changes, Then the digest changes; bytecode caches do not count
    (shared / "__pycache__").mkdir()
    (shared / "__pycache__" / "records.cpython-311.pyc").write_bytes(b"\0")
    assert build_layer.input_digest() == first
    (shared / "records.py").write_text("A = 2\n")
    second = build_layer.input_digest()
    assert second != first

    # And when a requirement changes, the digest changes too
    requirements.write_text(requirements.read_text() + "\n# comment\n")
    assert build_layer.input_digest() not in {first, second}


def test_a_current_stamp_skips_the_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a layer folder whose stamp matches the inputs
    layer = tmp_path / "layer"
    (layer / "python").mkdir(parents=True)
    stamp = tmp_path / "layer.stamp"
    stamp.write_text(build_layer.input_digest() + "\n")
    monkeypatch.setattr(build_layer, "LAYER_DIR", layer)
    monkeypatch.setattr(build_layer, "STAMP", stamp)

    def no_pip(target: Path) -> None:
        raise AssertionError("pip ran although the layer is current")

    monkeypatch.setattr(build_layer, "_pip_install", no_pip)

    # When the build runs, Then nothing is rebuilt
    assert build_layer.build() is False

    # And a stale stamp does rebuild (pip is the first step)
    stamp.write_text("stale\n")
    with pytest.raises(AssertionError, match="pip ran"):
        build_layer.build()


def test_normalize_drops_scripts_and_caches_and_fixes_times(tmp_path: Path) -> None:
    # Given an installed tree with a script, bytecode and random timestamps
    python = tmp_path / "python"
    (python / "bin").mkdir(parents=True)
    (python / "bin" / "jp.py").write_text("#!/usr/bin/env python\n")
    (python / "pkg" / "__pycache__").mkdir(parents=True)
    (python / "pkg" / "__pycache__" / "mod.cpython-312.pyc").write_bytes(b"\0")
    (python / "pkg" / "mod.py").write_text("X = 1\n")
    (python / "pkg" / "stray.pyc").write_bytes(b"\0")
    (python / "pkg" / "mod.py").chmod(0o600)

    # When it is normalized
    build_layer._normalize(tmp_path)

    # Then only sources remain, readable by all, all with the same fixed time
    remaining = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*"))
    assert remaining == ["python", "python/pkg", "python/pkg/mod.py"]
    source = python / "pkg" / "mod.py"
    assert source.stat().st_mode & 0o777 == 0o644
    assert {int(p.stat().st_mtime) for p in tmp_path.rglob("*")} == {build_layer.FIXED_MTIME}


# A set constant: the kind of value whose marshalled order could depend on hashing.
MODULE_SOURCE = 'KINDS = {"csv", "json", "parquet", "xml", "avro", "orc"}\nVALUE = 1\n'


def _package(root: Path) -> Path:
    package = root / "python" / "pkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "kinds.py").write_text(MODULE_SOURCE)
    return root / "python"


def _python312(code: str, path: Path) -> str:
    completed = subprocess.run(
        [str(build_layer.runtime_python()), "-B", "-S", "-c", code],
        env={"PATH": os.environ["PATH"], "PYTHONPATH": str(path)},
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return completed.stdout.strip()


def test_layer_bytecode_is_reproducible_unchecked_and_named_for_opt_python(
    tmp_path: Path,
) -> None:
    # Given the same sources in two places
    trees = [_package(tmp_path / side) for side in ("a", "b")]

    # When each is compiled and zipped as the layer is
    archives = []
    for tree in trees:
        build_layer.compile_bytecode(tree, python=build_layer.runtime_python())
        build_layer._fix_metadata(tree.parent)
        archive = tmp_path / f"{tree.parent.name}.zip"
        archives.append(build_archive(tree.parent, archive, keep_bytecode=True).read_bytes())

    # Then both archives are the same bytes, and carry CPython 3.12 bytecode
    assert archives[0] == archives[1]
    with zipfile.ZipFile(tmp_path / "a.zip") as zf:
        compiled = zf.read("python/pkg/__pycache__/kinds.cpython-312.pyc")
    # And the bytecode is hash-based without a source check (PEP 552 flags: 0b01)
    assert int.from_bytes(compiled[4:8], "little") == 0b01
    # And its code names the file where Lambda mounts the layer
    filename = _python312(
        "import marshal, sys; "
        f"data = open({str(trees[0] / 'pkg' / '__pycache__' / 'kinds.cpython-312.pyc')!r}, "
        "'rb').read(); print(marshal.loads(data[16:]).co_filename)",
        trees[0],
    )
    assert filename == "/opt/python/pkg/kinds.py"


def test_the_runtime_imports_the_layer_bytecode_without_compiling(tmp_path: Path) -> None:
    # Given a compiled layer tree whose source then changes without recompiling
    tree = _package(tmp_path)
    build_layer.compile_bytecode(tree, python=build_layer.runtime_python())
    (tree / "pkg" / "kinds.py").write_text(MODULE_SOURCE.replace("VALUE = 1", "VALUE = 2"))

    # When CPython 3.12 imports it (read-only, as from /opt)
    value = _python312("import pkg.kinds; print(pkg.kinds.VALUE)", tree)

    # Then the shipped bytecode ran (unchecked: no source hash compared, nothing compiled)
    assert value == "1"

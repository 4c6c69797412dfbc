from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from constructs_lib import code_archive
from constructs_lib.code_archive import SIDECAR_SUFFIX, build_archive


@pytest.fixture
def source(tmp_path: Path) -> Path:
    package = tmp_path / "src" / "pkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "handler.py").write_text("def lambda_handler(event, context):\n    return 1\n")
    (package / "__pycache__").mkdir()
    (package / "__pycache__" / "handler.cpython-312.pyc").write_bytes(b"stale")
    return package


@pytest.fixture
def count_compressions(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Records every archive actually written, while still writing it."""
    written: list[Path] = []
    write = code_archive._write_zip

    def recording(path: Path, entries: list[tuple[str, bytes]]) -> None:
        written.append(path)
        write(path, entries)

    monkeypatch.setattr(code_archive, "_write_zip", recording)
    return written


def test_archive_holds_sources_under_prefix_without_caches(source: Path, tmp_path: Path) -> None:
    # Given a package with a stale bytecode cache
    # When it is archived under a prefix
    archive = build_archive(source, tmp_path / "out" / "pkg.zip", prefix="pkg/")
    # Then only the sources are there, under the prefix, with fixed times and modes
    with zipfile.ZipFile(archive) as zf:
        infos = zf.infolist()
        assert [info.filename for info in infos] == ["pkg/__init__.py", "pkg/handler.py"]
        assert {info.date_time for info in infos} == {code_archive.FIXED_ZIP_TIME}
        assert {info.external_attr >> 16 for info in infos} == {0o644}
        assert zf.read("pkg/handler.py") == (source / "handler.py").read_bytes()


def test_a_tree_compiled_on_purpose_keeps_its_bytecode(source: Path, tmp_path: Path) -> None:
    # Given a package with bytecode (the dependencies layer compiles its own)
    # When it is archived asking to keep bytecode
    archive = build_archive(source, tmp_path / "out" / "layer.zip", keep_bytecode=True)
    # Then the bytecode is in the archive beside the sources
    with zipfile.ZipFile(archive) as zf:
        assert zf.namelist() == [
            "__init__.py",
            "__pycache__/handler.cpython-312.pyc",
            "handler.py",
        ]
        assert zf.read("__pycache__/handler.cpython-312.pyc") == b"stale"


def test_same_sources_in_another_place_give_identical_bytes(source: Path, tmp_path: Path) -> None:
    # Given two archives of the same sources written to different places
    first = build_archive(source, tmp_path / "a" / "pkg.zip")
    (source / "handler.py").touch()  # a newer mtime must not matter
    second = build_archive(source, tmp_path / "b" / "pkg.zip")
    # Then their bytes are identical
    assert first.read_bytes() == second.read_bytes()


def test_unchanged_inputs_reuse_the_archive_without_compressing(
    source: Path, tmp_path: Path, count_compressions: list[Path]
) -> None:
    # Given an archive built once
    destination = tmp_path / "out" / "pkg.zip"
    build_archive(source, destination)
    before = destination.stat().st_mtime_ns
    # When it is built again from the same sources
    build_archive(source, destination)
    # Then nothing was compressed the second time and the file was left alone
    assert len(count_compressions) == 1
    assert destination.stat().st_mtime_ns == before
    assert destination.with_name("pkg.zip" + SIDECAR_SUFFIX).is_file()


def test_changed_source_rebuilds_the_archive(
    source: Path, tmp_path: Path, count_compressions: list[Path]
) -> None:
    # Given an archive built once
    destination = tmp_path / "out" / "pkg.zip"
    build_archive(source, destination)
    # When one source changes
    (source / "handler.py").write_text("def lambda_handler(event, context):\n    return 2\n")
    build_archive(source, destination)
    # Then it was compressed again and holds the new content
    assert len(count_compressions) == 2
    with zipfile.ZipFile(destination) as zf:
        assert b"return 2" in zf.read("handler.py")


def test_new_prefix_rebuilds_the_archive(
    source: Path, tmp_path: Path, count_compressions: list[Path]
) -> None:
    # Given an archive built without a prefix
    destination = tmp_path / "out" / "pkg.zip"
    build_archive(source, destination)
    # When the same sources are archived under a prefix
    build_archive(source, destination, prefix="pkg/")
    # Then the entries carry the prefix
    assert len(count_compressions) == 2
    with zipfile.ZipFile(destination) as zf:
        assert "pkg/handler.py" in zf.namelist()


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda zip_path: zip_path.write_bytes(b"truncated"), id="archive-edited"),
        pytest.param(lambda zip_path: zip_path.unlink(), id="archive-deleted"),
        pytest.param(
            lambda zip_path: zip_path.with_name(zip_path.name + SIDECAR_SUFFIX).write_text("junk"),
            id="sidecar-garbled",
        ),
    ],
)
def test_damaged_archive_or_sidecar_is_rebuilt(
    source: Path,
    tmp_path: Path,
    count_compressions: list[Path],
    damage: Callable[[Path], object],
) -> None:
    # Given an archive built once, then damaged
    destination = tmp_path / "out" / "pkg.zip"
    build_archive(source, destination)
    good = destination.read_bytes()
    damage(destination)
    # When it is built again from the same sources
    build_archive(source, destination)
    # Then it was rebuilt to exactly the original bytes
    assert len(count_compressions) == 2
    assert destination.read_bytes() == good

"""Integration fixtures: a moto server on loopback and Terraform workspaces against it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tools.emulator import MotoServer


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """One emulator for the session; tests use distinct names or reset it."""
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with MotoServer(log_path=log) as server:
        yield server


@pytest.fixture
def stacks_dir(tmp_path: Path) -> Path:
    return tmp_path / "out"

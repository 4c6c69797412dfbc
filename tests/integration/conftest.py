"""Integration fixtures: one local cloud for the session, dev deployed on it once, and
local clouds of their own (separate processes) for tests that need an empty account."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tools.local_stack import LocalDeployment, deploy
from tools.localcloud import LocalCloud
from tools.localcloud.process import LocalCloudProcess

# Short async retry waits (AWS: about 1 and 2 minutes) so failure paths finish in seconds.
TEST_RETRY_DELAYS = (0.1, 0.2)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def cloud() -> Iterator[LocalCloud]:
    """The local cloud in this process: moto plus Lambda, Step Functions and EventBridge."""
    with LocalCloud(retry_delays=TEST_RETRY_DELAYS) as running:
        yield running


@pytest.fixture(scope="session")
def dev(cloud: LocalCloud, tmp_path_factory: pytest.TempPathFactory) -> LocalDeployment:
    """The state bootstrap and dev, deployed once with Terraform as `make run` deploys them."""
    return deploy(cloud, tmp_path_factory.mktemp("dev") / "run", environment="dev")


@pytest.fixture
def own_cloud(tmp_path: Path) -> Iterator[LocalCloudProcess]:
    """A local cloud in a process of its own: an empty account, gone after the test."""
    with LocalCloudProcess(log_path=tmp_path / "localcloud.log") as running:
        yield running


@pytest.fixture
def stacks_dir(tmp_path: Path) -> Path:
    return tmp_path / "out"

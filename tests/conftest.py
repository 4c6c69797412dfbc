"""Session-wide fixtures: the whole app is synthesized once and shared by every test."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from constructs_lib import speedups
from tools.ci.terraform import synth_app

EVENTS_DIR = Path(__file__).resolve().parent / "events"
# The repository the production-shaped synth gives CI roles to (PIPELINE_GITHUB_REPOSITORY).
CI_REPO = "acme-platform/event-pipeline"


def pytest_configure(config: pytest.Config) -> None:
    # Before any test module imports cdktf, as main.py does before it builds the app.
    speedups.install()


# jsii prints a banner about Node 20's end of life on every start; it is noise in test output.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")


@pytest.fixture(scope="session")
def synthesized_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every stack of the production-shaped app (S3 backend, real AWS endpoints, CI roles).

    The bootstrap's GitHub OIDC roles are on, so checkov and terraform validate check them.
    """
    return synth_app(tmp_path_factory.mktemp("synth"), {"PIPELINE_GITHUB_REPOSITORY": CI_REPO})


@pytest.fixture(scope="session")
def synthesized_stacks(synthesized_dir: Path) -> dict[str, dict[str, Any]]:
    return {
        path.parent.name: json.loads(path.read_text())
        for path in sorted(synthesized_dir.glob("*/cdk.tf.json"))
    }


def load_event(name: str) -> dict[str, Any]:
    """A sample event from tests/events/<name>.json."""
    event: dict[str, Any] = json.loads((EVENTS_DIR / f"{name}.json").read_text())
    return event

"""Every synthesized stack passes `terraform validate` against the real provider, offline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tools.ci.terraform import StackWorkspace

STACKS = ["state-bootstrap", "pipeline-dev", "pipeline-staging", "pipeline-prod"]


@pytest.mark.parametrize("stack", STACKS)
def test_stack_is_valid_with_no_warnings(synthesized_dir: Path, stack: str) -> None:
    # Given a synthesized stack, initialised from the provider mirror without its backend
    workspace = StackWorkspace(synthesized_dir / stack)
    workspace.init(backend=False)
    # When terraform validates it
    report = json.loads(workspace.run("validate", "-json").stdout)
    # Then it is valid and Terraform has nothing to warn about
    assert report["valid"] is True, report["diagnostics"]
    assert report["warning_count"] == 0, report["diagnostics"]
    assert report["error_count"] == 0

"""Helpers for construct tests: each test synthesizes its own fresh stack."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cdktf import App, TerraformStack, Testing
from cdktf_cdktf_provider_aws.provider import AwsProvider

SynthFn = Callable[[Callable[[TerraformStack], object]], dict[str, Any]]


@pytest.fixture
def synth() -> SynthFn:
    """Build constructs into a new stack and return its synthesized JSON.

    Testing.synth drops "//" comments, which is fine for asserting resource settings.
    """

    def _synth(build: Callable[[TerraformStack], object]) -> dict[str, Any]:
        stack = TerraformStack(Testing.app(), "test")
        AwsProvider(stack, "aws", region="us-west-2")
        build(stack)
        result: dict[str, Any] = json.loads(Testing.synth(stack))
        return result

    return _synth


@pytest.fixture
def synth_with_comments(tmp_path: Path) -> SynthFn:
    """Like `synth`, through a real App so the "//" checkov suppressions survive."""

    def _synth(build: Callable[[TerraformStack], object]) -> dict[str, Any]:
        app = App(outdir=str(tmp_path))
        stack = TerraformStack(app, "test")
        AwsProvider(stack, "aws", region="us-west-2")
        build(stack)
        app.synth()
        result: dict[str, Any] = json.loads(
            (tmp_path / "stacks" / "test" / "cdk.tf.json").read_text()
        )
        return result

    return _synth


def only(resources: dict[str, Any], resource_type: str) -> dict[str, Any]:
    """The single resource of a type in a synthesized stack."""
    of_type = resources["resource"][resource_type]
    assert len(of_type) == 1, f"expected one {resource_type}, found {sorted(of_type)}"
    body: dict[str, Any] = next(iter(of_type.values()))
    return body


def skipped_checks(body: dict[str, Any]) -> dict[str, str]:
    """checkov suppressions recorded on a resource body: {check id: reason}."""
    skips = body.get("//", {}).get("checkov", {}).get("skip", [])
    return {skip["id"]: skip["comment"] for skip in skips}

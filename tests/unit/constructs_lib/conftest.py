"""Helpers for construct tests: each test synthesizes its own fresh stack."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cdktf import App, TerraformStack, Testing
from cdktf_cdktf_provider_aws.provider import AwsProvider
from constructs import Construct

from constructs_lib.base import python_function
from constructs_lib.base.python_function import PythonFunction, PythonFunctionProps

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


def only(resources: dict[str, Any], resource_type: str, under: str = "") -> dict[str, Any]:
    """The single resource of a type in a synthesized stack (whose key starts with ``under``)."""
    of_type = {
        key: body
        for key, body in resources["resource"][resource_type].items()
        if key.startswith(under.replace("/", "_"))
    }
    assert len(of_type) == 1, f"expected one {resource_type}, found {sorted(of_type)}"
    body: dict[str, Any] = next(iter(of_type.values()))
    return body


def skipped_checks(body: dict[str, Any]) -> dict[str, str]:
    """checkov suppressions recorded on a resource body: {check id: reason}."""
    skips = body.get("//", {}).get("checkov", {}).get("skip", [])
    return {skip["id"]: skip["comment"] for skip in skips}


FunctionFactory = Callable[..., PythonFunction]


@pytest.fixture
def make_function(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FunctionFactory:
    """Build a small PythonFunction for constructs that take one, archived under tmp_path.

    ``make_function(stack, "validate")`` creates function ``evpipe-test-validate``.
    """
    monkeypatch.setattr(python_function, "ARCHIVE_ROOT", tmp_path / "functions")
    package = tmp_path / "sample"
    package.mkdir(exist_ok=True)
    (package / "handler.py").write_text("def lambda_handler(event, context):\n    return event\n")

    def _make(scope: Construct, name: str, **overrides: Any) -> PythonFunction:
        settings: dict[str, Any] = {
            "function_name": f"evpipe-test-{name}",
            "source_dir": package,
            "description": name,
            "memory_mb": 256,
            "timeout_seconds": 30,
            "log_retention_days": 14,
            "kms_key_arn": "arn:aws:kms:us-west-2:123456789012:key/abc",
            "no_dead_letter_reason": "test",
            "no_vpc_reason": "test",
        }
        settings.update(overrides)
        return PythonFunction(scope, name, props=PythonFunctionProps(**settings))

    return _make


def reference(resources: dict[str, Any], resource_type: str, attribute: str, name: str) -> str:
    """The ${...} reference to ``attribute`` of the one resource of a type named ``name``."""
    keys = [key for key in resources["resource"][resource_type] if f"_{name}_" in f"_{key}"]
    assert len(keys) == 1, f"expected one {resource_type} named {name}, found {keys}"
    return f"${{{resource_type}.{keys[0]}.{attribute}}}"

#!/usr/bin/env python
"""CDKTF app: one pipeline stack per environment plus the state bootstrap stack."""

from __future__ import annotations

# First: installs the lazy provider import before `cdktf` starts the jsii kernel (~4x faster).
import constructs_lib  # noqa: F401

# isort: split
import os
import sys

from cdktf import App

from config.deployment import DeploymentTarget
from config.environments import build_environments
from stacks.bootstrap_stack import BootstrapStack
from stacks.pipeline_stack import PipelineStack

BOOTSTRAP_STACK_ID = "state-bootstrap"


def pipeline_stack_id(environment: str) -> str:
    return f"pipeline-{environment}"


def build_app(target: DeploymentTarget, outdir: str | None = None) -> App:
    # Validate every setting before the App exists, so bad input leaves no partial output.
    environments = build_environments(region=target.region, project=target.project)
    app = App(outdir=outdir) if outdir else App()
    BootstrapStack(app, BOOTSTRAP_STACK_ID, target=target)
    for name in target.environments:
        PipelineStack(app, pipeline_stack_id(name), config=environments[name], target=target)
    return app


def main() -> int:
    try:
        target = DeploymentTarget.from_environ(os.environ)
        app = build_app(target)
    except ValueError as error:  # ConfigError and every props/config validation error
        print(f"error: {error}", file=sys.stderr)
        return 2
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The CDKTF app: the state bootstrap stack and one pipeline stack per environment."""

from __future__ import annotations

from dataclasses import replace

from cdktf import App

from config.deployment import DeploymentTarget
from config.environments import build_environments
from stacks.bootstrap_stack import BootstrapStack
from stacks.names import BOOTSTRAP_STACK_ID, pipeline_stack_id
from stacks.pipeline_stack import PipelineStack


def build_app(target: DeploymentTarget, outdir: str | None = None) -> App:
    """Every stack ``target`` selects; raises ValueError for any invalid setting."""
    # Validate every setting before the App exists, so bad input leaves no partial output.
    environments = build_environments(region=target.region, project=target.project)
    if target.ingest_path is not None:
        environments = {
            name: replace(config, ingest_path=target.ingest_path)
            for name, config in environments.items()
        }
    app = App(outdir=outdir) if outdir else App()
    BootstrapStack(app, BOOTSTRAP_STACK_ID, target=target)
    for name in target.environments:
        PipelineStack(app, pipeline_stack_id(name), config=environments[name], target=target)
    return app

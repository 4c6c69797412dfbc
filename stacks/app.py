"""The CDKTF app: the state bootstrap stack and one pipeline stack per environment."""

from __future__ import annotations

import sys
from dataclasses import replace

from cdktf import App

from config.deployment import DeploymentTarget
from config.environments import EnvironmentConfig, build_environments
from constructs_lib.pipeline.operations import no_subscriber_message
from constructs_lib.specs import AlarmSubscribers
from stacks.bootstrap_stack import BootstrapStack
from stacks.names import BOOTSTRAP_STACK_ID, pipeline_stack_id
from stacks.pipeline_stack import PipelineStack


def with_alarm_subscribers(
    config: EnvironmentConfig, subscribers: AlarmSubscribers
) -> EnvironmentConfig:
    """``config`` whose alarms also reach ``subscribers`` (checked like the profile's own)."""
    operations = replace(
        config.operations,
        alarm_subscribers=config.operations.alarm_subscribers.merged(subscribers),
    )
    return replace(config, operations=operations)


def build_app(target: DeploymentTarget, outdir: str | None = None) -> App:
    """Every stack ``target`` selects; raises ValueError for any invalid setting."""
    # Validate every setting before the App exists, so bad input leaves no partial output.
    environments = build_environments(region=target.region, project=target.project)
    if target.ingest_path is not None:
        environments = {
            name: replace(config, ingest_path=target.ingest_path)
            for name, config in environments.items()
        }
    environments = {
        name: replace(config, account_id=target.account_ids.get(name, config.account_id))
        for name, config in environments.items()
    }
    if target.alarm_subscribers.any:
        environments = {
            name: with_alarm_subscribers(config, target.alarm_subscribers)
            for name, config in environments.items()
        }
    for name in target.environments:
        if environments[name].operations.alarms_reach_nobody:
            # One line per environment; a plan against AWS refuses (Operations) until it is set.
            print(
                f"warning: {no_subscriber_message(environments[name].name_prefix)}", file=sys.stderr
            )
    app = App(outdir=outdir) if outdir else App()
    BootstrapStack(app, BOOTSTRAP_STACK_ID, target=target)
    for name in target.environments:
        PipelineStack(app, pipeline_stack_id(name), config=environments[name], target=target)
    return app

"""Each environment takes exactly one ingest path, chosen in config and checked at synth."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import pytest

from config.deployment import ConfigError, DeploymentTarget
from config.environments import build_environments
from config.ingest import (
    PROD_TARGET_OBJECTS_PER_SECOND,
    IngestQueueSettings,
    workflow_path_ceiling,
    workflow_path_usd_per_day,
)


def test_dev_runs_the_workflow_and_staging_and_prod_read_the_queue() -> None:
    envs = build_environments()
    assert {name: env.ingest_path for name, env in envs.items()} == {
        "dev": "workflow",
        "staging": "queue",
        "prod": "queue",
    }


def test_the_workflow_path_cannot_carry_prods_target_under_default_quotas() -> None:
    # Given AWS's default Standard-workflow quotas (StartExecution refill, state transitions)
    ceiling = workflow_path_ceiling()
    # Then per-object executions top out far below prod's target: the reason prod reads a queue
    assert ceiling == 300
    assert ceiling * 30 < PROD_TARGET_OBJECTS_PER_SECOND
    # And at the target they would cost over USD 100,000 a day in state transitions alone
    assert workflow_path_usd_per_day(PROD_TARGET_OBJECTS_PER_SECOND) == pytest.approx(108_000)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"ingest_path": "lambda"}, "ingest_path must be one of 'workflow', 'queue', got 'lambda'"),
        (
            {"ingest_queue": IngestQueueSettings(batch_size=0)},
            "ingest_queue.batch_size must be an integer from 1 to 10000, got 0",
        ),
        (
            {"ingest_queue": IngestQueueSettings(batch_size=11, batching_window_seconds=0)},
            "ingest_queue.batching_window_seconds must be at least 1 when "
            "ingest_queue.batch_size is above 10 (got 11)",
        ),
        (
            {"ingest_queue": IngestQueueSettings(batching_window_seconds=301)},
            "ingest_queue.batching_window_seconds must be an integer from 0 to 300, got 301",
        ),
        (
            {"ingest_queue": IngestQueueSettings(max_receive_count=0)},
            "ingest_queue.max_receive_count must be an integer from 1 to 1000, got 0",
        ),
    ],
)
def test_invalid_ingest_settings_name_the_field(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        replace(build_environments()["staging"], **overrides)


@pytest.mark.parametrize("value", ["workflow", "queue"])
def test_the_switch_overrides_the_path_of_every_environment(value: str) -> None:
    target = DeploymentTarget.from_environ({"PIPELINE_INGEST_PATH": f" {value} "})
    assert target.ingest_path == value
    assert DeploymentTarget.from_environ({}).ingest_path is None
    assert DeploymentTarget.from_environ({"PIPELINE_INGEST_PATH": ""}).ingest_path is None


def test_a_bad_switch_value_names_the_variable() -> None:
    with pytest.raises(
        ConfigError,
        match=r"^PIPELINE_INGEST_PATH must be one of workflow, queue, got 'sqs'$",
    ):
        DeploymentTarget.from_environ({"PIPELINE_INGEST_PATH": "sqs"})

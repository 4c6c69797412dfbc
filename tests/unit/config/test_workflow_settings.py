from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import pytest

from config.environments import build_environments
from config.workflow import WorkflowSettings


def test_defaults_are_valid_and_retry_transient_errors() -> None:
    # Given the defaults / When validated / Then they pass and retry with backoff
    settings = WorkflowSettings()
    settings.validate("workflow")
    assert settings.retry_max_attempts >= 1
    assert settings.retry_backoff_rate > 1.0
    assert settings.retry_max_delay_seconds >= settings.retry_interval_seconds


def test_retry_patience_grows_toward_prod() -> None:
    # Given the shipped profiles
    envs = build_environments()
    # Then patience grows toward prod (where an override deploys the workflow)
    attempts = [envs[name].workflow.retry_max_attempts for name in ("dev", "staging", "prod")]
    assert attempts == sorted(attempts)
    assert attempts[0] < attempts[-1]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"retry_max_attempts": 0},
            "workflow.retry_max_attempts must be an integer from 1 to 10, got 0",
        ),
        (
            {"retry_max_attempts": True},
            "workflow.retry_max_attempts must be an integer from 1 to 10, got True",
        ),
        (
            {"retry_interval_seconds": 0},
            "workflow.retry_interval_seconds must be an integer from 1 to 300, got 0",
        ),
        (
            {"retry_backoff_rate": 0.5},
            "workflow.retry_backoff_rate must be a number from 1.0 to 10.0, got 0.5",
        ),
        (
            {"retry_backoff_rate": "2"},
            "workflow.retry_backoff_rate must be a number from 1.0 to 10.0, got '2'",
        ),
        (
            {"retry_max_delay_seconds": 0},
            "workflow.retry_max_delay_seconds must be an integer from 1 to 3600, got 0",
        ),
        (
            {"retry_interval_seconds": 10, "retry_max_delay_seconds": 5},
            "workflow.retry_max_delay_seconds (5) must not be below "
            "workflow.retry_interval_seconds (10)",
        ),
        (
            {"task_error_max_attempts": -1},
            "workflow.task_error_max_attempts must be an integer from 0 to 5, got -1",
        ),
        (
            {"max_object_bytes": 0},
            "workflow.max_object_bytes must be an integer from 1 to 5497558138880, got 0",
        ),
    ],
)
def test_invalid_settings_name_the_field(overrides: dict[str, Any], message: str) -> None:
    # Given settings with one bad value
    settings = WorkflowSettings(**overrides)
    # When validated / Then the message names the field and the allowed values
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        settings.validate("workflow")


def test_environment_config_validates_its_workflow() -> None:
    # Given prod with a backoff rate Step Functions refuses
    prod = build_environments()["prod"]
    # When the profile is built / Then the field is named
    with pytest.raises(ValueError, match=r"^workflow\.retry_backoff_rate must be a number"):
        replace(prod, workflow=WorkflowSettings(retry_backoff_rate=0.9))

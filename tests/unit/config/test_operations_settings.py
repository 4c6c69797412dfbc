"""OperationsSettings and AlarmThresholds: defaults, per-environment profiles, bad input."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import pytest

from config.environments import EnvironmentConfig, build_environments
from config.functions import FunctionSizes
from config.operations import DEFAULT_SCHEDULE_EXPRESSION, OperationsSettings
from constructs_lib.aws_limits import check_schedule_expression
from constructs_lib.specs import AlarmSubscribers, AlarmThresholds, FunctionSettings


def test_defaults_are_the_production_baseline_and_valid() -> None:
    # Given the defaults
    settings = OperationsSettings()
    # When validated / Then nothing is raised and Lambda's own retry defaults are spelled out
    settings.validate("operations")
    assert (settings.async_retry_attempts, settings.max_event_age_seconds) == (2, 21_600)
    assert settings.schedule_expression == DEFAULT_SCHEDULE_EXPRESSION == "rate(24 hours)"
    assert settings.schedule_enabled
    assert settings.alarm_actions_enabled
    assert settings.dashboard_enabled
    assert not settings.alarm_subscribers.any


def test_profiles_make_dev_quiet_and_staging_and_prod_alert() -> None:
    # Given the three environment profiles
    environments = build_environments()
    dev, staging, prod = (environments[name].operations for name in ("dev", "staging", "prod"))
    # Then dev fails fast and notifies nobody, while staging and prod retry, page and run daily
    assert (dev.async_retry_attempts, dev.schedule_enabled, dev.alarm_actions_enabled) == (
        0,
        False,
        False,
    )
    assert not dev.dashboard_enabled
    for deployed in (staging, prod):
        assert deployed.async_retry_attempts == 2
        assert deployed.schedule_enabled
        assert deployed.alarm_actions_enabled
        assert deployed.dashboard_enabled
        assert deployed.schedule_expression == "rate(24 hours)"
    # And prod's thresholds are the strictest
    assert prod.thresholds == AlarmThresholds()
    assert dev.thresholds.lambda_errors > prod.thresholds.lambda_errors
    assert staging.thresholds.api_4xx_rate > prod.thresholds.api_4xx_rate


@pytest.mark.parametrize(
    "expression",
    [
        "rate(1 minute)",
        "rate(5 minutes)",
        "rate(1 hour)",
        "rate(24 hours)",
        "rate(1 day)",
        "rate(7 days)",
        "cron(0 3 * * ? *)",
        "cron(15 10 ? * MON-FRI *)",
        "cron(0/30 8-17 ? * 2#1 2030)",
    ],
)
def test_eventbridge_schedule_expressions_are_accepted(expression: str) -> None:
    # Given / When / Then a valid expression passes silently
    check_schedule_expression("operations.schedule_expression", expression)
    OperationsSettings(schedule_expression=expression).validate("operations")


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("every day", "must be rate(<n> <unit>) or cron(<six fields>), got 'every day'"),
        ("rate(24 hour)", "'rate(24 hour)': EventBridge needs rate(24 hours)"),
        ("rate(1 hours)", "'rate(1 hours)': EventBridge needs rate(1 hour)"),
        ("rate(0 minutes)", "'rate(0 minutes)': the rate must be at least 1"),
        ("rate(-1 days)", "must be rate(<n> <unit>) or cron(<six fields>)"),
        ("rate(2 weeks)", "must be rate(<n> <unit>) or cron(<six fields>)"),
        ("cron(0 3 * * *)", "cron() takes six fields"),
        ("cron(0 3 * * * *)", "exactly one of day-of-month and day-of-week must be '?'"),
        ("cron(0 3 ? * ? *)", "exactly one of day-of-month and day-of-week must be '?'"),
        ("cron(0 3 * * ? ; rm)", "cron() takes six fields"),
    ],
)
def test_invalid_schedule_expression_names_the_field(expression: str, message: str) -> None:
    # Given an expression EventBridge would reject
    settings = OperationsSettings(schedule_expression=expression)
    # When validated / Then the error names the field and says what is wrong
    with pytest.raises(ValueError, match=re.escape(message)) as error:
        settings.validate("operations")
    assert str(error.value).startswith("operations.schedule_expression")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"async_retry_attempts": 3},
            "operations.async_retry_attempts must be an integer from 0 to 2, got 3",
        ),
        (
            {"async_retry_attempts": -1},
            "operations.async_retry_attempts must be an integer from 0 to 2, got -1",
        ),
        (
            {"async_retry_attempts": True},
            "operations.async_retry_attempts must be an integer from 0 to 2, got True",
        ),
        (
            {"max_event_age_seconds": 59},
            "operations.max_event_age_seconds must be an integer from 60 to 21600, got 59",
        ),
        (
            {"max_event_age_seconds": 21_601},
            "operations.max_event_age_seconds must be an integer from 60 to 21600, got 21601",
        ),
        (
            {"alarm_subscribers": AlarmSubscribers(emails=("ops.example.com",))},
            "operations.alarm_subscribers.emails has 'ops.example.com'; expected values like "
            "ops@example.com",
        ),
        (
            {"alarm_subscribers": AlarmSubscribers(https_urls=("http://hooks.example.com",))},
            "operations.alarm_subscribers.https_urls has 'http://hooks.example.com'; expected "
            "values like https://hooks.example.com/alarms",
        ),
        (
            {"alarm_subscribers": AlarmSubscribers(topic_arns=("oncall",))},
            "operations.alarm_subscribers.topic_arns has 'oncall'; expected values like "
            "arn:aws:sns:us-west-2:123456789012:oncall",
        ),
    ],
)
def test_out_of_range_operations_settings_name_the_field(
    overrides: dict[str, Any], message: str
) -> None:
    # Given settings with one bad value
    settings = OperationsSettings(**overrides)
    # When validated / Then the message names the field, the bounds and the value
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        settings.validate("operations")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"lambda_errors": 0},
            "operations.thresholds.lambda_errors must be an integer of at least 1, got 0",
        ),
        (
            {"lambda_throttles": -2},
            "operations.thresholds.lambda_throttles must be an integer of at least 1, got -2",
        ),
        (
            {"api_latency_p99_ms": 0},
            "operations.thresholds.api_latency_p99_ms must be an integer of at least 1, got 0",
        ),
        (
            {"dynamodb_throttled_requests": 0},
            "operations.thresholds.dynamodb_throttled_requests must be an integer of at least 1, "
            "got 0",
        ),
        (
            {"dynamodb_system_errors": 0},
            "operations.thresholds.dynamodb_system_errors must be an integer of at least 1, got 0",
        ),
        (
            {"dlq_visible_messages": 0},
            "operations.thresholds.dlq_visible_messages must be an integer of at least 1, got 0",
        ),
        (
            {"workflow_failed_executions": 0},
            "operations.thresholds.workflow_failed_executions must be an integer of at least 1, "
            "got 0",
        ),
        (
            {"workflow_timed_out_executions": 0},
            "operations.thresholds.workflow_timed_out_executions must be an integer of at least 1, "
            "got 0",
        ),
        (
            {"lambda_duration_p99_timeout_ratio": 0},
            "operations.thresholds.lambda_duration_p99_timeout_ratio must be a fraction above 0 "
            "and at most 1, got 0",
        ),
        (
            {"lambda_duration_p99_timeout_ratio": 1.5},
            "operations.thresholds.lambda_duration_p99_timeout_ratio must be a fraction above 0 "
            "and at most 1, got 1.5",
        ),
        (
            {"api_5xx_rate": -0.01},
            "operations.thresholds.api_5xx_rate must be a fraction above 0 and at most 1, got "
            "-0.01",
        ),
        (
            {"api_4xx_rate": 0.0},
            "operations.thresholds.api_4xx_rate must be a fraction above 0 and at most 1, got 0.0",
        ),
        (
            {"period_seconds": 30},
            "operations.thresholds.period_seconds must be an integer from 60 to 86400, got 30",
        ),
        (
            {"period_seconds": 90},
            "operations.thresholds.period_seconds must be a whole number of minutes, got 90",
        ),
        (
            {"evaluation_periods": 0},
            "operations.thresholds.evaluation_periods must be an integer from 1 to 288, got 0",
        ),
        (
            {"period_seconds": 3600, "evaluation_periods": 25},
            "operations.thresholds.evaluation_periods must be an integer from 1 to 24, got 25",
        ),
    ],
)
def test_thresholds_at_or_below_zero_name_the_field(
    overrides: dict[str, Any], message: str
) -> None:
    # Given thresholds with one value CloudWatch could never fire on sensibly
    settings = OperationsSettings(thresholds=AlarmThresholds(**overrides))
    # When validated / Then the message names the field
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        settings.validate("operations")


def test_environment_config_validates_its_operations_settings() -> None:
    # Given a valid environment whose operations settings are then broken
    dev = build_environments()["dev"]
    bad = replace(dev.operations, async_retry_attempts=5)
    # When the environment is built / Then it fails with the full field path
    with pytest.raises(ValueError, match=r"^operations\.async_retry_attempts must be"):
        EnvironmentConfig(
            name="dev",
            log_retention_days=14,
            functions=FunctionSizes(processor=FunctionSettings(memory_mb=256, timeout_seconds=30)),
            deletion_protection=False,
            operations=bad,
        )


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {"PIPELINE_ALARM_EMAIL": "ops@example.com,not-an-address"},
            "PIPELINE_ALARM_EMAIL has 'not-an-address'; expected values like ops@example.com",
        ),
        (
            {"PIPELINE_ALARM_HTTPS_URL": "https://a.example.com,https://a.example.com"},
            "PIPELINE_ALARM_HTTPS_URL lists a value more than once",
        ),
        (
            {
                "PIPELINE_ALARM_TOPIC_ARN": ",".join(
                    f"arn:aws:sns:us-west-2:123456789012:t{n}" for n in range(5)
                )
            },
            "PIPELINE_ALARM_TOPIC_ARN may name at most 4 topics (an alarm takes five actions, "
            "one of them the environment's own topic)",
        ),
    ],
)
def test_bad_alarm_subscriber_variables_name_the_variable(
    environ: dict[str, str], message: str
) -> None:
    # Given a synth-time variable with one bad value / When parsed / Then the line names it
    with pytest.raises(ValueError, match=r"^PIPELINE_ALARM_") as raised:
        AlarmSubscribers.from_environ(environ)
    assert str(raised.value) == message


def test_alarm_subscriber_variables_are_comma_separated_lists() -> None:
    subscribers = AlarmSubscribers.from_environ(
        {"PIPELINE_ALARM_EMAIL": " a@example.com , b@example.com ,", "PIPELINE_ALARM_HTTPS_URL": ""}
    )
    assert subscribers == AlarmSubscribers(emails=("a@example.com", "b@example.com"))
    assert subscribers.any
    assert not AlarmSubscribers.from_environ({}).any

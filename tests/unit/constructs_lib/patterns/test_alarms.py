from __future__ import annotations

import re
from typing import Any

import pytest

from constructs_lib.patterns.alarms import (
    DYNAMODB_OPERATIONS,
    AlarmSpec,
    AlarmWindow,
    MetricRef,
    PipelineAlarms,
    PipelineAlarmsProps,
    api_alarm_specs,
    function_alarm_specs,
    queue_alarm_specs,
    schedule_alarm_specs,
    state_machine_alarm_specs,
    table_alarm_specs,
)
from tests.unit.constructs_lib.conftest import SynthFn, skipped_checks

TOPIC_ARN = "arn:aws:sns:us-west-2:123456789012:evpipe-prod-alarms"
WINDOW = AlarmWindow(period_seconds=300, evaluation_periods=2)
ERRORS = MetricRef(
    namespace="AWS/Lambda",
    metric_name="Errors",
    dimensions={"FunctionName": "evpipe-prod-processor"},
    statistic="Sum",
)


def spec(**overrides: Any) -> AlarmSpec:
    settings: dict[str, Any] = {
        "name": "processor-errors",
        "description": "errors",
        "metrics": [ERRORS],
        "threshold": 1,
        "treat_missing_data": "notBreaching",
        "window": WINDOW,
    }
    settings.update(overrides)
    return AlarmSpec(**settings)


def alarms_props(**overrides: Any) -> PipelineAlarmsProps:
    settings: dict[str, Any] = {
        "name_prefix": "evpipe-prod",
        "topic_arn": TOPIC_ARN,
        "specs": [spec()],
    }
    settings.update(overrides)
    return PipelineAlarmsProps(**settings)


def build(props: PipelineAlarmsProps) -> Any:
    return lambda stack: PipelineAlarms(stack, "alarms", props=props)


def alarms_by_name(out: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        body["alarm_name"]: body for body in out["resource"]["aws_cloudwatch_metric_alarm"].values()
    }


def test_single_metric_spec_becomes_a_plain_alarm_that_notifies_the_topic(synth: SynthFn) -> None:
    # Given one single-metric spec
    out = synth(build(alarms_props()))
    # When synthesized
    alarm = alarms_by_name(out)["evpipe-prod-processor-errors"]
    # Then the alarm reads that metric and sends ALARM and OK to the topic
    assert alarm["namespace"] == "AWS/Lambda"
    assert alarm["metric_name"] == "Errors"
    assert alarm["dimensions"] == {"FunctionName": "evpipe-prod-processor"}
    assert (alarm["statistic"], alarm["period"], alarm["evaluation_periods"]) == ("Sum", 300, 2)
    assert alarm["threshold"] == 1
    assert alarm["comparison_operator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["treat_missing_data"] == "notBreaching"
    assert alarm["actions_enabled"] is True
    assert alarm["alarm_actions"] == alarm["ok_actions"] == [TOPIC_ARN]
    assert "metric_query" not in alarm


def test_percentile_uses_extended_statistic(synth: SynthFn) -> None:
    # Given a p99 metric
    p99 = MetricRef(namespace="AWS/Lambda", metric_name="Duration", dimensions={}, statistic="p99")
    out = synth(build(alarms_props(specs=[spec(name="duration", metrics=[p99], threshold=900)])))
    # When synthesized / Then CloudWatch gets extended_statistic, not statistic
    alarm = alarms_by_name(out)["evpipe-prod-duration"]
    assert alarm["extended_statistic"] == "p99"
    assert "statistic" not in alarm


def test_several_metrics_become_hidden_queries_under_one_expression(synth: SynthFn) -> None:
    # Given a two-metric ratio
    count = MetricRef(
        namespace="AWS/ApiGateway", metric_name="Count", dimensions={}, statistic="Sum"
    )
    ratio = spec(
        name="ratio", metrics=[ERRORS, count], expression="FILL(m0, 0) / m1", threshold=0.01
    )
    # When synthesized
    alarm = alarms_by_name(synth(build(alarms_props(specs=[ratio]))))["evpipe-prod-ratio"]
    # Then m0 and m1 feed the expression, which alone returns data
    queries = {query["id"]: query for query in alarm["metric_query"]}
    assert set(queries) == {"m0", "m1", "result"}
    assert queries["m0"]["metric"]["metric_name"] == "Errors"
    assert queries["m1"]["metric"]["stat"] == "Sum"
    assert queries["m1"]["metric"]["period"] == 300
    assert queries["m0"]["return_data"] is False
    assert queries["result"] == {
        "id": "result",
        "expression": "FILL(m0, 0) / m1",
        "label": "ratio",
        "return_data": True,
    }
    assert "namespace" not in alarm
    assert "statistic" not in alarm


def test_silenced_alarms_keep_their_state_and_say_why(synth_with_comments: SynthFn) -> None:
    # Given a profile that pages nobody
    props = alarms_props(notifications_off_reason="dev pages nobody")
    # When synthesized with comments
    alarm = next(
        iter(synth_with_comments(build(props))["resource"]["aws_cloudwatch_metric_alarm"].values())
    )
    # Then actions are off, still wired, and checkov's finding is suppressed with the reason
    assert alarm["actions_enabled"] is False
    assert alarm["alarm_actions"] == [TOPIC_ARN]
    assert skipped_checks(alarm) == {"CKV_AWS_319": "dev pages nobody"}


def test_function_specs_compare_p99_duration_with_the_functions_timeout() -> None:
    # Given a 30 s function and an 80% ratio
    specs = function_alarm_specs(
        label="processor",
        function_name="fn",
        timeout_seconds=30,
        errors=2,
        throttles=3,
        duration_p99_timeout_ratio=0.8,
        window=WINDOW,
    )
    by_name = {s.name: s for s in specs}
    # Then errors, throttles and p99 duration are watched, duration at 24,000 ms
    assert set(by_name) == {"processor-errors", "processor-throttles", "processor-duration-p99"}
    assert by_name["processor-errors"].threshold == 2
    assert by_name["processor-throttles"].threshold == 3
    duration = by_name["processor-duration-p99"]
    assert duration.threshold == 24_000
    assert duration.metrics[0].statistic == "p99"
    # And an idle function is healthy, not alarming
    assert {s.treat_missing_data for s in specs} == {"notBreaching"}


@pytest.mark.parametrize(
    ("server", "client", "dimensions"),
    [
        ("5XXError", "4XXError", {"ApiName": "evpipe-prod-rest-api", "Stage": "prod"}),
        ("5xx", "4xx", {"ApiId": "abc123", "Stage": "$default"}),
    ],
)
def test_api_specs_alarm_on_error_shares_of_requests_and_p99_latency(
    server: str, client: str, dimensions: dict[str, str]
) -> None:
    # Given an API stage (REST or HTTP metric names)
    specs = api_alarm_specs(
        label="api",
        dimensions=dimensions,
        server_error_metric=server,
        client_error_metric=client,
        server_error_rate=0.01,
        client_error_rate=0.05,
        latency_p99_ms=1000,
        window=WINDOW,
    )
    by_name = {s.name: s for s in specs}
    # Then 5xx and 4xx are ratios of errors to Count, latency is p99
    five = by_name["api-5xx-rate"]
    assert [m.metric_name for m in five.metrics] == [server, "Count"]
    assert five.expression == "FILL(m0, 0) / m1"
    assert five.threshold == 0.01
    assert [m.metric_name for m in by_name["api-4xx-rate"].metrics] == [client, "Count"]
    latency = by_name["api-latency-p99"]
    assert (latency.metrics[0].metric_name, latency.metrics[0].statistic) == ("Latency", "p99")
    assert all(m.dimensions == dimensions for s in specs for m in s.metrics)


def test_table_specs_sum_every_operation_we_call() -> None:
    # Given the records table
    specs = table_alarm_specs(
        label="records-table", table_name="t", throttled_requests=1, system_errors=2, window=WINDOW
    )
    by_name = {s.name: s for s in specs}
    # Then throttled requests and system errors are summed over each data-plane operation
    throttled = by_name["records-table-throttled-requests"]
    assert [m.dimensions["Operation"] for m in throttled.metrics] == list(DYNAMODB_OPERATIONS)
    assert {m.metric_name for m in throttled.metrics} == {"ThrottledRequests"}
    assert throttled.expression == " + ".join(
        f"FILL(m{index}, 0)" for index in range(len(DYNAMODB_OPERATIONS))
    )
    assert by_name["records-table-system-errors"].threshold == 2


def test_dlq_alarm_keeps_its_state_when_sqs_stops_reporting() -> None:
    # Given a dead-letter queue alarm
    (queue,) = queue_alarm_specs(label="dlq", queue_name="q", visible_messages=1, window=WINDOW)
    # Then it watches the visible backlog and ignores gaps instead of turning OK
    assert queue.metrics[0].metric_name == "ApproximateNumberOfMessagesVisible"
    assert queue.metrics[0].statistic == "Maximum"
    assert queue.treat_missing_data == "ignore"


def test_state_machine_and_schedule_specs() -> None:
    failed, timed_out = state_machine_alarm_specs(
        label="workflow",
        state_machine_arn="arn:sm",
        failed_executions=1,
        timed_out_executions=2,
        window=WINDOW,
    )
    assert (failed.metrics[0].metric_name, timed_out.metrics[0].metric_name) == (
        "ExecutionsFailed",
        "ExecutionsTimedOut",
    )
    assert failed.metrics[0].dimensions == {"StateMachineArn": "arn:sm"}
    assert timed_out.threshold == 2
    (schedule,) = schedule_alarm_specs(label="schedule", rule_name="rule", window=WINDOW)
    assert schedule.metrics[0].metric_name == "FailedInvocations"
    assert schedule.metrics[0].dimensions == {"RuleName": "rule"}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"name": "Processor_Errors"}, "name must be lowercase kebab-case, got 'Processor_Errors'"),
        ({"metrics": []}, "alarm processor-errors: metrics must list 1 to 10 metrics, got 0"),
        (
            {"metrics": [ERRORS] * 11, "expression": "m0"},
            "alarm processor-errors: metrics must list 1 to 10 metrics, got 11",
        ),
        (
            {"metrics": [ERRORS, ERRORS]},
            "alarm processor-errors: expression is required for several metrics",
        ),
        (
            {"treat_missing_data": "zero"},
            "alarm processor-errors: treat_missing_data must be one of missing, ignore, "
            "breaching, notBreaching, got 'zero'",
        ),
        (
            {"comparison_operator": "Above"},
            "alarm processor-errors: comparison_operator must be one of",
        ),
        ({"threshold": 0}, "alarm processor-errors: threshold must be above 0, got 0"),
        ({"threshold": -1}, "alarm processor-errors: threshold must be above 0, got -1"),
        (
            {"window": AlarmWindow(period_seconds=90, evaluation_periods=1)},
            "alarm processor-errors: window.period_seconds must be a whole number of minutes, got "
            "90",
        ),
        (
            {"window": AlarmWindow(period_seconds=60, evaluation_periods=0)},
            "alarm processor-errors: window.evaluation_periods must be at least 1, got 0",
        ),
    ],
)
def test_invalid_spec_fails_naming_the_alarm_and_field(
    overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}"):
        spec(**overrides)


def test_invalid_statistic_is_rejected() -> None:
    with pytest.raises(ValueError, match=re.escape("Errors: statistic must be one of")):
        MetricRef(namespace="AWS/Lambda", metric_name="Errors", dimensions={}, statistic="Median")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"specs": []}, "specs must list at least one alarm"),
        (
            {"specs": [spec(), spec()]},
            "specs: alarm names must be unique, repeated: ['processor-errors']",
        ),
        ({"notifications_off_reason": " "}, "notifications_off_reason must say why, or be None"),
    ],
)
def test_invalid_props_fail_with_the_field_named(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        alarms_props(**overrides)

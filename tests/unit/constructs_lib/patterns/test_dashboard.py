from __future__ import annotations

import json
import re
from typing import Any

import pytest
from cdktf import TerraformStack
from cdktf_cdktf_provider_aws.sqs_queue import SqsQueue

from constructs_lib.patterns.alarms import AlarmSpec, AlarmWindow, MetricRef
from constructs_lib.patterns.dashboard import (
    GRID_WIDTH,
    DashboardSection,
    Graph,
    PipelineDashboard,
    PipelineDashboardProps,
    dashboard_body,
    graph_for_alarm,
)
from tests.unit.constructs_lib.conftest import SynthFn, only

ALARM_ARN = "arn:aws:cloudwatch:us-west-2:123456789012:alarm:evpipe-prod-processor-errors"
INVOCATIONS = MetricRef(
    namespace="AWS/Lambda",
    metric_name="Invocations",
    dimensions={"FunctionName": "evpipe-prod-processor"},
    statistic="Sum",
    label="processor",
)


def dashboard_props(**overrides: Any) -> PipelineDashboardProps:
    settings: dict[str, Any] = {
        "dashboard_name": "evpipe-prod-pipeline",
        "region": "us-west-2",
        "header_markdown": "# evpipe-prod",
        "alarm_arns": [ALARM_ARN],
        "sections": [
            DashboardSection(
                title="Traffic",
                graphs=[Graph(title=f"graph {n}", metrics=[INVOCATIONS]) for n in range(4)],
            )
        ],
    }
    settings.update(overrides)
    return PipelineDashboardProps(**settings)


def test_layout_puts_header_and_alarms_on_top_then_rows_of_three_graphs() -> None:
    # Given a section with four graphs
    widgets = dashboard_body(dashboard_props())["widgets"]
    # When the body is built
    kinds = [widget["type"] for widget in widgets]
    # Then: header text, alarm states, section title, then graphs three to a row
    assert kinds == ["text", "alarm", "text", "metric", "metric", "metric", "metric"]
    assert widgets[1]["properties"]["alarms"] == [ALARM_ARN]
    assert widgets[2]["properties"]["markdown"] == "## Traffic"
    graphs = widgets[3:]
    assert [(g["x"], g["y"]) for g in graphs] == [
        (0, widgets[2]["y"] + 1),
        (8, widgets[2]["y"] + 1),
        (16, widgets[2]["y"] + 1),
        (0, widgets[2]["y"] + 7),
    ]
    # And nothing overlaps or leaves the 24-column grid
    cells: set[tuple[int, int]] = set()
    for widget in widgets:
        assert widget["x"] + widget["width"] <= GRID_WIDTH
        area = {
            (x, y)
            for x in range(widget["x"], widget["x"] + widget["width"])
            for y in range(widget["y"], widget["y"] + widget["height"])
        }
        assert not cells & area, f"{widget['type']} overlaps"
        cells |= area


def test_plain_graph_draws_each_metric_with_its_statistic() -> None:
    # Given a graph of one metric
    (graph,) = [w for w in dashboard_body(dashboard_props())["widgets"] if w["type"] == "metric"][
        :1
    ]
    # Then the metric line carries namespace, name, dimensions and options
    assert graph["properties"]["metrics"] == [
        [
            "AWS/Lambda",
            "Invocations",
            "FunctionName",
            "evpipe-prod-processor",
            {"id": "m0", "stat": "Sum", "visible": True, "label": "processor"},
        ],
    ]
    assert graph["properties"]["region"] == "us-west-2"
    assert "annotations" not in graph["properties"]


def test_alarm_graph_shows_the_expression_and_threshold_with_inputs_hidden() -> None:
    # Given a metric-math alarm
    count = MetricRef(
        namespace="AWS/ApiGateway", metric_name="Count", dimensions={}, statistic="Sum"
    )
    errors = MetricRef(
        namespace="AWS/ApiGateway", metric_name="5XXError", dimensions={}, statistic="Sum"
    )
    spec = AlarmSpec(
        name="rest-api-5xx-rate",
        description="d",
        metrics=[errors, count],
        expression="FILL(m0, 0) / m1",
        threshold=0.01,
        treat_missing_data="notBreaching",
        window=AlarmWindow(period_seconds=60, evaluation_periods=1),
    )
    # When drawn
    props = dashboard_props(
        sections=[DashboardSection(title="API", graphs=[graph_for_alarm(spec)])]
    )
    (graph,) = [w for w in dashboard_body(props)["widgets"] if w["type"] == "metric"]
    properties = graph["properties"]
    # Then the result line comes first, inputs are hidden, the threshold is a line
    assert properties["metrics"][0] == [
        {"expression": "FILL(m0, 0) / m1", "label": "rest-api-5xx-rate", "id": "result"}
    ]
    assert [line[-1]["visible"] for line in properties["metrics"][1:]] == [False, False]
    assert properties["period"] == 60
    assert properties["annotations"] == {
        "horizontal": [{"label": "alarm threshold", "value": 0.01}]
    }


def test_construct_writes_the_body_as_json_with_references_resolved(synth: SynthFn) -> None:
    # Given a graph whose dimension is another resource's attribute
    def build(stack: TerraformStack) -> None:
        queue = SqsQueue(stack, "queue", name="dlq")
        depth = MetricRef(
            namespace="AWS/SQS",
            metric_name="ApproximateNumberOfMessagesVisible",
            dimensions={"QueueName": queue.name},
            statistic="Maximum",
        )
        props = dashboard_props(
            sections=[DashboardSection(title="DLQ", graphs=[Graph(title="depth", metrics=[depth])])]
        )
        PipelineDashboard(stack, "dashboard", props=props)

    # When synthesized
    dashboard = only(synth(build), "aws_cloudwatch_dashboard")
    # Then the body is valid JSON holding a Terraform reference to the queue's name
    assert dashboard["dashboard_name"] == "evpipe-prod-pipeline"
    body = json.loads(dashboard["dashboard_body"])
    line = body["widgets"][-1]["properties"]["metrics"][0]
    assert re.fullmatch(r"\$\{aws_sqs_queue\.queue[^}]*\.name\}", line[3])


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"dashboard_name": "evpipe prod"},
            "dashboard_name must be 1-255 letters, digits, hyphens or underscores, got 'evpipe "
            "prod'",
        ),
        (
            {"alarm_arns": [ALARM_ARN] * 101},
            "alarm_arns lists 101 alarms; one widget shows at most 100",
        ),
        (
            {"alarm_arns": [], "sections": []},
            "a dashboard needs alarm_arns or at least one section",
        ),
    ],
)
def test_invalid_props_fail_with_the_field_named(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        dashboard_props(**overrides)


def test_graph_without_metrics_is_rejected() -> None:
    with pytest.raises(ValueError, match=re.escape("graph 'empty': metrics must not be empty")):
        Graph(title="empty", metrics=[])

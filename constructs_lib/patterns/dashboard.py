"""A CloudWatch dashboard laid out from Python data: alarm states first, then one row per part.

The body is plain JSON built here (``dashboard_body``), so tests can read the layout without
synthesizing. Names and ARNs may be Terraform references; they resolve inside the JSON string.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cdktf_cdktf_provider_aws.cloudwatch_dashboard import CloudwatchDashboard
from constructs import Construct

from constructs_lib.patterns.alarms import AlarmSpec, MetricRef

# CloudWatch dashboards are 24 grid columns wide.
GRID_WIDTH = 24
# Three graphs per row: wide enough to read a day of 5-minute points.
GRAPH_WIDTH = 8
GRAPH_HEIGHT = 6
TEXT_HEIGHT = 1
HEADER_HEIGHT = 2
# The alarm-status widget fits about four alarm tiles per line of height.
ALARMS_PER_ROW = 4
# Five minutes matches the alarms' default period, so graphs and alarms agree.
DEFAULT_GRAPH_PERIOD_SECONDS = 300
# The service caps an alarm-status widget at 100 alarms.
MAX_ALARMS_PER_WIDGET = 100
_DASHBOARD_NAME = re.compile(r"[A-Za-z0-9_-]{1,255}")


@dataclass(frozen=True, kw_only=True)
class Graph:
    """A time-series widget: metrics, or metric math over them, plus an optional threshold."""

    title: str
    metrics: Sequence[MetricRef]
    # Metric math over m0, m1, ...; the inputs are then hidden and only the result is drawn.
    expression: str | None = None
    # Drawn as a horizontal line, usually the alarm threshold.
    threshold: float | None = None
    period_seconds: int = DEFAULT_GRAPH_PERIOD_SECONDS

    def __post_init__(self) -> None:
        if not self.metrics:
            raise ValueError(f"graph {self.title!r}: metrics must not be empty")


@dataclass(frozen=True, kw_only=True)
class DashboardSection:
    """One titled band of graphs, e.g. everything about the processor function."""

    title: str
    graphs: Sequence[Graph]


def graph_for_alarm(spec: AlarmSpec) -> Graph:
    """What the alarm watches, with its threshold drawn in."""
    return Graph(
        title=spec.name,
        metrics=spec.metrics,
        expression=spec.expression,
        threshold=spec.threshold,
        period_seconds=spec.window.period_seconds,
    )


@dataclass(frozen=True, kw_only=True)
class PipelineDashboardProps:
    dashboard_name: str
    region: str
    # Markdown shown across the top: what this pipeline is and where to look first.
    header_markdown: str
    alarm_arns: Sequence[str] = ()
    sections: Sequence[DashboardSection] = ()

    def __post_init__(self) -> None:
        if not _DASHBOARD_NAME.fullmatch(self.dashboard_name):
            raise ValueError(
                "dashboard_name must be 1-255 letters, digits, hyphens or underscores, "
                f"got {self.dashboard_name!r}"
            )
        if len(self.alarm_arns) > MAX_ALARMS_PER_WIDGET:
            raise ValueError(
                f"alarm_arns lists {len(self.alarm_arns)} alarms; one widget shows at most "
                f"{MAX_ALARMS_PER_WIDGET}"
            )
        if not self.sections and not self.alarm_arns:
            raise ValueError("a dashboard needs alarm_arns or at least one section")


def _metric_line(metric: MetricRef, *, metric_id: str, visible: bool) -> list[Any]:
    options: dict[str, Any] = {"id": metric_id, "stat": metric.statistic, "visible": visible}
    if metric.label:
        options["label"] = metric.label
    line: list[Any] = [metric.namespace, metric.metric_name]
    for name, value in metric.dimensions.items():
        line += [name, value]
    return [*line, options]


def _graph_widget(graph: Graph, *, region: str, x: int, y: int) -> dict[str, Any]:
    lines: list[Any] = []
    if graph.expression is not None:
        lines.append([{"expression": graph.expression, "label": graph.title, "id": "result"}])
    for index, metric in enumerate(graph.metrics):
        lines.append(
            _metric_line(
                metric, metric_id=AlarmSpec.metric_id(index), visible=graph.expression is None
            )
        )
    properties: dict[str, Any] = {
        "title": graph.title,
        "region": region,
        "view": "timeSeries",
        "stacked": False,
        "period": graph.period_seconds,
        "metrics": lines,
    }
    if graph.threshold is not None:
        properties["annotations"] = {
            "horizontal": [{"label": "alarm threshold", "value": graph.threshold}]
        }
    return {
        "type": "metric",
        "x": x,
        "y": y,
        "width": GRAPH_WIDTH,
        "height": GRAPH_HEIGHT,
        "properties": properties,
    }


def dashboard_body(props: PipelineDashboardProps) -> dict[str, Any]:
    """Header, alarm states, then each section as a title row and rows of three graphs."""
    widgets: list[dict[str, Any]] = [
        {
            "type": "text",
            "x": 0,
            "y": 0,
            "width": GRID_WIDTH,
            "height": HEADER_HEIGHT,
            "properties": {"markdown": props.header_markdown},
        }
    ]
    y = HEADER_HEIGHT
    if props.alarm_arns:
        height = 2 + -(-len(props.alarm_arns) // ALARMS_PER_ROW)
        widgets.append(
            {
                "type": "alarm",
                "x": 0,
                "y": y,
                "width": GRID_WIDTH,
                "height": height,
                "properties": {
                    "title": "Alarms",
                    "alarms": list(props.alarm_arns),
                    "sortBy": "stateUpdatedTimestamp",
                },
            }
        )
        y += height
    per_row = GRID_WIDTH // GRAPH_WIDTH
    for section in props.sections:
        widgets.append(
            {
                "type": "text",
                "x": 0,
                "y": y,
                "width": GRID_WIDTH,
                "height": TEXT_HEIGHT,
                "properties": {"markdown": f"## {section.title}"},
            }
        )
        y += TEXT_HEIGHT
        for index, graph in enumerate(section.graphs):
            column, row = index % per_row, index // per_row
            widgets.append(
                _graph_widget(
                    graph,
                    region=props.region,
                    x=column * GRAPH_WIDTH,
                    y=y + row * GRAPH_HEIGHT,
                )
            )
        y += -(-len(section.graphs) // per_row) * GRAPH_HEIGHT
    return {"widgets": widgets}


class PipelineDashboard(Construct):
    """The pipeline at a glance: alarm states and the metrics behind them."""

    def __init__(
        self, scope: Construct, construct_id: str, *, props: PipelineDashboardProps
    ) -> None:
        super().__init__(scope, construct_id)
        self.body = dashboard_body(props)
        self.dashboard = CloudwatchDashboard(
            self,
            "dashboard",
            dashboard_name=props.dashboard_name,
            dashboard_body=json.dumps(self.body, separators=(",", ":")),
        )

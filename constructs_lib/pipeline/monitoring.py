"""What each domain construct hands to operations: its functions, alarms and traffic graphs.

Every domain knows the metrics of what it owns (an HTTP API counts ``5xx``, a REST API
``5XXError``); operations only collects the groups, creates the alarms and draws the
dashboard. ``Monitored`` is that contract.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from cdktf import TerraformOutput
from constructs import Construct

from constructs_lib.base.python_function import PythonFunction
from constructs_lib.patterns.alarms import AlarmSpec, AlarmWindow, MetricRef, function_alarm_specs
from constructs_lib.patterns.dashboard import Graph
from constructs_lib.specs import AlarmThresholds


@dataclass(frozen=True, kw_only=True)
class AlarmPolicy:
    """The environment's thresholds and the window every alarm evaluates over."""

    thresholds: AlarmThresholds

    @property
    def window(self) -> AlarmWindow:
        return AlarmWindow(
            period_seconds=self.thresholds.period_seconds,
            evaluation_periods=self.thresholds.evaluation_periods,
        )


@dataclass(frozen=True, kw_only=True)
class AlarmGroup:
    """Alarms about one part of the pipeline, titled as the dashboard shows them."""

    title: str
    specs: Sequence[AlarmSpec]


class Monitored(Protocol):
    """A domain construct as operations sees it."""

    @property
    def functions(self) -> Sequence[PythonFunction]: ...

    def alarm_groups(self, policy: AlarmPolicy) -> list[AlarmGroup]: ...

    def traffic_graphs(self) -> list[Graph]: ...


def function_alarm_group(function: PythonFunction, policy: AlarmPolicy) -> AlarmGroup:
    """Errors, throttles and p99 duration of one function, labelled with its short name."""
    thresholds = policy.thresholds
    label = function.node.id
    return AlarmGroup(
        title=f"Function {label}",
        specs=function_alarm_specs(
            label=label,
            function_name=function.function.function_name,
            timeout_seconds=function.timeout_seconds,
            errors=thresholds.lambda_errors,
            throttles=thresholds.lambda_throttles,
            duration_p99_timeout_ratio=thresholds.lambda_duration_p99_timeout_ratio,
            window=policy.window,
        ),
    )


def invocations_metric(function: PythonFunction) -> MetricRef:
    return MetricRef(
        namespace="AWS/Lambda",
        metric_name="Invocations",
        dimensions={"FunctionName": function.function.function_name},
        statistic="Sum",
        label=function.node.id,
    )


def add_outputs(scope: Construct, outputs: dict[str, object]) -> dict[str, TerraformOutput]:
    """Stack outputs named exactly as given (``bucket_arn``), wherever ``scope`` sits.

    A nested output would be named after its construct path; users script against these
    names (``terraform output -raw ingest_bucket_name``), so they are pinned.
    """
    created = {}
    for name, value in outputs.items():
        output = TerraformOutput(scope, name, value=value)
        output.override_logical_id(name)
        created[name] = output
    return created

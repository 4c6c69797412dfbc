"""Drift check: every difference after an emulator apply is a listed quirk or a failure."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tools.ci.drift_check import (
    EMULATOR_DRIFT_EXCEPTIONS,
    DriftException,
    differences,
    explain,
    render,
)

PLANS = Path(__file__).resolve().parent / "plans"
EGRESS_RULE = "aws_vpc_security_group_egress_rule.network_https-to-s3_45093733"
FUNCTION = "aws_lambda_function.processor_function_D7E0E582"
QUEUE = "aws_sqs_queue.dlq_queue_0B3C6E1A"


def drift_plan() -> dict[str, Any]:
    plan: dict[str, Any] = json.loads((PLANS / "drift_after_apply.json").read_text())
    return plan


def test_every_exception_names_a_type_an_attribute_and_why() -> None:
    # Given the committed exception list / Then each entry is specific and explained
    for exception in EMULATOR_DRIFT_EXCEPTIONS:
        assert exception.resource_type.startswith("aws_")
        assert exception.attribute not in ("", "*")
        assert len(exception.reason) > 20


def test_listed_quirks_are_explained_and_everything_else_is_drift() -> None:
    # Given a plan after apply with a moto quirk, a real change and a vanished queue
    report = explain(drift_plan())
    # Then only the security group rule description is excused, with its reason
    assert [(d.address, d.path, e.resource_type) for d, e in report.explained] == [
        (EGRESS_RULE, "description", "aws_vpc_security_group_egress_rule")
    ]
    # And the function's changed variable, its unknown timestamp and the queue fail the check
    assert [(d.address, d.action, d.path) for d in report.unexplained] == [
        (FUNCTION, "update", "environment.0.variables.TABLE_NAME"),
        (FUNCTION, "update", "last_modified"),
        (QUEUE, "create", ""),
    ]
    # And each says what changed, the way the plan review shows it
    assert [d.describe() for d in report.unexplained] == [
        f'{FUNCTION} [update] environment.0.variables.TABLE_NAME: "evpipe-dev-records" -> '
        '"evpipe-dev-records-v2"',
        f'{FUNCTION} [update] last_modified: "2026-11-22" -> (known after apply)',
        f"{QUEUE} [create] (whole resource)",
    ]
    assert report.unchanged == 1
    assert not report.ok


def test_an_exception_never_excuses_a_whole_resource_or_another_attribute() -> None:
    # Given an exception covering filters of any lifecycle rule
    exception = DriftException(
        resource_type="aws_s3_bucket_lifecycle_configuration",
        attribute="rule.*.filter",
        reason="an emulator that rewrites empty filters",
    )
    kind = "aws_s3_bucket_lifecycle_configuration"
    # Then it matches below the wildcard but not a sibling, another type or a missing object
    assert exception.explains(kind, "rule.0.filter.0.prefix")
    assert exception.explains(kind, "rule.3.filter")
    assert not exception.explains(kind, "rule.0.id")
    assert not exception.explains("aws_s3_bucket", "rule.0.filter")
    assert not exception.explains(kind, "")


def test_an_empty_second_plan_passes_and_reports_unused_exceptions() -> None:
    # Given a plan after apply where nothing changes
    quiet = [
        entry
        for entry in drift_plan()["resource_changes"]
        if entry["change"]["actions"] in (["no-op"], ["read"])
    ]
    plan = {"resource_changes": quiet}
    # When it is explained
    report = explain(plan)
    text = render(report)
    # Then it passes and says which exceptions were not needed this time
    assert report.ok
    assert differences(plan) == ([], 1)
    assert "No unexplained drift" in text
    assert text.count("Unused exception") == len(EMULATOR_DRIFT_EXCEPTIONS)

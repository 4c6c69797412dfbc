"""Every environment deploys the backfill: a logged, traced Distributed Map with a scoped role."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from config.backfill import BackfillSettings
from config.environments import build_environments
from constructs_lib.pipeline.backfill import BackfillProps

Stacks = dict[str, dict[str, Any]]
ENVIRONMENTS = ("dev", "staging", "prod")


def _backfill_machine(stack: dict[str, Any]) -> dict[str, Any]:
    machines: list[dict[str, Any]] = [
        body
        for body in stack["resource"]["aws_sfn_state_machine"].values()
        if body["name"].endswith("-backfill")
    ]
    (machine,) = machines
    return machine


def _statements(stack: dict[str, Any], under: str) -> dict[str, dict[str, Any]]:
    """The statements of the policy documents whose address starts with ``under``, by sid."""
    found = {}
    for address, document in stack["data"]["aws_iam_policy_document"].items():
        if address.startswith(under):
            for statement in document["statement"]:
                found[statement.get("sid", "")] = statement
    return found


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_backfill_is_a_logged_traced_standard_machine(
    synthesized_stacks: Stacks, env: str
) -> None:
    # Given the environment's stack
    machine = _backfill_machine(synthesized_stacks[f"pipeline-{env}"])
    # Then the parent is STANDARD (what a Distributed Map needs), traced and fully logged
    assert machine["type"] == "STANDARD"
    assert machine["tracing_configuration"]["enabled"] is True
    assert machine["logging_configuration"]["level"] == "ALL"
    # And its batch size and tolerance are the environment's settings
    state = json.loads(machine["definition"])["States"]["ReprocessObjects"]
    settings = build_environments()[env].backfill
    assert state["ItemBatcher"]["MaxItemsPerBatch"] == settings.batch_size
    assert state["ToleratedFailurePercentage"] == settings.tolerated_failure_percentage


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_backfill_role_may_do_only_what_its_states_do(
    synthesized_stacks: Stacks, env: str
) -> None:
    stack = synthesized_stacks[f"pipeline-{env}"]
    statements = _statements(stack, "backfill_state-machine_permissions")
    # Then it starts, describes and stops executions of itself only
    start = statements["StartChildWorkflows"]
    assert start["actions"] == ["states:StartExecution"]
    assert start["resources"][0].endswith(f":stateMachine:evpipe-{env}-backfill")
    manage = statements["ManageChildWorkflows"]
    assert manage["resources"][0].endswith(f":execution:evpipe-{env}-backfill/*")
    # And lists the ingest bucket only under the ingest prefix
    listing = statements["ListIngestedObjects"]
    assert listing["actions"] == ["s3:ListBucket"]
    (condition,) = listing["condition"]
    assert condition["variable"] == "s3:prefix"
    assert condition["values"] == ["incoming/*"]
    # And writes objects only under the results prefix
    (results,) = statements["WriteRunResults"]["resources"]
    assert results.endswith("/backfill-results/*")
    # And invokes exactly one function: the processor
    (invoked,) = statements["InvokePipelineFunctions"]["resources"]
    assert "aws_lambda_alias.ingest_processor_alias" in invoked
    # And the processor may read object metadata only under the ingest prefix
    reads = _statements(stack, "backfill_processor-reads-document")["ReadListedObjectMetadata"]
    assert reads["actions"] == ["s3:GetObject"]
    assert reads["resources"][0].endswith("/incoming/*")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_backfill_outputs_name_its_machine(synthesized_stacks: Stacks, env: str) -> None:
    outputs = synthesized_stacks[f"pipeline-{env}"]["output"]
    assert "backfill_state_machine_arn" in outputs
    assert outputs["backfill_results_prefix"]["value"] == "backfill-results/"


def _props(**change: Any) -> BackfillProps:
    ingest = SimpleNamespace(
        object_prefix="incoming/", processor=SimpleNamespace(timeout_seconds=30)
    )
    fields: dict[str, Any] = {
        "foundation": SimpleNamespace(),
        "ingest": ingest,
        "batch_size": 10,
        "max_concurrency": 2,
        "tolerated_failure_percentage": 5,
    }
    return BackfillProps(**(fields | change))


def test_results_inside_the_ingest_prefix_are_refused() -> None:
    # Given results written under incoming/ / Then they would be ingested: refused
    with pytest.raises(ValueError, match="results_prefix 'incoming/results/' must lie outside"):
        _props(results_prefix="incoming/results/")


def test_a_processor_slower_than_an_express_child_may_run_is_refused() -> None:
    # Given a processor timeout beyond the five minutes an EXPRESS child may run
    slow = SimpleNamespace(
        object_prefix="incoming/", processor=SimpleNamespace(timeout_seconds=600)
    )
    # Then the props refuse it, naming both limits
    with pytest.raises(ValueError, match=r"processor's timeout \(600 s\) must be at most 300 s"):
        _props(ingest=slow)


def test_bad_batching_is_refused_by_the_props() -> None:
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        _props(batch_size=0)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"batch_size": 201}, "backfill.batch_size"),
        ({"max_concurrency": 0}, "backfill.max_concurrency"),
        ({"tolerated_failure_percentage": -1}, "backfill.tolerated_failure_percentage"),
        ({"results_prefix": "results"}, "backfill.results_prefix must be a key prefix"),
    ],
)
def test_bad_backfill_settings_are_refused_naming_the_field(
    change: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        BackfillSettings(**change).validate("backfill")

"""The backfill workflow as States Language: one Distributed Map over an S3 listing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from constructs_lib.pipeline.backfill_definition import (
    CHILD_EXECUTION_TYPE,
    LIST_OBJECTS_RESOURCE,
    MAP_RESULT_PATH,
    MAP_STATE,
    RECORD_STATE,
    RESULT_WRITER_RESOURCE,
    BackfillPlan,
    build_backfill_definition,
)
from constructs_lib.pipeline.workflow_definition import LAMBDA_INVOKE_RESOURCE

from .test_workflow_definition import asl_validate

PROCESSOR_ARN = "arn:aws:lambda:us-west-2:123456789012:function:evpipe-test-processor"
PLAN = BackfillPlan(
    batch_size=50,
    max_concurrency=7,
    tolerated_failure_percentage=3,
    results_bucket="evpipe-test-ingest",
    results_prefix="backfill-results/",
)


def _map_state() -> dict[str, Any]:
    state: dict[str, Any] = build_backfill_definition(
        processor_function_arn=PROCESSOR_ARN, plan=PLAN
    )["States"][MAP_STATE]
    return state


def test_the_definition_is_valid_amazon_states_language(tmp_path: Path) -> None:
    # Given the backfill definition / When the reference validator checks it
    result = asl_validate(
        build_backfill_definition(processor_function_arn=PROCESSOR_ARN, plan=PLAN), tmp_path
    )
    # Then it is accepted
    assert result.returncode == 0, result.stdout + result.stderr


def test_step_functions_lists_the_prefix_given_in_the_execution_input() -> None:
    # Given the map state / Then its items come from ListObjectsV2 of the input's bucket/prefix
    reader = _map_state()["ItemReader"]
    assert reader == {
        "Resource": LIST_OBJECTS_RESOURCE,
        "Parameters": {"Bucket.$": "$.bucket", "Prefix.$": "$.prefix"},
    }


def test_items_are_batched_with_their_bucket_and_failures_tolerated_as_configured() -> None:
    state = _map_state()
    # Then batches hold the configured number of objects and say where they came from
    assert state["ItemBatcher"] == {
        "MaxItemsPerBatch": 50,
        "BatchInput": {"bucket.$": "$.bucket", "prefix.$": "$.prefix"},
    }
    # And concurrency and the failure threshold are the plan's
    assert state["MaxConcurrency"] == 7
    assert state["ToleratedFailurePercentage"] == 3
    # And results go to the results prefix, the run's summary to the output
    assert state["ResultWriter"] == {
        "Resource": RESULT_WRITER_RESOURCE,
        "Parameters": {"Bucket": "evpipe-test-ingest", "Prefix": "backfill-results"},
    }
    assert state["ResultPath"] == MAP_RESULT_PATH


def test_each_batch_is_an_express_child_invoking_the_processor_with_the_batch() -> None:
    processor = _map_state()["ItemProcessor"]
    # Then children run in distributed mode as EXPRESS workflows
    assert processor["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"}
    assert CHILD_EXECUTION_TYPE == "EXPRESS"
    # And the one task hands the whole batch ({"Items", "BatchInput"}) to the processor
    task = processor["States"][RECORD_STATE]
    assert task["Resource"] == LAMBDA_INVOKE_RESOURCE
    assert task["Parameters"] == {"FunctionName": PROCESSOR_ARN, "Payload.$": "$"}
    # And keeps only the processor's counts, retrying Lambda's own errors first
    assert set(task["ResultSelector"]) == {
        "records_created.$",
        "records_already_recorded.$",
        "objects_gone.$",
    }
    assert task["Retry"][0]["ErrorEquals"][0].startswith("Lambda.")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"batch_size": 0}, "batch_size must be at least 1"),
        ({"max_concurrency": 0}, "max_concurrency must be between 1 and 10000"),
        ({"tolerated_failure_percentage": 101}, "tolerated_failure_percentage must be between"),
        ({"results_prefix": "results"}, "results_prefix must be a key prefix ending in '/'"),
        ({"results_prefix": "/results/"}, "results_prefix must be a key prefix ending in '/'"),
    ],
)
def test_a_bad_plan_is_refused_naming_the_field(change: dict[str, Any], message: str) -> None:
    fields: dict[str, Any] = {
        "batch_size": 10,
        "max_concurrency": 1,
        "tolerated_failure_percentage": 0,
        "results_bucket": "b",
        "results_prefix": "backfill-results/",
    }
    # Given a plan with one bad field / When it is built / Then ValueError names the field
    with pytest.raises(ValueError, match=message):
        BackfillPlan(**(fields | change))

"""The local cloud's Distributed Map pieces as plain functions (localcloud/distributed_map.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from constructs_lib.pipeline.backfill_definition import (
    MAP_STATE,
    BackfillPlan,
    build_backfill_definition,
)
from tools.localcloud.distributed_map import batch_items, listed_item, map_batchers, parsable

DEFINITION = build_backfill_definition(
    processor_function_arn="arn:aws:lambda:us-west-2:123456789012:function:p",
    plan=BackfillPlan(
        batch_size=2,
        max_concurrency=1,
        tolerated_failure_percentage=5,
        results_bucket="b",
        results_prefix="backfill-results/",
    ),
)


def test_the_parser_sees_what_moto_grammar_accepts_and_the_batcher_is_kept_aside() -> None:
    # Given the backfill definition / When made parsable for moto
    state = parsable(DEFINITION)["States"][MAP_STATE]
    # Then the ItemBatcher is left out, the percentage is a decimal, children STANDARD
    assert "ItemBatcher" not in state
    assert state["ToleratedFailurePercentage"] == 5.0
    assert isinstance(state["ToleratedFailurePercentage"], float)
    assert state["ItemProcessor"]["ProcessorConfig"]["ExecutionType"] == "STANDARD"
    # And the batcher is found by its Map state's name, the original left unchanged
    assert map_batchers(DEFINITION) == {MAP_STATE: DEFINITION["States"][MAP_STATE]["ItemBatcher"]}
    assert (
        DEFINITION["States"][MAP_STATE]["ItemProcessor"]["ProcessorConfig"]["ExecutionType"]
        == "EXPRESS"
    )


def test_items_are_grouped_with_the_batch_input_read_from_the_state_input() -> None:
    # Given five items and the definition's batcher (2 per batch, bucket and prefix from input)
    batcher = DEFINITION["States"][MAP_STATE]["ItemBatcher"]
    items = [{"Key": f"incoming/{index}"} for index in range(5)]
    # When batched
    batches = batch_items(items, batcher, {"bucket": "b", "prefix": "incoming/"})
    # Then every item is in one batch, in order, each batch naming where it came from
    assert [len(batch["Items"]) for batch in batches] == [2, 2, 1]
    assert [item for batch in batches for item in batch["Items"]] == items
    assert {str(batch["BatchInput"]) for batch in batches} == {
        str({"bucket": "b", "prefix": "incoming/"})
    }


def test_a_listing_entry_takes_step_functions_item_shape() -> None:
    # Given a boto3 ListObjectsV2 entry / When shaped as the ItemReader passes it
    entry = {
        "Key": "incoming/a.csv",
        "ETag": '"abc"',
        "LastModified": datetime(2026, 12, 1, tzinfo=UTC),
        "Size": 3,
        "StorageClass": "STANDARD",
    }
    # Then the names and the epoch-seconds time are Step Functions'
    assert listed_item(entry) == {
        "Etag": '"abc"',
        "Key": "incoming/a.csv",
        "LastModified": 1796083200,
        "Size": 3,
        "StorageClass": "STANDARD",
    }

"""A Distributed Map over an S3 listing on the local cloud (tools/localcloud/distributed_map.py).

The backfill's own definition, its task a stand-in function that counts each batch: the
listing, the batches and the result files are the local cloud's; the processor's side is
tests/integration/test_backfill.py.
"""

from __future__ import annotations

import json
from typing import Any

from constructs_lib.pipeline.backfill_definition import (
    MAP_STATE,
    BackfillPlan,
    build_backfill_definition,
)
from tools.localcloud import LocalCloud

from .conftest import zip_source
from .test_stepfunctions import run

ROLE = "arn:aws:iam::123456789012:role/backfill"
BUCKET = "distributed-map-objects"
RESULTS_PREFIX = "backfill-results/"


def _create_machine(cloud: LocalCloud, name: str, batch_size: int) -> str:
    role = cloud.client("iam").create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument="{}")
    function_arn = cloud.client("lambda").create_function(
        FunctionName=f"{name}-record",
        Runtime="python3.12",
        Role=role["Role"]["Arn"],
        Handler="steps.record_batch",
        Code={"ZipFile": zip_source("steps")},
        Timeout=5,
    )["FunctionArn"]
    definition = build_backfill_definition(
        processor_function_arn=function_arn,
        plan=BackfillPlan(
            batch_size=batch_size,
            max_concurrency=2,
            tolerated_failure_percentage=5,
            results_bucket=BUCKET,
            results_prefix=RESULTS_PREFIX,
        ),
    )
    arn: str = cloud.client("stepfunctions").create_state_machine(
        name=name, definition=json.dumps(definition), roleArn=ROLE
    )["stateMachineArn"]
    return arn


def _json_object(cloud: LocalCloud, key: str) -> Any:
    body = cloud.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read()
    return json.loads(body)


def test_a_listing_over_one_page_is_batched_and_its_results_written(cloud: LocalCloud) -> None:
    # Given 1,003 objects under incoming/ (more than one ListObjectsV2 page) and two elsewhere
    s3 = cloud.client("s3")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    keys = [f"incoming/object-{index:04d}.csv" for index in range(1003)]
    for key in [*keys, "elsewhere/a.csv", "elsewhere/b.csv"]:
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"x")
    machine = _create_machine(cloud, "distributed-map-pages", batch_size=100)
    # When the backfill definition runs over the incoming/ prefix
    execution = run(cloud, machine, {"bucket": BUCKET, "prefix": "incoming/"})
    # Then it succeeded, and its history shows the map run
    assert execution["status"] == "SUCCEEDED", execution
    history = cloud.client("stepfunctions").get_execution_history(
        executionArn=execution["executionArn"]
    )["events"]
    kinds = [event["type"] for event in history]
    assert "MapRunStarted" in kinds
    assert "MapRunSucceeded" in kinds
    # And the output points at the results the map run wrote to S3
    output = json.loads(execution["output"])["map_run"]
    manifest_key = output["ResultWriterDetails"]["Key"]
    assert manifest_key.startswith(RESULTS_PREFIX)
    manifest = _json_object(cloud, manifest_key)
    (succeeded,) = manifest["ResultFiles"]["SUCCEEDED"]
    children = _json_object(cloud, succeeded["Key"])
    # And every listed object reached exactly one child, in batches of at most 100, each
    # saying which bucket and prefix it came from
    inputs = [json.loads(child["Input"]) for child in children]
    assert [len(batch["Items"]) for batch in inputs] == [100] * 10 + [3]
    assert sorted(item["Key"] for batch in inputs for item in batch["Items"]) == keys
    assert all(batch["BatchInput"] == {"bucket": BUCKET, "prefix": "incoming/"} for batch in inputs)
    # And items have the shape Step Functions gives them (Etag, LastModified in seconds)
    first = inputs[0]["Items"][0]
    assert set(first) == {"Etag", "Key", "LastModified", "Size", "StorageClass"}
    assert isinstance(first["LastModified"], int)
    assert first["Size"] == 1
    # And each child's output is what the task returned
    assert sum(json.loads(c["Output"])["records_created"] for c in children) == 1003
    assert {c["Status"] for c in children} == {"SUCCEEDED"}


def test_an_empty_prefix_runs_no_child(cloud: LocalCloud) -> None:
    # Given a prefix with no object under it
    machine = _create_machine(cloud, "distributed-map-empty", batch_size=10)
    s3 = cloud.client("s3")
    if BUCKET not in [bucket["Name"] for bucket in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "us-west-2"}
        )
    # When the backfill runs over it
    execution = run(cloud, machine, {"bucket": BUCKET, "prefix": "nothing-here/"})
    # Then it succeeds with a manifest that lists no child
    assert execution["status"] == "SUCCEEDED", execution
    manifest_key = json.loads(execution["output"])["map_run"]["ResultWriterDetails"]["Key"]
    children = _json_object(
        cloud, _json_object(cloud, manifest_key)["ResultFiles"]["SUCCEEDED"][0]["Key"]
    )
    assert children == []
    assert MAP_STATE in {
        e.get("stateEnteredEventDetails", {}).get("name")
        for e in cloud.client("stepfunctions").get_execution_history(
            executionArn=execution["executionArn"]
        )["events"]
    }

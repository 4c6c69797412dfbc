"""The processor records a backfill batch with the ingest write: listed objects already
recorded create nothing, missing ones get the record their S3 event would have made."""

from __future__ import annotations

from datetime import UTC
from types import ModuleType
from typing import Any

import boto3
import pytest

from .support import REGION, FakeLambdaContext, import_handler, load_event, table_items

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")

BUCKET = "pipeline-test-ingest"


@pytest.fixture(scope="module")
def processor(handler_env: None) -> ModuleType:
    return import_handler("processor")


@pytest.fixture
def bucket(aws: None) -> Any:
    """The versioned ingest bucket holding the sample batch's two objects."""
    s3: Any = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    for item in load_event("backfill-batch")["Items"]:
        s3.put_object(Bucket=BUCKET, Key=item["Key"], Body=b"a")
    return s3


def _s3_event_record(s3: Any, key: str) -> dict[str, Any]:
    """The S3 notification record ingest would have received for ``key``'s current version."""
    head = s3.head_object(Bucket=BUCKET, Key=key)
    when = head["LastModified"].astimezone(UTC).isoformat().replace("+00:00", "Z")
    return {
        "eventSource": "aws:s3",
        "eventName": "ObjectCreated:Put",
        "eventTime": when,
        "s3": {
            "bucket": {"name": BUCKET},
            "object": {
                "key": key.replace(" ", "+"),
                "size": head["ContentLength"],
                "eTag": head["ETag"].strip('"'),
                "versionId": head["VersionId"],
                "sequencer": "0055AED6DCD90281E5",
            },
        },
    }


def test_a_batch_records_each_listed_object_with_its_current_version(
    processor: ModuleType, bucket: Any, dynamodb: Any, lambda_context: FakeLambdaContext
) -> None:
    # Given a backfill batch of two listed objects, neither recorded
    event = load_event("backfill-batch")
    # When the processor handles it
    result = processor.lambda_handler(event, lambda_context)
    # Then both objects are recorded, each with the version S3 holds now
    items = {item["object_key"]["S"]: item for item in table_items(dynamodb)}
    assert sorted(items) == ["incoming/first file.csv", "incoming/second file.csv"]
    for key, item in items.items():
        assert item["version_id"]["S"] == bucket.head_object(Bucket=BUCKET, Key=key)["VersionId"]
        assert item["source"]["S"] == "backfill"
    assert result == {"records_created": 2, "records_already_recorded": 0, "objects_gone": 0}


def test_objects_ingest_already_recorded_create_nothing(
    processor: ModuleType, bucket: Any, dynamodb: Any, lambda_context: FakeLambdaContext
) -> None:
    # Given the first object recorded by ingest from its S3 notification
    first = "incoming/first file.csv"
    processor.lambda_handler({"Records": [_s3_event_record(bucket, first)]}, lambda_context)
    before = table_items(dynamodb)
    assert len(before) == 1
    # When a backfill batch lists both objects
    processor.lambda_handler(load_event("backfill-batch"), lambda_context)
    # Then the ingest record is untouched and only the second object got a record
    after = {item["object_key"]["S"]: item for item in table_items(dynamodb)}
    assert len(after) == 2
    assert after[first] == before[0]
    assert after["incoming/second file.csv"]["source"]["S"] == "backfill"
    # And a second backfill of the same batch writes nothing at all
    processor.lambda_handler(load_event("backfill-batch"), lambda_context)
    assert len(table_items(dynamodb)) == 2


def test_an_object_deleted_since_the_listing_is_counted_not_failed(
    processor: ModuleType, bucket: Any, dynamodb: Any, lambda_context: FakeLambdaContext
) -> None:
    # Given the second listed object deleted before its batch ran
    bucket.delete_object(Bucket=BUCKET, Key="incoming/second file.csv")
    # When the batch is handled
    result = processor.lambda_handler(load_event("backfill-batch"), lambda_context)
    # Then the first is recorded and the second counted as gone
    assert [i["object_key"]["S"] for i in table_items(dynamodb)] == ["incoming/first file.csv"]
    assert result["objects_gone"] == 1


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"Items": [{"Key": "incoming/a"}], "BatchInput": {}}, "BatchInput.bucket must name"),
        ({"Items": [], "BatchInput": {"bucket": BUCKET}}, "Items must be a non-empty list"),
        ({"Items": [{"Size": 1}], "BatchInput": {"bucket": BUCKET}}, r"Items\[0\].Key must be"),
    ],
)
def test_a_malformed_batch_is_refused_naming_the_field(
    processor: ModuleType,
    dynamodb: Any,
    lambda_context: FakeLambdaContext,
    event: dict[str, Any],
    message: str,
) -> None:
    # Given a batch missing what the processor needs / When it is handled
    # Then it is refused with the field named, and nothing is written
    with pytest.raises(processor.MalformedEventError, match=message):
        processor.lambda_handler(event, lambda_context)
    assert table_items(dynamodb) == []

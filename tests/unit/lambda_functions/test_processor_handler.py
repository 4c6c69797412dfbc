"""The processor records every S3 object version once and never loses a failed event."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from botocore.stub import ANY, Stubber
from moto.core.models import botocore_stubber as moto_stubber
from pipeline_common.records import partition_key, write_shard

from .support import (
    REGION,
    TABLE_NAME,
    WRITE_SHARDS,
    FakeLambdaContext,
    import_handler,
    load_event,
    table_items,
)

# Reads and rejected events publish no custom metric; Powertools warns about that.
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")


THROTTLED_BODY = json.dumps(
    {
        "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
        "message": "The level of configured provisioned throughput for the table was exceeded.",
    }
).encode()


@pytest.fixture(scope="module")
def processor(handler_env: None) -> ModuleType:
    return import_handler("processor")


def _item_by_key(items: list[dict[str, Any]], key: str) -> dict[str, Any]:
    matches = [item for item in items if item["object_key"]["S"] == key]
    assert len(matches) == 1, f"expected one item for {key!r}, found {len(matches)}"
    return matches[0]


class _RawBody:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


class ThrottleFirstAttempts:
    """A before-send hook answering the first ``count`` PutItem calls with throttling.

    botocore offers every before-send handler the request and uses the first answer, so moto
    would still apply a throttled write; real DynamoDB does not, so moto sits those out and
    ``resume_moto`` (last on the generic event, so after moto) switches it back on.
    """

    def __init__(self, count: int) -> None:
        self.remaining = count
        self.throttled = 0

    def __call__(self, request: Any, **_: Any) -> AWSResponse | None:
        if self.remaining == 0:
            return None  # moto answers
        self.remaining -= 1
        self.throttled += 1
        moto_stubber.enabled = False
        headers = HTTPHeaders()
        headers["Content-Type"] = "application/x-amz-json-1.0"
        headers["x-amzn-RequestId"] = "throttle"
        return AWSResponse(request.url, 400, headers, _RawBody(THROTTLED_BODY))

    @staticmethod
    def resume_moto(**_: Any) -> None:
        moto_stubber.enabled = True


@pytest.fixture
def throttle(processor: ModuleType, aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Install a throttling hook on the handler's own client; botocore's backoff is recorded."""
    sleeps: list[float] = []
    monkeypatch.setattr("botocore.endpoint.time.sleep", sleeps.append)
    events = processor.STORE._client.meta.events
    hooks: list[ThrottleFirstAttempts] = []

    def _install(count: int) -> ThrottleFirstAttempts:
        hook = ThrottleFirstAttempts(count)
        events.register_first("before-send.dynamodb.PutItem", hook)
        events.register_last("before-send", hook.resume_moto)
        hooks.append(hook)
        return hook

    yield _install
    for hook in hooks:
        events.unregister("before-send.dynamodb.PutItem", hook)
        events.unregister("before-send", hook.resume_moto)
    moto_stubber.enabled = True  # mock_aws is still active; it turns this off on exit


def test_put_event_writes_one_record_from_event_metadata(
    processor: ModuleType, dynamodb: Any, lambda_context: FakeLambdaContext
) -> None:
    # Given an S3 put notification whose key is URL-encoded ("+" for spaces, %28 for "(")
    event = load_event("s3-put")
    before = datetime.now(UTC)

    # When the processor handles it
    result = processor.lambda_handler(event, lambda_context)

    # Then exactly one item holds the decoded key and the event's own metadata
    items = table_items(dynamodb)
    assert len(items) == 1
    item = items[0]
    assert item["object_key"]["S"] == "incoming/sample file (1).csv"
    assert item["bucket"]["S"] == "evpipe-dev-ingest-us-west-2"
    assert item["size"]["N"] == "1024"
    assert item["etag"]["S"] == "d41d8cd98f00b204e9800998ecf8427e"
    assert item["version_id"]["S"] == "3HL4kqtJlcpXroDTDmjVBH40Nrjfkd"
    assert item["sequencer"]["S"] == "0055AED6DCD90281E5"
    assert item["event_name"]["S"] == "ObjectCreated:Put"
    assert item["event_time"]["S"] == "2024-05-01T12:30:45.123Z"
    assert item["s3_request_id"]["S"] == "C3D13FE58DE4C810"
    # under the day's shard that the object version hashes to, listed by key in GSI1
    shard = write_shard(
        bucket="evpipe-dev-ingest-us-west-2",
        key="incoming/sample file (1).csv",
        identity="V#3HL4kqtJlcpXroDTDmjVBH40Nrjfkd",
        shards=WRITE_SHARDS,
    )
    assert shard is not None
    assert item["pk"]["S"] == partition_key(date(2024, 5, 1), shard)
    assert item["gsi1pk"]["S"] == "KEY#incoming/sample file (1).csv"
    assert item["gsi1sk"]["S"] == (
        "2024-05-01T12:30:45.123Z#evpipe-dev-ingest-us-west-2#V#3HL4kqtJlcpXroDTDmjVBH40Nrjfkd"
    )
    expires_at = int(item["expires_at"]["N"])
    assert (before + timedelta(days=30)).timestamp() - 1 <= expires_at
    assert expires_at <= (datetime.now(UTC) + timedelta(days=30)).timestamp()
    assert result["records_created"] == 1
    assert len(result["record_ids"]) == 1


def test_redelivered_event_creates_no_second_item(
    processor: ModuleType, dynamodb: Any, lambda_context: FakeLambdaContext
) -> None:
    # Given an event that was already processed once
    event = load_event("s3-put")
    first = processor.lambda_handler(event, lambda_context)

    # When S3 delivers the same event again (at-least-once delivery)
    second = processor.lambda_handler(load_event("s3-put"), FakeLambdaContext())

    # Then the table still holds one item and the retry reports it as already recorded
    assert len(table_items(dynamodb)) == 1
    assert second["records_created"] == 0
    assert second["records_already_recorded"] == 1
    assert second["record_ids"] == first["record_ids"]


def test_multi_record_event_decodes_unicode_and_reserved_characters(
    processor: ModuleType, dynamodb: Any, lambda_context: FakeLambdaContext
) -> None:
    # Given three records: a plain key, a percent-encoded unicode key and one with "%", "?", "#"
    event = load_event("s3-multi-record")

    # When the processor handles the event
    result = processor.lambda_handler(event, lambda_context)

    # Then each object version has its own item under its decoded key and its event's day
    items = table_items(dynamodb)
    assert len(items) == 3
    assert result["records_created"] == 3
    unicode_item = _item_by_key(items, "café/résumé 日本 📄.pdf")
    assert unicode_item["version_id"]["S"] == "Ki1TpbYF2f0m8iFvJ2hZ7cSq3wXqbxUq"
    reserved = _item_by_key(items, "reports/100% done? #final.json")
    assert reserved["pk"]["S"].startswith("DATE#2024-05-02#")
    assert reserved["size"]["N"] == "0"
    assert _item_by_key(items, "incoming/plain.txt")["sequencer"]["S"] == "0062E99A88DC407460"


def test_two_versions_of_one_key_are_two_records(
    processor: ModuleType, dynamodb: Any, lambda_context: FakeLambdaContext
) -> None:
    # Given two notifications for the same key with different version ids
    first = load_event("s3-put")
    second = load_event("s3-put")
    second["Records"][0]["s3"]["object"]["versionId"] = "secondVersionId000000000000000"
    second["Records"][0]["s3"]["object"]["sequencer"] = "0055AED6DCD90281F0"

    # When both are processed
    processor.lambda_handler(first, lambda_context)
    processor.lambda_handler(second, lambda_context)

    # Then both versions are recorded
    assert len(table_items(dynamodb)) == 2


def test_null_version_id_falls_back_to_the_sequencer(
    processor: ModuleType, dynamodb: Any, lambda_context: FakeLambdaContext
) -> None:
    # Given two overwrites on a suspended-versioning bucket: both report versionId "null"
    events = [load_event("s3-put"), load_event("s3-put")]
    for event, sequencer in zip(events, ("00AA", "00AB"), strict=True):
        event["Records"][0]["s3"]["object"]["versionId"] = "null"
        event["Records"][0]["s3"]["object"]["sequencer"] = sequencer

    # When both are processed
    for event in events:
        processor.lambda_handler(event, lambda_context)

    # Then the two overwrites are two records, told apart by their sequencers
    assert sorted(item["sequencer"]["S"] for item in table_items(dynamodb)) == ["00AA", "00AB"]


def test_malformed_record_raises_after_writing_the_good_ones(
    processor: ModuleType, dynamodb: Any, lambda_context: FakeLambdaContext
) -> None:
    # Given a three-record event whose middle record lacks its object key
    event = load_event("s3-multi-record")
    del event["Records"][1]["s3"]["object"]["key"]

    # When the processor handles it, it fails the invocation
    with pytest.raises(processor.RecordBatchError) as raised:
        processor.lambda_handler(event, lambda_context)

    # Then the error names the record and field, and the two good records were written
    message = str(raised.value)
    assert message.startswith("1 of 3 records failed")
    assert "Records[1].s3.object must contain ['key'] properties" in message
    keys = {item["object_key"]["S"] for item in table_items(dynamodb)}
    assert keys == {"incoming/plain.txt", "reports/100% done? #final.json"}


def test_malformed_sample_fails_the_invocation_so_it_reaches_the_dlq(
    processor: ModuleType, dynamodb: Any, lambda_context: FakeLambdaContext
) -> None:
    # Given the sample whose only record has no object key
    # When it is processed, Then the invocation raises (Lambda retries, then dead-letters it)
    with pytest.raises(processor.RecordBatchError) as raised:
        processor.lambda_handler(load_event("s3-malformed"), lambda_context)
    assert str(raised.value) == (
        "1 of 1 records failed: Records[0].s3.object must contain ['key'] properties"
    )
    assert table_items(dynamodb) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda r: r.update(eventName="ObjectRemoved:Delete"),
            "Records[0].eventName must be an ObjectCreated event",
        ),
        (lambda r: r.update(eventSource="aws:sns"), "Records[0].eventSource must be"),
        (lambda r: r.update(eventTime="yesterday"), "Records[0].eventTime must be an ISO 8601"),
        (lambda r: r["s3"]["object"].update(size="1024"), "Records[0].s3.object.size must be"),
        (lambda r: r["s3"]["bucket"].update(name="Bad_Bucket"), "an S3 bucket name"),
        (lambda r: r["s3"]["object"].pop("eTag"), "must contain ['eTag'] properties"),
        (lambda r: r.pop("s3"), "Records[0] must contain ['s3'] properties"),
    ],
)
def test_each_malformed_record_shape_is_a_clear_error(
    processor: ModuleType,
    dynamodb: Any,
    lambda_context: FakeLambdaContext,
    change: Any,
    expected: str,
) -> None:
    # Given a put event broken in one specific way
    event = load_event("s3-put")
    change(event["Records"][0])

    # When it is processed, Then the invocation fails with a message naming the problem
    with pytest.raises(processor.RecordBatchError, match="1 of 1 records failed") as raised:
        processor.lambda_handler(event, lambda_context)
    assert expected in str(raised.value)
    assert table_items(dynamodb) == []


@pytest.mark.parametrize(
    "event",
    [{}, {"Records": []}, {"Records": "not-a-list"}, [], "text", {"detail": {}}],
    ids=["empty", "no-records", "records-not-list", "list", "string", "eventbridge-shape"],
)
def test_event_of_unknown_shape_is_rejected(
    processor: ModuleType, aws: None, lambda_context: FakeLambdaContext, event: Any
) -> None:
    # Given an event that is neither an S3 notification nor a workflow call
    # When it is processed, Then it fails with a message naming both accepted shapes
    with pytest.raises(processor.MalformedEventError, match="S3 notification"):
        processor.lambda_handler(event, lambda_context)


def test_throttled_record_is_raised_while_the_others_are_written(
    processor: ModuleType, aws: None, lambda_context: FakeLambdaContext
) -> None:
    # Given a three-record event and a table that throttles the second write (botocore Stubber)
    event = load_event("s3-multi-record")
    client = processor.STORE._client
    expected = {
        "TableName": TABLE_NAME,
        "Item": ANY,
        "ConditionExpression": "attribute_not_exists(pk)",
    }
    with Stubber(client) as stubber:
        stubber.add_response("put_item", {}, expected)
        stubber.add_client_error(
            "put_item",
            service_error_code="ProvisionedThroughputExceededException",
            service_message="Rate of requests exceeds the allowed throughput.",
            http_status_code=400,
            expected_params=expected,
        )
        stubber.add_response("put_item", {}, expected)

        # When the processor handles it
        with pytest.raises(processor.RecordBatchError) as raised:
            processor.lambda_handler(event, lambda_context)

        # Then the third record was still written, and the failure names record and cause
        stubber.assert_no_pending_responses()
    assert "1 of 3 records failed" in str(raised.value)
    assert "Records[1]: PutItem failed with ProvisionedThroughputExceededException" in str(
        raised.value
    )


def test_throttling_is_retried_by_botocore_until_the_write_succeeds(
    processor: ModuleType, dynamodb: Any, lambda_context: FakeLambdaContext, throttle: Any
) -> None:
    # Given a table that throttles the first two write attempts
    hook = throttle(2)

    # When the processor handles a put event
    result = processor.lambda_handler(load_event("s3-put"), lambda_context)

    # Then botocore retried with backoff and the record was written once
    assert hook.throttled == 2
    assert result["records_created"] == 1
    assert len(table_items(dynamodb)) == 1


def test_persistent_throttling_fails_the_invocation_after_the_configured_attempts(
    processor: ModuleType, dynamodb: Any, lambda_context: FakeLambdaContext, throttle: Any
) -> None:
    # Given a table that throttles every attempt
    hook = throttle(1000)

    # When the processor handles a put event
    with pytest.raises(processor.RecordBatchError) as raised:
        processor.lambda_handler(load_event("s3-put"), lambda_context)

    # Then it tried max_attempts times, then raised so Lambda retries and dead-letters the event
    max_attempts = processor.STORE._client.meta.config.retries["total_max_attempts"]
    assert hook.throttled == max_attempts
    assert f"after {max_attempts - 1} retries" in str(raised.value)
    assert table_items(dynamodb) == []


def test_invocation_log_carries_request_ids_function_name_and_timestamp(
    processor: ModuleType, aws: None, lambda_context: FakeLambdaContext, capture_logs: Any
) -> None:
    # Given the processor's log output is captured
    logs = capture_logs(processor)

    # When it handles a put event
    processor.lambda_handler(load_event("s3-put"), lambda_context)

    # Then one line records the invocation with S3's and Lambda's request ids
    [line] = [entry for entry in logs.entries if entry["message"] == "Invocation received"]
    assert line["request_id"] == "C3D13FE58DE4C810"
    assert line["correlation_id"] == "C3D13FE58DE4C810"
    assert line["aws_request_id"] == lambda_context.aws_request_id
    assert line["function_name"] == lambda_context.function_name
    assert datetime.strptime(line["timestamp"], "%Y-%m-%d %H:%M:%S,%f%z")
    assert line["record_count"] == 1


def test_no_s3_call_is_made_and_no_client_is_built_per_call(
    processor: ModuleType,
    dynamodb: Any,
    lambda_context: FakeLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given no bucket exists in the account, creating any client fails, and env vars are gone
    assert boto3.client("s3", region_name=REGION).list_buckets()["Buckets"] == []

    def no_new_clients(*_: Any, **__: Any) -> None:
        raise AssertionError("a client was created during the invocation")

    monkeypatch.setattr(boto3, "client", no_new_clients)
    monkeypatch.setattr(boto3.session.Session, "client", no_new_clients)
    monkeypatch.setattr(boto3.session.Session, "resource", no_new_clients)
    monkeypatch.delenv("TABLE_NAME")

    # When the processor handles a put event
    result = processor.lambda_handler(load_event("s3-put"), lambda_context)

    # Then it recorded the object from the event alone, with the client and settings from import
    assert result["records_created"] == 1
    assert len(table_items(dynamodb)) == 1


def test_workflow_invocation_returns_record_id_and_is_idempotent(
    processor: ModuleType, dynamodb: Any, lambda_context: FakeLambdaContext
) -> None:
    # Given the object the Step Functions workflow validated
    event = load_event("workflow-process")

    # When the workflow invokes the processor twice (a task retry)
    first = processor.lambda_handler(event, lambda_context)
    second = processor.lambda_handler(copy.deepcopy(event), lambda_context)

    # Then one record exists, its etag unquoted, and the retry reports created False
    assert first["created"] is True
    assert second == {"record_id": first["record_id"], "created": False}
    [item] = table_items(dynamodb)
    assert item["etag"]["S"] == "d41d8cd98f00b204e9800998ecf8427e"
    assert item["source"]["S"] == "workflow"


def test_workflow_invocation_with_invalid_object_names_every_problem(
    processor: ModuleType, dynamodb: Any, lambda_context: FakeLambdaContext
) -> None:
    # Given a workflow object with a negative size and no key
    event = {"object": {"bucket": "evpipe-dev-ingest-us-west-2", "size": -1, "etag": "abc"}}

    # When the processor is invoked, Then it raises naming both problems and writes nothing
    with pytest.raises(processor.MalformedEventError) as raised:
        processor.lambda_handler(event, lambda_context)
    assert "object.key is required" in str(raised.value)
    assert "object.size must be bigger than or equal to 0" in str(raised.value)
    assert table_items(dynamodb) == []


def test_very_long_key_fits_the_sort_key_limit_and_stays_unique(
    processor: ModuleType, dynamodb: Any, lambda_context: FakeLambdaContext
) -> None:
    # Given two 1,024-byte keys that differ only in their last character
    events = []
    for last in "ab":
        event = load_event("s3-put")
        event["Records"][0]["s3"]["object"]["key"] = "k" * 1023 + last
        events.append(event)

    # When both are processed
    for event in events:
        processor.lambda_handler(event, lambda_context)

    # Then both are recorded under distinct sort keys within DynamoDB's 1,024-byte limit
    items = table_items(dynamodb)
    assert len({item["sk"]["S"] for item in items}) == 2
    assert all(len(item["sk"]["S"].encode()) <= 1024 for item in items)
    assert {item["object_key"]["S"][-1] for item in items} == {"a", "b"}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda r: r.update(eventTime="0001-01-01T00:00:00+05:00"),
            "Records[1].eventTime must fall within years 1-9999 in UTC",
        ),
        (
            lambda r: r["s3"]["object"].update(key="bad\ud800key"),
            "Records[1].s3.object.key must be an S3 object key",
        ),
    ],
)
def test_a_record_python_cannot_convert_fails_alone_and_the_batch_goes_on(
    processor: ModuleType,
    dynamodb: Any,
    lambda_context: FakeLambdaContext,
    change: Any,
    expected: str,
) -> None:
    # Given a three-record event whose middle record has no UTC day or an unencodable key
    event = load_event("s3-multi-record")
    change(event["Records"][1])

    # When the processor handles it, it fails the invocation for that record only
    with pytest.raises(processor.RecordBatchError) as raised:
        processor.lambda_handler(event, lambda_context)

    # Then the error names the record and field, and the records after it were written too
    assert str(raised.value).startswith(f"1 of 3 records failed: {expected}")
    keys = {item["object_key"]["S"] for item in table_items(dynamodb)}
    assert keys == {"incoming/plain.txt", "reports/100% done? #final.json"}


def test_an_unexpected_error_in_one_record_is_that_records_failure(
    processor: ModuleType,
    dynamodb: Any,
    lambda_context: FakeLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a store that breaks in a way no check foresaw on the first record only
    store = processor.STORE
    real_put = store.put_if_absent

    def put(item: dict[str, Any]) -> bool:
        if item["object_key"] == "incoming/plain.txt":
            raise UnicodeEncodeError("utf-8", "x", 0, 1, "surrogates not allowed")
        result: bool = real_put(item)
        return result

    monkeypatch.setattr(store, "put_if_absent", put)
    event = load_event("s3-multi-record")

    # When the processor handles the three-record event
    with pytest.raises(processor.RecordBatchError) as raised:
        processor.lambda_handler(event, lambda_context)

    # Then that record fails by itself, without its data, and the other two are written
    assert str(raised.value) == (
        "1 of 3 records failed: Records[0] failed unexpectedly (UnicodeEncodeError)"
    )
    assert len(table_items(dynamodb)) == 2

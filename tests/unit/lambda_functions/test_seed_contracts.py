"""The seed systems' contracts, driven with seed-shaped events (tests/events).

* seed 001: REST ``GET``/``POST /process`` (``process-get-v1.json``, ``process-post-v1.json``);
* seed 002: the HTTP API's ``$default`` catch-all (``http-default-v2.json``) and one request
  log row per API request and per scheduled run (``scheduled-maintenance.json``);
* seed 003: every record names the invocation that wrote it (``s3-put.json``,
  ``sqs-s3-batch.json``, ``workflow-process.json``).

Assertions read the tables (moto), not only the answers.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import boto3
import pytest
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from pipeline_common.notices import NotificationPublisher
from pipeline_common.records import manual_item
from pipeline_common.request_log import (
    MAX_LOGGED_BODY_BYTES,
    MAX_REDACTED_BODY_BYTES,
    REDACTED,
    RequestLogEntry,
    RequestLogWriter,
    logged_body,
    request_log_row,
)

from .support import (
    ALLOWED_ORIGIN,
    MAX_PAGE_SIZE,
    REGION,
    REQUEST_LOG_TABLE,
    REQUEST_LOG_TTL_DAYS,
    TABLE_NAME,
    TOPIC_NAME,
    WRITE_SHARDS,
    FakeLambdaContext,
    api_event,
    import_handler,
    load_event,
    request_log_rows,
    response_headers,
    response_json,
)

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")
_deserialize = TypeDeserializer().deserialize


@pytest.fixture(scope="module")
def api(handler_env: None) -> ModuleType:
    return import_handler("api")


@pytest.fixture(scope="module")
def processor(handler_env: None) -> ModuleType:
    return import_handler("processor")


@pytest.fixture(scope="module")
def maintenance(handler_env: None) -> ModuleType:
    return import_handler("maintenance")


def records(dynamodb: Any) -> list[dict[str, Any]]:
    items = dynamodb.scan(TableName=TABLE_NAME)["Items"]
    return [{name: _deserialize(value) for name, value in item.items()} for item in items]


# -- seed 001: REST /process -------------------------------------------------------------------


def test_post_process_stores_the_body_as_a_manual_record(api: ModuleType, dynamodb: Any) -> None:
    # Given seed 001's POST /process: any JSON object, its "key" naming the record
    event = load_event("process-post-v1")
    context = FakeLambdaContext()

    # When it is served
    response = api.lambda_handler(event, context)

    # Then it answers 201 with seed 001's shape and the configured origin
    assert response["statusCode"] == 201, response["body"]
    answer = response_json(response)
    assert set(answer) == {"message", "processing_id"}
    assert response_headers(response)["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    # And the table holds one manual record: the body in data, named by its key
    (item,) = records(dynamodb)
    assert item["source"] == "manual"
    assert item["processing_id"] == answer["processing_id"]
    assert item["object_key"] == "orders/2024-05-01"
    assert item["data"] == json.loads(event["body"], parse_float=lambda text: text) | {
        "amount": item["data"]["amount"]
    }
    assert str(item["data"]["amount"]) == "19.99"
    # And it names the invocation that wrote it (seed 003's fields, on every writer)
    assert (item["function_name"], item["aws_request_id"]) == (
        context.function_name,
        context.aws_request_id,
    )
    # And it is an ordinary record: GET /records/{id} (the Location) returns it
    location = response_headers(response)["Location"]
    fetched = api.lambda_handler(api_event("v1", "GET", location), FakeLambdaContext())
    assert fetched["statusCode"] == 200
    assert response_json(fetched)["source"] == "manual"


def test_post_process_without_a_key_is_named_by_its_processing_id(
    api: ModuleType, dynamodb: Any
) -> None:
    # Given a body with no key
    event = api_event("v1", "POST", "/process", body=json.dumps({"hello": ["world", 1]}))
    # When it is POSTed
    response = api.lambda_handler(event, FakeLambdaContext())
    # Then the record's key is the processing id the answer names
    assert response["statusCode"] == 201, response["body"]
    (item,) = records(dynamodb)
    assert item["object_key"] == response_json(response)["processing_id"]
    assert item["data"] == {"hello": ["world", 1]}


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (None, 400, "a JSON object body is required"),
        ("[1, 2]", 400, "the body must be a JSON object, not an array"),
        ('{"key": 42}', 400, "body.key"),
        ('{"key": ""}', 400, "body.key"),
        ('{"n": 1e400}', 400, "body.n does not fit a DynamoDB number"),
        ('{"a":' * 40 + "1" + "}" * 40, 400, "nests deeper than 32 levels"),
        ('{"pad": "' + "x" * 20_000 + '"}', 413, "records accept at most 16384"),
    ],
)
def test_post_process_refuses_what_cannot_be_stored_in_our_words(
    api: ModuleType, dynamodb: Any, body: str | None, status: int, message: str
) -> None:
    # Given a body that is missing, not an object, badly keyed, unstorable or too large
    event = api_event("v1", "POST", "/process", body=body)
    # When it is POSTed
    response = api.lambda_handler(event, FakeLambdaContext())
    # Then the answer names what is wrong, and nothing is stored
    assert response["statusCode"] == status, response["body"]
    assert message in response_json(response)["message"]
    assert records(dynamodb) == []


def test_get_process_answers_the_ten_most_recent_records(api: ModuleType, dynamodb: Any) -> None:
    # Given twelve manual records, posted one after another
    posted = []
    for index in range(12):
        body = json.dumps({"key": f"manual/{index:02d}", "n": index})
        response = api.lambda_handler(
            api_event("v1", "POST", "/process", body=body), FakeLambdaContext()
        )
        assert response["statusCode"] == 201, response["body"]
        posted.append(response_json(response)["processing_id"])

    # When seed 001's GET /process is served
    response = api.lambda_handler(load_event("process-get-v1"), FakeLambdaContext())

    # Then it answers {"message", "records"} with at most ten records, newest first
    assert response["statusCode"] == 200, response["body"]
    answer = response_json(response)
    assert set(answer) == {"message", "records"}
    shown = answer["records"]
    assert len(shown) == 10
    recorded = [record["recorded_at"] for record in shown]
    assert recorded == sorted(recorded, reverse=True)
    # And each carries its data and processing id, all of them among those stored
    assert {record["processing_id"] for record in shown} <= set(posted)
    assert all(record["data"]["n"] in range(12) for record in shown)
    assert len(records(dynamodb)) == 12


def test_get_process_reads_past_the_first_page_to_find_the_newest(
    api: ModuleType, dynamodb: Any
) -> None:
    # Given today's partitions holding more manual records than one page (MAX_PAGE_SIZE),
    # recorded a second apart, so the newest are not all on the first page of key order
    serializer = TypeSerializer()
    start = datetime.now(UTC).replace(hour=0, minute=0, second=1, microsecond=0)
    count = MAX_PAGE_SIZE + 15
    for index in range(count):
        item = manual_item(
            name=f"bulk/{index:03d}",
            data={"n": index},
            size=10,
            processing_id=f"00000000-0000-4000-8000-{index:012d}",
            recorded_at=start + timedelta(seconds=index),
            ttl_days=0,
            write_shards=WRITE_SHARDS,
        )
        dynamodb.put_item(
            TableName=TABLE_NAME,
            Item={name: serializer.serialize(value) for name, value in item.items()},
        )

    # When seed 001's GET /process is served
    response = api.lambda_handler(load_event("process-get-v1"), FakeLambdaContext())

    # Then the ten it shows are the ten recorded last, newest first
    assert response["statusCode"] == 200, response["body"]
    shown = [record["data"]["n"] for record in response_json(response)["records"]]
    assert shown == list(range(count - 1, count - 11, -1))


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_other_methods_on_process_are_405(api: ModuleType, aws: None, method: str) -> None:
    response = api.lambda_handler(api_event("v1", method, "/process"), FakeLambdaContext())
    assert response["statusCode"] == 405
    assert response_headers(response)["Allow"] == "GET, POST"


def test_an_unexpected_error_on_process_is_a_generic_500(
    api: ModuleType, aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a store that fails with a message that must not leak
    def broken(item: Any) -> None:
        raise RuntimeError("table arn:aws:dynamodb:secret-internal-detail")

    monkeypatch.setattr(api.REPOSITORY, "create", broken)
    # When a record is POSTed
    response = api.lambda_handler(
        api_event("v1", "POST", "/process", body="{}"), FakeLambdaContext()
    )
    # Then the caller gets the generic 500 with a correlation id, never the exception text
    assert response["statusCode"] == 500
    assert "secret-internal-detail" not in response["body"]
    assert response_json(response)["message"] == api.INTERNAL_ERROR_MESSAGE


# -- seed 002: $default and the request log ----------------------------------------------------


def test_the_http_default_route_answers_like_seed_002_and_logs_the_request(
    api: ModuleType, dynamodb: Any
) -> None:
    # Given seed 002's request: any method and path through $default, with a bearer token
    event = load_event("http-default-v2")
    context = FakeLambdaContext()

    # When it is served
    response = api.lambda_handler(event, context)

    # Then it answers 200 {"message", "requestId", "timestamp"}, the id API Gateway's
    assert response["statusCode"] == 200, response["body"]
    answer = response_json(response)
    assert set(answer) == {"message", "requestId", "timestamp"}
    assert answer["requestId"] == event["requestContext"]["requestId"]
    # And one request log row holds seed 002's fields
    (row,) = request_log_rows(dynamodb)
    assert row["request_id"] == event["requestContext"]["requestId"]
    assert (row["source"], row["method"], row["path"]) == ("api", "PUT", "/orders/refresh")
    assert row["status_code"] == 200
    assert row["aws_request_id"] == context.aws_request_id
    # And its body has no credential: neither the API key member nor the bearer value
    body = json.loads(row["body"])
    assert body == {"reason": "nightly", "api_key": REDACTED, "note": REDACTED}
    assert "do-not-store-me" not in json.dumps(row, default=str)
    assert "eyJhbGciOiJSUzI1NiJ9" not in json.dumps(row, default=str)
    # And it expires through the table's TTL after the configured days
    stored = datetime.fromisoformat(row["timestamp"].replace("Z", "+00:00"))
    assert int(row["expires_at"]) == int(
        (stored + timedelta(days=REQUEST_LOG_TTL_DAYS)).timestamp()
    )
    # And nothing was written to the records table
    assert records(dynamodb) == []


def test_every_api_request_writes_one_row_whatever_its_answer(
    api: ModuleType, dynamodb: Any
) -> None:
    # Given a REST POST /process carrying an x-api-key header and a token in its body,
    # a v2 GET of a missing record, and a REST request refused with 400
    events = [
        load_event("process-post-v1"),
        api_event("v2", "GET", "/records/nope"),
        api_event("v1", "POST", "/records", body="not json"),
    ]
    # When each is served
    statuses = [api.lambda_handler(event, FakeLambdaContext())["statusCode"] for event in events]

    # Then each wrote exactly one row, with its status
    rows = {row["request_id"]: row for row in request_log_rows(dynamodb)}
    assert len(rows) == 3
    for event, status in zip(events, statuses, strict=True):
        row = rows[event["requestContext"]["requestId"]]
        assert row["status_code"] == status
    # And no row holds the API key (headers are never stored) or the body's token
    dumped = json.dumps(list(rows.values()), default=str)
    assert "k3yV4lue-from-the-usage-plan" not in dumped
    assert "secret-session-token" not in dumped
    # And a body that is not JSON is not stored, only its size
    refused = rows[events[2]["requestContext"]["requestId"]]
    assert (refused["body"], refused["body_bytes"], refused["body_truncated"]) == ("", 8, True)


def test_a_failing_request_log_never_fails_the_request(
    api: ModuleType, dynamodb: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # Given no request log table (a write would fail with ResourceNotFoundException)
    dynamodb.delete_table(TableName=REQUEST_LOG_TABLE)
    # When a record is POSTed
    response = api.lambda_handler(
        api_event("v1", "POST", "/process", body='{"a": 1}'), FakeLambdaContext()
    )
    # Then the request still succeeds and its record is stored; a warning says why no row
    assert response["statusCode"] == 201, response["body"]
    assert len(records(dynamodb)) == 1
    assert any(r.getMessage() == "Request log row not written" for r in caplog.records)


def test_a_scheduled_run_writes_one_row_with_its_event(
    maintenance: ModuleType, dynamodb: Any
) -> None:
    # Given the EventBridge schedule's event
    event = load_event("scheduled-maintenance")
    context = FakeLambdaContext()
    # When the maintenance function runs
    maintenance.lambda_handler(event, context)
    # Then one row logs the run: the event's id, seed 002's method and path, the event
    (row,) = request_log_rows(dynamodb)
    assert row["request_id"] == event["id"]
    assert (row["source"], row["method"], row["path"]) == ("schedule", "SCHEDULED", "/scheduled")
    assert json.loads(row["body"]) == event
    assert row["aws_request_id"] == context.aws_request_id
    assert "status_code" not in row


def test_a_run_that_fails_is_logged_too(maintenance: ModuleType, dynamodb: Any) -> None:
    # Given a malformed run
    with pytest.raises(ValueError, match="expected an EventBridge scheduled event"):
        maintenance.lambda_handler({"unexpected": True}, FakeLambdaContext())
    # Then its row was written before it failed
    (row,) = request_log_rows(dynamodb)
    assert row["source"] == "schedule"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {"Authorization": "x", "nested": [{"X-Api-Key": "y"}]},
            {"Authorization": REDACTED, "nested": [{"X-Api-Key": REDACTED}]},
        ),
        (
            {"password": 1, "refresh_token": "z", "ok": "Basic dXNlcjpwYXNz"},
            {"password": REDACTED, "refresh_token": REDACTED, "ok": REDACTED},
        ),
        ({"plain": "text", "n": 3}, {"plain": "text", "n": 3}),
    ],
)
def test_credentials_are_redacted_at_any_depth(body: Any, expected: Any) -> None:
    logged = logged_body(json.dumps(body))
    assert json.loads(logged.text) == expected


def test_a_stored_body_is_cut_to_the_bound_on_a_character() -> None:
    # Given a JSON body of multibyte text far over the bound
    body = json.dumps({"text": "é" * 5000}, ensure_ascii=False).encode()
    # When it is bounded
    logged = logged_body(body)
    # Then it is cut to at most MAX_LOGGED_BODY_BYTES of whole characters, and says so
    assert len(logged.text.encode()) <= MAX_LOGGED_BODY_BYTES
    assert logged.truncated
    assert logged.size == len(body)
    # And a body too large to redact is not stored at all
    huge = logged_body(b"{" + b" " * MAX_REDACTED_BODY_BYTES + b"}")
    assert (huge.text, huge.truncated) == ("", True)


def test_a_base64_body_is_logged_decoded() -> None:
    from lambda_functions.api.logic import api_request_entry

    event = api_event(
        "v1", "POST", "/process", body=base64.b64encode(b'{"a": 1}').decode(), base64_encoded=True
    )
    entry = api_request_entry(event, now=datetime.now(UTC), aws_request_id="r", status_code=201)
    assert logged_body(entry.body).text == '{"a":1}'


def test_the_writer_puts_one_bounded_item(aws: None, dynamodb: Any) -> None:
    # Given a writer and an entry with an over-long path
    warnings: list[str] = []

    class Recorder:
        def warning(self, msg: str, *args: Any, **kwargs: Any) -> None:
            warnings.append(msg)

    writer = RequestLogWriter(dynamodb, REQUEST_LOG_TABLE, ttl_days=0, logger=Recorder())
    entry = RequestLogEntry(
        request_id="id-1",
        timestamp=datetime(2024, 5, 1, 12, 0, tzinfo=UTC),
        source="api",
        method="GET",
        path="/" + "p" * 5000,
        body=None,
        aws_request_id="lambda-1",
    )
    # When it writes
    assert writer.write(entry)
    # Then the row is bounded and kept forever (no expires_at with 0 TTL days)
    (row,) = request_log_rows(dynamodb)
    assert row == {
        key: value
        for key, value in request_log_row(entry, ttl_days=0).items()
        if key != "expires_at"
    }
    assert len(row["path"]) == 512
    assert row["timestamp"] == "2024-05-01T12:00:00.000Z"
    assert warnings == []


# -- seed 003: the invocation that wrote each record -------------------------------------------


def test_an_s3_notification_records_the_function_and_request_id(
    processor: ModuleType, dynamodb: Any
) -> None:
    # Given seed 003's trigger: an S3 put notification, and the Lambda context
    context = FakeLambdaContext()
    # When the processor handles it
    processor.lambda_handler(load_event("s3-put"), context)
    # Then each record names the function and the Lambda request that wrote it
    (item,) = records(dynamodb)
    assert (item["function_name"], item["aws_request_id"]) == (
        context.function_name,
        context.aws_request_id,
    )


def test_a_workflow_object_records_the_function_and_request_id(
    processor: ModuleType, dynamodb: Any
) -> None:
    context = FakeLambdaContext(aws_request_id="2b3c4d5e-workflow")
    processor.lambda_handler(load_event("workflow-process"), context)
    (item,) = records(dynamodb)
    assert (item["function_name"], item["aws_request_id"]) == (
        context.function_name,
        "2b3c4d5e-workflow",
    )


def test_a_queue_batch_records_the_function_and_request_id(
    processor: ModuleType, dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the notifications topic the queue path publishes to
    sns = boto3.client("sns", region_name=REGION)
    topic_arn = sns.create_topic(Name=TOPIC_NAME)["TopicArn"]
    monkeypatch.setattr(processor, "PUBLISHER", NotificationPublisher(sns, topic_arn))
    context = FakeLambdaContext(aws_request_id="7f00-queue-batch")
    # When a batch from the ingest queue is processed
    response = processor.lambda_handler(load_event("sqs-s3-batch"), context)
    # Then every record of the batch names this invocation
    assert response == {"batchItemFailures": []}
    items = records(dynamodb)
    assert len(items) == 2
    assert {(item["function_name"], item["aws_request_id"]) for item in items} == {
        (context.function_name, "7f00-queue-batch")
    }

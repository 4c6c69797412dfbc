"""The processor reads ingest-queue batches: one record and one notice per object version,
and a partial batch response naming only the messages that failed."""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

import boto3
import pytest
from pipeline_common.environment import ConfigurationError
from pipeline_common.notices import NotificationPublisher

from .support import (
    REGION,
    TOPIC_NAME,
    FakeLambdaContext,
    import_handler,
    load_event,
    table_items,
)

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")


@pytest.fixture(scope="module")
def processor(handler_env: None) -> ModuleType:
    return import_handler("processor")


@pytest.fixture
def notices(processor: ModuleType, aws: None, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The notifications topic with an SQS subscriber; returns a reader of published notices."""
    sns = boto3.client("sns", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    topic_arn = sns.create_topic(Name=TOPIC_NAME)["TopicArn"]
    queue_url = sqs.create_queue(QueueName="notices")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    # As a deployment with NOTICE_TOPIC_ARN set builds it at import.
    monkeypatch.setattr(processor, "PUBLISHER", NotificationPublisher(sns, topic_arn))

    def read() -> list[dict[str, Any]]:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)
        return [
            json.loads(json.loads(message["Body"])["Message"])
            for message in messages.get("Messages", [])
        ]

    return read


def _body(event: dict[str, Any], index: int) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(event["Records"][index]["body"])
    return body


def test_a_batch_records_each_object_once_and_publishes_its_notice(
    processor: ModuleType, dynamodb: Any, notices: Any, lambda_context: FakeLambdaContext
) -> None:
    # Given a batch of two object messages and S3's test message
    event = load_event("sqs-s3-batch")

    # When the processor handles it
    response = processor.lambda_handler(event, lambda_context)

    # Then no message failed, both objects are recorded with decoded keys
    assert response == {"batchItemFailures": []}
    keys = sorted(item["object_key"]["S"] for item in table_items(dynamodb))
    assert keys == ["incoming/first file.csv", "incoming/second+file.csv"]
    # And each has one processed notice in notify's shape, naming its record
    published = notices()
    assert sorted(n["object"]["key"] for n in published) == keys
    assert {n["status"] for n in published} == {"processed"}
    assert all(n["record_id"] and n["errors"] == [] for n in published)


def test_a_redelivered_batch_writes_nothing_new(
    processor: ModuleType, dynamodb: Any, notices: Any, lambda_context: FakeLambdaContext
) -> None:
    # Given a batch already processed once
    event = load_event("sqs-s3-batch")
    processor.lambda_handler(event, lambda_context)
    before = table_items(dynamodb)

    # When SQS delivers it again (at-least-once)
    response = processor.lambda_handler(load_event("sqs-s3-batch"), lambda_context)

    # Then the records are unchanged: exactly once per object version
    assert response == {"batchItemFailures": []}
    assert table_items(dynamodb) == before


def test_only_the_failing_message_is_reported(
    processor: ModuleType, dynamodb: Any, notices: Any, lambda_context: FakeLambdaContext
) -> None:
    # Given a batch whose second message carries an S3 record without an object key
    event = load_event("sqs-s3-batch")
    broken = _body(event, 1)
    broken["Records"][0]["s3"]["object"].pop("key")
    event["Records"][1]["body"] = json.dumps(broken)

    # When the processor handles it
    response = processor.lambda_handler(event, lambda_context)

    # Then only that message is returned for SQS to receive again (then dead-letter)
    failed_id = event["Records"][1]["messageId"]
    assert response == {"batchItemFailures": [{"itemIdentifier": failed_id}]}
    # And the good object was still recorded and announced
    assert [item["object_key"]["S"] for item in table_items(dynamodb)] == [
        "incoming/first file.csv"
    ]
    assert [n["object"]["key"] for n in notices()] == ["incoming/first file.csv"]


def test_a_body_that_is_not_json_fails_that_message_and_says_where(
    processor: ModuleType,
    dynamodb: Any,
    notices: Any,
    lambda_context: FakeLambdaContext,
    capture_logs: Any,
) -> None:
    # Given a batch whose first message body is not an S3 notification
    event = load_event("sqs-s3-batch")
    event["Records"][0]["body"] = "not json"
    logs = capture_logs(processor)

    # When the processor handles it
    response = processor.lambda_handler(event, lambda_context)

    # Then that message alone failed, and the log names its place in the batch
    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
    reasons = [e["reason"] for e in logs.entries if e["message"] == "Message failed"]
    assert reasons == ["Records[0].body must be an S3 notification in JSON, got 'not json'"]


def test_a_bad_record_inside_a_message_is_named_by_message_and_record(
    processor: ModuleType,
    dynamodb: Any,
    notices: Any,
    lambda_context: FakeLambdaContext,
    capture_logs: Any,
) -> None:
    # Given a message whose S3 record has a malformed event time
    event = load_event("sqs-s3-batch")
    broken = _body(event, 0)
    broken["Records"][0]["eventTime"] = "yesterday"
    event["Records"][0]["body"] = json.dumps(broken)
    logs = capture_logs(processor)

    # When the processor handles it
    processor.lambda_handler(event, lambda_context)

    # Then the reason points into the message's body
    reasons = [e["reason"] for e in logs.entries if e["message"] == "Message failed"]
    assert reasons == [
        "Records[0].body.Records[0].eventTime must be an ISO 8601 time, got 'yesterday'"
    ]


def test_a_batch_mixing_in_a_non_sqs_record_is_refused_naming_it(
    processor: ModuleType, dynamodb: Any, notices: Any, lambda_context: FakeLambdaContext
) -> None:
    # Given a queue batch whose third record is a direct S3 notification record
    event = load_event("sqs-s3-batch")
    event["Records"][2] = load_event("s3-put")["Records"][0]

    # When the processor handles it, Then it refuses the event and names the record
    with pytest.raises(processor.MalformedEventError, match=r"^Records\[2\]\.eventSource must"):
        processor.lambda_handler(event, lambda_context)
    assert table_items(dynamodb) == []


def test_a_queue_batch_without_a_notice_topic_is_a_configuration_error(
    processor: ModuleType, dynamodb: Any, lambda_context: FakeLambdaContext
) -> None:
    # Given a processor deployed without NOTICE_TOPIC_ARN (the workflow path)
    assert processor.PUBLISHER is None
    # When a queue batch arrives, Then it fails whole, naming the missing variable
    with pytest.raises(ConfigurationError, match="NOTICE_TOPIC_ARN is required"):
        processor.lambda_handler(load_event("sqs-s3-batch"), lambda_context)
    assert table_items(dynamodb) == []

"""notify publishes exactly one SNS message per workflow outcome."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from .support import (
    ACCOUNT_ID,
    REGION,
    TOPIC_NAME,
    FakeLambdaContext,
    import_handler,
    load_event,
)

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")


@pytest.fixture(scope="module")
def notify(handler_env: None) -> ModuleType:
    return import_handler("notify")


@pytest.fixture(scope="module")
def clients(handler_env: None) -> tuple[Any, Any]:
    """Built once per module: client creation costs more than a whole moto test."""
    return boto3.client("sns", region_name=REGION), boto3.client("sqs", region_name=REGION)


@pytest.fixture
def subscribed_queue(clients: tuple[Any, Any]) -> Iterator[Any]:
    """The notification topic with an SQS subscriber to read published messages back."""
    sns, sqs = clients
    with mock_aws():
        topic_arn = sns.create_topic(Name=TOPIC_NAME)["TopicArn"]
        assert topic_arn == f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:{TOPIC_NAME}"
        queue_url = sqs.create_queue(QueueName="notifications")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)

        def _messages() -> list[dict[str, Any]]:
            received = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)
            return [json.loads(message["Body"]) for message in received.get("Messages", [])]

        yield _messages


@pytest.mark.parametrize("name", ["notify-processed", "notify-rejected"])
def test_outcome_is_published_once_with_status_attribute(
    notify: ModuleType, subscribed_queue: Any, lambda_context: FakeLambdaContext, name: str
) -> None:
    # Given a workflow outcome
    event = load_event(name)

    # When notify runs
    result = notify.lambda_handler(event, lambda_context)

    # Then one message reaches the topic, carrying the outcome and a status attribute
    [envelope] = subscribed_queue()
    assert result == {"message_id": envelope["MessageId"]}
    assert json.loads(envelope["Message"]) == event
    assert (
        envelope["Subject"]
        == f"Object {event['status']}: s3://{event['object']['bucket']}/" + (event["object"]["key"])
    )
    assert envelope["MessageAttributes"]["status"]["Value"] == event["status"]


def test_subject_is_printable_ascii_under_100_characters(
    notify: ModuleType, subscribed_queue: Any, lambda_context: FakeLambdaContext
) -> None:
    # Given an object whose key is long and not ASCII
    event = load_event("notify-processed")
    event["object"]["key"] = "données/" + "é" * 200

    # When notify runs
    notify.lambda_handler(event, lambda_context)

    # Then SNS accepted a shortened ASCII subject while the message keeps the full key
    [envelope] = subscribed_queue()
    assert len(envelope["Subject"]) <= 99
    assert envelope["Subject"].isascii()
    assert json.loads(envelope["Message"])["object"]["key"] == event["object"]["key"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"status": "done"}, "input.status must be one of ['processed', 'rejected']"),
        ({"record_id": None}, "input.record_id is required when status is processed"),
        ({"errors": "none"}, "input.errors must be array"),
        ({"object": None}, "input.object must be object"),
    ],
)
def test_input_outside_the_contract_raises_naming_the_field(
    notify: ModuleType,
    subscribed_queue: Any,
    lambda_context: FakeLambdaContext,
    change: dict[str, Any],
    message: str,
) -> None:
    # Given an outcome broken in one way
    event = dict(load_event("notify-processed"), **change)

    # When notify runs, Then it raises naming the field and publishes nothing
    from pipeline_common.notices import InvalidNotification

    with pytest.raises(InvalidNotification, match=re.escape(message)):
        notify.lambda_handler(event, lambda_context)
    assert subscribed_queue() == []


def test_publish_failure_is_raised_for_the_workflow_to_retry(
    notify: ModuleType, lambda_context: FakeLambdaContext
) -> None:
    # Given SNS answers the publish with an error (botocore Stubber)
    from pipeline_common.notices import PublishError

    with Stubber(notify.PUBLISHER._client) as stubber:
        stubber.add_client_error("publish", service_error_code="Throttling", http_status_code=400)

        # When notify runs, Then it raises a retryable error naming SNS's code
        with pytest.raises(PublishError, match="Publish failed with Throttling"):
            notify.lambda_handler(load_event("notify-rejected"), lambda_context)


def test_topic_arn_is_checked_once_at_import(notify: ModuleType) -> None:
    from pipeline_common.environment import ConfigurationError

    from lambda_functions.notify.settings import load_settings

    with pytest.raises(ConfigurationError, match="TOPIC_ARN must be a standard SNS topic ARN"):
        load_settings({"TOPIC_ARN": f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:topic.fifo"})
    with pytest.raises(ConfigurationError, match="TOPIC_ARN is required"):
        load_settings({})

"""Asynchronous delivery on the local cloud: retries, destinations, S3, EventBridge, SQS."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from tools.localcloud import LocalCloud

from .conftest import body, receive_all, wait_for


def queue(cloud: LocalCloud, name: str, **attributes: str) -> tuple[str, str]:
    sqs = cloud.client("sqs")
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return url, arn


def invocations(cloud: LocalCloud, function_arn: str) -> list[str]:
    """The events the probe printed, read back from its CloudWatch log group."""
    name = function_arn.split(":")[-1]
    logs = cloud.client("logs")
    try:
        events = logs.filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
    except logs.exceptions.ResourceNotFoundException:
        return []
    return [e["message"] for e in events if e["message"].startswith("probe got")]


def test_async_failure_retries_then_reaches_the_on_failure_destination(
    cloud: LocalCloud, deploy: Callable[..., str]
) -> None:
    # Given a failing function whose failures go to a queue after one retry
    arn = deploy()
    url, queue_arn = queue(cloud, "async-on-failure")
    cloud.client("lambda").put_function_event_invoke_config(
        FunctionName=arn,
        MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": queue_arn}},
    )
    # When it is invoked asynchronously
    response = cloud.client("lambda").invoke(
        FunctionName=arn, InvocationType="Event", Payload=json.dumps({"fail": "async"})
    )
    # Then the call is accepted, the code runs twice and the queue gets Lambda's record
    assert response["StatusCode"] == 202
    [message] = receive_all(cloud, url, 1)
    record = body(message)
    assert record["version"] == "1.0"
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["requestContext"]["functionArn"] == f"{arn}:$LATEST"
    assert record["requestPayload"] == {"fail": "async"}
    assert record["responseContext"] == {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": "Unhandled",
    }
    assert record["responsePayload"]["errorMessage"] == "asked to fail: async"
    assert len(invocations(cloud, arn)) == 2


def test_async_success_reaches_the_on_success_destination(
    cloud: LocalCloud, deploy: Callable[..., str]
) -> None:
    # Given a function with an on-success destination
    arn = deploy()
    url, queue_arn = queue(cloud, "async-on-success")
    cloud.client("lambda").put_function_event_invoke_config(
        FunctionName=arn, DestinationConfig={"OnSuccess": {"Destination": queue_arn}}
    )
    # When it is invoked asynchronously and succeeds
    cloud.client("lambda").invoke(
        FunctionName=arn, InvocationType="Event", Payload=json.dumps({"ok": 1})
    )
    # Then the destination gets a Success record with the function's result
    [message] = receive_all(cloud, url, 1)
    record = body(message)
    assert record["requestContext"]["condition"] == "Success"
    assert record["responsePayload"]["event"] == {"ok": 1}
    assert "functionError" not in record["responseContext"]


def test_dead_letter_config_gets_the_event_without_an_on_failure_destination(
    cloud: LocalCloud, deploy: Callable[..., str]
) -> None:
    # Given a failing function with a DLQ and no retries
    url, queue_arn = queue(cloud, "function-dlq")
    arn = deploy(DeadLetterConfig={"TargetArn": queue_arn})
    cloud.client("lambda").put_function_event_invoke_config(
        FunctionName=arn, MaximumRetryAttempts=0
    )
    # When it is invoked asynchronously
    cloud.client("lambda").invoke(
        FunctionName=arn, InvocationType="Event", Payload=json.dumps({"fail": "dlq"})
    )
    # Then the DLQ gets the original event with Lambda's error attributes
    [message] = receive_all(cloud, url, 1)
    assert body(message) == {"fail": "dlq"}
    assert message["MessageAttributes"]["ErrorMessage"]["StringValue"] == "asked to fail: dlq"


def bucket_with(cloud: LocalCloud, name: str, configuration: dict[str, Any]) -> None:
    s3 = cloud.client("s3")
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": cloud.region})
    s3.put_bucket_notification_configuration(Bucket=name, NotificationConfiguration=configuration)


def test_s3_put_notification_runs_the_function_with_s3s_record(
    cloud: LocalCloud, deploy: Callable[..., str]
) -> None:
    # Given a bucket that notifies a function of created objects
    arn = deploy()
    bucket_with(
        cloud,
        "lc-notify-lambda",
        {
            "LambdaFunctionConfigurations": [
                {"LambdaFunctionArn": arn, "Events": ["s3:ObjectCreated:*"]}
            ]
        },
    )
    # When an object is put (what `aws s3 cp` does)
    cloud.client("s3").put_object(Bucket="lc-notify-lambda", Key="in/a.json", Body=b"{}")
    # Then the function ran once with an S3 record that carries a sequencer
    [line] = wait_for(lambda: invocations(cloud, arn))
    assert "'eventName': 'ObjectCreated:Put'" in line
    assert "'sequencer':" in line
    assert "'key': 'in/a.json'" in line


def test_s3_eventbridge_object_created_reaches_a_lambda_rule_target_once(
    cloud: LocalCloud, deploy: Callable[..., str]
) -> None:
    # Given a bucket with EventBridge on and a rule on its created objects targeting a function
    arn = deploy()
    url, queue_arn = queue(cloud, "eb-object-created")
    bucket_with(cloud, "lc-eventbridge", {"EventBridgeConfiguration": {}})
    events = cloud.client("events")
    events.put_rule(
        Name="lc-object-created",
        EventPattern=json.dumps(
            {"source": ["aws.s3"], "detail-type": ["Object Created"],
             "detail": {"bucket": {"name": ["lc-eventbridge"]}}}
        ),
    )  # fmt: skip
    events.put_targets(Rule="lc-object-created", Targets=[{"Id": "fn", "Arn": arn}])
    # (a second rule catches every S3 event of the bucket, to see that nothing else is sent)
    events.put_rule(
        Name="lc-any-s3-event",
        EventPattern=json.dumps(
            {"source": ["aws.s3"], "resources": ["arn:aws:s3:::lc-eventbridge"]}
        ),
    )
    events.put_targets(Rule="lc-any-s3-event", Targets=[{"Id": "q", "Arn": queue_arn}])
    # When an object is put
    cloud.client("s3").put_object(Bucket="lc-eventbridge", Key="a.txt", Body=b"abc")
    # Then exactly one Object Created event arrives, shaped as S3 sends it, and the function ran
    [message] = receive_all(cloud, url, 1)
    event = body(message)
    assert event["detail-type"] == "Object Created"
    detail = event["detail"]
    assert detail["reason"] == "PutObject"
    assert detail["object"]["etag"] == "900150983cd24fb0d6963f7d28e17f72"
    assert detail["object"]["sequencer"]
    assert wait_for(lambda: invocations(cloud, arn))
    assert cloud.wait_idle()
    assert len(invocations(cloud, arn)) == 1
    assert not cloud.client("sqs").receive_message(QueueUrl=url).get("Messages")
    # And the bucket's notification configuration echoes EventBridge (no drift for Terraform)
    config = cloud.client("s3").get_bucket_notification_configuration(Bucket="lc-eventbridge")
    assert "EventBridgeConfiguration" in config


def test_rule_target_input_and_dead_letter_queue(
    cloud: LocalCloud, deploy: Callable[..., str]
) -> None:
    # Given a rule with a constant-input Lambda target and a target that cannot be delivered to
    arn = deploy()
    dlq_url, dlq_arn = queue(cloud, "rule-target-dlq")
    events = cloud.client("events")
    events.put_rule(Name="lc-input", EventPattern=json.dumps({"source": ["lc.test"]}))
    missing = arn + "-missing"
    events.put_targets(
        Rule="lc-input",
        Targets=[
            {"Id": "fn", "Arn": arn, "Input": json.dumps({"constant": True})},
            {"Id": "gone", "Arn": missing, "DeadLetterConfig": {"Arn": dlq_arn}},
        ],
    )
    # When an event matches
    events.put_events(Entries=[{"Source": "lc.test", "DetailType": "t", "Detail": "{}"}])
    # Then the function got the constant input and the DLQ got the undeliverable event
    assert wait_for(lambda: invocations(cloud, arn)) == ["probe got {'constant': True}"]
    [message] = receive_all(cloud, dlq_url, 1)
    assert body(message)["source"] == "lc.test"
    assert message["MessageAttributes"]["TARGET_ARN"]["StringValue"] == missing


def test_fire_rule_delivers_a_scheduled_event_only_when_fired(
    cloud: LocalCloud, deploy: Callable[..., str]
) -> None:
    # Given a scheduled rule targeting a function
    arn = deploy()
    events = cloud.client("events")
    events.put_rule(Name="lc-schedule", ScheduleExpression="rate(1 day)")
    events.put_targets(Rule="lc-schedule", Targets=[{"Id": "fn", "Arn": arn}])
    # When an unrelated event is put, then the rule is fired
    events.put_events(Entries=[{"Source": "lc.other", "DetailType": "t", "Detail": "{}"}])
    assert cloud.wait_idle()
    assert invocations(cloud, arn) == []
    cloud.fire_rule("lc-schedule")
    # Then the function got exactly one Scheduled Event
    [line] = wait_for(lambda: invocations(cloud, arn))
    assert "'detail-type': 'Scheduled Event'" in line


def test_sqs_event_source_mapping_batches_and_deletes_only_successes(
    cloud: LocalCloud, deploy: Callable[..., str]
) -> None:
    # Given a queue with a DLQ after 2 receives, mapped to a function reporting item failures
    dlq_url, dlq_arn = queue(cloud, "esm-dlq")
    url, queue_arn = queue(
        cloud,
        "esm-source",
        VisibilityTimeout="1",
        RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2}),
    )
    arn = deploy()
    sqs = cloud.client("sqs")
    for text in ("good-1", "bad-1", "good-2"):
        sqs.send_message(QueueUrl=url, MessageBody=text)
    # When the mapping starts (batch of up to 10, a short batching window)
    cloud.client("lambda").create_event_source_mapping(
        EventSourceArn=queue_arn,
        FunctionName=arn,
        BatchSize=10,
        MaximumBatchingWindowInSeconds=1,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )
    # Then the failed message alone is retried and, past maxReceiveCount, lands in the DLQ
    [dead] = receive_all(cloud, dlq_url, 1, timeout=30)
    assert dead["Body"] == "bad-1"
    batches = invocations(cloud, arn)
    assert all(text in batches[0] for text in ("good-1", "good-2", "bad-1"))
    assert all("good" not in line for line in batches[1:])

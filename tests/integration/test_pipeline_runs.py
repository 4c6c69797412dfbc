"""The deployed pipeline runs by itself on the local cloud: real delivery, nothing built by us.

dev is deployed once per session with Terraform (``dev`` in conftest.py) onto the in-process
local cloud (``cloud``). Each test then acts the way a user or AWS would (``put_object``, an
EventBridge replay, an HTTP request, the schedule firing) and asserts on what the emulator
itself holds: DynamoDB items, Step Functions execution histories, SQS messages and
CloudWatch log events. Every test uses object keys of its own.

What is real here: Terraform and the provider, our synthesized stack, the deployed function
zips and layer run by the local cloud's executor, S3's EventBridge notifications, the rule
that starts the workflow, the state machine as deployed, SNS to SQS delivery, Lambda's
asynchronous retries and destinations, and the local gateway serving the deployed APIs.
What the local cloud still imitates is listed in the README's emulator differences table.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from pipeline_common.environment import TABLE_NAME
from pipeline_common.records import ObjectVersion, encode_record_id, to_item
from pipeline_common.request_log import REDACTED

from config.environments import build_environments
from constructs_lib.base.python_function import LIVE_ALIAS
from constructs_lib.pipeline.workflow_definition import (
    NOTIFY_STATE,
    PROCESS_STATE,
    PROCESSING_FAILED_STATE,
    REJECTED_NOTICE_STATE,
    VALIDATE_STATE,
    failure_record_state,
)
from tools.backfill import run_backfill
from tools.local_stack import LocalDeployment, wait_for
from tools.localcloud import LocalCloud
from tools.localcloud.gateway import ServedApi, serve_apis

DEV = build_environments()["dev"]
EVENTS_DIR = Path(__file__).resolve().parents[1] / "events"
# Generous: a cold start of a function under a loaded 2-core machine takes seconds.
WAIT_SECONDS = 90.0
# The states a valid object passes through, in order (the definition's interface).
PROCESSED_PATH = [VALIDATE_STATE, "IsValid", PROCESS_STATE, "PrepareProcessedNotice", NOTIFY_STATE]
ALLOWED_ORIGIN = DEV.api.cors_allowed_origins[0]


# -- reading the emulator's state --------------------------------------------------------------


def unique_key(dev: LocalDeployment, name: str) -> str:
    """A key under the ingest prefix no other test uses (with a space and a non-ASCII letter,
    which S3 URL-encodes in direct notifications but sends to EventBridge as they are)."""
    return f"{dev.output('ingest_object_prefix')}{name} ({uuid.uuid4().hex[:8]}) ü.csv"


def executions_for(dev: LocalDeployment, key: str) -> list[dict[str, Any]]:
    """Every execution of the workflow whose input names ``key``, described."""
    sfn = dev.client("stepfunctions")
    found = []
    for page in sfn.get_paginator("list_executions").paginate(
        stateMachineArn=dev.output("state_machine_arn")
    ):
        for execution in page["executions"]:
            described = sfn.describe_execution(executionArn=execution["executionArn"])
            if json.loads(described.get("input") or "{}").get("key") == key:
                found.append(described)
    return found


def ended_executions(dev: LocalDeployment, key: str, count: int) -> list[dict[str, Any]]:
    """Wait until ``count`` executions for ``key`` exist and none is running; return them all."""

    def probe() -> list[dict[str, Any]] | None:
        found = executions_for(dev, key)
        done = len(found) >= count and all(e["status"] != "RUNNING" for e in found)
        return found if done else None

    found: list[dict[str, Any]] = wait_for(
        f"{count} ended execution(s) for {key}", probe, timeout=WAIT_SECONDS
    )
    return found


def history(dev: LocalDeployment, execution_arn: str) -> list[dict[str, Any]]:
    sfn = dev.client("stepfunctions")
    events: list[dict[str, Any]] = []
    for page in sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn):
        events.extend(page["events"])
    return events


def entered_states(events: list[dict[str, Any]]) -> list[str]:
    return [
        e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e
    ]


def log_messages(dev: LocalDeployment, group: str) -> list[str]:
    """Every message in a CloudWatch log group, oldest first."""
    logs = dev.client("logs")
    messages: list[str] = []
    for page in logs.get_paginator("filter_log_events").paginate(logGroupName=group):
        messages.extend(event["message"] for event in page["events"])
    return messages


def invocations_logged(dev: LocalDeployment, function_name: str) -> int:
    """How many invocations the function's log group records (Lambda's START lines)."""
    group = f"/aws/lambda/{function_name}"
    try:
        messages = log_messages(dev, group)
    except dev.client("logs").exceptions.ResourceNotFoundException:
        return 0
    return sum(1 for message in messages if message.startswith("START RequestId:"))


def json_lines(messages: list[str]) -> list[dict[str, Any]]:
    """The log lines that are JSON objects (Powertools' structured logs and EMF metrics)."""
    found = []
    for message in messages:
        try:
            value = json.loads(message)
        except ValueError:
            continue
        if isinstance(value, dict):
            found.append(value)
    return found


def drain(dev: LocalDeployment, queue_url: str) -> list[dict[str, Any]]:
    """Receive and delete every message now in the queue."""
    sqs = dev.client("sqs")
    received: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            MessageAttributeNames=["All"],
            WaitTimeSeconds=0,
        ).get("Messages", [])
        if not batch:
            return received
        received.extend(batch)
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)
            ],
        )


@dataclass
class NoticeInbox:
    """An SQS queue subscribed to the notifications topic, as a subscriber would have one."""

    dev: LocalDeployment
    queue_url: str
    seen: list[dict[str, Any]] = field(default_factory=list)

    def notices_for(self, key: str) -> list[dict[str, Any]]:
        """Every notice so far about ``key``: the SNS envelope with its message parsed."""
        for message in drain(self.dev, self.queue_url):
            envelope = json.loads(message["Body"])
            self.seen.append({**envelope, "Message": json.loads(envelope["Message"])})
        return [n for n in self.seen if n["Message"]["object"].get("key") == key]


@pytest.fixture(scope="module")
def notices(dev: LocalDeployment) -> NoticeInbox:
    """A queue subscribed to the notifications topic, its policy allowing only that topic."""
    sqs = dev.client("sqs")
    topic_arn = dev.output("notifications_topic_arn")
    queue_url = sqs.create_queue(QueueName="test-notices-subscriber")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
            }
        ],
    }
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps(policy)})
    dev.client("sns").subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    return NoticeInbox(dev, queue_url)


# -- ingest: upload -> EventBridge -> workflow -> record and notice -----------------------------


def test_an_upload_is_recorded_once_by_a_workflow_that_notifies(
    dev: LocalDeployment, notices: NoticeInbox
) -> None:
    # Given dev deployed, and a subscriber to its notifications topic
    s3 = dev.client("s3")
    bucket = dev.output("ingest_bucket_name")
    key = unique_key(dev, "upload")

    # When an object is uploaded under the ingest prefix, as `aws s3 cp` would
    s3.put_object(Bucket=bucket, Key=key, Body=b"id,value\n1,one\n")

    # Then exactly one workflow execution ran for it, and it succeeded
    (execution,) = ended_executions(dev, key, count=1)
    assert execution["status"] == "SUCCEEDED", execution
    # And its history shows validate, process and notify, in that order
    events = history(dev, execution["executionArn"])
    assert entered_states(events) == PROCESSED_PATH
    assert sum(e["type"] == "TaskSucceeded" for e in events) == 3
    # And the table holds exactly one record, naming the object S3 stored
    head = s3.head_object(Bucket=bucket, Key=key)
    (record,) = dev.records(key)
    assert record["bucket"] == bucket
    assert record["size"] == head["ContentLength"]
    assert record["etag"] == head["ETag"].strip('"')
    assert record["version_id"] == head["VersionId"]
    assert record["source"] == "workflow"
    # And the subscriber received exactly one notice: processed, naming the record
    output = json.loads(execution["output"])
    (notice,) = notices.notices_for(key)
    assert notice["Message"]["status"] == "processed"
    assert notice["Message"]["record_id"] == output["processing"]["record_id"]
    assert notice["Message"]["object"]["version_id"] == head["VersionId"]
    assert notice["MessageId"] == output["notification"]["message_id"]
    assert notice["MessageAttributes"]["status"]["Value"] == "processed"


def test_a_redelivered_event_adds_no_second_record(
    dev: LocalDeployment, notices: NoticeInbox
) -> None:
    # Given an archive on the default bus keeping this object's S3 events (EventBridge's own
    # way to deliver events again), and the object uploaded and recorded once
    events = dev.client("events")
    bus_arn = events.describe_event_bus(Name="default")["Arn"]
    key = unique_key(dev, "redelivered")
    archive_name = f"test-redelivery-{uuid.uuid4().hex[:8]}"
    archive_arn = events.create_archive(
        ArchiveName=archive_name,
        EventSourceArn=bus_arn,
        EventPattern=json.dumps({"source": ["aws.s3"], "detail": {"object": {"key": [key]}}}),
    )["ArchiveArn"]
    before = datetime.now(UTC) - timedelta(minutes=1)
    dev.client("s3").put_object(Bucket=dev.output("ingest_bucket_name"), Key=key, Body=b"x")
    (first,) = ended_executions(dev, key, count=1)
    assert first["status"] == "SUCCEEDED", first
    assert len(dev.records(key)) == 1

    # When EventBridge delivers the same "Object Created" event again (a replay)
    events.start_replay(
        ReplayName=f"{archive_name}-replay",
        EventSourceArn=archive_arn,
        EventStartTime=before,
        EventEndTime=datetime.now(UTC) + timedelta(minutes=1),
        Destination={"Arn": bus_arn},
    )

    # Then the workflow ran a second time for the same object version, and succeeded ...
    executions = ended_executions(dev, key, count=2)
    assert len(executions) == 2
    assert [e["status"] for e in executions] == ["SUCCEEDED", "SUCCEEDED"]
    assert {e["input"] for e in executions} == {first["input"]}
    outputs = [json.loads(e["output"])["processing"] for e in executions]
    # ... but its process step found the version already recorded, and wrote nothing
    assert sorted(o["created"] for o in outputs) == [False, True]
    assert len({o["record_id"] for o in outputs}) == 1
    assert len(dev.records(key)) == 1
    # And, as designed (a redelivery after a failed publish must still notify), the second
    # execution notified again about the same record
    assert [n["Message"]["record_id"] for n in notices.notices_for(key)] == [
        outputs[0]["record_id"]
    ] * 2


def test_an_object_over_the_size_limit_takes_the_rejected_branch(
    dev: LocalDeployment, notices: NoticeInbox
) -> None:
    # Given an object one byte over what dev's validator accepts
    limit = DEV.workflow.max_object_bytes
    key = unique_key(dev, "too-large")

    # When it is uploaded
    dev.client("s3").put_object(
        Bucket=dev.output("ingest_bucket_name"), Key=key, Body=b"\0" * (limit + 1)
    )

    # Then its execution succeeded through the rejected branch, never entering Process
    (execution,) = ended_executions(dev, key, count=1)
    assert execution["status"] == "SUCCEEDED", execution
    states = entered_states(history(dev, execution["executionArn"]))
    assert states == [VALIDATE_STATE, "IsValid", REJECTED_NOTICE_STATE, NOTIFY_STATE]
    assert PROCESS_STATE not in states
    validation = json.loads(execution["output"])["validation"]
    assert validation["valid"] is False
    assert validation["errors"] == [f"object.size {limit + 1} exceeds the limit of {limit} bytes"]
    # And nothing was recorded
    assert dev.records(key) == []
    # And the subscriber was told it was rejected, and why
    (notice,) = notices.notices_for(key)
    assert notice["Message"]["status"] == "rejected"
    assert notice["Message"]["record_id"] is None
    assert notice["Message"]["errors"] == validation["errors"]


# -- failures ------------------------------------------------------------------------------------


@pytest.fixture
def processor_cannot_write(dev: LocalDeployment) -> Iterator[str]:
    """The processor's `live` alias on a new version pointed at a table that does not exist;
    the alias goes back to the version it served afterwards (a rollback)."""
    lam = dev.client("lambda")
    name = dev.output("processor_function_name")
    serving = lam.get_alias(FunctionName=name, Name=LIVE_ALIAS)["FunctionVersion"]
    original = lam.get_function_configuration(FunctionName=name)["Environment"]["Variables"]
    missing = f"{original[TABLE_NAME.name]}-missing"
    lam.update_function_configuration(
        FunctionName=name, Environment={"Variables": {**original, TABLE_NAME.name: missing}}
    )
    broken = lam.publish_version(FunctionName=name)["Version"]
    lam.update_alias(FunctionName=name, Name=LIVE_ALIAS, FunctionVersion=broken)
    try:
        yield missing
    finally:
        lam.update_alias(FunctionName=name, Name=LIVE_ALIAS, FunctionVersion=serving)
        lam.update_function_configuration(FunctionName=name, Environment={"Variables": original})


def test_a_processor_failure_keeps_the_original_object_in_the_failure_queue(
    dev: LocalDeployment, notices: NoticeInbox, processor_cannot_write: str
) -> None:
    # Given a processor whose every write fails (its table is missing) and an empty
    # failure queue
    key = unique_key(dev, "processor-fails")
    failure_queue = dev.output("dlq_queue_url")
    drain(dev, failure_queue)

    # When an object is uploaded
    dev.client("s3").put_object(Bucket=dev.output("ingest_bucket_name"), Key=key, Body=b"x")

    # Then the process step was retried once (dev's task_error_max_attempts), then caught:
    # its failure was sent to the failure queue and the execution failed with the
    # processor's own error
    (execution,) = ended_executions(dev, key, count=1)
    assert execution["status"] == "FAILED", execution
    events = history(dev, execution["executionArn"])
    states = entered_states(events)
    assert states[-3:] == [
        PROCESS_STATE,
        failure_record_state(PROCESS_STATE),
        PROCESSING_FAILED_STATE,
    ]
    assert NOTIFY_STATE not in states
    failed_tasks = [e for e in events if e["type"] == "TaskFailed"]
    assert len(failed_tasks) == 1 + DEV.workflow.task_error_max_attempts
    assert all("RecordWriteError" in e["taskFailedEventDetails"]["error"] for e in failed_tasks)
    assert execution["error"] == "Pipeline.ProcessingFailed"
    assert "ResourceNotFoundException" in execution["cause"]
    # And the failure queue holds exactly one record of it: the execution's original input
    # (the object, what a redrive starts again), the failed state and the error
    (message,) = wait_for("the failure record", lambda: drain(dev, failure_queue), timeout=30)
    record = json.loads(message["Body"])
    assert record["failed_state"] == PROCESS_STATE
    assert record["execution"] == execution["executionArn"]
    assert record["input"] == json.loads(execution["input"])
    assert record["input"]["key"] == key
    assert "RecordWriteError" in record["error"]
    assert "ResourceNotFoundException" in record["cause"]
    # And nothing was recorded, and no notice was sent
    assert dev.records(key) == []
    assert notices.notices_for(key) == []


def test_a_redriven_event_that_fails_reaches_the_on_failure_destination_intact(
    dev: LocalDeployment, cloud: LocalCloud
) -> None:
    # Given a malformed S3 notification (a bad eventTime, non-ASCII text included), as an
    # operator would redrive it from the failure queue to the processor, and an empty queue
    payload = (EVENTS_DIR / "s3-bad-event-time.json").read_text(encoding="utf-8")
    event = json.loads(payload)
    event["Records"][0]["s3"]["bucket"]["name"] = dev.output("ingest_bucket_name")
    key = f"incoming/redrive-{uuid.uuid4().hex[:8]}.csv"
    event["Records"][0]["s3"]["object"]["key"] = key
    dlq_url = dev.output("dlq_queue_url")
    drain(dev, dlq_url)
    function_name = dev.output("processor_function_name")

    # When it is invoked asynchronously through the `live` alias, as the redrive does (the
    # alias carries the retries and the failure destination)
    response = dev.client("lambda").invoke(
        FunctionName=function_name,
        Qualifier=LIVE_ALIAS,
        InvocationType="Event",
        Payload=json.dumps(event, ensure_ascii=False).encode(),
    )
    assert response["StatusCode"] == 202

    # Then, after dev's retries (none), Lambda's failure record reaches the failure queue
    (message,) = wait_for(
        "the failure record in the failure queue", lambda: drain(dev, dlq_url), timeout=60
    )
    record = json.loads(message["Body"])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == (
        1 + DEV.operations.async_retry_attempts
    )
    assert record["requestContext"]["functionArn"] == (
        f"{dev.output('processor_function_arn')}:{LIVE_ALIAS}"
    )
    # And it says what the handler raised, naming the bad field
    assert record["responsePayload"]["errorType"] == "RecordBatchError"
    assert "Records[0].eventTime" in record["responsePayload"]["errorMessage"]
    # And it carries the original event unchanged
    assert record["requestPayload"] == event
    # And nothing was recorded
    assert cloud.wait_idle()
    assert dev.records(key) == []


# -- the API on localhost ------------------------------------------------------------------------


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    headers: dict[str, str]
    body: Any


def http(
    api: ServedApi,
    method: str,
    path: str,
    *,
    body: Any = None,
    headers: dict[str, str] | None = None,
    api_key: bool = True,
) -> HttpAnswer:
    """One real HTTP request to a served API (the key is sent unless api_key is False)."""
    sent = {"content-type": "application/json", **(headers or {})}
    if api_key and api.api_key:
        sent["x-api-key"] = api.api_key
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(  # noqa: S310 - a loopback URL the gateway serves
        f"{api.url}{path}", data=data, method=method, headers=sent
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            status, answer_headers, raw = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, answer_headers, raw = error.code, error.headers, error.read()
    text = raw.decode() if raw else ""
    try:
        parsed: Any = json.loads(text) if text else None
    except ValueError:
        parsed = text
    return HttpAnswer(status, {k.lower(): v for k, v in answer_headers.items()}, parsed)


@pytest.fixture(scope="module")
def apis(dev: LocalDeployment, cloud: LocalCloud) -> Iterator[dict[str, ServedApi]]:
    """Every API deployed in dev, served on 127.0.0.1 by the local gateway.

    Only dev's own: other test files of this worker may leave APIs of their own in the cloud.
    """
    served = serve_apis(cloud, cloud.region)
    ours = {dev.output("rest_api_id"), dev.output("http_api_id")}
    try:
        yield {api.kind: api for api in served if api.api_id in ours}
    finally:
        for api in served:
            api.stop()


def test_both_deployed_apis_are_served(apis: dict[str, ServedApi]) -> None:
    # Given dev (api variants "both") / Then the gateway serves a REST and an HTTP API
    assert set(apis) == {"rest", "http"}
    # And the REST API has an enabled key from its usage plan
    assert apis["rest"].api_key


@pytest.mark.parametrize("kind", ["rest", "http"])
def test_an_api_creates_and_returns_a_record_over_http(
    dev: LocalDeployment, apis: dict[str, ServedApi], kind: str
) -> None:
    # Given the API served on localhost and the API function's logs so far
    api = apis[kind]
    function_name = dev.output("api_function_name")
    logged_before = invocations_logged(dev, function_name)
    key = f"manual/{kind}-{uuid.uuid4().hex[:8]}.csv"
    bucket = dev.output("ingest_bucket_name")

    # When a client POSTs a record and GETs it back
    created = http(
        api,
        "POST",
        "/records",
        body={"bucket": bucket, "key": key, "size": 12},
        headers={"origin": ALLOWED_ORIGIN},
    )
    assert created.status == 201, created
    fetched = http(api, "GET", f"/records/{created.body['id']}")

    # Then the GET answers 200 with the record the POST created
    assert fetched.status == 200, fetched
    assert fetched.body["id"] == created.body["id"]
    assert (fetched.body["key"], fetched.body["source"]) == (key, "api")
    assert created.headers["location"] == f"/records/{created.body['id']}"
    # And the answer allows the configured origin
    assert created.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    # And the record is in the table
    (record,) = dev.records(key)
    assert (record["bucket"], record["size"]) == (bucket, 12)
    # And the API function's log group shows both requests: two invocations, and the GET
    # of this very record logged with its status
    assert invocations_logged(dev, function_name) == logged_before + 2
    lines = json_lines(log_messages(dev, f"/aws/lambda/{function_name}"))
    served = [
        line
        for line in lines
        if line.get("message") == "Request served"
        # (the log line keeps the first 80 characters of a path)
        and line.get("path", "").startswith(f"/records/{created.body['id']}"[:80])
    ]
    assert [(line["http_method"], line["status_code"]) for line in served] == [("GET", 200)]
    assert served[0]["correlation_id"]
    # And both requests ran the version the `live` alias serves, not $LATEST
    alias = dev.client("lambda").get_alias(FunctionName=function_name, Name=LIVE_ALIAS)
    starts = [
        message
        for message in log_messages(dev, f"/aws/lambda/{function_name}")
        if message.startswith("START RequestId:")
    ][logged_before:]
    assert alias["FunctionVersion"].isdigit()
    assert [start.rsplit("Version: ", 1)[1] for start in starts] == [alias["FunctionVersion"]] * 2
    assert any("RecordsCreated" in line for line in lines)
    # And the record is listed under its object key (a Query on index GSI1) and in its day
    # (a Query per partition of the day), with the same key as the only match
    stored_id = encode_record_id(record["pk"], record["sk"])
    quoted = urllib.parse.quote(key, safe="")
    by_key = http(api, "GET", f"/records?key={quoted}")
    assert by_key.status == 200, by_key
    assert [item["id"] for item in by_key.body["items"]] == [stored_id]
    day = created.body["event_time"][:10]
    by_day = http(api, "GET", f"/records?date={day}&prefix={quoted}")
    assert by_day.status == 200, by_day
    assert [item["id"] for item in by_day.body["items"]] == [stored_id]


@pytest.mark.parametrize("kind", ["rest", "http"])
def test_a_cors_preflight_is_answered(apis: dict[str, ServedApi], kind: str) -> None:
    # Given the API served on localhost
    # When a browser sends a preflight for a POST from an allowed origin
    answer = http(
        apis[kind],
        "OPTIONS",
        "/records",
        headers={
            "origin": ALLOWED_ORIGIN,
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type,x-api-key",
        },
        api_key=False,
    )
    # Then it is allowed, for that origin and that method
    assert answer.status in (200, 204), answer
    assert answer.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert "POST" in answer.headers["access-control-allow-methods"]


def test_the_rest_api_refuses_a_request_without_its_key(
    dev: LocalDeployment, apis: dict[str, ServedApi]
) -> None:
    # Given the REST API, which requires an API key, and the function's logs so far
    function_name = dev.output("api_function_name")
    logged_before = invocations_logged(dev, function_name)
    # When a client calls it without the key
    answer = http(apis["rest"], "GET", "/records", api_key=False)
    # Then API Gateway's 403 answers, and the function never ran
    assert answer.status == 403, answer
    assert answer.body == {"message": "Forbidden"}
    assert invocations_logged(dev, function_name) == logged_before


def request_log_rows(dev: LocalDeployment, path: str) -> list[dict[str, Any]]:
    """Every request log row for ``path``, deserialized."""
    deserialize = TypeDeserializer().deserialize
    pages = (
        dev.client("dynamodb")
        .get_paginator("scan")
        .paginate(TableName=dev.output("request_log_table_name"))
    )
    rows = [
        {name: deserialize(value) for name, value in item.items()}
        for page in pages
        for item in page["Items"]
    ]
    return [row for row in rows if row.get("path") == path]


def test_seed_001_process_is_served_end_to_end_and_each_request_is_logged(
    dev: LocalDeployment, apis: dict[str, ServedApi]
) -> None:
    # Given the REST API served on localhost (API key, CORS allow-list), and a seed 001
    # client's body: any JSON object, named by its key, carrying a token that must not leak
    api = apis["rest"]
    key = f"seed-001/{uuid.uuid4().hex[:8]}"
    body = {"key": key, "customer": "acme", "amount": 12.5, "token": "t0p-s3cret-value"}
    logged_before = {row["request_id"] for row in request_log_rows(dev, "/process")}

    # When the client POSTs it to /process, then GETs /process
    created = http(api, "POST", "/process", body=body, headers={"origin": ALLOWED_ORIGIN})
    listed = http(api, "GET", "/process")

    # Then the POST answers seed 001's 201 {"message", "processing_id"}, for the allowed origin
    assert created.status == 201, created
    assert set(created.body) == {"message", "processing_id"}
    assert created.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    processing_id = created.body["processing_id"]
    # And the GET answers {"message", "records"}: at most ten, the new record among them
    assert listed.status == 200, listed
    assert set(listed.body) == {"message", "records"}
    assert 1 <= len(listed.body["records"]) <= 10
    shown = [r for r in listed.body["records"] if r.get("processing_id") == processing_id]
    assert [r["data"]["customer"] for r in shown] == ["acme"]
    # And the records table holds one manual record: the body in data, the invocation named
    (record,) = dev.records(key)
    assert (record["source"], record["processing_id"]) == ("manual", processing_id)
    assert record["data"]["customer"] == "acme"
    assert record["function_name"] == dev.output("api_function_name")
    assert record["aws_request_id"]
    # And the request log holds one new row per request, with seed 002's fields
    rows = [
        row for row in request_log_rows(dev, "/process") if row["request_id"] not in logged_before
    ]
    assert sorted((row["method"], row["status_code"]) for row in rows) == [
        ("GET", 200),
        ("POST", 201),
    ]
    assert {row["source"] for row in rows} == {"api"}
    assert all(row["timestamp"] and row["aws_request_id"] for row in rows)
    (post,) = [row for row in rows if row["method"] == "POST"]
    # And the stored body keeps the data but neither the token nor the API key
    assert json.loads(post["body"])["customer"] == "acme"
    assert json.loads(post["body"])["token"] == REDACTED
    assert "t0p-s3cret-value" not in json.dumps(rows, default=str)
    assert api.api_key
    assert api.api_key not in json.dumps(rows, default=str)


# -- the scheduled maintenance -----------------------------------------------------------------


def test_the_maintenance_schedule_counts_yesterdays_records(
    dev: LocalDeployment, cloud: LocalCloud
) -> None:
    # Given two records written yesterday (UTC), as the processor writes them
    yesterday = datetime.now(UTC) - timedelta(days=1)
    serialize = TypeSerializer().serialize
    for index in range(2):
        version = ObjectVersion(
            bucket=dev.output("ingest_bucket_name"),
            key=f"incoming/yesterday-{uuid.uuid4().hex[:8]}-{index}.csv",
            size=1,
            etag="0cc175b9c0f1b6a831c399e269772661",
            version_id=uuid.uuid4().hex,
            event_name="ObjectCreated:Put",
            event_time=yesterday,
            source="s3",
        )
        item = to_item(version, recorded_at=yesterday, ttl_days=DEV.record_ttl_days)
        dev.client("dynamodb").put_item(
            TableName=dev.output("records_table_name"),
            Item={name: serialize(value) for name, value in item.items()},
        )
    # And the schedule enabled (dev deploys it disabled: no daily run in dev)
    events = dev.client("events")
    rule_name = dev.output("schedule_rule_arn").rsplit("/", 1)[-1]
    assert events.describe_rule(Name=rule_name)["State"] == "DISABLED"
    function_name = dev.output("maintenance_function_name")
    logged_before = invocations_logged(dev, function_name)

    # When the schedule fires while disabled, and again once enabled
    cloud.fire_rule(rule_name)
    events.enable_rule(Name=rule_name)
    try:
        cloud.fire_rule(rule_name)
        assert cloud.wait_idle(WAIT_SECONDS)
    finally:
        events.disable_rule(Name=rule_name)

    # Then the maintenance function ran once, for the enabled firing only
    assert invocations_logged(dev, function_name) == logged_before + 1
    lines = json_lines(log_messages(dev, f"/aws/lambda/{function_name}"))
    (count,) = [line for line in lines if line.get("message") == "Daily record count"]
    # And it counted yesterday's records
    assert count["day"] == yesterday.date().isoformat()
    assert count["records"] == 2
    # And it published the count as its RecordsPerDay metric (CloudWatch embedded format)
    (metric,) = [line for line in lines if "RecordsPerDay" in line]
    assert metric["RecordsPerDay"] in (2, [2])


def test_a_backfill_records_only_what_is_missing_and_a_second_one_nothing(
    dev: LocalDeployment,
) -> None:
    # Given five objects uploaded under a prefix of their own and recorded by the workflow
    s3 = dev.client("s3")
    bucket = dev.output("ingest_bucket_name")
    prefix = f"{dev.output('ingest_object_prefix')}backfill-{uuid.uuid4().hex[:8]}/"
    keys = [f"{prefix}object {index} ü.csv" for index in range(5)]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=b"id\n1\n")
    wait_for(
        "the records of all five",
        lambda: all(dev.records(key) for key in keys),
        timeout=WAIT_SECONDS,
    )
    # And the record of one of them lost (as if its event had never been processed)
    lost = keys[2]
    (record,) = dev.records(lost)
    dev.client("dynamodb").delete_item(
        TableName=dev.output("records_table_name"),
        Key={"pk": {"S": record["pk"]}, "sk": {"S": record["sk"]}},
    )
    sfn = dev.client("stepfunctions")
    machine = dev.output("backfill_state_machine_arn")

    # When the backfill runs over the prefix, as `make backfill` starts it
    first = run_backfill(
        sfn, s3, state_machine_arn=machine, bucket=bucket, prefix=prefix, timeout=WAIT_SECONDS,
        poll=0.5,
    )  # fmt: skip

    # Then the lost object has its record again, written by the backfill with the same
    # version, and every other object still has exactly its one record
    (restored,) = dev.records(lost)
    assert restored["source"] == "backfill"
    assert restored["version_id"] == s3.head_object(Bucket=bucket, Key=lost)["VersionId"]
    assert (restored["pk"], restored["sk"]) == (record["pk"], record["sk"])
    for key in keys:
        assert len(dev.records(key)) == 1, key
    # And the execution's map run succeeded, its results written to S3 under the results
    # prefix: one batch, one record created, four already there
    events = history(dev, first.execution_arn)
    assert "MapRunSucceeded" in [event["type"] for event in events]
    assert first.manifest_key is not None
    assert first.manifest_key.startswith(dev.output("backfill_results_prefix"))
    s3.head_object(Bucket=bucket, Key=first.manifest_key)
    assert first.batches == 1
    assert dict(first.counts) == {
        "records_created": 1, "records_already_recorded": 4, "objects_gone": 0,
    }  # fmt: skip

    # When it runs a second time over the same prefix
    second = run_backfill(
        sfn, s3, state_machine_arn=machine, bucket=bucket, prefix=prefix, timeout=WAIT_SECONDS,
        poll=0.5,
    )  # fmt: skip
    # Then it creates nothing: every object is already recorded, once
    assert dict(second.counts) == {
        "records_created": 0, "records_already_recorded": 5, "objects_gone": 0,
    }  # fmt: skip
    for key in keys:
        assert len(dev.records(key)) == 1, key

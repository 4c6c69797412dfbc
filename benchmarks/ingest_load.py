"""Load test of the queue ingest path on the local cloud: ``make load-test`` (10,000 events).

    pipenv run python -m benchmarks.ingest_load --events 10000

Deploys the state bootstrap and dev with ``PIPELINE_INGEST_PATH=queue`` (staging's and
prod's path) onto a local cloud of its own, as ``make run`` deploys, then in one run:

1. a bare ``put_item`` loop: ``--events`` items written one by one into a table of the same
   key schema on the same local cloud, from this process: the floor any ingest can reach;
2. ``--events`` S3 notifications (one object each, shaped as S3 sends them to a queue) sent
   to the deployed ingest queue with ``SendMessageBatch`` (10 per call), the way S3 delivers
   them; the deployed event source mapping polls them in batches into the deployed processor,
   which writes each record (conditional put) and publishes its notice;
3. waits until the records table holds exactly ``--events`` records, then checks that the
   ingest DLQ is empty, and prints events per second for both and their ratio.

The processor reads only the notification (never the object), so no object is uploaded:
S3's own PutObject on the emulator would measure moto's S3, not the pipeline.
``tests/integration/test_ingest_load.py`` runs the same with 500 events and the same checks.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tools.local_stack import LocalDeployment, deploy
from tools.localcloud.process import LocalCloudProcess

DEFAULT_EVENTS = 10_000
# SendMessageBatch takes at most 10 messages.
SQS_BATCH = 10
POLL_SECONDS = 1.0
# The whole ingest of 10,000 events must finish within this, or the run fails.
DEFAULT_TIMEOUT_SECONDS = 1_800.0
INGEST_PATH_ENVIRON = {"PIPELINE_INGEST_PATH": "queue"}


class LoadTestError(RuntimeError):
    """The load test did not end with exactly the expected records and an empty DLQ."""


@dataclass(frozen=True)
class LoadResult:
    events: int
    records: int
    dlq_messages: int
    send_seconds: float
    ingest_seconds: float
    bare_put_item_seconds: float

    @property
    def events_per_second(self) -> float:
        return self.events / self.ingest_seconds

    @property
    def bare_put_items_per_second(self) -> float:
        return self.events / self.bare_put_item_seconds

    @property
    def ratio(self) -> float:
        """How many times longer an event takes through the pipeline than a bare put_item."""
        return self.ingest_seconds / self.bare_put_item_seconds

    def report(self) -> str:
        return "\n".join(
            [
                f"events sent:               {self.events:,} "
                f"(SendMessageBatch, {self.send_seconds:.1f} s)",
                f"records in the table:      {self.records:,}",
                f"messages in the DLQ:       {self.dlq_messages}",
                f"pipeline (queue->table):   {self.ingest_seconds:.1f} s, "
                f"{self.events_per_second:,.0f} events/s",
                f"bare put_item loop:        {self.bare_put_item_seconds:.1f} s, "
                f"{self.bare_put_items_per_second:,.0f} items/s",
                f"pipeline / bare put_item:  {self.ratio:.2f}x the time per event",
            ]
        )


def notification_body(bucket: str, key: str, index: int, when: datetime) -> str:
    """One S3 ObjectCreated notification, as S3 sends it to a queue (one record)."""
    return json.dumps(
        {
            "Records": [
                {
                    "eventVersion": "2.1",
                    "eventSource": "aws:s3",
                    "awsRegion": "us-west-2",
                    "eventTime": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                    "eventName": "ObjectCreated:Put",
                    "responseElements": {"x-amz-request-id": f"LOAD{index:012d}"},
                    "s3": {
                        "s3SchemaVersion": "1.0",
                        "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                        "object": {
                            "key": key,
                            "size": 16,
                            "eTag": f"{index:032x}",
                            "versionId": f"load-{index}",
                            "sequencer": f"{index:016X}",
                        },
                    },
                }
            ]
        }
    )


def count_records(dynamodb: Any, table: str) -> int:
    total = 0
    for page in dynamodb.get_paginator("scan").paginate(TableName=table, Select="COUNT"):
        total += int(page["Count"])
    return total


def queue_depth(sqs: Any, queue_url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def bare_put_item_seconds(dynamodb: Any, events: int) -> float:
    """Seconds for ``events`` conditional put_item calls, one by one, into a fresh table."""
    table = f"load-baseline-{uuid.uuid4().hex[:8]}"
    dynamodb.create_table(
        TableName=table,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    start = time.perf_counter()
    for index in range(events):
        dynamodb.put_item(
            TableName=table,
            Item={
                "pk": {"S": "DATE#2026-01-01"},
                "sk": {"S": f"OBJECT#load/{index}#bucket#V#{index}"},
                "size": {"N": "16"},
            },
            ConditionExpression="attribute_not_exists(pk)",
        )
    elapsed = time.perf_counter() - start
    dynamodb.delete_table(TableName=table)
    return elapsed


def run_load(
    deployment: LocalDeployment,
    events: int,
    *,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    on_progress: Callable[[str], None] = lambda _: None,
) -> LoadResult:
    """Push ``events`` notifications through the deployed queue path; see the module doc."""
    sqs = deployment.client("sqs")
    dynamodb = deployment.client("dynamodb")
    table = deployment.output("records_table_name")
    queue_url = deployment.output("ingest_queue_url")
    dlq_url = deployment.output("ingest_dlq_queue_url")
    bucket = deployment.output("ingest_bucket_name")
    prefix = f"{deployment.output('ingest_object_prefix')}load-{uuid.uuid4().hex[:8]}/"
    before = count_records(dynamodb, table)
    bare = bare_put_item_seconds(dynamodb, events)
    on_progress(f"bare put_item loop: {events:,} items in {bare:.1f} s")
    when = datetime.now(UTC)
    start = time.perf_counter()
    for first in range(0, events, SQS_BATCH):
        entries = [
            {
                "Id": str(index),
                "MessageBody": notification_body(bucket, f"{prefix}{index}", index, when),
            }
            for index in range(first, min(first + SQS_BATCH, events))
        ]
        answer = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
        if answer.get("Failed"):
            raise LoadTestError(f"SendMessageBatch refused {answer['Failed'][:1]}")
    sent = time.perf_counter() - start
    on_progress(f"sent {events:,} notifications in {sent:.1f} s")
    deadline = start + timeout
    records = before
    while True:
        time.sleep(POLL_SECONDS)
        records = count_records(dynamodb, table)
        if records - before >= events and queue_depth(sqs, queue_url) == 0:
            break
        on_progress(f"{time.perf_counter() - start:7.1f} s: {records - before:,} records")
        if time.perf_counter() > deadline:
            raise LoadTestError(
                f"after {timeout:.0f} s the table holds {records - before:,} of {events:,} "
                f"records; the DLQ {queue_depth(sqs, dlq_url)} messages"
            )
    ingest = time.perf_counter() - start
    return LoadResult(
        events=events,
        records=records - before,
        dlq_messages=queue_depth(sqs, dlq_url),
        send_seconds=sent,
        ingest_seconds=ingest,
        bare_put_item_seconds=bare,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ingest_load", description=__doc__)
    parser.add_argument("--events", type=int, default=DEFAULT_EVENTS)
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_SECONDS)
    args = parser.parse_args(argv)
    if args.events < 1:
        print("error: --events must be at least 1", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="ingest-load-") as folder:
        run_dir = Path(folder)
        started = time.perf_counter()
        with LocalCloudProcess(log_path=run_dir / "localcloud.log") as cloud:
            print(f"deploying dev (queue ingest path) to {cloud.endpoint_url} ...", flush=True)
            deployment = deploy(
                cloud, run_dir / "run", environment="dev", environ=INGEST_PATH_ENVIRON
            )
            print(f"deployed in {time.perf_counter() - started:.0f} s", flush=True)
            try:
                result = run_load(
                    deployment,
                    args.events,
                    timeout=args.timeout,
                    on_progress=lambda line: print(line, flush=True),
                )
            except LoadTestError as error:
                print(f"error: {error}", file=sys.stderr)
                return 1
    print(result.report())
    if result.records != args.events or result.dlq_messages:
        print(
            f"error: expected exactly {args.events:,} records and an empty DLQ, got "
            f"{result.records:,} and {result.dlq_messages}",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""A tiny function for the local cloud's tests: it reports what its environment looks like."""

import os
import time
from typing import Any

import boto3

# Module-level state: what Lambda keeps between invocations of one warm environment.
INIT_COUNT = 0
INIT_COUNT += 1
CLIENT = boto3.client("sqs")
print("probe init")


def handler(event: Any, context: Any) -> Any:
    print(f"probe got {event!r}")
    if isinstance(event, dict) and event.get("fail"):
        raise ValueError(f"asked to fail: {event['fail']}")
    if isinstance(event, dict) and event.get("sleep"):
        time.sleep(float(event["sleep"]))
    records = event.get("Records") if isinstance(event, dict) else None
    if records and records[0].get("eventSource") == "aws:sqs":
        # SQS batches: report the messages whose body says "bad" as failed.
        return {
            "batchItemFailures": [
                {"itemIdentifier": record["messageId"]}
                for record in records
                if "bad" in record["body"]
            ]
        }
    return {
        "init_count": INIT_COUNT,
        "pid": os.getpid(),
        "greeting": os.environ.get("GREETING"),
        "function_name": context.function_name,
        "memory": context.memory_limit_in_mb,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "request_id": context.aws_request_id,
        "endpoint": os.environ.get("AWS_ENDPOINT_URL"),
        "python": ".".join(map(str, __import__("sys").version_info[:2])),
        "event": event,
    }

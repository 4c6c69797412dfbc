"""SQS event source mappings that poll the way Lambda's pollers do.

What moto 5.2.5 does: ``Queue.add_message`` delivers inline, inside ``SendMessage``, one
message per invocation; a failed invocation makes the message visible again at once (no
visibility timeout, so no redrive); ``BatchSize``, ``MaximumBatchingWindowInSeconds`` and
``ReportBatchItemFailures`` are stored but ignored. What this adds, by taking SQS mappings
out of moto's inline path (``create_event_source_mapping`` is wrapped) and polling them:

- a poller thread per mapping receives up to ``BatchSize`` (default 10) messages, waiting up
  to ``MaximumBatchingWindowInSeconds`` to fill the batch, with the queue's visibility
  timeout, and invokes the function synchronously through the executor with Lambda's SQS
  event (``Records`` with ``messageId``, ``receiptHandle``, ``body``, ``attributes``...);
- success deletes the batch; with ``FunctionResponseTypes: [ReportBatchItemFailures]`` only
  the messages not named in ``batchItemFailures`` are deleted; a function error deletes
  none. Messages left behind reappear after the visibility timeout and, past the queue's
  ``maxReceiveCount``, moto's own redrive moves them to the dead-letter queue;
- disabled or deleted mappings stop polling.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from moto.awslambda.models import EventSourceMapping, LambdaBackend
from moto.awslambda.utils import get_backend
from moto.sqs.models import sqs_backends

from tools.localcloud.executor import Executor

DEFAULT_BATCH_SIZE = 10
# How often an idle poller looks at its queue (Lambda long-polls; this is the local stand-in).
POLL_INTERVAL_SECONDS = 0.2
REPORT_BATCH_ITEM_FAILURES = "ReportBatchItemFailures"


def sqs_event(messages: list[Any], queue_arn: str, region: str) -> dict[str, Any]:
    """Lambda's event for a batch of SQS messages."""
    records = []
    for message in messages:
        attributes = {
            "ApproximateReceiveCount": str(message.approximate_receive_count),
            "SentTimestamp": str(message.sent_timestamp),
            "SenderId": str(message.sender_id),
            "ApproximateFirstReceiveTimestamp": str(message.approximate_first_receive_timestamp),
        }
        if message.group_id:
            attributes["MessageGroupId"] = message.group_id
        if message.deduplication_id:
            attributes["MessageDeduplicationId"] = message.deduplication_id
        records.append(
            {
                "messageId": message.id,
                "receiptHandle": message.receipt_handle,
                "body": message.body,
                "attributes": attributes,
                "messageAttributes": {
                    name: {
                        "stringValue": value.get("StringValue"),
                        "binaryValue": value.get("BinaryValue"),
                        "stringListValues": [],
                        "binaryListValues": [],
                        "dataType": value.get("DataType"),
                    }
                    for name, value in (message.message_attributes or {}).items()
                },
                "md5OfBody": message.body_md5,
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
        )
    return {"Records": records}


class SqsPoller:
    """Polls each SQS event source mapping on its own thread."""

    def __init__(self, executor: Executor) -> None:
        self.executor = executor
        self._stopped = threading.Event()
        self._busy = 0
        self._lock = threading.Lock()

    def watch(self, backend: LambdaBackend, esm: EventSourceMapping) -> None:
        threading.Thread(
            target=self._poll, args=(backend, esm.uuid), daemon=True, name="localcloud-sqs-esm"
        ).start()

    def stop(self) -> None:
        self._stopped.set()

    def idle(self) -> bool:
        with self._lock:
            return self._busy == 0

    def _poll(self, backend: LambdaBackend, uuid: str) -> None:
        while not self._stopped.is_set():
            esm = backend._event_source_mappings.get(uuid)
            if esm is None or get_backend(backend.account_id, backend.region_name) is not backend:
                return  # deleted, or the cloud was reset
            delivered = False
            if esm.enabled:
                with self._lock:
                    self._busy += 1
                try:
                    delivered = self._deliver_batch(esm)
                except Exception as error:  # a poller keeps polling, as Lambda's does
                    print(f"localcloud: SQS mapping {uuid}: {error}")
                finally:
                    with self._lock:
                        self._busy -= 1
            if not delivered:
                self._stopped.wait(POLL_INTERVAL_SECONDS)

    def _deliver_batch(self, esm: EventSourceMapping) -> bool:
        parts = esm.event_source_arn.split(":")
        region, account, queue_name = parts[3], parts[4], parts[5]
        sqs = sqs_backends[account][region]
        queue = sqs.get_queue(queue_name)
        batch_size = int(esm.batch_size or DEFAULT_BATCH_SIZE)
        window = float(esm.max_batch_window or 0)
        visibility = int(queue.visibility_timeout)  # type: ignore[attr-defined]
        messages = list(sqs.receive_message(queue_name, batch_size, 0, visibility))
        deadline = time.monotonic() + window
        while messages and len(messages) < batch_size and time.monotonic() < deadline:
            self._stopped.wait(min(POLL_INTERVAL_SECONDS, deadline - time.monotonic()))
            messages += sqs.receive_message(queue_name, batch_size - len(messages), 0, visibility)
        if not messages:
            return False
        fn = get_backend(account, region).get_function(esm.function_arn)
        result = self.executor.invoke(fn, sqs_event(messages, queue.queue_arn, region))
        if result.failed:
            return True
        failed_ids: set[str] = set()
        if REPORT_BATCH_ITEM_FAILURES in (esm.function_response_types or []):
            response = result.payload_json()
            if isinstance(response, dict):
                failed_ids = {
                    str(item.get("itemIdentifier"))
                    for item in response.get("batchItemFailures") or []
                    if isinstance(item, dict)
                }
        for message in messages:
            if message.id not in failed_ids:
                sqs.delete_message(queue_name, str(message.receipt_handle))
        return True


def install(poller: SqsPoller) -> None:
    """Take SQS mappings out of moto's inline delivery and poll them (once per process)."""
    _ACTIVE["poller"] = poller
    if getattr(LambdaBackend, "_localcloud_sqs", False):
        return
    original = LambdaBackend.create_event_source_mapping

    def create_event_source_mapping(
        self: LambdaBackend, spec: dict[str, Any]
    ) -> EventSourceMapping:
        esm = original(self, spec)
        if esm.event_source_arn.split(":")[2] == "sqs":
            parts = esm.event_source_arn.split(":")
            queue = sqs_backends[parts[4]][parts[3]].get_queue(parts[5])
            queue.lambda_event_source_mappings.pop(esm.function_arn, None)
            _ACTIVE["poller"].watch(self, esm)
        return esm

    LambdaBackend.create_event_source_mapping = create_event_source_mapping  # type: ignore[method-assign]
    LambdaBackend._localcloud_sqs = True  # type: ignore[attr-defined]


_ACTIVE: dict[str, Any] = {}

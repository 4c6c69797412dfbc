"""Asynchronous invocation: Lambda's event queue, retries and destinations, on a worker thread.

What moto 5.2.5 lacks: it runs ``InvocationType=Event`` and S3 notifications inline, stores
``put_function_event_invoke_config`` but never applies it, and drops a function's
``DeadLetterConfig``. What this adds:

- a queue served by background workers: the caller gets its request id at once;
- the function's event invoke config: ``MaximumRetryAttempts`` (default 2) and
  ``MaximumEventAgeInSeconds`` (default 6 hours), then ``DestinationConfig.OnFailure`` /
  ``OnSuccess`` (SQS, SNS, Lambda, EventBridge) with Lambda's destination record
  (``version``, ``timestamp``, ``requestContext`` with ``condition`` and
  ``approximateInvokeCount``, ``requestPayload``, ``responseContext``, ``responsePayload``);
- without an on-failure destination, the function's ``DeadLetterConfig`` (SQS or SNS) gets
  the original event with Lambda's ``RequestID``/``ErrorCode``/``ErrorMessage`` attributes;
- S3 notifications to Lambda go through this queue (``moto.s3.notifications._invoke_awslambda``);
- an alias or version resolves to the version it names (moto), and the record's
  ``functionArn`` is the ARN that was invoked (``...:live``); moto keeps one event invoke
  config per function whatever its qualifier, so a version without its own uses the function's.

Difference from AWS: Lambda waits about 1 minute before the first retry and 2 minutes before
the second. Here the waits are ``RETRY_DELAYS_SECONDS`` (short, so tests finish), settable per
``LocalCloud(retry_delays=...)``.
"""

from __future__ import annotations

import heapq
import itertools
import json
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from moto.awslambda.models import LambdaFunction
from moto.awslambda.utils import get_backend

from tools.localcloud.executor import Executor, InvokeResult

# Waits before the 1st and 2nd retry (AWS: about 60 s and 120 s).
RETRY_DELAYS_SECONDS = (0.5, 1.0)
DEFAULT_MAX_RETRY_ATTEMPTS = 2
DEFAULT_MAX_EVENT_AGE_SECONDS = 21_600
WORKERS = 4


@dataclass(order=True)
class _Job:
    due: float
    seq: int
    function_arn: str = field(compare=False)
    account_id: str = field(compare=False)
    region: str = field(compare=False)
    event: Any = field(compare=False)
    request_id: str = field(compare=False)
    enqueued: float = field(compare=False)
    attempts: int = field(compare=False, default=0)
    # What the caller invoked, as Lambda reports it; None: the resolved function's own ARN.
    invoked_arn: str | None = field(compare=False, default=None)


def qualified(function_arn: str) -> str:
    """The ARN as Lambda reports an invocation of it: unqualified means ``$LATEST``."""
    return function_arn if len(function_arn.split(":")) == 8 else f"{function_arn}:$LATEST"


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class AsyncInvoker:
    """Lambda's asynchronous invocation queue for the executor."""

    def __init__(self, executor: Executor, *, retry_delays: Sequence[float] = RETRY_DELAYS_SECONDS,
                 workers: int = WORKERS) -> None:  # fmt: skip
        self.executor = executor
        self.retry_delays = tuple(retry_delays)
        self._heap: list[_Job] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._stopped = False
        self._busy = 0
        self._threads = [
            threading.Thread(target=self._work, daemon=True, name=f"localcloud-async-{i}")
            for i in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, fn: LambdaFunction, event: Any, invoked_arn: str | None = None) -> str:
        request_id = str(uuid.uuid4())
        now = time.monotonic()
        self._push(_Job(now, next(self._seq), fn.function_arn, fn.account_id, fn.region, event,
                        request_id, time.time(), invoked_arn=invoked_arn))  # fmt: skip
        return request_id

    def submit_arn(self, function_arn: str, event: Any) -> str:
        """Invoke by ARN, as EventBridge and S3 do: an alias ARN runs the version it names."""
        parts = function_arn.split(":")
        fn = get_backend(parts[4], parts[3]).get_function(function_arn)
        return self.submit(fn, event, qualified(function_arn))

    def _push(self, job: _Job) -> None:
        with self._cond:
            heapq.heappush(self._heap, job)
            self._cond.notify()

    def idle(self) -> bool:
        with self._cond:
            return not self._heap and self._busy == 0

    def wait_idle(self, timeout: float = 60.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.idle():
                return True
            time.sleep(0.05)
        return False

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._stopped and (
                    not self._heap or self._heap[0].due > time.monotonic()
                ):
                    wait = self._heap[0].due - time.monotonic() if self._heap else None
                    self._cond.wait(wait)
                if self._stopped:
                    return
                job = heapq.heappop(self._heap)
                self._busy += 1
            try:
                self._run(job)
            except Exception as error:  # an async failure must not kill the worker
                print(f"localcloud: async invocation of {job.function_arn} failed: {error}")
            finally:
                with self._cond:
                    self._busy -= 1

    def _run(self, job: _Job) -> None:
        backend = get_backend(job.account_id, job.region)
        fn = backend.get_function(job.function_arn)
        # moto keeps the config on the function whatever qualifier it was put with.
        latest = backend.get_function(fn.function_name)
        configs = fn.event_invoke_config or latest.event_invoke_config
        config = configs[0].config if configs else {}
        max_retries = int(config.get("MaximumRetryAttempts", DEFAULT_MAX_RETRY_ATTEMPTS))
        max_age = float(config.get("MaximumEventAgeInSeconds", DEFAULT_MAX_EVENT_AGE_SECONDS))
        destinations = config.get("DestinationConfig") or {}
        if time.time() - job.enqueued > max_age:
            self._failed(fn, job, None, "EventAgeExceeded", destinations)
            return
        job.attempts += 1
        result = self.executor.invoke(fn, job.event)
        if not result.failed:
            target = (destinations.get("OnSuccess") or {}).get("Destination")
            if target:
                self._deliver(target, self._record(fn, job, result, "Success"), fn)
            return
        if job.attempts <= max_retries:
            delay = self.retry_delays[min(job.attempts - 1, len(self.retry_delays) - 1)]
            job.due = time.monotonic() + delay
            job.seq = next(self._seq)
            self._push(job)
            return
        self._failed(fn, job, result, "RetriesExhausted", destinations)

    def _failed(self, fn: LambdaFunction, job: _Job, result: InvokeResult | None,
                condition: str, destinations: dict[str, Any]) -> None:  # fmt: skip
        target = (destinations.get("OnFailure") or {}).get("Destination")
        if target:
            self._deliver(target, self._record(fn, job, result, condition), fn)
            return
        dead_letter = getattr(fn, "localcloud_dead_letter_target", None)
        if dead_letter:
            error = (result.payload_json() or {}) if result else {}
            attributes = {
                "RequestID": job.request_id,
                "ErrorCode": "200",
                "ErrorMessage": str(error.get("errorMessage", condition))[:1000],
            }
            _send(dead_letter, json.dumps(job.event), attributes, fn)

    @staticmethod
    def _record(fn: LambdaFunction, job: _Job, result: InvokeResult | None,
                condition: str) -> dict[str, Any]:  # fmt: skip
        record: dict[str, Any] = {
            "version": "1.0",
            "timestamp": _now_iso(),
            "requestContext": {
                "requestId": job.request_id,
                "functionArn": job.invoked_arn
                or (
                    f"{fn.function_arn}:$LATEST"
                    if str(fn.version) == "$LATEST"
                    else fn.function_arn
                ),
                "condition": condition,
                "approximateInvokeCount": job.attempts,
            },
            "requestPayload": job.event,
            "responseContext": {
                "statusCode": 200,
                "executedVersion": str(fn.version),
            },
        }
        if result is not None:
            if result.function_error:
                record["responseContext"]["functionError"] = result.function_error
            record["responsePayload"] = result.payload_json()
        return record

    def _deliver(self, target_arn: str, record: dict[str, Any], fn: LambdaFunction) -> None:
        if target_arn.split(":")[2] == "lambda":
            self.submit_arn(target_arn, record)
            return
        _send(target_arn, json.dumps(record), {}, fn, record=record)


def _send(target_arn: str, body: str, attributes: dict[str, str], fn: LambdaFunction,
          record: dict[str, Any] | None = None) -> None:  # fmt: skip
    """Deliver ``body`` to an SQS queue, SNS topic or EventBridge bus named by ARN."""
    parts = target_arn.split(":")
    service, region, account = parts[2], parts[3], parts[4]
    if service == "sqs":
        from moto.sqs.models import sqs_backends

        sqs_backends[account][region].send_message(
            queue_name=parts[5],
            message_body=body,
            message_attributes={
                name: {"DataType": "String", "StringValue": value}
                for name, value in attributes.items()
            },
        )
    elif service == "sns":
        from moto.sns.models import sns_backends

        sns_backends[account][region].publish(
            arn=target_arn,
            message=body,
            message_attributes={
                name: {"Type": "String", "Value": value} for name, value in attributes.items()
            },
        )
    elif service == "events":
        from moto.events.models import events_backends

        succeeded = record is None or "functionError" not in record["responseContext"]
        events_backends[account][region].put_events(
            [
                {
                    "Source": "lambda",
                    "DetailType": "Lambda Function Invocation Result - "
                    + ("Success" if succeeded else "Failure"),
                    "Detail": body,
                    "Resources": [fn.function_arn],
                    "EventBusName": target_arn,
                }
            ]
        )


def install(invoker: AsyncInvoker) -> None:
    """Route S3 notifications through the queue and keep each function's DeadLetterConfig."""
    import moto.s3.notifications as s3_notifications

    _ACTIVE["invoker"] = invoker
    if getattr(s3_notifications, "_localcloud_installed", False):
        return

    def _invoke_awslambda(account_id: str, event_body: Any, fn_arn: str, region_name: str) -> None:
        try:
            fn = get_backend(account_id, region_name).get_function(fn_arn)
        except Exception:  # S3 drops notifications to a missing function too
            return
        _ACTIVE["invoker"].submit(fn, event_body, qualified(fn_arn))

    s3_notifications._invoke_awslambda = _invoke_awslambda
    s3_notifications._localcloud_installed = True  # type: ignore[attr-defined]

    original_init = LambdaFunction.__init__
    original_update = LambdaFunction.update_configuration

    def __init__(
        self: LambdaFunction, account_id: str, spec: dict[str, Any], *args: Any, **kwargs: Any
    ) -> None:
        original_init(self, account_id, spec, *args, **kwargs)
        self.localcloud_dead_letter_target = (spec.get("DeadLetterConfig") or {}).get("TargetArn")  # type: ignore[attr-defined]

    def update_configuration(self: LambdaFunction, config_updates: dict[str, Any]) -> Any:
        if "DeadLetterConfig" in config_updates:
            self.localcloud_dead_letter_target = (  # type: ignore[attr-defined]
                config_updates["DeadLetterConfig"] or {}
            ).get("TargetArn")
        return original_update(self, config_updates)

    LambdaFunction.__init__ = __init__  # type: ignore[method-assign]
    LambdaFunction.update_configuration = update_configuration  # type: ignore[method-assign]


_ACTIVE: dict[str, Any] = {}

"""S3 event notifications as S3 sends them: fields moto 5.2.5 leaves out or gets wrong.

What moto 5.2.5 does, and what this changes (replacements in ``moto.s3``):

- Lambda/SQS/SNS notification records encode "/" in keys and lack ``sequencer``,
  ``versionId``, ``userIdentity``, ``requestParameters`` and ``responseElements`` (our
  processor requires ``sequencer``):
  ``_get_s3_event`` is wrapped to add them;
- EventBridge "Object Created" events carry a constant ``sequencer``, ``eTag`` instead of
  ``etag``, ``reason: ObjectCreated`` instead of ``PutObject``, and go to the rules of every
  bus instead of the default bus only: ``_send_event_bridge_message`` is replaced;
- PutObject, CopyObject and CompleteMultipartUpload also send an "Object Tags Added" event
  (moto stores the new object's tags through ``put_object_tagging``); S3 sends none for tags
  given at creation, so ``send_event`` drops tagging events raised inside those calls;
- ``GetBucketNotificationConfiguration`` does not echo ``EventBridgeConfiguration`` back, so
  Terraform sees drift on every plan: the response gets it when the bucket has it.

Sequencers increase with every event (a hex string of the nanosecond clock), as S3's do
for one key.
"""

from __future__ import annotations

import copy
import functools
import itertools
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import quote_plus

import moto.s3.notifications as s3_notifications
from moto.core.responses import ActionResult
from moto.s3.models import S3Backend
from moto.s3.responses import S3Response

# S3 API operation behind each event name, as S3 reports it in "reason".
_REASONS = {
    "s3:ObjectCreated:Put": "PutObject",
    "s3:ObjectCreated:Post": "PostObject",
    "s3:ObjectCreated:Copy": "CopyObject",
    "s3:ObjectCreated:CompleteMultipartUpload": "CompleteMultipartUpload",
    "s3:ObjectRemoved:Delete": "DeleteObject",
    "s3:ObjectRemoved:DeleteMarkerCreated": "DeleteObject",
    "s3:LifecycleExpiration:Delete": "Lifecycle Expiration",
    "s3:LifecycleExpiration:DeleteMarkerCreated": "Lifecycle Expiration",
}
_DELETION_TYPES = {
    "s3:ObjectRemoved:Delete": "Permanently Deleted",
    "s3:ObjectRemoved:DeleteMarkerCreated": "Delete Marker Created",
}
_LOCAL_REQUESTER = "123456789012"
_LOCAL_IP = "127.0.0.1"
_counter = itertools.count()
# Set while a request creates an object: its tags are part of the creation, not an event.
_creating = threading.local()


def sequencer() -> str:
    """A new S3-style sequencer: hex, and larger than every earlier one from this process."""
    return f"{time.time_ns() + next(_counter):X}"


def _event_bridge_message(account_id: str, bucket: Any, event_name: str, key: Any) -> None:
    from moto.events.models import events_backends
    from moto.events.utils import _BASE_EVENT_MESSAGE

    event = copy.deepcopy(_BASE_EVENT_MESSAGE)
    event.update(
        {
            "id": str(uuid.uuid4()),
            "detail-type": s3_notifications._detail_type(event_name),
            "source": "aws.s3",
            "account": account_id,
            "time": time.time(),
            "region": bucket.region_name,
            "resources": [bucket.arn],
            "ingestion-time": time.time(),
        }
    )
    s3_object: dict[str, Any] = {"key": key.name, "size": key.size, "etag": key.etag.strip('"')}
    if key.version_id and key.version_id != "null":
        s3_object["version-id"] = key.version_id
    s3_object["sequencer"] = sequencer()
    detail: dict[str, Any] = {
        "version": "0",
        "bucket": {"name": bucket.name},
        "object": s3_object,
        "request-id": uuid.uuid4().hex[:16].upper(),
        "requester": _LOCAL_REQUESTER,
        "source-ip-address": _LOCAL_IP,
        "reason": _REASONS.get(event_name, event_name.split(":")[1]),
    }
    if event_name in _DELETION_TYPES:
        detail["deletion-type"] = _DELETION_TYPES[event_name]
    event["detail"] = detail
    try:
        bus = events_backends[account_id][bucket.region_name].event_buses.get("default")
    except KeyError:
        return
    if bus is None:
        return
    for rule in list(bus.rules.values()):
        try:
            rule.send_to_targets(event)
        except Exception as error:  # delivery is asynchronous in AWS; never fail the PUT
            print(f"localcloud: S3 event to rule {rule.name} failed: {error}")


def _while_creating(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _creating.active = True
        try:
            return method(*args, **kwargs)
        finally:
            _creating.active = False

    return wrapper


def install() -> None:
    """Apply the three replacements (once per process)."""
    if getattr(s3_notifications, "_localcloud_fidelity", False):
        return
    original_event = s3_notifications._get_s3_event

    def _get_s3_event(event_name: str, bucket: Any, key: Any, notification_id: str) -> Any:
        body = original_event(event_name, bucket, key, notification_id)
        for record in body["Records"]:
            record["userIdentity"] = {"principalId": _LOCAL_REQUESTER}
            record["requestParameters"] = {"sourceIPAddress": _LOCAL_IP}
            record["responseElements"] = {
                "x-amz-request-id": uuid.uuid4().hex[:16].upper(),
                "x-amz-id-2": uuid.uuid4().hex,
            }
            record["s3"]["bucket"]["ownerIdentity"] = {"principalId": _LOCAL_REQUESTER}
            s3_object = record["s3"]["object"]
            # S3 form-encodes the key but leaves "/" alone; moto encodes it too.
            s3_object["key"] = quote_plus(key.name, safe="/")
            if key.version_id and key.version_id != "null":
                s3_object["versionId"] = key.version_id
            s3_object["sequencer"] = sequencer()
        return body

    s3_notifications._get_s3_event = _get_s3_event
    original_send = s3_notifications.send_event

    def send_event(account_id: str, event_name: Any, bucket: Any, key: Any) -> None:
        tagging = event_name == s3_notifications.S3NotificationEvent.OBJECT_TAGGING_PUT_EVENT
        if tagging and getattr(_creating, "active", False):
            return
        original_send(account_id, event_name, bucket, key)

    s3_notifications.send_event = send_event
    for owner, name in (
        (S3Response, "put_object"),
        (S3Response, "copy_object"),
        (S3Backend, "complete_multipart_upload"),
    ):
        setattr(owner, name, _while_creating(getattr(owner, name)))
    s3_notifications._send_event_bridge_message = _event_bridge_message

    original_get = S3Response.get_bucket_notification

    def get_bucket_notification(self: S3Response) -> Any:
        config = self.backend.get_bucket_notification_configuration(self.bucket_name)
        if config is not None and config.event_bridge is not None:
            serialize = self.serialized

            def serialized(result: Any) -> Any:
                if isinstance(result, ActionResult) and isinstance(result.result, dict):
                    result.result["EventBridgeConfiguration"] = {}
                return serialize(result)

            self.serialized = serialized  # type: ignore[method-assign,assignment]
        return original_get(self)

    S3Response.get_bucket_notification = get_bucket_notification  # type: ignore[method-assign]
    s3_notifications._localcloud_fidelity = True  # type: ignore[attr-defined]

"""Build the S3 ObjectCreated notification S3 would send for an object that really exists.

moto stores objects and notification settings but cannot invoke Lambda without Docker,
so the local run reads the object's real metadata and shapes the event exactly as S3
does: the key URL-encoded (spaces as '+'), the ETag without quotes, the version id, and
a hexadecimal sequencer that grows with time.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus


def object_created_event(
    s3: Any, *, bucket: str, key: str, region: str, event_name: str = "ObjectCreated:Put"
) -> dict[str, Any]:
    """The notification for ``key`` as S3 delivers it to a Lambda function."""
    head = s3.head_object(Bucket=bucket, Key=key)
    obj: dict[str, Any] = {
        "key": quote_plus(key, safe="/"),
        "size": head["ContentLength"],
        "eTag": head["ETag"].strip('"'),
        "sequencer": f"{time.time_ns():016X}",
    }
    if head.get("VersionId"):
        obj["versionId"] = head["VersionId"]
    modified: datetime = head["LastModified"]
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": region,
                "eventTime": modified.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "eventName": event_name,
                "userIdentity": {"principalId": "AWS:LOCALRUN"},
                "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                "responseElements": {
                    "x-amz-request-id": head["ResponseMetadata"]["RequestId"],
                    "x-amz-id-2": head["ResponseMetadata"].get("HostId") or "local",
                },
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "ingest-trigger",
                    "bucket": {
                        "name": bucket,
                        "ownerIdentity": {"principalId": "LOCALRUN"},
                        "arn": f"arn:aws:s3:::{bucket}",
                    },
                    "object": obj,
                },
            }
        ]
    }

"""Conditional writes of record items to DynamoDB, and the object metadata a backfill reads."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_s3.client import S3Client

# The item already exists: this object version was recorded by an earlier delivery.
_ALREADY_RECORDED = "ConditionalCheckFailedException"


class RecordWriteError(RuntimeError):
    """DynamoDB failed a write even after botocore's retries; the event must be retried."""


@dataclass(frozen=True)
class ObjectHead:
    """What HeadObject says of an object's current version."""

    size: int
    etag: str | None
    version_id: str | None
    last_modified: datetime


class ObjectReadError(RuntimeError):
    """S3 failed a HeadObject even after botocore's retries; the batch must be retried."""


# HeadObject answers a missing object with a bare 404 (no error body to name it).
_OBJECT_GONE = ("404", "NoSuchKey", "NotFound")


class ObjectMetadataStore:
    """Reads the current version's metadata of a listed object (HeadObject)."""

    def __init__(self, client: S3Client) -> None:
        self._client = client

    def head(self, bucket: str, key: str) -> ObjectHead | None:
        try:
            response = self._client.head_object(Bucket=bucket, Key=key)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "Unknown")
            if code in _OBJECT_GONE:
                return None
            raise ObjectReadError(f"HeadObject failed with {code}") from error
        except BotoCoreError as error:
            raise ObjectReadError(f"HeadObject failed: {error}") from error
        return ObjectHead(
            size=response["ContentLength"],
            etag=response.get("ETag"),
            version_id=response.get("VersionId"),
            last_modified=response["LastModified"],
        )


class RecordStore:
    """Writes each record at most once, keyed on its table keys."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table_name = table_name
        self._serializer = TypeSerializer()

    def put_if_absent(self, item: Mapping[str, Any]) -> bool:
        """Write ``item`` unless its keys exist; return whether it was created."""
        try:
            self._client.put_item(
                TableName=self._table_name,
                Item={name: self._serializer.serialize(value) for name, value in item.items()},
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "Unknown")
            if code == _ALREADY_RECORDED:
                return False
            retries = error.response.get("ResponseMetadata", {}).get("RetryAttempts", 0)
            raise RecordWriteError(f"PutItem failed with {code} after {retries} retries") from error
        except BotoCoreError as error:
            raise RecordWriteError(f"PutItem failed: {error}") from error
        return True

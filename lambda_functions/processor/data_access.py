"""Conditional writes of record items to DynamoDB."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

# The item already exists: this object version was recorded by an earlier delivery.
_ALREADY_RECORDED = "ConditionalCheckFailedException"


class RecordWriteError(RuntimeError):
    """DynamoDB failed a write even after botocore's retries; the event must be retried."""


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

"""Read-only counts over the records table."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient


class RecordCounts:
    """Counts the items of one partition without reading them (Select=COUNT)."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table_name = table_name

    def count_partition(self, partition_key: str) -> int:
        # A query page stops at 1 MB of scanned items, so a busy day takes several pages.
        pages = self._client.get_paginator("query").paginate(
            TableName=self._table_name,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": partition_key}},
            Select="COUNT",
        )
        return sum(page["Count"] for page in pages)

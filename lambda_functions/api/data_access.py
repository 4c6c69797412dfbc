"""Reads and conditional writes against the records table.

A day is read as a k-way merge of its partitions (write shards and the unsharded key), hand
written because no library merges DynamoDB queries: each partition is queried for about its
share of the page, and refilled only when its buffered records run out before the page is
full, so a page reads little more than it returns. Records leave in (sort key, partition key)
order, which is the order a one-partition day always had; the page's last record is the
position the next page resumes from in every partition (after it where its partition key is
not greater, from it otherwise), so nothing is skipped or repeated between pages.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError
from pipeline_common.records import (
    INDEX_NAME,
    INDEX_PARTITION_KEY,
    INDEX_SORT_KEY,
    day_partitions,
    encode_record_id,
    prefix_upper_bound,
)

from .errors import RecordAlreadyExists, StoreUnavailable
from .logic import Continuation, ListQuery

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

# Errors that mean "try again later", raised only once botocore's own retries are spent.
_UNAVAILABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
    }
)


@dataclass
class _Partition:
    """One partition of a day being merged: its buffered records and where DynamoDB stopped."""

    slot: int
    pk: str
    buffer: deque[dict[str, Any]] = field(default_factory=deque)
    last_key: dict[str, Any] | None = None
    queried: bool = False

    @property
    def exhausted(self) -> bool:
        return self.queried and self.last_key is None


class RecordRepository:
    def __init__(self, client: DynamoDBClient, table_name: str, write_shards: int = 1) -> None:
        self._client = client
        self._table_name = table_name
        self._write_shards = write_shards
        self._serializer = TypeSerializer()
        self._deserializer = TypeDeserializer()

    def get(self, pk: str, sk: str) -> dict[str, Any] | None:
        with _unavailable_on_throttling():
            response = self._client.get_item(
                TableName=self._table_name, Key={"pk": {"S": pk}, "sk": {"S": sk}}
            )
        item = response.get("Item")
        return self._from_dynamodb(item) if item else None

    def page(self, query: ListQuery) -> tuple[list[dict[str, Any]], Continuation | None]:
        """One page of records and where the next starts; None when nothing is left."""
        if query.key is not None:
            return self._page_of_key(query)
        if query.day is not None:
            return self._page_of_day(query)
        return self._page_of_scan(query)

    def _page_of_key(self, query: ListQuery) -> tuple[list[dict[str, Any]], Continuation | None]:
        """Every record of one object key (GSI1), newest first; one day's with ``date``."""
        names = {"#gpk": INDEX_PARTITION_KEY}
        values: dict[str, Any] = {":gpk": {"S": query.index_key}}
        condition = "#gpk = :gpk"
        if query.index_sort_prefix:
            names["#gsk"] = INDEX_SORT_KEY
            values[":gsk"] = {"S": query.index_sort_prefix}
            condition += " AND begins_with(#gsk, :gsk)"
        request: dict[str, Any] = {
            "TableName": self._table_name,
            "IndexName": INDEX_NAME,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": False,
            "Limit": query.limit,
        }
        if query.start_key:
            request["ExclusiveStartKey"] = {
                name: {"S": value} for name, value in query.start_key.items()
            }
        with _unavailable_on_throttling():
            response = self._client.query(**request)
        items = [self._from_dynamodb(item) for item in response.get("Items", [])]
        last = response.get("LastEvaluatedKey")
        if not last:
            return items, None
        return items, Continuation({name: value["S"] for name, value in last.items()})

    def _page_of_day(self, query: ListQuery) -> tuple[list[dict[str, Any]], Continuation | None]:
        assert query.day is not None
        done = set(query.done_slots)
        partitions = [
            _Partition(slot, pk)
            for slot, pk in enumerate(day_partitions(query.day, self._write_shards))
            if slot not in done
        ]
        page: list[dict[str, Any]] = []
        while len(page) < query.limit:
            live = [part for part in partitions if not part.exhausted]
            for part in live:
                if not part.buffer:
                    # About this partition's share of what the page still needs, and one more
                    # so that the record resumed from never uses up a whole request.
                    wanted = math.ceil((query.limit - len(page)) / len(live)) + 1
                    self._fill(part, query, wanted)
            ready = [part for part in partitions if part.buffer]
            if not ready:
                if all(part.exhausted for part in partitions):
                    break
                continue
            first = min(ready, key=lambda part: (part.buffer[0]["sk"], part.pk))
            page.append(first.buffer.popleft())
        finished = {part.slot for part in partitions if part.exhausted and not part.buffer}
        if len(finished) == len(partitions):
            return page, None
        # The page is full (the loop only stops early once every partition is finished).
        last = page[-1]
        return page, Continuation(
            {"pk": last["pk"], "sk": last["sk"]}, tuple(sorted(done | finished))
        )

    def _fill(self, part: _Partition, query: ListQuery, limit: int) -> None:
        """Read the next records of one partition of a day into its buffer."""
        names = {"#pk": "pk", "#sk": "sk"}
        values: dict[str, Any] = {":pk": {"S": part.pk}}
        start = query.start_key
        if start is None:
            values[":sort_prefix"] = {"S": query.sort_prefix}
            condition = "#pk = :pk AND begins_with(#sk, :sort_prefix)"
        else:
            # The rest of the prefix's range from the last record returned, inclusive: a
            # partition whose key sorts after that record's may hold the same sort key.
            values[":from"] = {"S": start["sk"]}
            values[":to"] = {"S": prefix_upper_bound(query.sort_prefix)}
            condition = "#pk = :pk AND #sk BETWEEN :from AND :to"
        request: dict[str, Any] = {
            "TableName": self._table_name,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "Limit": limit,
        }
        if query.prefix:
            # Exact even where the sort key holds a cut key or the prefix runs into "#<bucket>".
            names["#object_key"] = "object_key"
            values[":key_prefix"] = {"S": query.prefix}
            request["FilterExpression"] = "begins_with(#object_key, :key_prefix)"
        if part.last_key is not None:
            request["ExclusiveStartKey"] = part.last_key
        with _unavailable_on_throttling():
            response = self._client.query(**request)
        part.queried = True
        part.last_key = response.get("LastEvaluatedKey")
        for raw in response.get("Items", []):
            item = self._from_dynamodb(raw)
            if start is not None and (item["sk"], part.pk) <= (start["sk"], start["pk"]):
                continue  # returned by an earlier page
            part.buffer.append(item)

    def _page_of_scan(self, query: ListQuery) -> tuple[list[dict[str, Any]], Continuation | None]:
        names = {"#sk": "sk"}
        values: dict[str, Any] = {":sort_prefix": {"S": query.sort_prefix}}
        filters = []
        if query.prefix:
            # Exact even where the sort key holds a cut key or the prefix runs into "#<bucket>".
            names["#object_key"] = "object_key"
            values[":key_prefix"] = {"S": query.prefix}
            filters.append("begins_with(#object_key, :key_prefix)")
        request: dict[str, Any] = {
            "TableName": self._table_name,
            "Limit": query.limit,
            "ExpressionAttributeNames": names,
        }
        if query.start_key:
            request["ExclusiveStartKey"] = {
                name: {"S": value} for name, value in query.start_key.items()
            }
        filters.insert(0, "begins_with(#sk, :sort_prefix)")
        request["FilterExpression"] = " AND ".join(filters)
        request["ExpressionAttributeValues"] = values
        with _unavailable_on_throttling():
            response = self._client.scan(**request)
        items = [self._from_dynamodb(item) for item in response.get("Items", [])]
        last = response.get("LastEvaluatedKey")
        if not last:
            return items, None
        return items, Continuation({"pk": last["pk"]["S"], "sk": last["sk"]["S"]})

    def create(self, item: Mapping[str, Any]) -> None:
        """Write a new record; RecordAlreadyExists if its keys are taken."""
        try:
            with _unavailable_on_throttling():
                self._client.put_item(
                    TableName=self._table_name,
                    Item={name: self._serializer.serialize(value) for name, value in item.items()},
                    ConditionExpression="attribute_not_exists(pk)",
                )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise RecordAlreadyExists(encode_record_id(item["pk"], item["sk"])) from None
            raise

    def _from_dynamodb(self, item: Mapping[str, Any]) -> dict[str, Any]:
        return {name: self._deserializer.deserialize(value) for name, value in item.items()}


@contextmanager
def _unavailable_on_throttling() -> Iterator[None]:
    """Turn throttling or a service error that outlived botocore's retries into a 503."""
    try:
        yield
    except ClientError as error:
        if error.response.get("Error", {}).get("Code", "") in _UNAVAILABLE_CODES:
            raise StoreUnavailable(
                "the records table is busy; retry with backoff in a few seconds"
            ) from error
        raise

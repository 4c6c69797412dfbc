"""Reads and conditional writes against the records table."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError
from pipeline_common.records import encode_record_id

from .errors import RecordAlreadyExists, StoreUnavailable
from .logic import ListQuery

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


class RecordRepository:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table_name = table_name
        self._serializer = TypeSerializer()
        self._deserializer = TypeDeserializer()

    def get(self, pk: str, sk: str) -> dict[str, Any] | None:
        with _unavailable_on_throttling():
            response = self._client.get_item(
                TableName=self._table_name, Key={"pk": {"S": pk}, "sk": {"S": sk}}
            )
        item = response.get("Item")
        return self._from_dynamodb(item) if item else None

    def page(self, query: ListQuery) -> tuple[list[dict[str, Any]], dict[str, str] | None]:
        """One page of records and the key to continue from, if DynamoDB stopped early."""
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
        with _unavailable_on_throttling():
            if query.partition:
                names["#pk"] = "pk"
                values[":pk"] = {"S": query.partition}
                request["KeyConditionExpression"] = "#pk = :pk AND begins_with(#sk, :sort_prefix)"
                if filters:
                    request["FilterExpression"] = " AND ".join(filters)
                request["ExpressionAttributeValues"] = values
                response = self._client.query(**request)
            else:
                filters.insert(0, "begins_with(#sk, :sort_prefix)")
                request["FilterExpression"] = " AND ".join(filters)
                request["ExpressionAttributeValues"] = values
                response = self._client.scan(**request)
        items = [self._from_dynamodb(item) for item in response.get("Items", [])]
        last = response.get("LastEvaluatedKey")
        next_key = {"pk": last["pk"]["S"], "sk": last["sk"]["S"]} if last else None
        return items, next_key

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

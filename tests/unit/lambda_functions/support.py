"""Constants and helpers shared by the handler tests."""

from __future__ import annotations

import importlib
import io
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[3]
EVENTS_DIR = PROJECT_ROOT / "tests" / "events"
TABLE_NAME = "pipeline-test-records"
REQUEST_LOG_TABLE = "pipeline-test-request-log"
REQUEST_LOG_TTL_DAYS = 90
TOPIC_NAME = "pipeline-test-notifications"
REGION = "us-west-2"
ACCOUNT_ID = "123456789012"
ALLOWED_ORIGIN = "https://console.example.com"
MAX_PAGE_SIZE = 50
MAX_OBJECT_BYTES = 100 * 1024 * 1024
WRITE_SHARDS = 4
HANDLER_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "TABLE_NAME": TABLE_NAME,
    "RECORD_TTL_DAYS": "30",
    "REQUEST_LOG_TABLE": REQUEST_LOG_TABLE,
    "REQUEST_LOG_TTL_DAYS": str(REQUEST_LOG_TTL_DAYS),
    # Handlers run sharded: every test writes and reads the sharded layout.
    "RECORD_WRITE_SHARDS": str(WRITE_SHARDS),
    "CORS_ALLOWED_ORIGINS": f"{ALLOWED_ORIGIN},https://admin.example.com",
    "MAX_PAGE_SIZE": str(MAX_PAGE_SIZE),
    "MAX_OBJECT_BYTES": str(MAX_OBJECT_BYTES),
    "TOPIC_ARN": f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:{TOPIC_NAME}",
    "POWERTOOLS_SERVICE_NAME": "pipeline-test",
    "POWERTOOLS_METRICS_NAMESPACE": "PipelineTest",
    "POWERTOOLS_LOG_LEVEL": "INFO",
    "POWERTOOLS_TRACE_DISABLED": "true",
}
NEVER_INHERITED = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_REGION")


def load_event(name: str) -> dict[str, Any]:
    """A fresh copy of tests/events/<name>.json."""
    event: dict[str, Any] = json.loads((EVENTS_DIR / f"{name}.json").read_text())
    return event


def import_handler(function: str) -> ModuleType:
    return importlib.import_module(f"lambda_functions.{function}.handler")


def create_records_table(client: Any) -> None:
    client.create_table(
        TableName=TABLE_NAME,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": name, "AttributeType": "S"}
            for name in ("pk", "sk", "gsi1pk", "gsi1sk")
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "GSI1",
                "KeySchema": [
                    {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                    {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )


def create_request_log_table(client: Any) -> None:
    """The request log as RequestLogTable creates it (pipeline_common.request_log's keys)."""
    from pipeline_common.request_log import REQUEST_ID, TIMESTAMP

    client.create_table(
        TableName=REQUEST_LOG_TABLE,
        KeySchema=[
            {"AttributeName": REQUEST_ID, "KeyType": "HASH"},
            {"AttributeName": TIMESTAMP, "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": REQUEST_ID, "AttributeType": "S"},
            {"AttributeName": TIMESTAMP, "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )


def request_log_rows(client: Any) -> list[dict[str, Any]]:
    """Every request log row, as plain values."""
    from boto3.dynamodb.types import TypeDeserializer

    deserialize = TypeDeserializer().deserialize
    items = client.scan(TableName=REQUEST_LOG_TABLE)["Items"]
    return [{name: deserialize(value) for name, value in item.items()} for item in items]


def table_items(client: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = client.scan(TableName=TABLE_NAME)["Items"]
    return items


@dataclass
class FakeLambdaContext:
    function_name: str = "pipeline-test-function"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = (
        f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:pipeline-test-function"
    )
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/pipeline-test-function"
    log_stream_name: str = "2024/05/01/[$LATEST]0123456789abcdef"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


class LogCapture:
    """The JSON lines a Powertools Logger wrote while active."""

    def __init__(self) -> None:
        self.stream = io.StringIO()

    @property
    def entries(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines() if line]

    def messages(self) -> list[str]:
        return [entry["message"] for entry in self.entries]


def api_event(
    version: str,
    method: str,
    path: str,
    *,
    query: dict[str, str] | None = None,
    body: str | None = None,
    headers: dict[str, str] | None = None,
    base64_encoded: bool = False,
    stage: str | None = None,
) -> dict[str, Any]:
    """A REST (``v1``) or HTTP API (``v2``) proxy event built on the sample events."""
    request_id = str(uuid.uuid4())
    all_headers = {"origin": ALLOWED_ORIGIN, "content-type": "application/json"}
    all_headers.update(headers or {})
    if version == "v1":
        event = load_event("api-get-v1")
        event.update(
            path=path,
            resource=path,
            httpMethod=method,
            headers=all_headers,
            multiValueHeaders={name: [value] for name, value in all_headers.items()},
            queryStringParameters=query,
            multiValueQueryStringParameters=(
                {name: [value] for name, value in query.items()} if query else None
            ),
            body=body,
            isBase64Encoded=base64_encoded,
        )
        event["requestContext"].update(httpMethod=method, requestId=request_id)
        return event
    event = load_event("api-get-v2")
    stage = stage or "$default"
    raw_path = path if stage == "$default" else f"/{stage}{path}"
    event.update(
        routeKey="$default",
        rawPath=raw_path,
        rawQueryString="&".join(f"{name}={value}" for name, value in (query or {}).items()),
        headers=all_headers,
        isBase64Encoded=base64_encoded,
    )
    if query:
        event["queryStringParameters"] = query
    else:
        event.pop("queryStringParameters", None)
    if body is not None:
        event["body"] = body
    event["requestContext"]["http"].update(method=method, path=raw_path)
    event["requestContext"].update(requestId=request_id, routeKey="$default", stage=stage)
    return event


def response_json(response: dict[str, Any]) -> Any:
    return json.loads(response["body"]) if response.get("body") else None


def response_headers(response: dict[str, Any]) -> dict[str, str]:
    """Headers of a v1 (multiValueHeaders) or v2 (headers) proxy response, one value each."""
    if "multiValueHeaders" in response:
        return {name: ",".join(values) for name, values in response["multiValueHeaders"].items()}
    headers: dict[str, str] = response.get("headers") or {}
    return headers

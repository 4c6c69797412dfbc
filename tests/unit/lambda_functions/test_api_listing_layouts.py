"""GET /records over the sharded layout: a day merged across shards, both layouts, GSI1.

The API under test runs with WRITE_SHARDS shards (support.HANDLER_ENVIRONMENT); records are
seeded the way the processor writes them, in the sharded layout or the unsharded one that
records written before sharding have.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

import pytest
from boto3.dynamodb.types import TypeSerializer
from pipeline_common.records import ObjectVersion, encode_record_id, to_item

from .support import (
    TABLE_NAME,
    WRITE_SHARDS,
    FakeLambdaContext,
    api_event,
    import_handler,
    response_json,
)

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")

DAY = "2024-05-01"
BUCKET = "evpipe-dev-ingest-us-west-2"


@pytest.fixture(scope="module")
def api(handler_env: None) -> ModuleType:
    return import_handler("api")


@pytest.fixture
def call(api: ModuleType, aws: None) -> Any:
    def _call(query: dict[str, str]) -> dict[str, Any]:
        event = api_event("v1", "GET", "/records", query=query)
        response: dict[str, Any] = api.lambda_handler(event, FakeLambdaContext())
        return response

    return _call


def seed(
    dynamodb: Any,
    *,
    key: str,
    day: str = DAY,
    shards: int = WRITE_SHARDS,
    sequencer: str = "00A1",
    hour: int = 10,
    index: bool = True,
) -> str:
    """Store a record as the processor does (``shards=1``: as before sharding); its id."""
    version = ObjectVersion(
        bucket=BUCKET,
        key=key,
        size=1,
        etag="etag",
        event_name="ObjectCreated:Put",
        event_time=datetime.fromisoformat(f"{day}T{hour:02d}:00:00+00:00"),
        source="s3",
        sequencer=sequencer,
        write_shards=shards,
    )
    item = to_item(version, recorded_at=datetime.now(UTC), ttl_days=0)
    if not index:  # records written before GSI1 existed carry no index keys
        item.pop("gsi1pk")
        item.pop("gsi1sk")
    serializer = TypeSerializer()
    dynamodb.put_item(
        TableName=TABLE_NAME, Item={name: serializer.serialize(v) for name, v in item.items()}
    )
    return version.record_id


def list_pages(call: Any, query: dict[str, str]) -> list[list[dict[str, Any]]]:
    """Every page of a listing, following next_token."""
    pages: list[list[dict[str, Any]]] = []
    token = None
    for _ in range(200):
        response = call(dict(query, **({"next_token": token} if token else {})))
        assert response["statusCode"] == 200, response["body"]
        body = response_json(response)
        assert body["count"] == len(body["items"])
        pages.append(body["items"])
        token = body["next_token"]
        if token is None:
            return pages
    raise AssertionError("pagination did not end")


def stored_ids(dynamodb: Any, day: str) -> set[str]:
    """What the table holds for ``day``, in either layout."""
    items = dynamodb.scan(TableName=TABLE_NAME)["Items"]
    return {
        encode_record_id(item["pk"]["S"], item["sk"]["S"])
        for item in items
        if item["pk"]["S"].startswith(f"DATE#{day}")
    }


def test_a_sharded_day_lists_every_record_once_in_key_order(call: Any, dynamodb: Any) -> None:
    # Given 23 records of one day spread over the shards, 6 from before sharding, and another day
    for n in range(23):
        seed(dynamodb, key=f"incoming/{n:02d}.csv")
    for n in range(6):
        seed(dynamodb, key=f"incoming/{n:02d}-old.csv", shards=1)
    seed(dynamodb, key="incoming/other-day.csv", day="2024-05-02")
    assert len({item["pk"]["S"] for item in dynamodb.scan(TableName=TABLE_NAME)["Items"]}) > 3

    # When the day is listed 4 at a time
    pages = list_pages(call, {"date": DAY, "limit": "4"})

    # Then every record the table holds for the day comes back exactly once, pages full but
    # the last, in object-key order as a one-key day always was
    listed = [record for page in pages for record in page]
    assert [record["id"] for record in listed].count(listed[0]["id"]) == 1
    assert {record["id"] for record in listed} == stored_ids(dynamodb, DAY)
    assert len(listed) == 29
    assert all(len(page) == 4 for page in pages[:-1])
    keys = [record["key"] for record in listed]
    assert keys == sorted(keys)


def test_a_prefix_narrows_every_shard(call: Any, dynamodb: Any) -> None:
    # Given records under two prefixes in both layouts
    for n in range(9):
        seed(dynamodb, key=f"a/{n}.csv")
        seed(dynamodb, key=f"b/{n}.csv")
    seed(dynamodb, key="a/old.csv", shards=1)

    # When the day is listed with prefix a/, two at a time
    pages = list_pages(call, {"date": DAY, "prefix": "a/", "limit": "2"})

    # Then exactly the ten a/ records come back
    keys = [record["key"] for page in pages for record in page]
    assert sorted(keys) == sorted([f"a/{n}.csv" for n in range(9)] + ["a/old.csv"])


def test_one_version_under_both_layouts_is_listed_twice_never_skipped(
    call: Any, dynamodb: Any
) -> None:
    # Given one object version recorded before sharding and again after (a redelivery across
    # the change): the same sort key under two partition keys
    old = seed(dynamodb, key="incoming/same.csv", shards=1)
    new = seed(dynamodb, key="incoming/same.csv")
    seed(dynamodb, key="incoming/z-after.csv")

    # When the day is listed one record per page (the page boundary falls inside the tie)
    pages = list_pages(call, {"date": DAY, "limit": "1"})

    # Then both records and the next one come back, each once
    ids = [record["id"] for page in pages for record in page]
    assert ids[:2] == [old, new]
    assert len(ids) == 3


def test_records_from_before_sharding_keep_their_ids(
    api: ModuleType, aws: None, dynamodb: Any
) -> None:
    # Given a record in the unsharded layout
    record_id = seed(dynamodb, key="incoming/legacy.csv", shards=1)
    # When it is read by id through the sharded API
    response = api.lambda_handler(
        api_event("v1", "GET", f"/records/{record_id}"), FakeLambdaContext()
    )
    # Then it is found
    assert response["statusCode"] == 200
    assert response_json(response)["key"] == "incoming/legacy.csv"


def test_a_token_issued_before_sharding_continues_its_day(call: Any, dynamodb: Any) -> None:
    # Given three unsharded records and the token the API issued for the first before
    # sharding: DynamoDB's last evaluated key of the day's only partition
    first = seed(dynamodb, key="incoming/1.csv", shards=1)
    seed(dynamodb, key="incoming/2.csv", shards=1)
    seed(dynamodb, key="incoming/3.csv", shards=1)
    pk, sk = json.loads(base64.urlsafe_b64decode(first + "=" * (-len(first) % 4)))
    old_page = call({"date": DAY, "limit": "1"})
    payload = json.loads(base64.urlsafe_b64decode(response_json(old_page)["next_token"] + "=="))
    legacy = {"v": 1, "q": payload["q"], "k": {"pk": pk, "sk": sk}}
    token = base64.urlsafe_b64encode(json.dumps(legacy).encode()).decode().rstrip("=")

    # When it is sent to the sharded API
    response = call({"date": DAY, "limit": "5", "next_token": token})

    # Then the listing continues after that record
    assert response["statusCode"] == 200
    keys = [record["key"] for record in response_json(response)["items"]]
    assert keys == ["incoming/2.csv", "incoming/3.csv"]


def test_a_key_lists_its_records_across_days_from_the_index(
    api: ModuleType, call: Any, dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given one key recorded on three days (versions), other keys, and no Scan allowed
    for day in ("2024-05-01", "2024-05-03", "2024-05-02"):
        seed(dynamodb, key="incoming/report.csv", day=day, sequencer=f"S{day}")
    seed(dynamodb, key="incoming/report.csv.bak", day="2024-05-02")
    seed(dynamodb, key="incoming/other.csv", day="2024-05-02")

    def no_scan(**_: Any) -> None:
        raise AssertionError("a key listing must not Scan")

    monkeypatch.setattr(api.REPOSITORY._client, "scan", no_scan)

    # When the key is listed one record per page
    pages = list_pages(call, {"key": "incoming/report.csv", "limit": "1"})

    # Then its three records come back, newest event first, and nothing else
    listed = [record for page in pages for record in page]
    assert [record["event_time"][:10] for record in listed] == [
        "2024-05-03",
        "2024-05-02",
        "2024-05-01",
    ]
    assert {record["key"] for record in listed} == {"incoming/report.csv"}

    # And with a date, only that day's
    one_day = list_pages(call, {"key": "incoming/report.csv", "date": "2024-05-02"})
    assert [record["event_time"][:10] for page in one_day for record in page] == ["2024-05-02"]


def test_a_day_listing_never_scans(
    api: ModuleType, call: Any, dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given records of a day and a client that refuses Scan
    seed(dynamodb, key="incoming/x.csv")

    def no_scan(**_: Any) -> None:
        raise AssertionError("a day listing must not Scan")

    monkeypatch.setattr(api.REPOSITORY._client, "scan", no_scan)
    # When the day is listed / Then it answers from Queries
    assert call({"date": DAY})["statusCode"] == 200


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"key": "a", "prefix": "a"}, "key and prefix cannot be combined"),
        ({"key": ""}, "key must be an object key of 1 to 1024 bytes"),
        ({"key": "k" * 1025}, "key must be an object key of 1 to 1024 bytes"),
    ],
)
def test_bad_key_queries_are_400(call: Any, query: dict[str, str], message: str) -> None:
    # When the key parameter is misused / Then 400 says how
    response = call(query)
    assert response["statusCode"] == 400
    assert message in response_json(response)["message"]


def test_a_key_token_is_refused_for_another_key(call: Any, dynamodb: Any) -> None:
    # Given a token from one key's listing
    seed(dynamodb, key="k1", sequencer="1")
    seed(dynamodb, key="k1", sequencer="2")
    token = response_json(call({"key": "k1", "limit": "1"}))["next_token"]
    assert token
    # When it is sent with another key / Then 400 names the mismatch
    response = call({"key": "k2", "next_token": token})
    assert response["statusCode"] == 400
    assert "different date, prefix or key" in response_json(response)["message"]


def test_a_day_token_with_forged_finished_partitions_is_refused(call: Any, dynamodb: Any) -> None:
    # Given a day token whose list of finished partitions was tampered with
    for n in range(3):
        seed(dynamodb, key=f"incoming/{n}.csv")
    token = response_json(call({"date": DAY, "limit": "1"}))["next_token"]
    payload = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    payload["d"] = ["0", 999]
    forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    # When it is used / Then 400, not a DynamoDB error
    response = call({"date": DAY, "next_token": forged})
    assert response["statusCode"] == 400
    assert "not a token this API issued" in response_json(response)["message"]

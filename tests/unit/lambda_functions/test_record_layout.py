"""The records table's key layout: write shards per day, the unsharded key, GSI1 keys."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from typing import Any

import pytest
from pipeline_common.records import (
    MAX_WRITE_SHARDS,
    ObjectVersion,
    day_partitions,
    decode_record_id,
    partition_day,
    partition_key,
    prefix_upper_bound,
    to_item,
    write_shard,
)

DAY = date(2024, 5, 1)


def _version(key: str = "incoming/a.csv", *, shards: int = 1, **overrides: Any) -> ObjectVersion:
    fields: dict[str, Any] = {
        "bucket": "evpipe-dev-ingest-us-west-2",
        "key": key,
        "size": 1,
        "etag": "etag",
        "event_name": "ObjectCreated:Put",
        "event_time": datetime(2024, 5, 1, 12, 30, 45, 123000, tzinfo=UTC),
        "source": "s3",
        "sequencer": "00A1",
        "write_shards": shards,
    }
    fields.update(overrides)
    return ObjectVersion(**fields)


def test_one_shard_is_the_unsharded_layout_records_always_had() -> None:
    # Given a day with one write shard / When an object version is keyed
    version = _version(shards=1)
    # Then its partition key is DATE#<day>, the only partition of the day
    assert version.partition_key == "DATE#2024-05-01"
    assert day_partitions(DAY, 1) == ("DATE#2024-05-01",)


def test_a_sharded_key_is_the_same_for_every_delivery_of_one_version() -> None:
    # Given 16 shards / When the same object version is keyed twice (a redelivery)
    first = _version(shards=16)
    again = _version(shards=16)
    # Then both land on the same item, under DATE#<day>#<two digits>
    assert (first.partition_key, first.sort_key) == (again.partition_key, again.sort_key)
    assert first.partition_key.startswith("DATE#2024-05-01#")
    assert len(first.partition_key) == len("DATE#2024-05-01#00")
    # And another version of the same key may go to another shard (the identity counts)
    shards = {_version(shards=16, sequencer=f"00A{n}").partition_key for n in range(40)}
    assert len(shards) > 1


def test_shards_spread_object_versions_evenly() -> None:
    # Given 4,000 objects over 4 shards
    counts = Counter(
        write_shard(bucket="b", key=f"incoming/{n}.csv", identity="S#1", shards=4)
        for n in range(4000)
    )
    # Then every shard gets its share, give or take hashing noise
    assert set(counts) == {0, 1, 2, 3}
    assert all(800 <= count <= 1200 for count in counts.values()), counts


def test_a_sharded_day_is_read_with_its_unsharded_key_first() -> None:
    # Given 4 shards / Then a day is its unsharded key (older records) and four sharded keys
    assert day_partitions(DAY, 4) == (
        "DATE#2024-05-01",
        "DATE#2024-05-01#00",
        "DATE#2024-05-01#01",
        "DATE#2024-05-01#02",
        "DATE#2024-05-01#03",
    )
    # And each names the day back
    assert {partition_day(pk) for pk in day_partitions(DAY, 4)} == {DAY}


@pytest.mark.parametrize("shards", [0, -1, MAX_WRITE_SHARDS + 1, True, 2.0, "2"])
def test_a_bad_shard_count_is_refused_naming_it(shards: Any) -> None:
    # When a version or a day is keyed with a shard count out of bounds / Then ValueError
    with pytest.raises(ValueError, match=r"^write_shards must be"):
        _version(shards=shards)
    with pytest.raises(ValueError, match=r"^write_shards must be"):
        day_partitions(DAY, shards)


def test_a_shard_number_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="shard must be from 0 to 39, got 40"):
        partition_key(DAY, MAX_WRITE_SHARDS)


def test_record_ids_of_both_layouts_decode() -> None:
    # Given a record written before sharding and one written with 8 shards
    old, new = _version(shards=1), _version(shards=8)
    # Then both ids decode to their own keys
    assert decode_record_id(old.record_id) == ("DATE#2024-05-01", old.sort_key)
    assert decode_record_id(new.record_id) == (new.partition_key, new.sort_key)
    assert old.sort_key == new.sort_key
    assert old.record_id != new.record_id


def test_items_carry_gsi1_keys_of_their_object_key_and_event_time() -> None:
    # When a version becomes an item
    item = to_item(_version(shards=4), recorded_at=datetime.now(UTC), ttl_days=0)
    # Then GSI1 groups it by object key and orders it by event time
    assert item["gsi1pk"] == "KEY#incoming/a.csv"
    assert item["gsi1sk"] == "2024-05-01T12:30:45.123Z#evpipe-dev-ingest-us-west-2#S#00A1"


def test_a_long_index_sort_key_is_cut_to_dynamodb_s_limit() -> None:
    # Given a version id near S3's limit
    item = to_item(_version(version_id="v" * 1024), recorded_at=datetime.now(UTC), ttl_days=0)
    # Then the index sort key fits 1,024 bytes and still starts with the event time
    assert len(item["gsi1sk"].encode("utf-8")) == 1024
    assert item["gsi1sk"].startswith("2024-05-01T12:30:45.123Z#")


@pytest.mark.parametrize(
    ("prefix", "bound"),
    [
        ("OBJECT#", "OBJECT$"),
        ("OBJECT#a", "OBJECT#b"),
        ("OBJECT#\U0010ffff", "OBJECT$"),
        ("OBJECT#\ud7ff", "OBJECT#\ue000"),
    ],
)
def test_the_upper_bound_of_a_prefix_is_above_every_string_with_it(prefix: str, bound: str) -> None:
    # When the bound is computed / Then it is the expected string, above prefix + anything
    assert prefix_upper_bound(prefix) == bound
    for rest in ("", "x", "\U0010ffff" * 3):
        assert (prefix + rest).encode("utf-8") < bound.encode("utf-8")

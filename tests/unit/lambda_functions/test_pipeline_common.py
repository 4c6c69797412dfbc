"""The shared item layout: record ids and sort keys within DynamoDB's limits."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pipeline_common.records import (
    MAX_SORT_KEY_BYTES,
    InvalidRecordId,
    ObjectVersion,
    decode_record_id,
    encode_record_id,
    sort_key,
    sort_key_prefix,
)

from .support import HANDLER_ENVIRONMENT, PROJECT_ROOT

# S3 keys: up to 1,024 bytes of valid UTF-8 (no lone surrogates).
s3_keys = st.text(st.characters(codec="utf-8"), min_size=1, max_size=1024).filter(
    lambda key: len(key.encode()) <= 1024
)
identities = st.one_of(
    st.from_regex(r"V#[A-Za-z0-9._]{1,64}", fullmatch=True),
    st.from_regex(r"S#[0-9A-F]{16,20}", fullmatch=True),
)


@settings(max_examples=200, deadline=None)
@given(key=s3_keys, identity=identities, cut=st.integers(min_value=1, max_value=1024))
def test_sort_keys_fit_dynamodb_and_keep_every_key_prefix_queryable(
    key: str, identity: str, cut: int
) -> None:
    # Given any S3 key, version identity and prefix of that key
    prefix = key[:cut]

    # When its sort key is built
    value = sort_key(bucket="evpipe-dev-ingest-us-west-2", key=key, identity=identity)

    # Then it fits DynamoDB's limit and begins with the query operand for the prefix
    assert len(value.encode()) <= MAX_SORT_KEY_BYTES
    assert value.startswith(sort_key_prefix(prefix))


@settings(max_examples=100, deadline=None)
@given(key=s3_keys, other=s3_keys, identity=identities)
def test_different_keys_never_share_a_sort_key(key: str, other: str, identity: str) -> None:
    if key == other:
        return
    bucket = "evpipe-dev-ingest-us-west-2"
    assert sort_key(bucket=bucket, key=key, identity=identity) != sort_key(
        bucket=bucket, key=other, identity=identity
    )


def test_long_keys_differing_only_at_the_end_get_distinct_sort_keys() -> None:
    # Given two maximal keys differing in their last byte, whose sort keys must be cut
    first, second = ("k" * 1023 + "a"), ("k" * 1023 + "b")

    # When their sort keys are built, Then both are cut to the limit and still differ
    keys = {sort_key(bucket="b-1", key=key, identity="S#01") for key in (first, second)}
    assert len(keys) == 2
    assert all(len(value.encode()) == MAX_SORT_KEY_BYTES for value in keys)


def test_record_ids_round_trip_and_are_url_safe() -> None:
    version = ObjectVersion(
        bucket="b-1",
        key="dir/naïve file #1.txt",
        size=1,
        etag="e",
        event_name="ObjectCreated:Put",
        event_time=datetime(2024, 5, 1, 23, 59, tzinfo=UTC),
        source="s3",
        sequencer="00FF",
    )
    record_id = version.record_id
    assert record_id.replace("-", "").replace("_", "").isalnum()
    assert decode_record_id(record_id) == (version.partition_key, version.sort_key)
    assert version.partition_key == "DATE#2024-05-01"


@pytest.mark.parametrize(
    "record_id",
    [
        "",
        "!!!",
        "A" * 3000,
        encode_record_id("DATE#2024-05-01", "NOT-OBJECT#x"),
        encode_record_id("2024-05-01", "OBJECT#x"),
        encode_record_id("DATE#2024-05-01", "OBJECT#" + "x" * 1100),
        "WyJEQVRFIzIwMjQtMDUtMDEiLCJPQkpFQ1QjXHVkODAwIl0",  # ["DATE#2024-05-01","OBJECT#\ud800"]
        "bnVsbA",  # null
    ],
)
def test_decoding_rejects_anything_we_did_not_issue(record_id: str) -> None:
    with pytest.raises(InvalidRecordId):
        decode_record_id(record_id)


def test_version_id_null_is_not_an_identity() -> None:
    common: dict[str, Any] = {
        "bucket": "b-1",
        "key": "k",
        "size": 1,
        "etag": "e",
        "event_name": "ObjectCreated:Put",
        "event_time": datetime(2024, 5, 1, tzinfo=UTC),
        "source": "s3",
    }
    assert ObjectVersion(**common, version_id="null", sequencer="0A").identity == "S#0A"
    assert ObjectVersion(**common, version_id="v1", sequencer="0A").identity == "V#v1"
    assert ObjectVersion(**common).identity == "E#e"


def test_shared_package_lives_where_the_layer_build_copies_it_from() -> None:
    import pipeline_common

    assert pipeline_common.__file__ is not None
    assert (PROJECT_ROOT / "lambda_functions" / "common" / "pipeline_common").samefile(
        Path(pipeline_common.__file__).parent
    )


@pytest.mark.parametrize(
    ("environ", "disabled"),
    [
        ({}, True),  # outside Lambda: no X-Ray daemon to send to
        ({"LAMBDA_TASK_ROOT": "/var/task"}, False),
        ({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "true"}, True),
        ({"LAMBDA_TASK_ROOT": "/var/task", "AWS_SAM_LOCAL": "true"}, True),
    ],
)
def test_tracing_is_off_exactly_where_powertools_turns_it_off(
    environ: dict[str, str], disabled: bool
) -> None:
    from aws_lambda_powertools import Tracer
    from pipeline_common.observability import tracing_disabled

    assert tracing_disabled(environ) is disabled
    with pytest.MonkeyPatch.context() as patch:
        for name in ("LAMBDA_TASK_ROOT", "POWERTOOLS_TRACE_DISABLED", "AWS_SAM_LOCAL"):
            patch.delenv(name, raising=False)
        for name, value in environ.items():
            patch.setenv(name, value)
        assert bool(Tracer._is_tracer_disabled()) is disabled


def test_handlers_import_without_the_xray_sdk_when_tracing_is_off() -> None:
    # Given a fresh interpreter outside Lambda
    code = (
        "import sys; import processor.handler, api.handler; "
        "print('aws_xray_sdk.core' in sys.modules)"
    )
    env = {
        **HANDLER_ENVIRONMENT,
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": os.pathsep.join(
            [str(PROJECT_ROOT / "lambda_functions"), str(PROJECT_ROOT / "lambda_functions/common")]
        ),
    }

    # When both handlers are imported, Then the X-Ray SDK was never loaded
    completed = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert completed.stdout.strip() == "False", completed.stderr

"""Property tests: no request, however malformed, gets a 5xx or sees our internals."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from decimal import Decimal
from types import ModuleType
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from .support import (
    ALLOWED_ORIGIN,
    REGION,
    FakeLambdaContext,
    api_event,
    create_records_table,
    import_handler,
    response_json,
)

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")

# Text that would reveal a stack trace, a file or an AWS error in a response.
LEAK_MARKERS = ("Traceback", 'File "', ".py", "botocore", "ClientError", "Exception")
PROPERTY_SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Any unicode, including lone surrogates that a JSON "\ud800" escape can produce.
any_text = st.text(st.characters(codec=None, categories=None), max_size=60)
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**45), max_value=10**45),
    st.floats(allow_nan=True, allow_infinity=True),
    any_text,
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(any_text, children, max_size=4)
    ),
    max_leaves=12,
)
valid_text = st.text(st.characters(codec="utf-8"), min_size=1, max_size=60)
attribute_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**36, max_value=10**40),  # around DynamoDB's 38 digits
    st.floats(),  # every float, including NaN, infinities, 1e308 and subnormals
    any_text,
)
attribute_maps = st.dictionaries(
    st.from_regex(r"[A-Za-z0-9_.-]{1,64}", fullmatch=True), attribute_values, max_size=6
)
valid_bodies = st.fixed_dictionaries(
    {
        "bucket": st.sampled_from(["evpipe-dev-ingest-us-west-2", "a.b-c"]),
        "key": valid_text,
        "size": st.integers(min_value=0, max_value=2**53 - 1),
    },
    optional={
        "etag": valid_text,
        "version_id": st.one_of(st.none(), valid_text),
        "attributes": attribute_maps,
    },
)
near_valid_bodies = st.fixed_dictionaries(
    {
        "bucket": st.one_of(st.just("evpipe-dev-ingest-us-west-2"), st.just("a.b-c"), any_text),
        "key": st.one_of(valid_text, any_text),
        "size": st.one_of(st.integers(min_value=0), st.integers(), json_scalars),
    },
    optional={
        "etag": st.one_of(valid_text, json_scalars),
        "version_id": st.one_of(valid_text, json_scalars),
        "attributes": st.one_of(attribute_maps, json_values),
    },
)
bodies = st.one_of(
    st.none(),
    any_text,
    json_values.map(json.dumps),
    near_valid_bodies.map(json.dumps),
    valid_bodies.map(json.dumps),
)
record_ids = st.one_of(
    any_text,
    st.from_regex(r"[A-Za-z0-9_-]{1,200}", fullmatch=True),
    st.lists(any_text, max_size=3).map(
        lambda parts: base64.urlsafe_b64encode(
            json.dumps(parts).encode("utf-8", errors="surrogatepass")
        ).decode()
    ),
)
paths = st.one_of(
    st.just("/records"),
    record_ids.map(lambda record_id: f"/records/{record_id}"),
    any_text.map(lambda text: f"/{text}"),
)
query_names = st.one_of(st.sampled_from(["date", "prefix", "limit", "next_token"]), any_text)
query_values = st.one_of(
    any_text,
    st.from_regex(r"-?\d{1,6}", fullmatch=True),
    st.from_regex(r"\d{4}-\d{2}-\d{2}", fullmatch=True),
    st.from_regex(r"[A-Za-z0-9_-]{1,120}", fullmatch=True),
)
queries = st.one_of(st.none(), st.dictionaries(query_names, query_values, max_size=4))
methods = st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"])


@pytest.fixture(scope="module")
def api(handler_env: None) -> Iterator[ModuleType]:
    # One moto account for every example: hypothesis runs many inputs per test call.
    with mock_aws():
        create_records_table(boto3.client("dynamodb", region_name=REGION))
        yield import_handler("api")


def _assert_safe(response: dict[str, Any]) -> None:
    status = response["statusCode"]
    assert status < 500, response["body"]
    if status == 204:
        return
    body = response_json(response)
    if status >= 400:
        assert set(body) == {"message", "correlation_id"}
        assert not any(marker in body["message"] for marker in LEAK_MARKERS), body


@PROPERTY_SETTINGS
@given(
    version=st.sampled_from(["v1", "v2"]),
    method=methods,
    path=paths,
    query=queries,
    body=bodies,
    base64_encoded=st.booleans(),
    origin=st.sampled_from([ALLOWED_ORIGIN, "https://evil.test", ""]),
)
def test_no_request_gets_a_5xx_or_leaks_internals(
    api: ModuleType,
    version: str,
    method: str,
    path: str,
    query: dict[str, str] | None,
    body: str | None,
    base64_encoded: bool,
    origin: str,
) -> None:
    # Given any request an API Gateway could deliver, in either payload format
    event = api_event(
        version,
        method,
        path,
        query=query or None,
        body=body,
        base64_encoded=base64_encoded,
        headers={"origin": origin},
    )

    # When the handler answers it
    response = api.lambda_handler(event, FakeLambdaContext())

    # Then the status is below 500 and errors carry only a message and a correlation id
    _assert_safe(response)


@PROPERTY_SETTINGS
@given(version=st.sampled_from(["v1", "v2"]), body=st.one_of(valid_bodies, near_valid_bodies))
def test_a_body_is_either_stored_faithfully_or_refused_with_400(
    api: ModuleType, version: str, body: dict[str, Any]
) -> None:
    # Given an almost-valid POST body
    text = json.dumps(body)

    # When it is POSTed
    created = api.lambda_handler(
        api_event(version, "POST", "/records", body=text), FakeLambdaContext()
    )

    # Then it is refused with a 400, or stored so that GET returns what was sent
    _assert_safe(created)
    assert created["statusCode"] in (201, 400, 409)
    if created["statusCode"] != 201:
        return
    record = response_json(created)
    fetched = api.lambda_handler(
        api_event(version, "GET", f"/records/{record['id']}"), FakeLambdaContext()
    )
    assert fetched["statusCode"] == 200
    # Numbers compare exactly: both sides parsed as Decimal, as the API stores them
    returned = json.loads(fetched["body"], parse_float=Decimal)
    sent = json.loads(text, parse_float=Decimal)
    assert (returned["bucket"], returned["key"], returned["size"]) == (
        sent["bucket"],
        sent["key"],
        sent["size"],
    )
    assert returned["attributes"] == sent.get("attributes", {})


# Each listing example costs moto tens of milliseconds, so fewer of them.
@settings(PROPERTY_SETTINGS, max_examples=40)
@given(
    version=st.sampled_from(["v1", "v2"]),
    day=st.dates().map(lambda day: day.isoformat()),
    prefix=st.one_of(st.none(), any_text.filter(bool)),
    limit=st.integers(min_value=1, max_value=50),
)
def test_listing_tokens_round_trip_for_any_query(
    api: ModuleType, version: str, day: str, prefix: str | None, limit: int
) -> None:
    # Given any listing query
    query = {"date": day, "limit": str(limit)}
    if prefix is not None:
        query["prefix"] = prefix

    # When it is sent, and its next_token (if any) sent back
    first = api.lambda_handler(
        api_event(version, "GET", "/records", query=query), FakeLambdaContext()
    )

    # Then neither request fails on the server side
    _assert_safe(first)
    if first["statusCode"] == 200 and response_json(first)["next_token"]:
        query["next_token"] = response_json(first)["next_token"]
        _assert_safe(
            api.lambda_handler(
                api_event(version, "GET", "/records", query=query), FakeLambdaContext()
            )
        )

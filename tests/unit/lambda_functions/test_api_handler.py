"""The records API, in both REST (v1) and HTTP API (v2) proxy formats."""

from __future__ import annotations

import base64
import importlib
import json
import logging
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from types import ModuleType
from typing import Any

import pytest
from boto3.dynamodb.types import TypeSerializer
from botocore.stub import Stubber

from .support import (
    ALLOWED_ORIGIN,
    MAX_PAGE_SIZE,
    TABLE_NAME,
    FakeLambdaContext,
    api_event,
    import_handler,
    load_event,
    response_headers,
    response_json,
)

# Reads and rejected events publish no custom metric; Powertools warns about that.
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")


VERSIONS = pytest.mark.parametrize("version", ["v1", "v2"])
VALID_BODY = {
    "bucket": "evpipe-dev-ingest-us-west-2",
    "key": "manual/invoice 42 (copy).pdf",
    "size": 2048,
}


@pytest.fixture(scope="module")
def api(handler_env: None) -> ModuleType:
    return import_handler("api")


@pytest.fixture
def call(api: ModuleType, aws: None) -> Any:
    """Invoke the handler with an event and a fresh context."""

    def _call(event: dict[str, Any]) -> dict[str, Any]:
        response: dict[str, Any] = api.lambda_handler(event, FakeLambdaContext())
        return response

    return _call


def seed(dynamodb: Any, *, key: str, day: str, bucket: str = "evpipe-dev-ingest-us-west-2") -> str:
    """Store a record the way the processor does; return its id."""
    from pipeline_common.records import ObjectVersion, to_item

    version = ObjectVersion(
        bucket=bucket,
        key=key,
        size=1,
        etag="etag",
        event_name="ObjectCreated:Put",
        event_time=datetime.fromisoformat(f"{day}T10:00:00+00:00"),
        source="s3",
        sequencer="00A1",
    )
    item = to_item(version, recorded_at=datetime.now(UTC), ttl_days=0)
    serializer = TypeSerializer()
    dynamodb.put_item(
        TableName=TABLE_NAME, Item={name: serializer.serialize(v) for name, v in item.items()}
    )
    return version.record_id


def list_all(call: Any, version: str, query: dict[str, str]) -> list[dict[str, Any]]:
    """Follow next_token until the listing ends."""
    items: list[dict[str, Any]] = []
    token = None
    for _ in range(100):
        page_query = dict(query, **({"next_token": token} if token else {}))
        response = call(api_event(version, "GET", "/records", query=page_query))
        assert response["statusCode"] == 200, response["body"]
        page = response_json(response)
        items.extend(page["items"])
        token = page["next_token"]
        if token is None:
            return items
    raise AssertionError("pagination did not end")


@VERSIONS
def test_post_creates_a_record_that_get_returns(call: Any, version: str) -> None:
    # Given a valid JSON body with attributes of every JSON type
    body = dict(
        VALID_BODY,
        etag='"0cc175b9c0f1b6a831c399e269772661"',
        attributes={"customer": "acme", "amount": 19.99, "pages": 3, "paid": True, "note": None},
    )

    # When it is POSTed
    created = call(api_event(version, "POST", "/records", body=json.dumps(body)))

    # Then the API answers 201 with the record, its id and its location
    assert created["statusCode"] == 201, created["body"]
    record = response_json(created)
    assert response_headers(created)["Location"] == f"/records/{record['id']}"
    assert record["key"] == "manual/invoice 42 (copy).pdf"
    assert record["etag"] == "0cc175b9c0f1b6a831c399e269772661"
    assert record["source"] == "api"

    # And GET /records/{id} returns the same record, numbers as JSON numbers
    fetched = call(api_event(version, "GET", f"/records/{record['id']}"))
    assert fetched["statusCode"] == 200
    assert response_json(fetched) == record
    assert '"amount":19.99' in fetched["body"]
    assert '"pages":3' in fetched["body"]
    assert '"size":2048' in fetched["body"]


@VERSIONS
def test_decimal_values_round_trip_exactly_as_json_numbers(call: Any, version: str) -> None:
    # Given attributes that floats or strings would distort
    body = dict(VALID_BODY, attributes={"big": 12345678901234567890123, "tiny": 1e-7, "neg": -0.5})

    # When the record is created and read back
    created = response_json(call(api_event(version, "POST", "/records", body=json.dumps(body))))
    fetched = call(api_event(version, "GET", f"/records/{created['id']}"))

    # Then each value comes back as the same JSON number
    assert json.loads(fetched["body"])["attributes"] == {
        "big": 12345678901234567890123,
        "tiny": 1e-7,
        "neg": -0.5,
    }


@VERSIONS
def test_posting_a_recorded_object_version_again_is_a_conflict(call: Any, version: str) -> None:
    # Given an object version that was already recorded through the API
    body = json.dumps(dict(VALID_BODY, version_id="v-0001"))
    first = response_json(call(api_event(version, "POST", "/records", body=body)))

    # When the same version is POSTed again
    again = call(api_event(version, "POST", "/records", body=body))

    # Then the API answers 409 naming the existing record
    assert again["statusCode"] == 409
    assert first["id"] in response_json(again)["message"]


@VERSIONS
def test_listing_pages_through_every_record_with_a_bounded_limit(
    call: Any, dynamodb: Any, version: str
) -> None:
    # Given seven records on one day
    ids = {seed(dynamodb, key=f"incoming/{n}.csv", day="2024-05-01") for n in range(7)}

    # When they are listed three at a time
    first = call(api_event(version, "GET", "/records", query={"date": "2024-05-01", "limit": "3"}))
    items = list_all(call, version, {"date": "2024-05-01", "limit": "3"})

    # Then pages hold at most three items and together hold each record once
    assert response_json(first)["count"] == 3
    assert response_json(first)["next_token"]
    assert sorted(item["id"] for item in items) == sorted(ids)


@VERSIONS
def test_date_filter_returns_only_that_day(call: Any, dynamodb: Any, version: str) -> None:
    # Given records on two days
    seed(dynamodb, key="a.csv", day="2024-05-01")
    wanted = seed(dynamodb, key="b.csv", day="2024-05-02")

    # When the second day is listed, Then only its record comes back
    items = list_all(call, version, {"date": "2024-05-02"})
    assert [item["id"] for item in items] == [wanted]


@VERSIONS
def test_prefix_filter_matches_key_prefixes_exactly(call: Any, dynamodb: Any, version: str) -> None:
    # Given keys under two folders, one containing "#", and key "a" in a bucket starting "b"
    wanted = {
        seed(dynamodb, key="in/1.csv", day="2024-05-01"),
        seed(dynamodb, key="in/2.csv", day="2024-05-02"),
    }
    seed(dynamodb, key="out/1.csv", day="2024-05-01")
    hashed = seed(dynamodb, key="a#b/x", day="2024-05-01")
    seed(dynamodb, key="a", day="2024-05-01", bucket="b-bucket")

    # When listing by prefix, with and without a date
    by_prefix = list_all(call, version, {"prefix": "in/", "limit": "2"})
    by_day = list_all(call, version, {"prefix": "in/", "date": "2024-05-01"})
    by_hash = list_all(call, version, {"prefix": "a#b", "date": "2024-05-01"})

    # Then only keys that start with the prefix match, even where "#<bucket>" would
    assert {item["id"] for item in by_prefix} == wanted
    assert [item["key"] for item in by_day] == ["in/1.csv"]
    assert [item["id"] for item in by_hash] == [hashed]


@VERSIONS
def test_prefix_longer_than_the_sort_key_budget_still_matches(
    call: Any, dynamodb: Any, version: str
) -> None:
    # Given two 1,000-byte keys sharing a 990-byte prefix, so their sort keys are cut
    stem = "p" * 990
    wanted = seed(dynamodb, key=stem + "A" * 10, day="2024-05-01")
    seed(dynamodb, key=stem + "B" * 10, day="2024-05-01")

    # When listing with a prefix longer than the part a cut sort key keeps
    items = list_all(call, version, {"prefix": stem + "A" * 5, "date": "2024-05-01"})

    # Then only the matching key is returned
    assert [item["id"] for item in items] == [wanted]


@VERSIONS
def test_a_token_from_another_query_is_rejected(call: Any, dynamodb: Any, version: str) -> None:
    # Given a next_token issued for one day's listing
    for n in range(3):
        seed(dynamodb, key=f"{n}.csv", day="2024-05-01")
    page = call(api_event(version, "GET", "/records", query={"date": "2024-05-01", "limit": "1"}))
    token = response_json(page)["next_token"]

    # When it is sent with another day
    other = {"date": "2024-05-02", "next_token": token}
    response = call(api_event(version, "GET", "/records", query=other))

    # Then the API answers 400 saying the token belongs to a different query
    assert response["statusCode"] == 400
    assert "different date, prefix or key" in response_json(response)["message"]


def _forged_token(key: dict[str, str], fingerprint_of: Any) -> str:
    raw = json.dumps({"v": 1, "q": fingerprint_of, "k": key}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@VERSIONS
@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"limit": "0"}, f"limit must be an integer from 1 to {MAX_PAGE_SIZE}, got '0'"),
        ({"limit": "abc"}, "limit must be an integer from 1"),
        ({"limit": str(MAX_PAGE_SIZE + 1)}, "limit must be an integer from 1"),
        ({"limit": "-5"}, "limit must be an integer from 1"),
        ({"next_token": "not a token!"}, "next_token is not a token this API issued"),
        ({"next_token": "eyJ2IjoxfQ"}, "different date, prefix or key"),
        ({"next_token": "AAAA"}, "next_token is not a token this API issued"),
        ({"date": "2024-13-01"}, "date must be a calendar date like 2024-05-01"),
        ({"date": "yesterday"}, "date must be a calendar date"),
        ({"sort": "asc"}, "unknown query parameter 'sort'"),
    ],
)
def test_bad_query_parameters_are_400_naming_the_parameter(
    call: Any, version: str, query: dict[str, str], message: str
) -> None:
    # Given a listing request with one bad parameter
    # When it is sent
    response = call(api_event(version, "GET", "/records", query=query))

    # Then the API answers 400 with a message naming the problem
    assert response["statusCode"] == 400
    assert message in response_json(response)["message"]


@VERSIONS
@pytest.mark.parametrize(
    "forged_key",
    [
        {"pk": "DATE#2024-05-01", "sk": "OBJECT#out/x"},
        {"pk": "DATE#2024-05-02", "sk": "OBJECT#in/x"},
        {"pk": "DATE#2024-05-01", "sk": "OBJECT#in/" + "x" * 1100},
    ],
    ids=["outside-prefix", "other-day", "oversized-key"],
)
def test_a_token_with_keys_outside_its_query_is_rejected(
    call: Any, version: str, forged_key: dict[str, str]
) -> None:
    # Given a well-formed token for one day and prefix whose key lies outside that range
    from lambda_functions.api.logic import ListQuery

    query = ListQuery(day=date(2024, 5, 1), prefix="in/", limit=10)
    forged = _forged_token(forged_key, query.fingerprint)

    # When it is sent with that query
    params = {"date": "2024-05-01", "prefix": "in/", "next_token": forged}
    response = call(api_event(version, "GET", "/records", query=params))

    # Then the API answers 400 instead of passing DynamoDB a key it would reject
    assert response["statusCode"] == 400
    assert "next_token is not a token this API issued" in response_json(response)["message"]


@VERSIONS
@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{not json", "the body is not valid JSON: Expecting property name"),
        ("[1, 2]", "the body must be a JSON object, not an array"),
        ('"text"', "the body must be a JSON object, not a string"),
        ("null", "the body must be a JSON object, not null"),
        (json.dumps(dict(VALID_BODY, size="big")), "body.size must be integer"),
        (json.dumps(dict(VALID_BODY, size=1.5)), "body.size must be integer"),
        (json.dumps(dict(VALID_BODY, size=-1)), "body.size must be bigger than or equal to 0"),
        (json.dumps({"bucket": "b-1", "size": 1}), "body must contain ['key'] properties"),
        (json.dumps(dict(VALID_BODY, bucket="No_Such")), "body.bucket must be an S3 bucket name"),
        (json.dumps(dict(VALID_BODY, colour="red")), "body must not contain {'colour'}"),
        (json.dumps(dict(VALID_BODY, key="")), "body.key must be an S3 object key"),
        (json.dumps(dict(VALID_BODY, key="é" * 513)), "1 to 1024 bytes of UTF-8"),
        (json.dumps(dict(VALID_BODY, attributes=[])), "body.attributes must be object"),
        (json.dumps(dict(VALID_BODY, attributes={"a": {"b": 1}})), "body.attributes.a must be"),
        (
            json.dumps(dict(VALID_BODY, attributes={"bad name": 1})),
            "body.attributes names must be 1-64 letters, digits",
        ),
        ('{"bucket": "b-1", "key": "k", "size": NaN}', "NaN is not a JSON number"),
        (
            '{"bucket": "b-1", "key": "k", "size": 1, "attributes": {"x": 1e400}}',
            "body.attributes.x does not fit a DynamoDB number",
        ),
        (
            json.dumps(dict(VALID_BODY, attributes={"x": 5e126})),
            "body.attributes.x does not fit a DynamoDB number",
        ),
        (
            json.dumps(dict(VALID_BODY, attributes={"x": -1e-131})),
            "body.attributes.x does not fit a DynamoDB number",
        ),
        (
            json.dumps(dict(VALID_BODY, attributes={"x": 10**38 + 1})),
            "body.attributes.x does not fit a DynamoDB number",
        ),
        ('{"bucket": "b-1", "key": "\\ud800", "size": 1}', "body.key must be an S3 object key"),
        ("[" * 5000 + "]" * 5000, "the body nests JSON too deeply"),
        ("", "a JSON object body is required"),
    ],
)
def test_bad_bodies_are_400_naming_the_problem(
    call: Any, dynamodb: Any, version: str, body: str, message: str
) -> None:
    # Given a POST whose body is wrong in one specific way
    # When it is sent
    response = call(api_event(version, "POST", "/records", body=body))

    # Then the API answers 400 naming the problem and stores nothing
    assert response["statusCode"] == 400, response["body"]
    assert message in response_json(response)["message"]
    assert dynamodb.scan(TableName=TABLE_NAME)["Count"] == 0


@VERSIONS
def test_numbers_at_the_edges_of_dynamodb_range_are_stored(call: Any, version: str) -> None:
    # Given the largest and smallest magnitudes and the most digits DynamoDB keeps
    largest = "9.9999999999999999999999999999999999999E+125"
    body = (
        '{"bucket": "b-1", "key": "k", "size": 1, "attributes": '
        f'{{"largest": {largest}, "smallest": -1E-130, "digits": {10**37 + 1}}}}}'
    )

    # When the record is created and read back
    created = call(api_event(version, "POST", "/records", body=body))
    assert created["statusCode"] == 201, created["body"]
    fetched = call(api_event(version, "GET", f"/records/{response_json(created)['id']}"))

    # Then every digit survives
    attributes = json.loads(fetched["body"], parse_float=Decimal)["attributes"]
    assert attributes == {
        "largest": Decimal(largest),
        "smallest": Decimal("-1E-130"),
        "digits": 10**37 + 1,
    }


@VERSIONS
def test_base64_encoded_bodies_are_decoded(call: Any, version: str) -> None:
    # Given a body API Gateway delivered base64-encoded
    body = base64.b64encode(json.dumps(VALID_BODY).encode()).decode()

    # When it is POSTed, Then the record is created
    response = call(api_event(version, "POST", "/records", body=body, base64_encoded=True))
    assert response["statusCode"] == 201, response["body"]


@VERSIONS
@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("%%%not base64", "marked base64-encoded but is not base64"),
        (base64.b64encode(b"\xff\xfe{}").decode(), "the body is not UTF-8"),
    ],
)
def test_undecodable_base64_bodies_are_400(
    call: Any, version: str, body: str, message: str
) -> None:
    response = call(api_event(version, "POST", "/records", body=body, base64_encoded=True))
    assert response["statusCode"] == 400
    assert message in response_json(response)["message"]


@VERSIONS
def test_oversized_body_is_413(call: Any, api: ModuleType, version: str) -> None:
    # Given a body one byte over the limit
    limit = api.logic.MAX_BODY_BYTES if hasattr(api, "logic") else 16 * 1024
    body = json.dumps(dict(VALID_BODY, attributes={"pad": "x"}))
    body = body.replace('"x"', '"' + "x" * (limit - len(body) + 2) + '"')
    assert len(body.encode()) == limit + 1

    # When it is POSTed, Then the API answers 413 saying how large bodies may be
    response = call(api_event(version, "POST", "/records", body=body))
    assert response["statusCode"] == 413
    assert f"at most {limit}" in response_json(response)["message"]


@VERSIONS
def test_unknown_and_malformed_ids_are_404(call: Any, version: str) -> None:
    # Given a well-formed id of a record that does not exist, and a string that is no id
    from pipeline_common.records import encode_record_id

    missing = encode_record_id("DATE#2024-05-01", "OBJECT#nothing#here#S#1")

    # When each is fetched, Then both are 404
    for record_id in (missing, "not-an-id", "WyJ4Il0"):
        response = call(api_event(version, "GET", f"/records/{record_id}"))
        assert response["statusCode"] == 404, record_id
        assert response_json(response)["message"] == "no record has this id"


def test_unknown_route_is_404(call: Any) -> None:
    # (On the HTTP API an unknown path reaches the function through $default: seed 002's
    # catch-all answers it, see test_seed_contracts.py.)
    response = call(api_event("v1", "GET", "/nothing/here"))
    assert response["statusCode"] == 404
    assert response_json(response)["message"] == "no route for GET /nothing/here"


@VERSIONS
@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/records", "GET, POST"),
        ("PUT", "/records", "GET, POST"),
        ("DELETE", "/records/abc", "GET"),
        ("POST", "/records/abc", "GET"),
        ("PATCH", "/records/abc", "GET"),
    ],
)
def test_wrong_method_is_405_with_allow_header(
    call: Any, version: str, method: str, path: str, allowed: str
) -> None:
    response = call(api_event(version, method, path))
    assert response["statusCode"] == 405
    assert response_headers(response)["Allow"] == allowed
    assert method in response_json(response)["message"]


@VERSIONS
def test_unexpected_error_is_500_with_correlation_id_and_no_exception_text(
    call: Any, api: ModuleType, version: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the data layer fails in a way nobody anticipated
    def broken(*_: Any) -> None:
        raise RuntimeError("secret internal detail from /var/task/api/data_access.py")

    monkeypatch.setattr(api.REPOSITORY, "page", broken)
    event = api_event(version, "GET", "/records")

    # When a listing is requested
    response = call(event)

    # Then the API answers 500 with a generic message and the request's correlation id
    assert response["statusCode"] == 500
    body = response_json(response)
    assert body == {
        "message": "internal error; quote the correlation_id when reporting it",
        "correlation_id": event["requestContext"]["requestId"],
    }
    assert "secret" not in response["body"]
    assert "RuntimeError" not in response["body"]


@VERSIONS
def test_throttling_that_outlives_retries_is_503_with_retry_after(
    call: Any, api: ModuleType, version: str
) -> None:
    # Given DynamoDB throttles the read (botocore Stubber on the handler's own client)
    from pipeline_common.records import encode_record_id

    record_id = encode_record_id("DATE#2024-05-01", "OBJECT#k#b#S#1")
    with Stubber(api.REPOSITORY._client) as stubber:
        stubber.add_client_error(
            "get_item",
            service_error_code="ProvisionedThroughputExceededException",
            http_status_code=400,
        )

        # When a record is fetched
        response = call(api_event(version, "GET", f"/records/{record_id}"))

    # Then the API answers 503 and tells the client when to retry
    assert response["statusCode"] == 503
    assert response_headers(response)["Retry-After"] == "2"
    assert "retry" in response_json(response)["message"]


@VERSIONS
def test_cors_preflight_answers_configured_origins_only(call: Any, version: str) -> None:
    # Given a preflight from an allowed origin and one from another origin
    allowed = call(api_event(version, "OPTIONS", "/records", headers={"origin": ALLOWED_ORIGIN}))
    other = call(api_event(version, "OPTIONS", "/records", headers={"origin": "https://evil.test"}))

    # Then only the allowed origin is echoed, with the allowed methods
    assert allowed["statusCode"] == 204
    headers = response_headers(allowed)
    assert headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert "POST" in headers["Access-Control-Allow-Methods"]
    assert "Access-Control-Allow-Origin" not in response_headers(other)


@VERSIONS
def test_responses_carry_cors_headers_for_allowed_origins(call: Any, version: str) -> None:
    response = call(api_event(version, "GET", "/records", headers={"origin": ALLOWED_ORIGIN}))
    headers = response_headers(response)
    assert headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert headers["Access-Control-Expose-Headers"] == "Location"


def test_http_api_named_stage_is_stripped_from_the_path(call: Any) -> None:
    # Given an HTTP API event on stage "dev", whose rawPath starts with "/dev"
    event = api_event("v2", "GET", "/records", stage="dev")

    # When it is handled, Then it reaches the /records route
    assert call(event)["statusCode"] == 200


@pytest.mark.parametrize("name", ["api-get-v1", "api-get-v2", "api-post-v1", "api-post-v2"])
def test_sample_events_are_served(call: Any, name: str) -> None:
    response = call(load_event(name))
    assert response["statusCode"] == (201 if "post" in name else 200), response["body"]


def test_every_domain_error_has_a_status(api: ModuleType) -> None:
    # Given every ApiError subclass, When looked up, Then each maps to a 4xx or 5xx status
    from lambda_functions.api.errors import ApiError

    for error_class in ApiError.__subclasses__():
        assert error_class in api.STATUS_BY_ERROR, error_class.__name__
        assert api.STATUS_BY_ERROR[error_class] >= 400


@pytest.mark.parametrize("resolver", ["REST_APP", "HTTP_APP"])
def test_resolver_serves_every_route_the_api_contract_deploys(
    api: ModuleType, resolver: str
) -> None:
    # Given the routes the API constructs deploy (pipeline_common.api_contract)
    from pipeline_common.api_contract import RECORDS_ROUTES

    def shape(path: str) -> str:
        # {id} (API Gateway) and <record_id> (Powertools) are both one path parameter.
        return re.sub(r"\{[^}]+\}|<[^>]+>", "{}", path)

    app = getattr(api, resolver)
    served = {(route.method, shape(route.path)) for route in app._static_routes}
    served |= {(route.method, shape(route.path)) for route in app._dynamic_routes}
    # Then the function has a handler for each of them
    for method, path in RECORDS_ROUTES:
        assert (method, shape(path)) in served, f"{method} {path}"


@VERSIONS
def test_unversioned_object_with_null_version_id_and_no_etag_is_recorded(
    call: Any, dynamodb: Any, version: str
) -> None:
    # Given the body S3 metadata gives for an unversioned object: version "null", no etag
    body = json.dumps(dict(VALID_BODY, version_id="null"))

    # When it is POSTed twice
    responses = [call(api_event(version, "POST", "/records", body=body)) for _ in range(2)]

    # Then each POST is a record of its own (nothing names one version), never a 500
    assert [r["statusCode"] for r in responses] == [201, 201], responses[0]["body"]
    items = dynamodb.scan(TableName=TABLE_NAME)["Items"]
    assert len(items) == 2
    assert {item["version_id"]["S"] for item in items} == {"null"}


@VERSIONS
@pytest.mark.parametrize("digits", [127, 4_301, 10_000])
def test_an_integer_too_long_for_any_field_is_our_400(
    call: Any, dynamodb: Any, version: str, digits: int
) -> None:
    # Given a body whose attribute is an integer with more digits than DynamoDB stores
    body = '{"bucket": "b-1", "key": "k", "size": 1, "attributes": {"n": ' + "9" * digits + "}}"

    # When it is POSTed
    response = call(api_event(version, "POST", "/records", body=body))

    # Then the API answers 400 in its own words, not the interpreter's, and stores nothing
    assert response["statusCode"] == 400, response["body"]
    message = response_json(response)["message"]
    assert message == (
        f"the body holds an integer of {digits} digits; no field accepts more than 126"
    )
    assert "sys.set_int_max_str_digits" not in response["body"]
    assert dynamodb.scan(TableName=TABLE_NAME)["Count"] == 0


def test_the_rest_models_size_limits_are_the_handlers(api: ModuleType) -> None:
    # Given the model API Gateway checks and the schema the handler checks
    from pipeline_common.api_contract import RECORDS_WRITE_SCHEMA

    logic = importlib.import_module(f"{api.__package__}.logic")
    model = RECORDS_WRITE_SCHEMA["properties"]
    handler = logic.CREATE_RECORD_SCHEMA["properties"]
    limits = ("maxLength", "maximum", "maxProperties", "minLength", "minimum")

    # When each field's limits are compared
    def bounds(rule: dict[str, Any]) -> dict[str, Any]:
        return {name: rule[name] for name in limits if name in rule}

    # Then every field has the same bounds on both sides, attributes' values included
    assert set(model) == set(handler)
    for name in ("key", "size", "etag", "version_id", "attributes"):
        assert bounds(model[name]) == bounds(handler[name]), name
    assert bounds(model["attributes"]["additionalProperties"]) == bounds(
        handler["attributes"]["additionalProperties"]
    )
    assert model["key"]["maxLength"] == 1024
    assert RECORDS_WRITE_SCHEMA["additionalProperties"] is False


@VERSIONS
def test_each_request_is_logged_once_with_its_correlation_id(
    call: Any, version: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a request for a record that does not exist
    event = api_event(version, "GET", "/records/nope")
    # When it is served
    with caplog.at_level(logging.INFO):
        response = call(event)
    # Then exactly one line tells who asked for what and how it ended
    served = [record for record in caplog.records if record.getMessage() == "Request served"]
    assert len(served) == 1
    entry = served[0].__dict__
    assert entry["http_method"] == "GET"
    assert entry["path"] == "/records/nope"
    assert entry["status_code"] == response["statusCode"] == 404

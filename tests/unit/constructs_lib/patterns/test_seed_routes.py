"""Seed routes on the API constructs: POST /process's own model (REST) and $default (HTTP)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pipeline_common.api_contract import (
    PROCESS_WRITE_SCHEMA,
    RECORDS_WRITE_SCHEMA,
    WRITE_SCHEMA_BY_ROUTE,
)

from constructs_lib.patterns.http_api import HttpApi
from constructs_lib.patterns.rest_api import RestApi
from constructs_lib.pipeline.records_api import RECORDS_ROUTES as CONTRACT_ROUTES
from tests.unit.constructs_lib.conftest import FunctionFactory, SynthFn
from tests.unit.constructs_lib.patterns import test_http_api, test_rest_api


def of_type(out: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    resources: dict[str, dict[str, Any]] = out["resource"].get(resource_type, {})
    return resources


def test_post_process_is_checked_against_its_own_model(
    synth: SynthFn, make_function: FunctionFactory
) -> None:
    # Given the REST API with the contract's per-route body schemas
    out = synth(
        lambda stack: RestApi(
            stack,
            "rest-api",
            props=test_rest_api.props(
                make_function(stack, "api"),
                routes=CONTRACT_ROUTES,
                body_schemas=WRITE_SCHEMA_BY_ROUTE,
            ),
        )
    )
    # Then two models exist: the records' and /process's (any JSON object, a string key)
    models = {body["name"]: body for body in of_type(out, "aws_api_gateway_model").values()}
    assert set(models) == {"RecordInput", "ProcessInput"}
    assert json.loads(models["ProcessInput"]["schema"]) == dict(PROCESS_WRITE_SCHEMA)
    assert json.loads(models["RecordInput"]["schema"]) == dict(RECORDS_WRITE_SCHEMA)
    # And POST /process validates its body with ProcessInput, POST /records with RecordInput
    resources = {
        f"${{aws_api_gateway_resource.{name}.id}}": body["path_part"]
        for name, body in of_type(out, "aws_api_gateway_resource").items()
    }
    posts = {
        resources[method["resource_id"]]: method
        for method in of_type(out, "aws_api_gateway_method").values()
        if method["http_method"] == "POST"
    }
    assert set(posts) == {"records", "process"}
    assert "model-post-process" in json.dumps(posts["process"]["request_models"])
    assert "write-model" in json.dumps(posts["records"]["request_models"])
    # And /process's GET and POST need the API key like every other route
    process = [
        method
        for method in of_type(out, "aws_api_gateway_method").values()
        if resources[method["resource_id"]] == "process" and method["http_method"] != "OPTIONS"
    ]
    assert sorted(method["http_method"] for method in process) == ["GET", "POST"]
    assert all(method["api_key_required"] is True for method in process)


@pytest.mark.parametrize(
    ("body_schemas", "message"),
    [
        ({"GET /records": PROCESS_WRITE_SCHEMA}, "body_schemas names 'GET /records', which is not"),
        ({"POST /nowhere": PROCESS_WRITE_SCHEMA}, "body_schemas names 'POST /nowhere'"),
        (
            {"POST /process": {"type": "object"}},
            "body_schemas\\['POST /process'\\] needs a \"title\"",
        ),
        ({"POST /process": {"title": "Bad-Name"}}, 'needs a "title" of letters and digits'),
        ({"POST /process": {"title": "RecordInput"}}, "model name 'RecordInput' is taken"),
    ],
)
def test_invalid_body_schemas_are_refused(body_schemas: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        test_rest_api.props(routes=CONTRACT_ROUTES, body_schemas=body_schemas)


def test_the_catch_all_is_one_authenticated_default_route_with_its_own_permission(
    synth: SynthFn, make_function: FunctionFactory
) -> None:
    # Given the HTTP API with the catch-all, reads left open by choice
    out = synth(
        lambda stack: HttpApi(
            stack,
            "http-api",
            props=test_http_api.props(
                make_function(stack, "api"),
                routes=CONTRACT_ROUTES,
                catch_all=True,
                open_read_access=True,
            ),
        )
    )
    # Then a $default route exists and still needs SigV4 (it matches every method)
    routes = test_http_api.routes(out)
    assert routes["$default"]["authorization_type"] == "AWS_IAM"
    assert routes["$default"]["target"] == routes["GET /records"]["target"]
    # And the function lets API Gateway invoke it for that route only
    permission = next(
        body
        for name, body in of_type(out, "aws_lambda_permission").items()
        if "permission-default" in name
    )
    assert permission["source_arn"].endswith("/$default/$default")
    assert permission["principal"] == "apigateway.amazonaws.com"


def test_without_the_catch_all_there_is_no_default_route(
    synth: SynthFn, make_function: FunctionFactory
) -> None:
    out = synth(test_http_api.build(make_function))
    assert "$default" not in test_http_api.routes(out)

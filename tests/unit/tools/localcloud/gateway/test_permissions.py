"""The Lambda permission check API Gateway makes before invoking a function."""

from __future__ import annotations

from typing import Any

import pytest

from tools.localcloud.gateway.deployed import DeployedApi
from tools.localcloud.gateway.permissions import allows, source_arns

ACCOUNT = "123456789012"
API = DeployedApi(
    kind="rest",
    api_id="abc123",
    name="evpipe-dev-rest-api",
    stage="dev",
    account_id=ACCOUNT,
    region="us-west-2",
    routes=(),
)
PREFIX = f"arn:aws:execute-api:us-west-2:{ACCOUNT}:abc123"


def _policy(source_arn: str | None = None, **statement: Any) -> dict[str, Any]:
    allowed: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": "apigateway.amazonaws.com"},
        "Action": "lambda:InvokeFunction",
        **statement,
    }
    if source_arn is not None:
        allowed["Condition"] = {"ArnLike": {"AWS:SourceArn": source_arn}}
    return {"Version": "2012-10-17", "Statement": [allowed]}


def test_source_arns_name_stage_method_and_path() -> None:
    assert source_arns(API, ["GET"], ["/records/{id}", "/records/r1"]) == [
        f"{PREFIX}/dev/GET/records/{{id}}",
        f"{PREFIX}/dev/GET/records/r1",
    ]


@pytest.mark.parametrize(
    "pattern",
    [
        f"{PREFIX}/dev/GET/records/*",  # what constructs_lib/patterns/rest_api.py grants
        f"{PREFIX}/*/*/*",
        f"{PREFIX}/*",
        None,  # no condition: any API may invoke
    ],
)
def test_permission_scoped_to_the_route_allows_it(pattern: str | None) -> None:
    arns = source_arns(API, ["GET"], ["/records/{id}"])
    assert allows(_policy(pattern), account_id=ACCOUNT, source_arns=arns)


@pytest.mark.parametrize(
    ("policy", "why"),
    [
        (None, "no policy"),
        (_policy(f"{PREFIX}/dev/POST/records"), "another method"),
        (_policy(f"{PREFIX}/prod/GET/records/*"), "another stage"),
        (_policy("arn:aws:execute-api:us-west-2:123456789012:other/*"), "another API"),
        (_policy(f"{PREFIX}/*", Effect="Deny"), "a Deny"),
        (_policy(f"{PREFIX}/*", Principal={"Service": "events.amazonaws.com"}), "another service"),
        (_policy(f"{PREFIX}/*", Action="lambda:GetFunction"), "another action"),
        (
            {
                "Statement": [
                    {
                        **_policy()["Statement"][0],
                        "Condition": {"StringEquals": {"AWS:SourceAccount": "999999999999"}},
                    }
                ]
            },
            "another account",
        ),
    ],
)
def test_permission_for_anything_else_does_not(policy: dict[str, Any] | None, why: str) -> None:
    arns = source_arns(API, ["GET"], ["/records/{id}"])
    assert not allows(policy, account_id=ACCOUNT, source_arns=arns), why

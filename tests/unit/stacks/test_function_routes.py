"""VPC functions reach every AWS API they call: FUNCTION_SERVICES, the functions' IAM policies
and the VPC's endpoints (or NAT), read back from the synthesized stacks."""

from __future__ import annotations

import copy
import json
import re
from fnmatch import fnmatchcase
from typing import Any

import cdktf
import pytest

from config.deployment import DeploymentTarget, StateBackendSettings
from config.environments import build_environments
from constructs_lib.pipeline.runtime_services import (
    FUNCTION_SERVICES,
    SERVICE_SIDE_STATEMENTS,
    require_routes,
)
from stacks.pipeline_stack import PipelineStack

Stack = dict[str, Any]
ENVIRONMENTS = build_environments()
ISOLATED = [name for name, env in ENVIRONMENTS.items() if env.network.enabled]
_REFERENCE = re.compile(r"^\$\{(?:data\.)?[a-z0-9_]+\.([^.}]+)\.[a-z_]+\}$")


@pytest.fixture(scope="module")
def dev_in_vpc() -> Stack:
    """Dev (the workflow path: validate and notify too) with the network forced on."""
    target = DeploymentTarget(
        environments=("dev",),
        state=StateBackendSettings(kind="local", bucket="unused", region="us-west-2"),
        force_vpc=True,
    )
    stack = PipelineStack(
        cdktf.Testing.app(), "pipeline-dev", config=ENVIRONMENTS["dev"], target=target
    )
    synthesized: Stack = json.loads(cdktf.Testing.synth(stack))
    return synthesized


@pytest.fixture(scope="module")
def vpc_stacks(synthesized_stacks: dict[str, Stack], dev_in_vpc: Stack) -> dict[str, Stack]:
    return {
        **{env: synthesized_stacks[f"pipeline-{env}"] for env in ISOLATED},
        "dev (forced VPC)": dev_in_vpc,
    }


def _key(reference: str) -> str:
    match = _REFERENCE.match(reference)
    assert match, reference
    return match.group(1)


def function_statements(stack: Stack) -> dict[str, list[dict[str, Any]]]:
    """Each function's short name (processor, api, ...) -> the statements its role allows."""
    documents = stack["data"]["aws_iam_policy_document"]
    policies = stack["resource"]["aws_iam_role_policy"].values()
    found: dict[str, list[dict[str, Any]]] = {}
    for function in stack["resource"]["aws_lambda_function"].values():
        name = function["function_name"].split("-", 2)[2]
        role = _key(function["role"])
        found[name] = [
            statement
            for policy in policies
            if _key(policy["role"]) == role
            for statement in documents[_key(policy["policy"])]["statement"]
        ]
    return found


def runtime_statements(statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [s for s in statements if s.get("sid") not in SERVICE_SIDE_STATEMENTS]


def services(statements: list[dict[str, Any]]) -> set[str]:
    return {action.split(":")[0] for s in statements for action in s["actions"]}


def unrouted(stack: Stack) -> list[str]:
    """'<function>: <action> on <resource>' for every run-time call no route admits."""
    if "aws_nat_gateway" in stack["resource"]:
        return []
    documents = stack["data"]["aws_iam_policy_document"]
    admitted: dict[str, list[dict[str, Any]]] = {
        body["service_name"].rsplit(".", 1)[1]: documents[_key(body["policy"])]["statement"]
        for body in stack["resource"].get("aws_vpc_endpoint", {}).values()
    }
    missing = []
    for function, statements in function_statements(stack).items():
        for statement in runtime_statements(statements):
            for action in statement["actions"]:
                allowed = admitted.get(action.split(":")[0], [])
                for resource in statement["resources"]:
                    if not any(
                        any(fnmatchcase(action, pattern) for pattern in rule["actions"])
                        and any(fnmatchcase(resource, pattern) for pattern in rule["resources"])
                        for rule in allowed
                    ):
                        missing.append(f"{function}: {action} on {resource}")
    return missing


def test_every_statement_a_function_is_granted_is_classified(
    synthesized_stacks: dict[str, Stack], dev_in_vpc: Stack
) -> None:
    # Given every function of every environment, in and out of the VPC
    for env, stack in {**synthesized_stacks, "dev (forced VPC)": dev_in_vpc}.items():
        if not env.startswith(("pipeline-", "dev")):
            continue
        for function, statements in function_statements(stack).items():
            # Then each is listed, and each statement is either a service-side one or a call
            # its code makes to a service the list names
            assert function in FUNCTION_SERVICES, (env, function)
            assert all(s.get("sid") for s in statements), (env, function)
            called = services(runtime_statements(statements))
            assert called <= FUNCTION_SERVICES[function], (env, function, called)


def test_the_list_names_only_services_some_environment_grants(
    synthesized_stacks: dict[str, Stack], dev_in_vpc: Stack
) -> None:
    # Given the run-time calls IAM allows each function, over every environment
    granted: dict[str, set[str]] = {}
    for stack in (*(synthesized_stacks[f"pipeline-{env}"] for env in ENVIRONMENTS), dev_in_vpc):
        for function, statements in function_statements(stack).items():
            granted.setdefault(function, set()).update(services(runtime_statements(statements)))
    # Then FUNCTION_SERVICES says exactly that: no stale entry, no function missing
    assert granted == {name: set(listed) for name, listed in FUNCTION_SERVICES.items()}


@pytest.mark.parametrize("env", [*ISOLATED, "dev (forced VPC)"])
def test_every_call_of_a_vpc_function_has_an_endpoint_that_admits_it(
    vpc_stacks: dict[str, Stack], env: str
) -> None:
    # Given an environment whose functions run in the private VPC without a NAT gateway
    stack = vpc_stacks[env]
    assert "aws_nat_gateway" not in stack["resource"]
    # When every granted run-time call is matched against the endpoints' policies
    # Then each action on each resource is admitted by its service's endpoint
    assert unrouted(stack) == []
    # And X-Ray, which every function calls, is among them
    services_with_endpoints = {
        body["service_name"] for body in stack["resource"]["aws_vpc_endpoint"].values()
    }
    assert "com.amazonaws.us-west-2.xray" in services_with_endpoints


def test_a_call_without_an_endpoint_is_reported(vpc_stacks: dict[str, Stack]) -> None:
    # Given prod without its SNS endpoint
    stack = copy.deepcopy(vpc_stacks["prod"])
    endpoints = stack["resource"]["aws_vpc_endpoint"]
    (sns,) = [key for key, body in endpoints.items() if body["service_name"].endswith(".sns")]
    del endpoints[sns]
    # When checked / Then the processor's notices are reported as unroutable
    assert [line.split(" on ")[0] for line in unrouted(stack)] == ["processor: sns:Publish"]
    # And a NAT gateway would route them
    stack["resource"]["aws_nat_gateway"] = {"nat": {}}
    assert unrouted(stack) == []


def test_synth_refuses_a_vpc_function_whose_service_has_no_route() -> None:
    # Given the processor in a VPC with endpoints for DynamoDB, S3 and X-Ray only
    # When its routes are checked / Then SNS is named with both ways out
    with pytest.raises(
        ValueError,
        match=re.escape(
            "function 'processor' calls sns at run time, but its VPC has no endpoint for it and "
            "no NAT gateway; add an endpoint (PrivateNetwork.add_interface_endpoint) or set "
            "network.outbound_internet"
        ),
    ):
        require_routes("processor", endpoints={"dynamodb", "s3", "xray"}, outbound_internet=False)
    # And with a NAT gateway it passes
    require_routes("processor", endpoints=set(), outbound_internet=True)


def test_synth_refuses_a_function_missing_from_the_list() -> None:
    with pytest.raises(ValueError, match="function 'archiver' is not in FUNCTION_SERVICES"):
        require_routes("archiver", endpoints={"dynamodb"}, outbound_internet=False)

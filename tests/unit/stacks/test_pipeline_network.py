"""Whole-stack assertions for VPC isolation, tracing and the Step Functions workflow."""

from __future__ import annotations

import json
from typing import Any

import cdktf
import pytest

from config.deployment import DeploymentTarget, StateBackendSettings
from config.emulator import EmulatorProfile
from config.environments import build_environments
from constructs_lib.patterns.state_machine import LOG_DELIVERY_PRINCIPAL
from stacks.pipeline_stack import PipelineStack

ENVIRONMENTS = build_environments()
Stacks = dict[str, dict[str, Any]]
ISOLATED = [name for name, env in ENVIRONMENTS.items() if env.network.enabled]
OPEN = [name for name, env in ENVIRONMENTS.items() if not env.network.enabled]
# Environments whose ingest path is the workflow: only they deploy the state machine.
WORKFLOW = [name for name, env in ENVIRONMENTS.items() if env.ingest_path == "workflow"]


def of_type(stack: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = stack["resource"].get(resource_type, {})
    return found


def address(stack: dict[str, Any], resource_type: str, prefix: str, attribute: str) -> str:
    keys = [key for key in of_type(stack, resource_type) if key.startswith(prefix)]
    assert len(keys) == 1, f"{resource_type} {prefix}*: {keys}"
    return f"${{{resource_type}.{keys[0]}.{attribute}}}"


def test_profiles_put_prod_in_a_vpc_and_leave_dev_out() -> None:
    assert "prod" in ISOLATED
    assert "dev" in OPEN


@pytest.mark.parametrize("env", ISOLATED)
def test_every_function_is_attached_to_both_private_subnets(
    synthesized_stacks: Stacks, env: str
) -> None:
    # Given an isolated environment's stack
    stack = synthesized_stacks[f"pipeline-{env}"]
    subnets = [
        address(stack, "aws_subnet", f"foundation_network_private-subnet-{n}", "id") for n in (1, 2)
    ]
    group = address(stack, "aws_security_group", "foundation_network_function-security-group", "id")
    functions = of_type(stack, "aws_lambda_function")
    # Then every function, whoever added it, runs in both private subnets behind the 443 group
    # (processor, api, maintenance; plus validate and notify on the workflow path)
    assert len(functions) >= 3
    for name, function in functions.items():
        assert function.get("vpc_config") == {
            "subnet_ids": subnets,
            "security_group_ids": [group],
        }, name
        # And leaves our group for the rule-less default one before it is deleted
        assert function["replace_security_groups_on_destroy"] is True, name
        assert function["replacement_security_group_ids"] == [
            address(stack, "aws_default_security_group", "foundation_network_", "id")
        ]


@pytest.mark.parametrize("env", ISOLATED)
def test_isolated_network_has_endpoints_for_every_dependency_and_no_internet(
    synthesized_stacks: Stacks, env: str
) -> None:
    stack = synthesized_stacks[f"pipeline-{env}"]
    endpoints = {body["service_name"]: body for body in of_type(stack, "aws_vpc_endpoint").values()}
    # Then S3 and DynamoDB use gateway endpoints, SNS and X-Ray interface endpoints
    assert {name: body["vpc_endpoint_type"] for name, body in endpoints.items()} == {
        "com.amazonaws.us-west-2.s3": "Gateway",
        "com.amazonaws.us-west-2.dynamodb": "Gateway",
        "com.amazonaws.us-west-2.sns": "Interface",
        "com.amazonaws.us-west-2.xray": "Interface",
    }
    # And their policies name our bucket, table and topic
    policies = stack["data"]["aws_iam_policy_document"]

    def resources_of(endpoint_prefix: str) -> list[str]:
        (key,) = [key for key in policies if key.startswith(endpoint_prefix)]
        resources: list[str] = policies[key]["statement"][0]["resources"]
        return resources

    bucket = address(stack, "aws_s3_bucket", "ingest_bucket", "arn")
    table = address(stack, "aws_dynamodb_table", "foundation_records_table", "arn")
    topic = address(stack, "aws_sns_topic", "workflow_notifications_topic", "arn")
    assert resources_of("foundation_network_s3-endpoint-policy") == [bucket, f"{bucket}/*"]
    assert resources_of("foundation_network_dynamodb-endpoint-policy") == [
        table,
        f"{table}/index/*",
    ]
    assert resources_of("foundation_network_sns-endpoint-policy") == [topic]
    # And X-Ray, whose trace actions have no resource-level permissions, takes "*"
    assert resources_of("foundation_network_xray-endpoint-policy") == ["*"]
    # And nothing routes to the internet
    for absent in ("aws_nat_gateway", "aws_internet_gateway", "aws_eip", "aws_route"):
        assert absent not in stack["resource"], absent
    # And flow logs cover the VPC
    (flow_log,) = of_type(stack, "aws_flow_log").values()
    assert flow_log["vpc_id"] == address(stack, "aws_vpc", "foundation_network_vpc", "id")
    assert flow_log["traffic_type"] == "ALL"


@pytest.mark.parametrize("env", ISOLATED)
def test_isolated_stack_outputs_its_network(synthesized_stacks: Stacks, env: str) -> None:
    outputs = synthesized_stacks[f"pipeline-{env}"]["output"]
    assert outputs["vpc_id"]["value"].startswith("${aws_vpc.foundation_network_vpc_")
    assert len(outputs["private_subnet_ids"]["value"]) == 2


@pytest.mark.parametrize("env", OPEN)
def test_open_environment_has_no_vpc_and_says_why(synthesized_stacks: Stacks, env: str) -> None:
    # Given dev's stack
    stack = synthesized_stacks[f"pipeline-{env}"]
    # Then no network exists and no function is attached to one
    for absent in ("aws_vpc", "aws_subnet", "aws_vpc_endpoint", "aws_flow_log"):
        assert absent not in stack["resource"], absent
    assert "vpc_id" not in stack["output"]
    for name, function in of_type(stack, "aws_lambda_function").items():
        assert "vpc_config" not in function, name
        # And checkov's Lambda-in-VPC finding is suppressed with the profile's reason
        skips = {s["id"]: s["comment"] for s in function["//"]["checkov"]["skip"]}
        assert "VPC isolation is off" in skips["CKV_AWS_117"], name


@pytest.mark.parametrize("env", list(ENVIRONMENTS))
def test_tracing_is_on_for_functions_rest_stages_and_the_state_machine(
    synthesized_stacks: Stacks, env: str
) -> None:
    stack = synthesized_stacks[f"pipeline-{env}"]
    for name, function in of_type(stack, "aws_lambda_function").items():
        assert function["tracing_config"] == {"mode": "Active"}, name
    for name, stage in of_type(stack, "aws_api_gateway_stage").items():
        assert stage["xray_tracing_enabled"] is True, name
    machines = of_type(stack, "aws_sfn_state_machine").values()
    assert len(machines) == (1 if env in WORKFLOW else 0)
    for machine in machines:
        assert machine["tracing_configuration"] == {"enabled": True}


@pytest.mark.parametrize("env", WORKFLOW)
def test_state_machine_runs_the_pipeline_functions_with_the_profiles_retries(
    synthesized_stacks: Stacks, env: str
) -> None:
    # Given the environment's stack and profile
    stack, settings = synthesized_stacks[f"pipeline-{env}"], ENVIRONMENTS[env].workflow
    (machine,) = of_type(stack, "aws_sfn_state_machine").values()
    states = json.loads(machine["definition"])["States"]
    arns = {
        "Validate": address(stack, "aws_lambda_function", "workflow_validate_function", "arn"),
        "Process": address(stack, "aws_lambda_function", "ingest_processor_function", "arn"),
        "Notify": address(stack, "aws_lambda_function", "workflow_notify_function", "arn"),
    }
    # Then each task invokes its function and retries as the profile says
    for state, arn in arns.items():
        assert states[state]["Parameters"]["FunctionName"] == arn
        assert states[state]["Retry"][0]["MaxAttempts"] == settings.retry_max_attempts
        assert states[state]["Retry"][0]["MaxDelaySeconds"] == settings.retry_max_delay_seconds
    # And the role may invoke exactly those three
    policies = stack["data"]["aws_iam_policy_document"]
    (permissions,) = [
        body
        for key, body in policies.items()
        if key.startswith("workflow_state-machine_permissions")
    ]
    invoke = next(s for s in permissions["statement"] if s["sid"] == "InvokePipelineFunctions")
    assert invoke["resources"] == list(arns.values())
    # And logging is complete and the functions get the contract's variables
    assert machine["logging_configuration"]["level"] == "ALL"
    functions = of_type(stack, "aws_lambda_function")
    notify = next(
        body for key, body in functions.items() if key.startswith("workflow_notify_function")
    )
    validate = next(
        body for key, body in functions.items() if key.startswith("workflow_validate_function")
    )
    topic = address(stack, "aws_sns_topic", "workflow_notifications_topic", "arn")
    assert notify["environment"]["variables"]["TOPIC_ARN"] == topic
    assert validate["environment"]["variables"]["MAX_OBJECT_BYTES"] == str(
        settings.max_object_bytes
    )
    assert stack["output"]["state_machine_arn"]["value"].startswith("${aws_sfn_state_machine.")


@pytest.mark.parametrize("env", list(ENVIRONMENTS))
def test_key_policy_lets_log_delivery_decrypt_execution_data(
    synthesized_stacks: Stacks, env: str
) -> None:
    policies = synthesized_stacks[f"pipeline-{env}"]["data"]["aws_iam_policy_document"]
    (key_policy,) = [
        body for key, body in policies.items() if key.startswith("foundation_key_policy")
    ]
    services = next(s for s in key_policy["statement"] if s.get("sid") == "LogDeliveryEncryption")
    assert LOG_DELIVERY_PRINCIPAL in services["principals"][0]["identifiers"]
    assert "kms:Decrypt" in services["actions"]


def test_emulator_synth_deploys_the_state_machine_and_can_force_the_vpc() -> None:
    # Given dev aimed at an emulator, with the network forced on (PIPELINE_FORCE_VPC=1)
    target = DeploymentTarget(
        environments=("dev",),
        state=StateBackendSettings(kind="local", bucket="unused", region="us-west-2"),
        emulator=EmulatorProfile(endpoint_url="http://127.0.0.1:4566"),
        force_vpc=True,
    )
    stack = PipelineStack(
        cdktf.Testing.app(), "pipeline-dev", config=ENVIRONMENTS["dev"], target=target
    )
    # When synthesized
    out = json.loads(cdktf.Testing.synth(stack))
    resources = out["resource"]
    # Then the state machine is deployed like on AWS (the local cloud validates definitions)
    assert len(resources["aws_sfn_state_machine"]) == 1
    assert "state_machine_arn" in out["output"]
    # And so are its role, log group and functions
    assert any(key.startswith("workflow_state-machine_role") for key in resources["aws_iam_role"])
    assert any(
        key.startswith("workflow_state-machine_logs")
        for key in resources["aws_cloudwatch_log_group"]
    )
    for name in ("workflow_validate", "workflow_notify", "ingest_processor"):
        assert any(key.startswith(f"{name}_function") for key in resources["aws_lambda_function"])
    # And dev, normally open, gets the VPC with every function attached
    assert len(resources["aws_vpc"]) == 1
    assert all("vpc_config" in body for body in resources["aws_lambda_function"].values())

"""Deploy dev with prod's network isolation (PIPELINE_FORCE_VPC=1) to a local cloud, inspect,
destroy.

Real: Terraform, the provider, our synthesized configuration, the state machine included (the
local cloud answers ValidateStateMachineDefinition). Emulated: every AWS API. The local cloud
runs in a process of its own (an empty account, like ``own_cloud``, but for the whole module,
so dev is applied once). dev is used rather than prod itself because prod's deletion
protection (prevent_destroy) would refuse the clean destroy this test ends with.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from config.environments import build_environments
from tools.ci.terraform import StackWorkspace, synth_app
from tools.localcloud.process import LocalCloudProcess

PREFIX = "evpipe-dev-"


@dataclass(frozen=True)
class Deployment:
    """dev applied to a local cloud of its own, with local state."""

    cloud: LocalCloudProcess
    workspace: StackWorkspace
    outputs: dict[str, Any]

    def client(self, service: str) -> Any:
        env = self.cloud.client_env()
        session = boto3.session.Session(
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
            region_name=env["AWS_DEFAULT_REGION"],
        )
        factory: Any = session.client  # the service name is a runtime value here
        return factory(service, endpoint_url=self.cloud.endpoint_url)


@pytest.fixture(scope="module")
def isolated_dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    run_dir = tmp_path_factory.mktemp("vpc-emulator")
    with LocalCloudProcess(log_path=run_dir / "localcloud.log") as cloud:
        stacks_dir = synth_app(
            run_dir / "cdktf.out",
            {
                **cloud.client_env(),
                "PIPELINE_ENVIRONMENTS": "dev",
                "PIPELINE_STATE_BACKEND": "local",
                "PIPELINE_FORCE_VPC": "1",
            },
        )
        workspace = StackWorkspace(stacks_dir / "pipeline-dev", cloud.endpoint_url)
        workspace.init()
        workspace.apply()
        deployment = Deployment(cloud, workspace, workspace.outputs())
        yield deployment
        # Then a destroy removes everything, the VPC included, without waiting on ENIs
        workspace.destroy()
        assert workspace.state_resources() == []
        vpcs = deployment.client("ec2").describe_vpcs(
            Filters=[{"Name": "vpc-id", "Values": [deployment.outputs["vpc_id"]]}]
        )["Vpcs"]
        assert vpcs == []


def pipeline_functions(dev: Deployment) -> list[dict[str, Any]]:
    functions = dev.client("lambda").list_functions()["Functions"]
    return [f for f in functions if f["FunctionName"].startswith(PREFIX)]


def test_private_subnets_span_two_zones_with_their_own_route_tables(
    isolated_dev: Deployment,
) -> None:
    # Given dev deployed with the network forced on
    ec2, outputs = isolated_dev.client("ec2"), isolated_dev.outputs
    subnet_ids = outputs["private_subnet_ids"]
    # Then its two private subnets are in two zones and hand out no public addresses
    subnets = ec2.describe_subnets(SubnetIds=subnet_ids)["Subnets"]
    assert {s["VpcId"] for s in subnets} == {outputs["vpc_id"]}
    assert len({s["AvailabilityZone"] for s in subnets}) == 2
    assert not any(s["MapPublicIpOnLaunch"] for s in subnets)
    # And each is associated with a route table of its own, with no route to the internet
    tables = [
        ec2.describe_route_tables(
            Filters=[{"Name": "association.subnet-id", "Values": [subnet_id]}]
        )["RouteTables"]
        for subnet_id in subnet_ids
    ]
    assert [len(found) for found in tables] == [1, 1]
    assert tables[0][0]["RouteTableId"] != tables[1][0]["RouteTableId"]
    for (table,) in tables:
        assert not any(
            route.get("DestinationCidrBlock") == "0.0.0.0/0" for route in table["Routes"]
        )
    vpc_filter = [{"Name": "vpc-id", "Values": [outputs["vpc_id"]]}]
    assert ec2.describe_nat_gateways(Filters=vpc_filter)["NatGateways"] == []
    assert (
        ec2.describe_internet_gateways(
            Filters=[{"Name": "attachment.vpc-id", "Values": [outputs["vpc_id"]]}]
        )["InternetGateways"]
        == []
    )


def test_endpoints_reach_only_the_pipelines_bucket_table_topic_and_traces(
    isolated_dev: Deployment,
) -> None:
    ec2, outputs = isolated_dev.client("ec2"), isolated_dev.outputs
    endpoints = ec2.describe_vpc_endpoints(
        Filters=[{"Name": "vpc-id", "Values": [outputs["vpc_id"]]}]
    )["VpcEndpoints"]
    by_service = {e["ServiceName"].rsplit(".", 1)[-1]: e for e in endpoints}
    # Then S3 and DynamoDB have gateway endpoints on both private route tables, SNS and X-Ray
    # interface endpoints
    assert {name: e["VpcEndpointType"] for name, e in by_service.items()} == {
        "s3": "Gateway",
        "dynamodb": "Gateway",
        "sns": "Interface",
        "xray": "Interface",
    }
    private_tables = {
        table["RouteTableId"]
        for table in ec2.describe_route_tables(
            Filters=[{"Name": "association.subnet-id", "Values": outputs["private_subnet_ids"]}]
        )["RouteTables"]
    }
    assert set(by_service["s3"]["RouteTableIds"]) == private_tables
    assert set(by_service["dynamodb"]["RouteTableIds"]) == private_tables
    # And each policy names only our resources (the records and request-log tables for DynamoDB)
    expected = {
        "s3": [outputs["ingest_bucket_arn"], f"{outputs['ingest_bucket_arn']}/*"],
        "dynamodb": [
            resource
            for table in (outputs["records_table_arn"], outputs["request_log_table_arn"])
            for resource in (table, f"{table}/index/*")
        ],
        "sns": [outputs["notifications_topic_arn"]],
        "xray": ["*"],
    }
    for service, resources in expected.items():
        (statement,) = json.loads(by_service[service]["PolicyDocument"])["Statement"]
        # IAM writes a single resource as a string and sorts lists
        found = statement["Resource"]
        assert sorted([found] if isinstance(found, str) else found) == sorted(resources), service
    # And the interface endpoints sit in both private subnets
    for service in ("sns", "xray"):
        assert set(by_service[service]["SubnetIds"]) == set(outputs["private_subnet_ids"])


def test_function_group_allows_https_out_only_and_the_default_group_nothing(
    isolated_dev: Deployment,
) -> None:
    ec2, outputs = isolated_dev.client("ec2"), isolated_dev.outputs
    group_id = outputs["function_security_group_id"]
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [group_id]}])[
        "SecurityGroupRules"
    ]
    # Then every rule is egress on TCP 443: S3, DynamoDB and the interface endpoints
    assert len(rules) == 3
    assert all(rule["IsEgress"] for rule in rules)
    assert {(r["IpProtocol"], r["FromPort"], r["ToPort"]) for r in rules} == {("tcp", 443, 443)}
    assert not any(rule.get("CidrIpv4") == "0.0.0.0/0" for rule in rules)
    # And the VPC's default group has no rules left at all
    (default,) = ec2.describe_security_groups(
        Filters=[
            {"Name": "vpc-id", "Values": [outputs["vpc_id"]]},
            {"Name": "group-name", "Values": ["default"]},
        ]
    )["SecurityGroups"]
    assert (default["IpPermissions"], default["IpPermissionsEgress"]) == ([], [])


def test_flow_logs_record_all_traffic_to_the_encrypted_group(isolated_dev: Deployment) -> None:
    ec2, logs, outputs = (
        isolated_dev.client("ec2"),
        isolated_dev.client("logs"),
        isolated_dev.outputs,
    )
    (flow_log,) = ec2.describe_flow_logs(
        Filters=[{"Name": "resource-id", "Values": [outputs["vpc_id"]]}]
    )["FlowLogs"]
    assert flow_log["TrafficType"] == "ALL"
    assert flow_log["LogDestinationType"] == "cloud-watch-logs"
    group_name = "/aws/vpc/evpipe-dev/flow-logs"
    assert flow_log["LogDestination"].endswith(f":log-group:{group_name}")
    assert flow_log["DeliverLogsPermissionArn"].endswith(":role/evpipe-dev-vpc-flow-logs")
    (group,) = logs.describe_log_groups(logGroupNamePrefix=group_name)["logGroups"]
    assert group["retentionInDays"] == build_environments()["dev"].log_retention_days
    assert group["kmsKeyId"] == outputs["kms_key_arn"]


def test_every_function_runs_in_the_private_subnets(isolated_dev: Deployment) -> None:
    outputs = isolated_dev.outputs
    functions = pipeline_functions(isolated_dev)
    # Then all five functions are attached: processor, api, maintenance, validate, notify
    assert {f["FunctionName"].removeprefix(PREFIX) for f in functions} == {
        "processor", "api", "maintenance", "validate", "notify"
    }  # fmt: skip
    for function in functions:
        vpc = function["VpcConfig"]
        assert sorted(vpc["SubnetIds"]) == sorted(outputs["private_subnet_ids"])
        assert vpc["SecurityGroupIds"] == [outputs["function_security_group_id"]]
        assert function["TracingConfig"]["Mode"] == "Active"


def test_the_workflow_and_its_trigger_are_deployed(isolated_dev: Deployment) -> None:
    outputs = isolated_dev.outputs
    # Then the state machine exists (the local cloud answers ValidateStateMachineDefinition)
    # (beside the backfill's, deployed in every environment)
    machines = isolated_dev.client("stepfunctions").list_state_machines()["stateMachines"]
    assert sorted(m["stateMachineArn"] for m in machines) == sorted(
        [outputs["state_machine_arn"], outputs["backfill_state_machine_arn"]]
    )
    # And the rule that starts it targets it
    rule_name = outputs["workflow_trigger_rule_arn"].rsplit("/", 1)[-1]
    targets = isolated_dev.client("events").list_targets_by_rule(Rule=rule_name)["Targets"]
    assert [t["Arn"] for t in targets] == [outputs["state_machine_arn"]]
    # And everything around it was deployed: its role, its log group and its functions
    role_name = outputs["state_machine_role_arn"].rsplit("/", 1)[-1]
    assert isolated_dev.client("iam").get_role(RoleName=role_name)["Role"]["Arn"]
    groups = isolated_dev.client("logs").describe_log_groups(
        logGroupNamePrefix=outputs["state_machine_log_group_name"]
    )["logGroups"]
    assert [g["logGroupName"] for g in groups] == [outputs["state_machine_log_group_name"]]
    config = isolated_dev.client("lambda").get_function_configuration(
        FunctionName=outputs["notify_function_name"]
    )
    assert config["Environment"]["Variables"]["TOPIC_ARN"] == outputs["notifications_topic_arn"]


def test_stack_deploys_the_state_machine_in_the_synthesized_code(isolated_dev: Deployment) -> None:
    stack_file = Path(isolated_dev.workspace.stack_dir) / "cdk.tf.json"
    resources = json.loads(stack_file.read_text())["resource"]
    # The ingest workflow and the backfill
    assert len(resources["aws_sfn_state_machine"]) == 2
    assert any(key.startswith("workflow_state-machine_role") for key in resources["aws_iam_role"])

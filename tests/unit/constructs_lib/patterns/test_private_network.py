from __future__ import annotations

import re
from typing import Any

import pytest
from cdktf import TerraformStack
from cdktf_cdktf_provider_aws.lambda_function import LambdaFunction, LambdaFunctionVpcConfig

from constructs_lib.patterns.private_network import (
    DYNAMODB_DATA_ACTIONS,
    HTTPS_PORT,
    NETWORK_DELETE_TIMEOUT,
    S3_DATA_ACTIONS,
    InterfaceEndpointAccess,
    PrivateNetwork,
    PrivateNetworkProps,
)
from tests.unit.constructs_lib.conftest import SynthFn, only, skipped_checks

KEY_ARN = "arn:aws:kms:us-west-2:123456789012:key/abc"
BUCKET_ARN = "arn:aws:s3:::evpipe-test-ingest"
TABLE_ARN = "arn:aws:dynamodb:us-west-2:123456789012:table/evpipe-test-records"
TOPIC_ARN = "arn:aws:sns:us-west-2:123456789012:evpipe-test-notifications"
SNS_ACCESS = InterfaceEndpointAccess(service="sns", actions=["sns:Publish"], resources=[TOPIC_ARN])


def endpoint(service: str, actions: list[str], resources: list[str]) -> dict[str, Any]:
    """Props overrides with one interface endpoint."""
    access = InterfaceEndpointAccess(service=service, actions=actions, resources=resources)
    return {"interface_endpoints": [access]}


ACCOUNT_TOKEN = r"\$\{data\.aws_caller_identity\.[^}]+\.account_id\}"


def network_props(**overrides: Any) -> PrivateNetworkProps:
    settings: dict[str, Any] = {
        "name_prefix": "evpipe-test",
        "cidr_block": "10.20.0.0/16",
        "region": "us-west-2",
        "kms_key_arn": KEY_ARN,
        "flow_log_retention_days": 30,
    }
    settings.update(overrides)
    return PrivateNetworkProps(**settings)


def with_gateways(network: PrivateNetwork) -> PrivateNetwork:
    """The network as the pipeline builds it: its bucket and table reachable from inside."""
    network.allow_s3([BUCKET_ARN])
    network.allow_dynamodb([TABLE_ARN])
    return network


def build(props: PrivateNetworkProps) -> Any:
    return lambda stack: with_gateways(PrivateNetwork(stack, "network", props=props))


def named(out: dict[str, Any], resource_type: str, construct_id: str) -> dict[str, Any]:
    """The resource of a type created with construct id ``construct_id``."""
    matches: list[dict[str, Any]] = [
        body
        for key, body in out["resource"].get(resource_type, {}).items()
        if re.fullmatch(rf"network_{re.escape(construct_id)}_[0-9A-F]{{8}}", key)
    ]
    assert len(matches) == 1, f"{resource_type} {construct_id}: {len(matches)} matches"
    return matches[0]


def ref(out: dict[str, Any], resource_type: str, construct_id: str, attribute: str) -> str:
    keys = [
        key
        for key in out["resource"][resource_type]
        if re.fullmatch(rf"network_{re.escape(construct_id)}_[0-9A-F]{{8}}", key)
    ]
    assert len(keys) == 1
    return f"${{{resource_type}.{keys[0]}.{attribute}}}"


def policy(out: dict[str, Any], construct_id: str) -> list[dict[str, Any]]:
    document = out["data"]["aws_iam_policy_document"]
    keys = [key for key in document if key.startswith(f"network_{construct_id}_")]
    assert len(keys) == 1
    statements: list[dict[str, Any]] = document[keys[0]]["statement"]
    return statements


def test_minimal_network_has_two_private_subnets_in_two_zones(synth: SynthFn) -> None:
    # Given the minimal props / When synthesized
    out = synth(build(network_props()))
    # Then the VPC resolves service names privately, for the interface endpoints
    vpc = only(out, "aws_vpc")
    assert vpc["cidr_block"] == "10.20.0.0/16"
    assert (vpc["enable_dns_support"], vpc["enable_dns_hostnames"]) == (True, True)
    # And two private subnets take the first two quarters, one per available zone
    zones = out["data"]["aws_availability_zones"]
    (lookup,) = zones.values()
    assert lookup["state"] == "available"
    assert lookup["filter"] == [{"name": "zone-type", "values": ["availability-zone"]}]
    subnets = [named(out, "aws_subnet", f"private-subnet-{n}") for n in (1, 2)]
    assert [s["cidr_block"] for s in subnets] == ["10.20.0.0/18", "10.20.64.0/18"]
    assert [s["availability_zone"] for s in subnets] == [
        f"${{element(data.aws_availability_zones.{next(iter(zones))}.names, {n})}}" for n in (0, 1)
    ]
    assert all(s["map_public_ip_on_launch"] is False for s in subnets)
    assert all(s["timeouts"] == {"delete": NETWORK_DELETE_TIMEOUT} for s in subnets)
    # And each subnet has its own route table
    for n in (1, 2):
        association = named(
            out, "aws_route_table_association", f"private-route-table-association-{n}"
        )
        assert association["subnet_id"] == ref(out, "aws_subnet", f"private-subnet-{n}", "id")
        assert association["route_table_id"] == ref(
            out, "aws_route_table", f"private-route-table-{n}", "id"
        )
    # And nothing reaches the internet: no NAT, no internet gateway, no public subnet, no routes
    for absent in ("aws_nat_gateway", "aws_internet_gateway", "aws_eip", "aws_route"):
        assert absent not in out["resource"]
    assert len(out["resource"]["aws_subnet"]) == 2


def test_gateway_endpoints_admit_only_our_bucket_and_table(synth: SynthFn) -> None:
    # Given the network / When synthesized
    out = synth(build(network_props()))
    tables = [ref(out, "aws_route_table", f"private-route-table-{n}", "id") for n in (1, 2)]
    for service, resources, actions in (
        ("s3", [BUCKET_ARN, f"{BUCKET_ARN}/*"], S3_DATA_ACTIONS),
        ("dynamodb", [TABLE_ARN, f"{TABLE_ARN}/index/*"], DYNAMODB_DATA_ACTIONS),
    ):
        # Then each gateway endpoint serves both private route tables
        endpoint = named(out, "aws_vpc_endpoint", f"{service}-endpoint")
        assert endpoint["service_name"] == f"com.amazonaws.us-west-2.{service}"
        assert endpoint["vpc_endpoint_type"] == "Gateway"
        assert endpoint["route_table_ids"] == tables
        # And its policy lists our resources only, data-plane actions only, this account only
        (statement,) = policy(out, f"{service}-endpoint-policy")
        assert statement["resources"] == resources
        assert statement["actions"] == list(actions)
        assert statement["principals"] == [{"type": "*", "identifiers": ["*"]}]
        (condition,) = statement["condition"]
        assert (condition["test"], condition["variable"]) == (
            "StringEquals",
            "aws:PrincipalAccount",
        )
        assert re.fullmatch(ACCOUNT_TOKEN, condition["values"][0])
    assert not {"s3:PutBucketPolicy", "s3:DeleteBucket", "dynamodb:DeleteTable"} & {
        *S3_DATA_ACTIONS,
        *DYNAMODB_DATA_ACTIONS,
    }


def test_function_security_group_allows_https_out_to_the_endpoints_only(synth: SynthFn) -> None:
    # Given the network without NAT / When synthesized
    out = synth(build(network_props()))
    group = named(out, "aws_security_group", "function-security-group")
    # Then the group has no inline rules, revokes its rules before deletion and waits for ENIs
    assert "ingress" not in group
    assert "egress" not in group
    assert group["revoke_rules_on_delete"] is True
    assert group["timeouts"] == {"delete": NETWORK_DELETE_TIMEOUT}
    # And its only rules are HTTPS out to the S3 and DynamoDB prefix lists
    group_id = ref(out, "aws_security_group", "function-security-group", "id")
    rules = out["resource"]["aws_vpc_security_group_egress_rule"].values()
    assert {(r["ip_protocol"], r["from_port"], r["to_port"]) for r in rules} == {
        ("tcp", HTTPS_PORT, HTTPS_PORT)
    }
    assert all(r["security_group_id"] == group_id and r["description"] for r in rules)
    assert sorted(r["prefix_list_id"] for r in rules) == sorted(
        ref(out, "aws_vpc_endpoint", f"{s}-endpoint", "prefix_list_id") for s in ("s3", "dynamodb")
    )
    assert "aws_vpc_security_group_ingress_rule" not in out["resource"]
    assert not any("cidr_ipv4" in r for r in rules)


def test_default_security_group_is_stripped_of_every_rule(synth: SynthFn) -> None:
    out = synth(build(network_props()))
    default = only(out, "aws_default_security_group")
    assert default["vpc_id"] == ref(out, "aws_vpc", "vpc", "id")
    assert "ingress" not in default
    assert "egress" not in default


def test_flow_logs_capture_all_traffic_into_an_encrypted_group(synth: SynthFn) -> None:
    # Given the network / When synthesized
    out = synth(build(network_props()))
    # Then every flow goes to a KMS-encrypted log group with retention
    flow_log = only(out, "aws_flow_log")
    assert flow_log["traffic_type"] == "ALL"
    assert flow_log["log_destination_type"] == "cloud-watch-logs"
    assert flow_log["log_destination"] == ref(
        out, "aws_cloudwatch_log_group", "flow-log-group", "arn"
    )
    group = only(out, "aws_cloudwatch_log_group")
    assert (group["kms_key_id"], group["retention_in_days"]) == (KEY_ARN, 30)
    # And only this account's flow logs may assume the delivery role
    (trust,) = policy(out, "flow-log-trust")
    assert trust["principals"] == [
        {"type": "Service", "identifiers": ["vpc-flow-logs.amazonaws.com"]}
    ]
    variables = {c["variable"]: c for c in trust["condition"]}
    assert set(variables) == {"aws:SourceAccount", "aws:SourceArn"}
    assert re.fullmatch(
        rf"arn:\$\{{data\.aws_partition\.[^}}]+\.partition\}}:ec2:us-west-2:{ACCOUNT_TOKEN}:vpc-flow-log/\*",
        variables["aws:SourceArn"]["values"][0],
    )
    # And the role writes to that group only
    write, describe = policy(out, "flow-log-permissions")
    group_arn = ref(out, "aws_cloudwatch_log_group", "flow-log-group", "arn")
    assert write["resources"] == [group_arn, f"{group_arn}:*"]
    assert "*" not in describe["resources"]


def test_short_retention_records_its_checkov_suppression(synth_with_comments: SynthFn) -> None:
    # Given 30 days of retention / When synthesized with comments
    out = synth_with_comments(build(network_props()))
    # Then the year-long-retention check is suppressed with a reason, on the log group only
    assert "CKV_AWS_338" in skipped_checks(only(out, "aws_cloudwatch_log_group"))


def test_a_year_of_retention_needs_no_suppression(synth_with_comments: SynthFn) -> None:
    out = synth_with_comments(build(network_props(flow_log_retention_days=365)))
    assert skipped_checks(only(out, "aws_cloudwatch_log_group")) == {}


def test_outbound_internet_adds_one_nat_gateway_and_https_to_anywhere(synth: SynthFn) -> None:
    # Given outbound internet / When synthesized
    out = synth(build(network_props(outbound_internet=True)))
    # Then a public subnet in the first zone's quarter routes to an internet gateway
    public = named(out, "aws_subnet", "public-subnet")
    assert public["cidr_block"] == "10.20.128.0/18"
    assert public["map_public_ip_on_launch"] is False
    igw = ref(out, "aws_internet_gateway", "internet-gateway", "id")
    assert named(out, "aws_route", "public-default-route")["gateway_id"] == igw
    # And one NAT gateway with an Elastic IP sits in it
    nat = only(out, "aws_nat_gateway")
    assert nat["subnet_id"] == ref(out, "aws_subnet", "public-subnet", "id")
    assert nat["allocation_id"] == ref(out, "aws_eip", "nat-address", "allocation_id")
    assert only(out, "aws_eip")["domain"] == "vpc"
    # And both private route tables send the default route to it
    for n in (1, 2):
        route = named(out, "aws_route", f"private-default-route-{n}")
        assert route["destination_cidr_block"] == "0.0.0.0/0"
        assert route["nat_gateway_id"] == ref(out, "aws_nat_gateway", "nat-gateway", "id")
    # And the functions may reach anywhere, still on 443 only
    internet = named(out, "aws_vpc_security_group_egress_rule", "https-to-internet")
    assert (internet["cidr_ipv4"], internet["from_port"], internet["to_port"]) == (
        "0.0.0.0/0", 443, 443
    )  # fmt: skip


def test_interface_endpoint_is_private_and_reachable_from_the_functions_only(
    synth: SynthFn,
) -> None:
    # Given an SNS endpoint added after the network was built
    def build_with_sns(stack: TerraformStack) -> None:
        with_gateways(
            PrivateNetwork(stack, "network", props=network_props())
        ).add_interface_endpoint(SNS_ACCESS)

    out = synth(build_with_sns)
    # Then it answers on SNS's usual name inside both private subnets
    endpoint = named(out, "aws_vpc_endpoint", "sns-endpoint")
    assert endpoint["vpc_endpoint_type"] == "Interface"
    assert endpoint["private_dns_enabled"] is True
    assert endpoint["subnet_ids"] == [
        ref(out, "aws_subnet", f"private-subnet-{n}", "id") for n in (1, 2)
    ]
    # And its group admits HTTPS from the functions' group and nothing else
    endpoint_group = ref(out, "aws_security_group", "endpoint-security-group", "id")
    assert endpoint["security_group_ids"] == [endpoint_group]
    ingress = only(out, "aws_vpc_security_group_ingress_rule")
    assert ingress["security_group_id"] == endpoint_group
    assert ingress["referenced_security_group_id"] == ref(
        out, "aws_security_group", "function-security-group", "id"
    )
    assert (ingress["from_port"], ingress["to_port"]) == (443, 443)
    egress = named(out, "aws_vpc_security_group_egress_rule", "https-to-interface-endpoints")
    assert egress["referenced_security_group_id"] == endpoint_group
    # And its policy allows publishing to our topic only
    (statement,) = policy(out, "sns-endpoint-policy")
    assert (statement["actions"], statement["resources"]) == (["sns:Publish"], [TOPIC_ARN])


def test_explicit_zones_are_used_verbatim(synth: SynthFn) -> None:
    out = synth(build(network_props(availability_zones=["us-west-2a", "us-west-2c"])))
    zones = [named(out, "aws_subnet", f"private-subnet-{n}")["availability_zone"] for n in (1, 2)]
    assert zones == ["us-west-2a", "us-west-2c"]
    assert "aws_availability_zones" not in out.get("data", {})


def test_placement_names_both_subnets_the_443_group_and_the_default_group_to_leave_to(
    synth: SynthFn,
) -> None:
    # Given a function attached exactly as the network's placement says
    def build_with_function(stack: TerraformStack) -> None:
        placement = with_gateways(
            PrivateNetwork(stack, "network", props=network_props())
        ).function_placement
        LambdaFunction(
            stack,
            "inside",
            function_name="inside",
            role="arn:aws:iam::123456789012:role/r",
            vpc_config=LambdaFunctionVpcConfig(
                subnet_ids=list(placement.subnet_ids),
                security_group_ids=list(placement.security_group_ids),
            ),
            replacement_security_group_ids=list(placement.replacement_security_group_ids),
        )

    # When synthesized
    out = synth(build_with_function)
    inside = out["resource"]["aws_lambda_function"]["inside"]
    # Then it uses both private subnets and the 443-out group
    assert inside["vpc_config"]["subnet_ids"] == [
        ref(out, "aws_subnet", f"private-subnet-{n}", "id") for n in (1, 2)
    ]
    assert inside["vpc_config"]["security_group_ids"] == [
        ref(out, "aws_security_group", "function-security-group", "id")
    ]
    # And the group to leave to before deletion is the rule-less default one
    default_group = next(iter(out["resource"]["aws_default_security_group"]))
    assert inside["replacement_security_group_ids"] == [
        f"${{aws_default_security_group.{default_group}.id}}"
    ]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"cidr_block": "10.20.0.0/33"},
            "cidr_block '10.20.0.0/33' is not a network address like 10.0.0.0/16",
        ),
        ({"cidr_block": "100.64.0.0/16"}, "cidr_block '100.64.0.0/16' must be a private IPv4"),
        (
            {"cidr_block": "192.168.0.0/25"},
            "cidr_block '192.168.0.0/25' must have a prefix length from /16 to /24, got /25",
        ),
        (
            {"availability_zones": ["us-west-2a"]},
            "availability_zones must name 2 different zones, got ['us-west-2a']",
        ),
        (
            {"availability_zones": ["us-west-2a", "us-west-2a"]},
            "availability_zones must name 2 different zones, got ['us-west-2a', 'us-west-2a']",
        ),
        (
            {"flow_log_traffic_type": "SOME"},
            "flow_log_traffic_type must be ALL, ACCEPT or REJECT, got 'SOME'",
        ),
        (
            {"network_delete_timeout": "45 minutes"},
            "network_delete_timeout must be whole minutes like '60m', got '45 minutes'",
        ),
        (
            {"interface_endpoints": [SNS_ACCESS, SNS_ACCESS]},
            "interface_endpoints lists a service twice: ['sns', 'sns']",
        ),
        (
            endpoint("SNS!", ["sns:Publish"], [TOPIC_ARN]),
            "interface_endpoints[0].service 'SNS!' is not a service name",
        ),
        (
            endpoint("s3", ["s3:GetObject"], [BUCKET_ARN]),
            "interface_endpoints[0].service 's3' already has a gateway endpoint",
        ),
        (
            endpoint("sns", ["sqs:SendMessage"], [TOPIC_ARN]),
            "interface_endpoints[0].actions must name sns: actions only, got ['sqs:SendMessage']",
        ),
        (
            endpoint("sns", ["sns:Publish"], []),
            "interface_endpoints[0].resources must name at least one ARN",
        ),
    ],
)
def test_invalid_props_name_the_field(overrides: dict[str, Any], message: str) -> None:
    # Given one bad prop / When the props are built / Then the error names it
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        network_props(**overrides)


def test_adding_the_same_interface_endpoint_twice_is_refused(synth: SynthFn) -> None:
    # Given a network that already has an SNS endpoint
    def build_twice(stack: TerraformStack) -> None:
        network = with_gateways(PrivateNetwork(stack, "network", props=network_props()))
        network.add_interface_endpoint(SNS_ACCESS)
        # When a second one is added / Then it is refused by name
        with pytest.raises(ValueError, match=r"^interface_endpoints\[sns\] already exists"):
            network.add_interface_endpoint(SNS_ACCESS)

    out = synth(build_twice)
    assert len(out["resource"]["aws_vpc_endpoint"]) == 3


@pytest.mark.parametrize(
    ("arns", "message"),
    [
        ([[]], "the s3 gateway endpoint must admit at least one resource"),
        (
            [[BUCKET_ARN], [BUCKET_ARN]],
            "the s3 gateway endpoint already exists; give it every ARN at once",
        ),
    ],
)
def test_gateway_endpoints_need_resources_and_are_created_once(
    synth: SynthFn, arns: list[list[str]], message: str
) -> None:
    # Given a network whose S3 endpoint is asked for with no bucket, or twice
    def build_endpoints(stack: TerraformStack) -> None:
        network = PrivateNetwork(stack, "network", props=network_props())
        for bucket_arns in arns:
            network.allow_s3(bucket_arns)

    # When synthesized / Then the mistake is named
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        synth(build_endpoints)

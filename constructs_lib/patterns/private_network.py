"""A private VPC for Lambda functions: two AZs, endpoints instead of internet, flow logs.

Functions get two private subnets in two Availability Zones, each with its own route table.
S3 and DynamoDB are reached through gateway endpoints whose policies admit only our buckets
and tables; APIs without a gateway endpoint (SNS, for example) get interface endpoints with
the same kind of policy; X-Ray's (``XRAY_ACCESS``) carries every function's trace segments.
A NAT gateway, with the public subnet and internet gateway it needs,
exists only when ``outbound_internet`` asks for it. The functions' security group allows
HTTPS (443) out and nothing else, the VPC's default security group is stripped of all rules,
and flow logs go to an encrypted log group with retention.

Destroying VPC-attached functions without hanging on network interfaces
-----------------------------------------------------------------------
Lambda places "hyperplane" network interfaces (ENIs, described ``AWS Lambda VPC ENI-*``) in
the subnets, one per subnet and security-group combination. They are owned by Lambda, so
nobody can delete them while Lambda still holds them, and Lambda frees them only some time
after the last function using them is deleted or moved (AWS quotes a P99 of about 35
minutes). Until then the subnets and the security group cannot be deleted. What we do:

1. Ordering. Every function names the subnets and security group in its ``vpc_config``, so
   Terraform destroys (or detaches) the functions first and the network afterwards; the
   ENIs start draining as early as possible.
2. The AWS provider cleans up. On ``aws_security_group`` and ``aws_subnet`` deletion the
   provider finds Lambda's ENIs, waits for Lambda to release them, then detaches and
   deletes them itself. It waits at least 45 minutes, or the resource's delete timeout if
   that is longer; we set ``NETWORK_DELETE_TIMEOUT`` (60 minutes) on both, so the tail
   beyond the P99 does not fail the destroy.
3. ``function_placement`` names this VPC's locked-down default security group as the
   replacement group, so every function attached through it has
   ``replace_security_groups_on_destroy``: just before the function is deleted it is moved
   off our security group, so that group is no longer pinned by Lambda's ENIs and deletes at
   once.
4. Rules between our two security groups are separate rule resources, destroyed before
   either group, and ``revoke_rules_on_delete`` drops any rule added outside Terraform, so
   no cross-reference blocks a deletion with ``DependencyViolation``.

A full destroy therefore completes unattended; the subnets are the part that may take tens
of minutes while Lambda drains. If a run is interrupted anyway, rerunning ``terraform
destroy`` resumes the wait; never delete Lambda's ENIs by hand while a function uses them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from cdktf import Fn
from cdktf_cdktf_provider_aws.data_aws_availability_zones import (
    DataAwsAvailabilityZones,
    DataAwsAvailabilityZonesFilter,
)
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
    DataAwsIamPolicyDocumentStatementPrincipals,
)
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition
from cdktf_cdktf_provider_aws.default_security_group import DefaultSecurityGroup
from cdktf_cdktf_provider_aws.eip import Eip
from cdktf_cdktf_provider_aws.flow_log import FlowLog
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.internet_gateway import InternetGateway
from cdktf_cdktf_provider_aws.nat_gateway import NatGateway
from cdktf_cdktf_provider_aws.route import Route
from cdktf_cdktf_provider_aws.route_table import RouteTable
from cdktf_cdktf_provider_aws.route_table_association import RouteTableAssociation
from cdktf_cdktf_provider_aws.security_group import SecurityGroup, SecurityGroupTimeouts
from cdktf_cdktf_provider_aws.subnet import Subnet, SubnetTimeouts
from cdktf_cdktf_provider_aws.vpc import Vpc
from cdktf_cdktf_provider_aws.vpc_endpoint import VpcEndpoint
from cdktf_cdktf_provider_aws.vpc_security_group_egress_rule import VpcSecurityGroupEgressRule
from cdktf_cdktf_provider_aws.vpc_security_group_ingress_rule import (
    VpcSecurityGroupIngressRule,
)
from constructs import Construct

from constructs_lib.aws_limits import check_vpc_cidr
from constructs_lib.base.log_groups import encrypted_log_group
from constructs_lib.base.policy_statements import service_assume_role
from constructs_lib.base.python_function import VpcPlacement

# Two AZs keep the functions running through one zone's outage; Lambda wants at least two.
AVAILABILITY_ZONE_COUNT = 2
# The VPC is cut into quarters: two private subnets, one public (NAT only), one spare.
SUBNET_PREFIX_DIFF = 2
HTTPS_PORT = 443
# Above the provider's 45-minute floor for Lambda ENI release (P99 ~35 min); see module docs.
NETWORK_DELETE_TIMEOUT = "60m"
FlowLogTrafficType = Literal["ALL", "ACCEPT", "REJECT"]
# Every flow, accepted and rejected: rejected ones are what an investigation looks for first.
DEFAULT_FLOW_LOG_TRAFFIC_TYPE: FlowLogTrafficType = "ALL"
# Data-plane calls on objects; bucket configuration is never changed from inside the VPC.
S3_DATA_ACTIONS = (
    "s3:GetObject",
    "s3:GetObjectVersion",
    "s3:GetObjectAttributes",
    "s3:GetObjectTagging",
    "s3:PutObject",
    "s3:PutObjectTagging",
    "s3:ListBucket",
    "s3:ListBucketVersions",
)
# Item and query calls; tables are never created, changed or deleted from inside the VPC.
DYNAMODB_DATA_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:DescribeTable",
)
# Services that have gateway endpoints here; they must not be asked for as interface endpoints.
GATEWAY_SERVICES = ("s3", "dynamodb")
_SERVICE_NAME = re.compile(r"^[a-z][a-z0-9-]*$")


@dataclass(frozen=True, kw_only=True)
class InterfaceEndpointAccess:
    """An AWS API reached through an interface endpoint, limited to named actions and ARNs."""

    # The short service name, as in com.amazonaws.<region>.<service> (for example "sns").
    service: str
    actions: Sequence[str]
    resources: Sequence[str]

    def validate(self, field_name: str) -> None:
        if not _SERVICE_NAME.match(self.service):
            raise ValueError(f"{field_name}.service {self.service!r} is not a service name")
        if self.service in GATEWAY_SERVICES:
            raise ValueError(
                f"{field_name}.service {self.service!r} already has a gateway endpoint; "
                "list its ARNs in s3_bucket_arns or dynamodb_table_arns instead"
            )
        wrong = [action for action in self.actions if not action.startswith(f"{self.service}:")]
        if not self.actions or wrong:
            raise ValueError(
                f"{field_name}.actions must name {self.service}: actions only, got "
                f"{list(self.actions)!r}"
            )
        if not self.resources:
            raise ValueError(f"{field_name}.resources must name at least one ARN")


# What the functions' X-Ray daemon sends (the actions PythonFunction grants); X-Ray has no
# resource-level permissions for them, hence "*".
XRAY_ACCESS = InterfaceEndpointAccess(
    service="xray",
    actions=("xray:PutTraceSegments", "xray:PutTelemetryRecords"),
    resources=("*",),
)


@dataclass(frozen=True, kw_only=True)
class PrivateNetworkProps:
    name_prefix: str
    cidr_block: str
    region: str
    # Encrypts the flow-log group.
    kms_key_arn: str
    flow_log_retention_days: int
    interface_endpoints: Sequence[InterfaceEndpointAccess] = ()
    # Adds a public subnet, an internet gateway and one NAT gateway, and allows 443 to anywhere.
    outbound_internet: bool = False
    # Exactly two zone names; None takes the region's first two available zones.
    availability_zones: Sequence[str] | None = None
    flow_log_traffic_type: FlowLogTrafficType = DEFAULT_FLOW_LOG_TRAFFIC_TYPE
    network_delete_timeout: str = NETWORK_DELETE_TIMEOUT

    def __post_init__(self) -> None:
        check_vpc_cidr("cidr_block", self.cidr_block)
        services = [endpoint.service for endpoint in self.interface_endpoints]
        for index, endpoint in enumerate(self.interface_endpoints):
            endpoint.validate(f"interface_endpoints[{index}]")
        if len(set(services)) != len(services):
            raise ValueError(f"interface_endpoints lists a service twice: {services}")
        if self.availability_zones is not None and (
            len(set(self.availability_zones)) != AVAILABILITY_ZONE_COUNT
        ):
            raise ValueError(
                f"availability_zones must name {AVAILABILITY_ZONE_COUNT} different zones, "
                f"got {list(self.availability_zones)!r}"
            )
        if self.flow_log_traffic_type not in ("ALL", "ACCEPT", "REJECT"):
            raise ValueError(
                "flow_log_traffic_type must be ALL, ACCEPT or REJECT, "
                f"got {self.flow_log_traffic_type!r}"
            )
        if not re.fullmatch(r"[1-9][0-9]*m", self.network_delete_timeout):
            raise ValueError(
                "network_delete_timeout must be whole minutes like '60m', "
                f"got {self.network_delete_timeout!r}"
            )

    @property
    def subnet_cidrs(self) -> list[str]:
        """Quarters of the VPC range: private AZ 1, private AZ 2, public, spare."""
        network = check_vpc_cidr("cidr_block", self.cidr_block)
        return [str(block) for block in network.subnets(prefixlen_diff=SUBNET_PREFIX_DIFF)]


class PrivateNetwork(Construct):
    """VPC, private subnets, endpoints, security groups, flow logs and the optional NAT."""

    def __init__(self, scope: Construct, construct_id: str, *, props: PrivateNetworkProps) -> None:
        super().__init__(scope, construct_id)
        self._props = props
        prefix = props.name_prefix
        self.account_id = DataAwsCallerIdentity(self, "caller").account_id
        self.partition = DataAwsPartition(self, "partition").partition
        self.vpc = Vpc(
            self,
            "vpc",
            cidr_block=props.cidr_block,
            # Interface endpoints answer on the services' public names only with both on.
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags={"Name": prefix},
        )
        # Managing the default group strips its allow-all rules; nothing may use it for traffic.
        self.default_security_group = DefaultSecurityGroup(
            self, "default-security-group", vpc_id=self.vpc.id, tags={"Name": f"{prefix}-default"}
        )
        zones = self._zone_names()
        cidrs = props.subnet_cidrs
        self.private_subnets: list[Subnet] = []
        self.private_route_tables: list[RouteTable] = []
        for index, zone in enumerate(zones):
            subnet = Subnet(
                self,
                f"private-subnet-{index + 1}",
                vpc_id=self.vpc.id,
                cidr_block=cidrs[index],
                availability_zone=zone,
                map_public_ip_on_launch=False,
                tags={"Name": f"{prefix}-private-{index + 1}", "Tier": "private"},
                timeouts=SubnetTimeouts(delete=props.network_delete_timeout),
            )
            route_table = RouteTable(
                self,
                f"private-route-table-{index + 1}",
                vpc_id=self.vpc.id,
                tags={"Name": f"{prefix}-private-{index + 1}"},
            )
            RouteTableAssociation(
                self,
                f"private-route-table-association-{index + 1}",
                subnet_id=subnet.id,
                route_table_id=route_table.id,
            )
            self.private_subnets.append(subnet)
            self.private_route_tables.append(route_table)
        self.function_security_group = self._security_group(
            "function-security-group",
            f"{prefix}-functions",
            "Lambda functions: HTTPS out to the VPC endpoints"
            + (" and through the NAT gateway" if props.outbound_internet else "")
            + ", nothing in",
        )
        # Added by the constructs that own the buckets and tables: allow_s3, allow_dynamodb.
        self.gateway_endpoints: dict[str, VpcEndpoint] = {}
        self.endpoint_security_group: SecurityGroup | None = None
        self.interface_endpoints: dict[str, VpcEndpoint] = {}
        for access in props.interface_endpoints:
            self.add_interface_endpoint(access)
        self.public_subnet: Subnet | None = None
        self.internet_gateway: InternetGateway | None = None
        self.nat_gateway: NatGateway | None = None
        if props.outbound_internet:
            self._nat(zones[0], cidrs[AVAILABILITY_ZONE_COUNT])
        self._flow_logs()

    @property
    def private_subnet_ids(self) -> list[str]:
        return [subnet.id for subnet in self.private_subnets]

    @property
    def routed_services(self) -> frozenset[str]:
        """Short names of the AWS services reachable through an endpoint of this VPC."""
        return frozenset({*self.gateway_endpoints, *self.interface_endpoints})

    @property
    def outbound_internet(self) -> bool:
        return self._props.outbound_internet

    @property
    def function_placement(self) -> VpcPlacement:
        """Where PythonFunction attaches a function: both private subnets, the 443-out group,
        and the rule-less default group to move to before deletion (see the module docs)."""
        return VpcPlacement(
            subnet_ids=self.private_subnet_ids,
            security_group_ids=[self.function_security_group.id],
            replacement_security_group_ids=[self.default_security_group.id],
        )

    def _zone_names(self) -> list[str]:
        if self._props.availability_zones is not None:
            return list(self._props.availability_zones)
        zones = DataAwsAvailabilityZones(
            self,
            "zones",
            state="available",
            # Local and Wavelength Zones sort before "<region>a" and support no Lambda subnets.
            filter=[DataAwsAvailabilityZonesFilter(name="zone-type", values=["availability-zone"])],
        )
        return [Fn.element(zones.names, index) for index in range(AVAILABILITY_ZONE_COUNT)]

    def _endpoint_policy(
        self, name: str, actions: Sequence[str], resources: Sequence[str]
    ) -> DataAwsIamPolicyDocument:
        return DataAwsIamPolicyDocument(
            self,
            f"{name}-endpoint-policy",
            statement=[
                DataAwsIamPolicyDocumentStatement(
                    sid="OnlyPipelineResourcesFromThisAccount",
                    actions=list(actions),
                    resources=list(resources),
                    principals=[
                        DataAwsIamPolicyDocumentStatementPrincipals(type="*", identifiers=["*"])
                    ],
                    # Stolen credentials of another account get nowhere through our VPC.
                    condition=[
                        DataAwsIamPolicyDocumentStatementCondition(
                            test="StringEquals",
                            variable="aws:PrincipalAccount",
                            values=[self.account_id],
                        )
                    ],
                )
            ],
        )

    def allow_s3(self, bucket_arns: Sequence[str]) -> VpcEndpoint:
        """The S3 gateway endpoint, admitting object calls on exactly these buckets."""
        return self._gateway_endpoint("s3", S3_DATA_ACTIONS, _bucket_resources(bucket_arns))

    def allow_dynamodb(self, table_arns: Sequence[str]) -> VpcEndpoint:
        """The DynamoDB gateway endpoint, admitting item calls on exactly these tables."""
        return self._gateway_endpoint(
            "dynamodb", DYNAMODB_DATA_ACTIONS, _table_resources(table_arns)
        )

    def _gateway_endpoint(
        self, service: str, actions: Sequence[str], resources: Sequence[str]
    ) -> VpcEndpoint:
        if service in self.gateway_endpoints:
            raise ValueError(
                f"the {service} gateway endpoint already exists; give it every ARN at once"
            )
        if not resources:
            raise ValueError(f"the {service} gateway endpoint must admit at least one resource")
        endpoint = VpcEndpoint(
            self,
            f"{service}-endpoint",
            vpc_id=self.vpc.id,
            service_name=f"com.amazonaws.{self._props.region}.{service}",
            vpc_endpoint_type="Gateway",
            route_table_ids=[table.id for table in self.private_route_tables],
            policy=self._endpoint_policy(service, actions, resources).json,
            tags={"Name": f"{self._props.name_prefix}-{service}"},
        )
        self._allow_https_out(service, prefix_list_id=endpoint.prefix_list_id)
        self.gateway_endpoints[service] = endpoint
        return endpoint

    def _security_group(self, construct_id: str, name: str, description: str) -> SecurityGroup:
        # No inline rules: the rule resources below own them, and Terraform then removes the
        # allow-all egress rule AWS adds to every new group.
        return SecurityGroup(
            self,
            construct_id,
            name=name,
            description=description,
            vpc_id=self.vpc.id,
            revoke_rules_on_delete=True,
            timeouts=SecurityGroupTimeouts(delete=self._props.network_delete_timeout),
            tags={"Name": name},
        )

    def _allow_https_out(
        self,
        target: str,
        *,
        prefix_list_id: str | None = None,
        security_group_id: str | None = None,
        cidr_ipv4: str | None = None,
    ) -> VpcSecurityGroupEgressRule:
        return VpcSecurityGroupEgressRule(
            self,
            f"https-to-{target}",
            security_group_id=self.function_security_group.id,
            description=f"HTTPS to {target}",
            ip_protocol="tcp",
            from_port=HTTPS_PORT,
            to_port=HTTPS_PORT,
            prefix_list_id=prefix_list_id,
            referenced_security_group_id=security_group_id,
            cidr_ipv4=cidr_ipv4,
        )

    def add_interface_endpoint(self, access: InterfaceEndpointAccess) -> VpcEndpoint:
        """Reach one more AWS API privately, e.g. for a resource created after the network."""
        field_name = f"interface_endpoints[{access.service}]"
        access.validate(field_name)
        if access.service in self.interface_endpoints:
            raise ValueError(f"{field_name} already exists; give each service one endpoint")
        endpoint = VpcEndpoint(
            self,
            f"{access.service}-endpoint",
            vpc_id=self.vpc.id,
            service_name=f"com.amazonaws.{self._props.region}.{access.service}",
            vpc_endpoint_type="Interface",
            private_dns_enabled=True,
            subnet_ids=self.private_subnet_ids,
            security_group_ids=[self._endpoint_security_group().id],
            policy=self._endpoint_policy(access.service, access.actions, access.resources).json,
            tags={"Name": f"{self._props.name_prefix}-{access.service}"},
        )
        self.interface_endpoints[access.service] = endpoint
        return endpoint

    def _endpoint_security_group(self) -> SecurityGroup:
        """The interface endpoints' group, created with the first endpoint."""
        if self.endpoint_security_group is not None:
            return self.endpoint_security_group
        group = self._security_group(
            "endpoint-security-group",
            f"{self._props.name_prefix}-endpoints",
            "Interface endpoints: HTTPS in from the pipeline functions only",
        )
        self.endpoint_security_group = group
        VpcSecurityGroupIngressRule(
            self,
            "https-from-functions",
            security_group_id=group.id,
            description="HTTPS from the pipeline functions",
            ip_protocol="tcp",
            from_port=HTTPS_PORT,
            to_port=HTTPS_PORT,
            referenced_security_group_id=self.function_security_group.id,
        )
        self._allow_https_out("interface-endpoints", security_group_id=group.id)
        return group

    def _nat(self, zone: str, cidr: str) -> None:
        prefix = self._props.name_prefix
        self.public_subnet = Subnet(
            self,
            "public-subnet",
            vpc_id=self.vpc.id,
            cidr_block=cidr,
            availability_zone=zone,
            # Only the NAT gateway lives here, and it has its own Elastic IP.
            map_public_ip_on_launch=False,
            tags={"Name": f"{prefix}-public", "Tier": "public"},
            timeouts=SubnetTimeouts(delete=self._props.network_delete_timeout),
        )
        self.internet_gateway = InternetGateway(
            self, "internet-gateway", vpc_id=self.vpc.id, tags={"Name": prefix}
        )
        public_routes = RouteTable(
            self, "public-route-table", vpc_id=self.vpc.id, tags={"Name": f"{prefix}-public"}
        )
        Route(
            self,
            "public-default-route",
            route_table_id=public_routes.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=self.internet_gateway.id,
        )
        RouteTableAssociation(
            self,
            "public-route-table-association",
            subnet_id=self.public_subnet.id,
            route_table_id=public_routes.id,
        )
        address = Eip(
            self,
            "nat-address",
            domain="vpc",
            tags={"Name": f"{prefix}-nat"},
            depends_on=[self.internet_gateway],
        )
        # One gateway, not one per AZ: a zone outage cuts internet access (not the endpoints)
        # for the other zone too, in exchange for half the standing cost.
        self.nat_gateway = NatGateway(
            self,
            "nat-gateway",
            allocation_id=address.allocation_id,
            subnet_id=self.public_subnet.id,
            tags={"Name": prefix},
            depends_on=[self.internet_gateway],
        )
        for index, table in enumerate(self.private_route_tables):
            Route(
                self,
                f"private-default-route-{index + 1}",
                route_table_id=table.id,
                destination_cidr_block="0.0.0.0/0",
                nat_gateway_id=self.nat_gateway.id,
            )
        self._allow_https_out("internet", cidr_ipv4="0.0.0.0/0")

    def _flow_logs(self) -> None:
        props = self._props
        self.flow_log_group = encrypted_log_group(
            self,
            "flow-log-group",
            name=f"/aws/vpc/{props.name_prefix}/flow-logs",
            retention_days=props.flow_log_retention_days,
            kms_key_arn=props.kms_key_arn,
            contents="flow logs",
        )
        source_account = DataAwsIamPolicyDocumentStatementCondition(
            test="StringEquals", variable="aws:SourceAccount", values=[self.account_id]
        )
        trust = DataAwsIamPolicyDocument(
            self,
            "flow-log-trust",
            statement=[
                # Only flow logs of this account may use the role (confused deputy).
                service_assume_role(
                    "vpc-flow-logs.amazonaws.com",
                    [
                        source_account,
                        DataAwsIamPolicyDocumentStatementCondition(
                            test="ArnLike",
                            variable="aws:SourceArn",
                            values=[
                                f"arn:{self.partition}:ec2:{props.region}:{self.account_id}:vpc-flow-log/*"
                            ],
                        ),
                    ],
                )
            ],
        )
        self.flow_log_role = IamRole(
            self,
            "flow-log-role",
            name=f"{props.name_prefix}-vpc-flow-logs",
            assume_role_policy=trust.json,
        )
        permissions = DataAwsIamPolicyDocument(
            self,
            "flow-log-permissions",
            statement=[
                DataAwsIamPolicyDocumentStatement(
                    sid="WriteFlowLogs",
                    actions=[
                        "logs:CreateLogStream",
                        "logs:PutLogEvents",
                        "logs:DescribeLogStreams",
                    ],
                    resources=[self.flow_log_group.arn, f"{self.flow_log_group.arn}:*"],
                ),
                DataAwsIamPolicyDocumentStatement(
                    sid="FindLogGroup",
                    actions=["logs:DescribeLogGroups"],
                    resources=[
                        f"arn:{self.partition}:logs:{props.region}:{self.account_id}:log-group:*"
                    ],
                ),
            ],
        )
        IamRolePolicy(self, "flow-log-policy", role=self.flow_log_role.id, policy=permissions.json)
        self.flow_log = FlowLog(
            self,
            "flow-log",
            vpc_id=self.vpc.id,
            traffic_type=props.flow_log_traffic_type,
            log_destination_type="cloud-watch-logs",
            log_destination=self.flow_log_group.arn,
            iam_role_arn=self.flow_log_role.arn,
            tags={"Name": props.name_prefix},
        )


def _bucket_resources(bucket_arns: Sequence[str]) -> list[str]:
    return [resource for arn in bucket_arns for resource in (arn, f"{arn}/*")]


def _table_resources(table_arns: Sequence[str]) -> list[str]:
    return [resource for arn in table_arns for resource in (arn, f"{arn}/index/*")]

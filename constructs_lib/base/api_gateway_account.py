"""API Gateway's account-wide CloudWatch role: one per account and region, set in one stack.

The setting (``aws_api_gateway_account``) is not per API: whichever stack applies it last wins,
and destroying the stack that owns the role breaks every other API's logging. It therefore
lives in the account-level bootstrap stack, never in an environment stack
(tests/unit/stacks/test_account_guard.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_aws.api_gateway_account import ApiGatewayAccount
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
)
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from constructs import Construct

from constructs_lib.base.policy_statements import service_assume_role

# What API Gateway does with the role: create its execution/access log groups and write them.
LOGGING_ACTIONS = (
    "logs:CreateLogGroup",
    "logs:CreateLogStream",
    "logs:DescribeLogGroups",
    "logs:DescribeLogStreams",
    "logs:PutLogEvents",
    "logs:GetLogEvents",
    "logs:FilterLogEvents",
)
# Terraform resource types that are account- or region-wide settings, not per-environment.
ACCOUNT_LEVEL_RESOURCE_TYPES = frozenset({"aws_api_gateway_account"})


@dataclass(frozen=True, kw_only=True)
class ApiGatewayAccountLoggingProps:
    # The role's name; one per account, so it names the project, not an environment.
    role_name: str
    region: str


class ApiGatewayAccountLogging(Construct):
    """The role API Gateway assumes to write REST API logs, set as the account's role."""

    def __init__(
        self, scope: Construct, construct_id: str, *, props: ApiGatewayAccountLoggingProps
    ) -> None:
        super().__init__(scope, construct_id)
        identity = DataAwsCallerIdentity(self, "caller")
        partition = DataAwsPartition(self, "partition")
        # Only API Gateway acting for this account may assume it (confused deputy).
        trust = DataAwsIamPolicyDocument(
            self,
            "trust",
            statement=[
                service_assume_role(
                    "apigateway.amazonaws.com",
                    [
                        DataAwsIamPolicyDocumentStatementCondition(
                            test="StringEquals",
                            variable="aws:SourceAccount",
                            values=[identity.account_id],
                        ),
                        # Any REST API of this region: the role is the account's, not one API's.
                        DataAwsIamPolicyDocumentStatementCondition(
                            test="ArnLike",
                            variable="aws:SourceArn",
                            values=[
                                f"arn:{partition.partition}:apigateway:{props.region}::/restapis/*"
                            ],
                        ),
                    ],
                )
            ],
        )
        log_groups = (
            f"arn:{partition.partition}:logs:{props.region}:{identity.account_id}:log-group:*"
        )
        permissions = DataAwsIamPolicyDocument(
            self,
            "permissions",
            statement=[
                DataAwsIamPolicyDocumentStatement(
                    sid="WriteApiGatewayLogs",
                    actions=list(LOGGING_ACTIONS),
                    # Any API's logs in this account and region: the role is account-wide.
                    resources=[log_groups, f"{log_groups}:*"],
                )
            ],
        )
        self.role = IamRole(
            self,
            "role",
            name=props.role_name,
            description="API Gateway's account-wide role for writing REST API logs",
            assume_role_policy=trust.json,
        )
        IamRolePolicy(self, "policy", role=self.role.id, policy=permissions.json)
        self.account = ApiGatewayAccount(self, "account", cloudwatch_role_arn=self.role.arn)

"""CodeDeploy shifts each function's `live` alias to a new version gradually, and back on alarm.

Terraform publishes the version (``publish = true``) and leaves the alias where it is
(``PythonFunctionProps.alias_moved_by_codedeploy``); a deployment started with
``python -m tools.rollout`` then moves the alias by the group's deployment configuration,
and CodeDeploy moves it back when the deployment fails or one of the group's alarms fires.
One deployment group per function, all in one CodeDeploy application with one service role.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cdktf_cdktf_provider_aws.cloudwatch_metric_alarm import CloudwatchMetricAlarm
from cdktf_cdktf_provider_aws.codedeploy_app import CodedeployApp
from cdktf_cdktf_provider_aws.codedeploy_deployment_group import (
    CodedeployDeploymentGroup,
    CodedeployDeploymentGroupAlarmConfiguration,
    CodedeployDeploymentGroupAutoRollbackConfiguration,
    CodedeployDeploymentGroupDeploymentStyle,
)
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
)
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from constructs import Construct

from constructs_lib.base.policy_statements import service_assume_role
from constructs_lib.base.python_function import PythonFunction
from constructs_lib.specs import LAMBDA_DEPLOYMENT_CONFIGS

CODEDEPLOY_PRINCIPAL = "codedeploy.amazonaws.com"
# Lambda deployments are always blue/green with traffic control: the alias is the switch.
DEPLOYMENT_TYPE = "BLUE_GREEN"
DEPLOYMENT_OPTION = "WITH_TRAFFIC_CONTROL"
# Roll back when the deployment fails and when an alarm stops it.
ROLLBACK_EVENTS = ("DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM")
# What CodeDeploy does with the role for a Lambda deployment without hooks (the AWS managed
# AWSCodeDeployRoleForLambdaLimited allows the same on "*"; here, on these aliases and alarms).
ALIAS_ACTIONS = ("lambda:GetAlias", "lambda:UpdateAlias", "lambda:GetProvisionedConcurrencyConfig")
ALARM_ACTIONS = ("cloudwatch:DescribeAlarms",)


@dataclass(frozen=True, kw_only=True)
class RolloutTarget:
    """One function whose alias CodeDeploy moves, and the alarms that stop a deployment."""

    function: PythonFunction
    # At least the function's error alarm.
    alarms: Sequence[CloudwatchMetricAlarm]

    def __post_init__(self) -> None:
        label = self.function.node.id
        if not self.alarms:
            raise ValueError(
                f"targets: {label} has no alarms; a gradual rollout needs the function's error "
                "alarm to roll a bad version back"
            )
        if not self.function.alias_moved_by_codedeploy:
            raise ValueError(
                f"targets: {label} must be built with alias_moved_by_codedeploy=True, or every "
                "terraform apply would undo CodeDeploy's alias shifts"
            )


@dataclass(frozen=True, kw_only=True)
class GradualRolloutProps:
    application_name: str
    # One of CodeDeploy's predefined Lambda configurations (canary, linear, all at once).
    deployment_config_name: str
    targets: Sequence[RolloutTarget]

    def __post_init__(self) -> None:
        if self.deployment_config_name not in LAMBDA_DEPLOYMENT_CONFIGS:
            raise ValueError(
                f"deployment_config_name must be one of {', '.join(LAMBDA_DEPLOYMENT_CONFIGS)}, "
                f"got {self.deployment_config_name!r}"
            )
        if not self.targets:
            raise ValueError("targets must name at least one function")
        labels = [target.function.node.id for target in self.targets]
        if len(set(labels)) != len(labels):
            raise ValueError(f"targets: each function once, got {labels}")


class GradualRollout(Construct):
    """CodeDeploy application, its service role and one deployment group per function."""

    def __init__(self, scope: Construct, construct_id: str, *, props: GradualRolloutProps) -> None:
        super().__init__(scope, construct_id)
        account_id = DataAwsCallerIdentity(self, "caller").account_id
        self.application = CodedeployApp(
            self, "application", name=props.application_name, compute_platform="Lambda"
        )
        trust = DataAwsIamPolicyDocument(
            self,
            "trust",
            statement=[
                # Only CodeDeploy acting for this account (confused deputy).
                service_assume_role(
                    CODEDEPLOY_PRINCIPAL,
                    [
                        DataAwsIamPolicyDocumentStatementCondition(
                            test="StringEquals", variable="aws:SourceAccount", values=[account_id]
                        )
                    ],
                )
            ],
        )
        self.role = IamRole(
            self,
            "role",
            name=f"{props.application_name}-codedeploy",
            assume_role_policy=trust.json,
        )
        self.policy_document = DataAwsIamPolicyDocument(
            self,
            "permissions",
            statement=[
                DataAwsIamPolicyDocumentStatement(
                    sid="ShiftLiveAliases",
                    actions=list(ALIAS_ACTIONS),
                    resources=[target.function.alias_arn for target in props.targets],
                ),
                DataAwsIamPolicyDocumentStatement(
                    sid="WatchRollbackAlarms",
                    actions=list(ALARM_ACTIONS),
                    resources=[alarm.arn for target in props.targets for alarm in target.alarms],
                ),
            ],
        )
        self.role_policy = IamRolePolicy(
            self, "policy", role=self.role.id, policy=self.policy_document.json
        )
        self.groups: dict[str, CodedeployDeploymentGroup] = {}
        for target in props.targets:
            label = target.function.node.id
            self.groups[label] = CodedeployDeploymentGroup(
                self,
                f"group-{label}",
                app_name=self.application.name,
                deployment_group_name=label,
                service_role_arn=self.role.arn,
                deployment_config_name=props.deployment_config_name,
                deployment_style=CodedeployDeploymentGroupDeploymentStyle(
                    deployment_type=DEPLOYMENT_TYPE, deployment_option=DEPLOYMENT_OPTION
                ),
                auto_rollback_configuration=CodedeployDeploymentGroupAutoRollbackConfiguration(
                    enabled=True, events=list(ROLLBACK_EVENTS)
                ),
                alarm_configuration=CodedeployDeploymentGroupAlarmConfiguration(
                    enabled=True, alarms=[alarm.alarm_name for alarm in target.alarms]
                ),
                # CodeDeploy checks at creation that it may assume the role and use it.
                depends_on=[self.role_policy],
            )

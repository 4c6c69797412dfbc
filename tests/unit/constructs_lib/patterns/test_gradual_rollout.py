from __future__ import annotations

from typing import Any

import pytest
from cdktf import TerraformStack
from cdktf_cdktf_provider_aws.cloudwatch_metric_alarm import CloudwatchMetricAlarm

from constructs_lib.patterns.gradual_rollout import (
    GradualRollout,
    GradualRolloutProps,
    RolloutTarget,
)
from constructs_lib.specs import DEFAULT_DEPLOYMENT_CONFIG, RolloutSettings
from tests.unit.constructs_lib.conftest import FunctionFactory, SynthFn, only


def error_alarm(stack: TerraformStack, label: str) -> CloudwatchMetricAlarm:
    return CloudwatchMetricAlarm(
        stack,
        f"{label}-errors",
        alarm_name=f"evpipe-test-{label}-errors",
        comparison_operator="GreaterThanOrEqualToThreshold",
        evaluation_periods=1,
        metric_name="Errors",
        namespace="AWS/Lambda",
        period=300,
        statistic="Sum",
        threshold=1,
    )


def rollout(make_function: FunctionFactory, **overrides: Any) -> Any:
    def build(stack: TerraformStack) -> GradualRollout:
        function = make_function(stack, "api", alias_moved_by_codedeploy=True)
        settings: dict[str, Any] = {
            "application_name": "evpipe-test-functions",
            "deployment_config_name": DEFAULT_DEPLOYMENT_CONFIG,
            "targets": [RolloutTarget(function=function, alarms=[error_alarm(stack, "api")])],
        }
        settings.update(overrides)
        return GradualRollout(stack, "rollout", props=GradualRolloutProps(**settings))

    return build


def test_group_shifts_the_alias_by_canary_and_rolls_back_on_failure_or_alarm(
    synth: SynthFn, make_function: FunctionFactory
) -> None:
    # Given a gradual rollout of one function watched by its error alarm
    out = synth(rollout(make_function))
    # Then a Lambda application holds a blue/green group with the canary configuration
    app = only(out, "aws_codedeploy_app")
    group = only(out, "aws_codedeploy_deployment_group")
    assert app["compute_platform"] == "Lambda"
    assert group["deployment_group_name"] == "api"
    assert group["deployment_config_name"] == "CodeDeployDefault.LambdaCanary10Percent5Minutes"
    assert group["deployment_style"]["deployment_option"] == "WITH_TRAFFIC_CONTROL"
    # And it rolls back on a failed deployment and on the alarm
    assert group["auto_rollback_configuration"] == {
        "enabled": True,
        "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"],
    }
    alarm_name = next(iter(out["resource"]["aws_cloudwatch_metric_alarm"]))
    assert group["alarm_configuration"] == {
        "enabled": True,
        "alarms": [f"${{aws_cloudwatch_metric_alarm.{alarm_name}.alarm_name}}"],
    }
    role_name = next(name for name in out["resource"]["aws_iam_role"] if "rollout" in name)
    assert group["service_role_arn"].endswith(f"aws_iam_role.{role_name}.arn}}")


def test_service_role_may_move_only_the_alias_and_read_only_the_alarm(
    synth: SynthFn, make_function: FunctionFactory
) -> None:
    # Given a gradual rollout
    out = synth(rollout(make_function))
    documents = out["data"]["aws_iam_policy_document"]
    trust = next(body for name, body in documents.items() if name.startswith("rollout_trust"))
    permissions = next(
        body for name, body in documents.items() if name.startswith("rollout_permissions")
    )
    # Then CodeDeploy assumes the role only for this account
    [statement] = trust["statement"]
    assert statement["principals"][0]["identifiers"] == ["codedeploy.amazonaws.com"]
    assert statement["condition"][0]["variable"] == "aws:SourceAccount"
    # And the role's actions name the alias and the alarm, never "*"
    alias_name = next(iter(out["resource"]["aws_lambda_alias"]))
    alarm_name = next(iter(out["resource"]["aws_cloudwatch_metric_alarm"]))
    by_sid = {item["sid"]: item for item in permissions["statement"]}
    assert by_sid["ShiftLiveAliases"]["resources"] == [f"${{aws_lambda_alias.{alias_name}.arn}}"]
    assert by_sid["ShiftLiveAliases"]["actions"] == [
        "lambda:GetAlias",
        "lambda:UpdateAlias",
        "lambda:GetProvisionedConcurrencyConfig",
    ]
    assert by_sid["WatchRollbackAlarms"]["resources"] == [
        f"${{aws_cloudwatch_metric_alarm.{alarm_name}.arn}}"
    ]


def test_codedeploy_without_an_alarm_is_rejected(
    synth: SynthFn, make_function: FunctionFactory
) -> None:
    # Given a target with no alarm to roll back on
    def build(stack: TerraformStack) -> object:
        function = make_function(stack, "api", alias_moved_by_codedeploy=True)
        return RolloutTarget(function=function, alarms=[])

    # Then the construct refuses it, naming the function
    with pytest.raises(ValueError, match="targets: api has no alarms"):
        synth(build)


def test_codedeploy_on_an_alias_terraform_also_moves_is_rejected(
    synth: SynthFn, make_function: FunctionFactory
) -> None:
    # Given a function whose alias Terraform points at each new version
    def build(stack: TerraformStack) -> object:
        function = make_function(stack, "api")
        return RolloutTarget(function=function, alarms=[error_alarm(stack, "api")])

    # Then CodeDeploy may not shift it too
    with pytest.raises(ValueError, match="must be built with alias_moved_by_codedeploy=True"):
        synth(build)


def test_unknown_deployment_config_is_rejected(
    synth: SynthFn, make_function: FunctionFactory
) -> None:
    with pytest.raises(ValueError, match="deployment_config_name must be one of"):
        synth(rollout(make_function, deployment_config_name="CodeDeployDefault.OneAtATime"))


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            RolloutSettings(gradual=True, rollback_on_error_alarm=False),
            "rollout.rollback_on_error_alarm must stay on when gradual is on",
        ),
        (
            RolloutSettings(deployment_config="CodeDeployDefault.AllAtOnce"),
            "rollout.deployment_config must be one of",
        ),
    ],
)
def test_invalid_rollout_settings_fail_with_the_field_named(
    settings: RolloutSettings, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        settings.validate("rollout")

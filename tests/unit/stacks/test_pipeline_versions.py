"""Versions and the `live` alias in the synthesized app: every trigger, permission and grant
names the alias, and prod rolls new versions out through CodeDeploy."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from config.environments import build_environments
from constructs_lib.base.python_function import LIVE_ALIAS

ENVIRONMENTS = build_environments()
ENV_NAMES = ("dev", "staging", "prod")
Stacks = dict[str, dict[str, Any]]
Body = dict[str, Any]
# A reference to a function's unqualified ARN ($LATEST): nothing may invoke through it.
UNQUALIFIED = re.compile(
    r"\$\{aws_lambda_function\.[A-Za-z0-9_-]+\.(?:qualified_)?(?:invoke_)?arn\}"
)
ALIAS_ARN = re.compile(r"^\$\{aws_lambda_alias\.[A-Za-z0-9_-]+\.arn\}$")
ALIAS_INVOKE_ARN = re.compile(r"^\$\{aws_lambda_alias\.[A-Za-z0-9_-]+\.invoke_arn\}$")
ALIAS_NAME = re.compile(r"^\$\{aws_lambda_alias\.[A-Za-z0-9_-]+\.name\}$")


def stack_of(stacks: Stacks, env: str) -> dict[str, Any]:
    return stacks[f"pipeline-{env}"]


def resources(stack: dict[str, Any], kind: str) -> dict[str, Body]:
    found: dict[str, Body] = stack["resource"].get(kind, {})
    return found


def path_of(body: Body) -> str:
    return str(body["//"]["metadata"]["path"].split("/", 1)[1])


@pytest.mark.parametrize("env", ENV_NAMES)
def test_no_resource_or_policy_names_an_unqualified_function_arn(
    synthesized_stacks: Stacks, env: str
) -> None:
    # Given an environment stack
    stack = stack_of(synthesized_stacks, env)
    # When every resource and data source is searched for a function's unqualified ARN
    offenders = [
        f"{block}.{kind}.{name}"
        for block in ("resource", "data")
        for kind, bodies in stack.get(block, {}).items()
        for name, body in bodies.items()
        if UNQUALIFIED.search(json.dumps({k: v for k, v in body.items() if k != "//"}))
    ]
    # Then none does: triggers, integrations, tasks and grants all name the alias
    assert offenders == []


@pytest.mark.parametrize("env", ENV_NAMES)
def test_every_function_is_published_with_a_live_alias_on_its_new_version(
    synthesized_stacks: Stacks, env: str
) -> None:
    # Given an environment stack
    stack = stack_of(synthesized_stacks, env)
    functions = resources(stack, "aws_lambda_function")
    aliases = resources(stack, "aws_lambda_alias")
    # Then each function publishes versions and has exactly one alias, `live`
    assert functions
    assert all(body["publish"] is True for body in functions.values())
    by_function = {alias["function_name"]: alias for alias in aliases.values()}
    assert len(by_function) == len(aliases) == len(functions)
    for name, function in functions.items():
        alias = by_function[f"${{aws_lambda_function.{name}.function_name}}"]
        assert alias["name"] == LIVE_ALIAS
        # pointing at the version this apply published
        assert alias["function_version"] == f"${{aws_lambda_function.{name}.version}}"
        assert function["function_name"].startswith(f"evpipe-{env}-")


@pytest.mark.parametrize("env", ENV_NAMES)
def test_every_permission_and_async_config_is_qualified_by_the_alias(
    synthesized_stacks: Stacks, env: str
) -> None:
    # Given an environment stack
    stack = stack_of(synthesized_stacks, env)
    permissions = resources(stack, "aws_lambda_permission")
    configs = resources(stack, "aws_lambda_function_event_invoke_config")
    # Then each Lambda permission and event invoke config names the alias as qualifier
    assert permissions
    assert configs
    unqualified = [
        path_of(body)
        for body in [*permissions.values(), *configs.values()]
        if not ALIAS_NAME.match(str(body.get("qualifier", "")))
    ]
    assert unqualified == []


@pytest.mark.parametrize("env", ENV_NAMES)
def test_every_trigger_invokes_an_alias(synthesized_stacks: Stacks, env: str) -> None:
    # Given an environment stack
    stack = stack_of(synthesized_stacks, env)
    # When each kind of trigger is read
    invoked: list[tuple[str, str]] = []
    for body in resources(stack, "aws_lambda_event_source_mapping").values():
        invoked.append((path_of(body), body["function_name"]))
    for body in resources(stack, "aws_cloudwatch_event_target").values():
        if "lambda" in body["arn"] or "aws_lambda" in body["arn"]:
            invoked.append((path_of(body), body["arn"]))
    for body in resources(stack, "aws_s3_bucket_notification").values():
        for target in body.get("lambda_function", []):
            invoked.append((path_of(body), target["lambda_function_arn"]))
    integrations = [
        (path_of(body), body["uri"])
        for body in resources(stack, "aws_api_gateway_integration").values()
        if body["type"] == "AWS_PROXY"
    ] + [
        (path_of(body), body["integration_uri"])
        for body in resources(stack, "aws_apigatewayv2_integration").values()
    ]
    # Then mappings, schedules and notifications name an alias ARN, integrations its invoke ARN
    assert invoked
    assert [item for item in invoked if not ALIAS_ARN.match(item[1])] == []
    assert integrations
    assert [item for item in integrations if not ALIAS_INVOKE_ARN.match(item[1])] == []


def test_workflow_tasks_and_their_grant_name_the_aliases(synthesized_stacks: Stacks) -> None:
    # Given dev, the environment whose objects go through the workflow
    stack = stack_of(synthesized_stacks, "dev")
    machine = next(
        machine
        for address, machine in resources(stack, "aws_sfn_state_machine").items()
        if address.startswith("workflow_")
    )
    definition = json.loads(machine["definition"])
    # When its Lambda tasks and the role's invoke grant are read
    task_targets = [
        state["Parameters"]["FunctionName"]
        for state in definition["States"].values()
        if state.get("Resource") == "arn:aws:states:::lambda:invoke"
    ]
    documents = stack["data"]["aws_iam_policy_document"]
    grants = [
        statement["resources"]
        for address, document in documents.items()
        if address.startswith("workflow_")
        for statement in document.get("statement", [])
        if "lambda:InvokeFunction" in statement.get("actions", [])
    ]
    # Then the three tasks and the one grant name exactly the three aliases
    assert len(task_targets) == 3
    assert all(ALIAS_ARN.match(target) for target in task_targets)
    assert [sorted(grant) for grant in grants] == [sorted(task_targets)]


@pytest.mark.parametrize("env", ["dev", "staging"])
def test_without_gradual_rollout_terraform_moves_the_alias_and_no_codedeploy_is_deployed(
    synthesized_stacks: Stacks, env: str
) -> None:
    # Given an environment whose rollout is not gradual
    assert not ENVIRONMENTS[env].rollout.gradual
    stack = stack_of(synthesized_stacks, env)
    # Then there is no CodeDeploy, and no alias ignores its version
    assert "aws_codedeploy_app" not in stack["resource"]
    assert "aws_codedeploy_deployment_group" not in stack["resource"]
    assert all("lifecycle" not in alias for alias in resources(stack, "aws_lambda_alias").values())


def test_prod_rolls_each_function_out_by_codedeploy_and_rolls_back_on_its_error_alarm(
    synthesized_stacks: Stacks,
) -> None:
    # Given prod, whose rollout is gradual
    config = ENVIRONMENTS["prod"]
    assert config.rollout.gradual
    stack = stack_of(synthesized_stacks, "prod")
    (app_name, app), *more = resources(stack, "aws_codedeploy_app").items()
    groups = resources(stack, "aws_codedeploy_deployment_group")
    functions = resources(stack, "aws_lambda_function")
    alarms = resources(stack, "aws_cloudwatch_metric_alarm")
    # Then one Lambda application holds one deployment group per function
    assert more == []
    assert app["compute_platform"] == "Lambda"
    assert app["name"] == "evpipe-prod-functions"
    assert len(groups) == len(functions)
    for group in groups.values():
        label = group["deployment_group_name"]
        assert group["app_name"] == f"${{aws_codedeploy_app.{app_name}.name}}"
        assert group["deployment_config_name"] == config.rollout.deployment_config
        assert group["deployment_style"] == {
            "deployment_type": "BLUE_GREEN",
            "deployment_option": "WITH_TRAFFIC_CONTROL",
        }
        # rolling back on failure and when the alarm stops it
        assert group["auto_rollback_configuration"]["enabled"] is True
        assert sorted(group["auto_rollback_configuration"]["events"]) == [
            "DEPLOYMENT_FAILURE",
            "DEPLOYMENT_STOP_ON_ALARM",
        ]
        # on the function's own error alarm
        [alarm_ref] = group["alarm_configuration"]["alarms"]
        alarm_name = alarm_ref.split(".")[1]
        assert alarms[alarm_name]["alarm_name"] == f"evpipe-prod-{label}-errors"
        assert alarms[alarm_name]["metric_name"] == "Errors"
    # And Terraform leaves the aliases to CodeDeploy after creating them
    for alias in resources(stack, "aws_lambda_alias").values():
        assert sorted(alias["lifecycle"]["ignore_changes"]) == [
            "function_version",
            "routing_config",
        ]
    assert stack["output"]["codedeploy_application_name"]["value"] == (
        f"${{aws_codedeploy_app.{app_name}.name}}"
    )


def test_prod_codedeploy_role_is_trusted_for_this_account_and_scoped_to_aliases_and_alarms(
    synthesized_stacks: Stacks,
) -> None:
    # Given prod's CodeDeploy service role
    stack = stack_of(synthesized_stacks, "prod")
    documents = stack["data"]["aws_iam_policy_document"]
    trust = next(body for body in documents.values() if path_of(body) == "operations/rollout/trust")
    permissions = next(
        body for body in documents.values() if path_of(body) == "operations/rollout/permissions"
    )
    # Then only CodeDeploy, for this account, may assume it
    [statement] = trust["statement"]
    assert statement["principals"] == [
        {"type": "Service", "identifiers": ["codedeploy.amazonaws.com"]}
    ]
    assert statement["condition"][0]["variable"] == "aws:SourceAccount"
    # And it may read and move only the aliases, and read only the error alarms
    by_sid = {statement["sid"]: statement for statement in permissions["statement"]}
    assert set(by_sid) == {"ShiftLiveAliases", "WatchRollbackAlarms"}
    assert all(ALIAS_ARN.match(arn) for arn in by_sid["ShiftLiveAliases"]["resources"])
    assert all(
        arn.startswith("${aws_cloudwatch_metric_alarm.")
        for arn in by_sid["WatchRollbackAlarms"]["resources"]
    )
    assert "*" not in json.dumps([s["resources"] for s in by_sid.values()])


@pytest.mark.parametrize("env", ENV_NAMES)
def test_no_environment_provisions_concurrency_by_default(
    synthesized_stacks: Stacks, env: str
) -> None:
    # Given an environment profile as shipped
    sizes = ENVIRONMENTS[env].functions
    # Then no function asks for provisioned concurrency, and none is deployed
    assert all(
        getattr(sizes, name).provisioned_concurrency is None
        for name in ("processor", "api", "validate", "notify", "maintenance")
    )
    stack = stack_of(synthesized_stacks, env)
    assert "aws_lambda_provisioned_concurrency_config" not in stack["resource"]

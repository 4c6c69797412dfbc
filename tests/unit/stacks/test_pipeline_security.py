"""Issue 13's findings, read back from the synthesized stacks: who may call the REST API and
how, the web ACL, preflights that never reach Lambda, partition-neutral ARNs, confused-deputy
conditions, narrow suppressions and alarms that reach someone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pipeline_common.api_contract import RECORDS_WRITE_SCHEMA

from config.emulator import AWS_INTENT, EmulatorProfile
from tools.ci.terraform import synth_app

Stacks = dict[str, dict[str, Any]]
ROUTES = {"GET", "POST"}


def of_type(stack: dict[str, Any], kind: str, block: str = "resource") -> dict[str, Any]:
    found: dict[str, Any] = stack.get(block, {}).get(kind, {})
    return found


def skips(body: dict[str, Any]) -> dict[str, str]:
    comment = body.get("//", {}).get("checkov", {})
    return {skip["id"]: skip["comment"] for skip in comment.get("skip", [])}


def documents(stack: dict[str, Any]) -> dict[str, Any]:
    return of_type(stack, "aws_iam_policy_document", "data")


def conditions(statement: dict[str, Any]) -> dict[str, list[str]]:
    return {c["variable"]: c["values"] for c in statement.get("condition") or []}


# Finding 1: authentication, preflights, web ACL and the request model


@pytest.mark.parametrize(("env", "auth"), [("staging", "AWS_IAM"), ("prod", "AWS_IAM")])
def test_outside_dev_every_rest_route_needs_sigv4(
    synthesized_stacks: Stacks, env: str, auth: str
) -> None:
    # Given the REST API of an environment outside dev
    methods = of_type(synthesized_stacks[f"pipeline-{env}"], "aws_api_gateway_method").values()
    # Then every route but the preflight is IAM-authorized, and no API key stands in for it
    routes = [m for m in methods if m["http_method"] != "OPTIONS"]
    assert {m["http_method"] for m in routes} == ROUTES
    assert {(m["authorization"], m["api_key_required"]) for m in routes} == {(auth, False)}
    assert of_type(synthesized_stacks[f"pipeline-{env}"], "aws_api_gateway_api_key") == {}


def test_dev_keeps_its_api_key_for_the_local_gateway(synthesized_stacks: Stacks) -> None:
    methods = of_type(synthesized_stacks["pipeline-dev"], "aws_api_gateway_method").values()
    routes = [m for m in methods if m["http_method"] != "OPTIONS"]
    assert {(m["authorization"], m["api_key_required"]) for m in routes} == {("NONE", True)}


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_preflights_are_answered_by_api_gateway_without_invoking_lambda(
    synthesized_stacks: Stacks, env: str
) -> None:
    # Given the REST API's OPTIONS methods
    stack = synthesized_stacks[f"pipeline-{env}"]
    options = {
        name: body
        for name, body in of_type(stack, "aws_api_gateway_integration").items()
        if "options" in name
    }
    # Then each is a MOCK integration, and no Lambda permission names OPTIONS
    assert options
    assert {body["type"] for body in options.values()} == {"MOCK"}
    permissions = of_type(stack, "aws_lambda_permission").values()
    assert not [p for p in permissions if "/OPTIONS/" in p.get("source_arn", "")]
    # And the 200 answer carries the allowed origin, methods and headers
    answers = of_type(stack, "aws_api_gateway_integration_response").values()
    assert len(answers) == len(options)
    for answer in answers:
        headers = answer["response_parameters"]
        assert headers["method.response.header.Access-Control-Allow-Origin"].startswith("'http")
        assert "X-Amz-Date" in headers["method.response.header.Access-Control-Allow-Headers"]


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_staging_and_prod_rest_stages_sit_behind_a_logged_web_acl(
    synthesized_stacks: Stacks, env: str
) -> None:
    # Given the environment's web ACL, its association and logging
    stack = synthesized_stacks[f"pipeline-{env}"]
    ((acl_name, acl),) = of_type(stack, "aws_wafv2_web_acl").items()
    (association,) = of_type(stack, "aws_wafv2_web_acl_association").values()
    (logging,) = of_type(stack, "aws_wafv2_web_acl_logging_configuration").values()
    ((stage_name, stage),) = of_type(stack, "aws_api_gateway_stage").items()
    # Then the ACL rate-limits per IP and runs the common and known-bad-inputs groups
    rules = {rule["name"]: rule for rule in acl["rule"]}
    assert rules["rate-limit-per-ip"]["statement"]["rate_based_statement"]["limit"] > 0
    assert rules["rate-limit-per-ip"]["action"] == {"block": {}}
    managed = {
        rule["statement"]["managed_rule_group_statement"]["name"]
        for rule in acl["rule"]
        if "managed_rule_group_statement" in rule["statement"]
    }
    assert managed == {"AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"}
    # And it guards the REST stage, logs to an aws-waf-logs- group, and the suppression is gone
    assert association["resource_arn"] == f"${{aws_api_gateway_stage.{stage_name}.arn}}"
    assert association["web_acl_arn"] == f"${{aws_wafv2_web_acl.{acl_name}.arn}}"
    assert logging["resource_arn"] == f"${{aws_wafv2_web_acl.{acl_name}.arn}}"
    groups = of_type(stack, "aws_cloudwatch_log_group")
    (group,) = [g for g in groups.values() if g["name"].startswith("aws-waf-logs-")]
    assert group["kms_key_id"].startswith("${aws_kms_key.")
    assert "CKV2_AWS_29" not in skips(stage)


def test_dev_has_no_web_acl_and_says_why(synthesized_stacks: Stacks) -> None:
    stack = synthesized_stacks["pipeline-dev"]
    assert of_type(stack, "aws_wafv2_web_acl") == {}
    (stage,) = of_type(stack, "aws_api_gateway_stage").values()
    assert "throwaway" in skips(stage)["CKV2_AWS_29"]


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_request_model_holds_the_handlers_size_limits(synthesized_stacks: Stacks, env: str) -> None:
    # Given the deployed request model
    models = of_type(synthesized_stacks[f"pipeline-{env}"], "aws_api_gateway_model").values()
    # (POST /process has a model of its own: test_pipeline_seed_contracts.py)
    (model,) = [model for model in models if model["name"] == "RecordInput"]
    schema = json.loads(model["schema"])
    # Then it is the contract's schema, with a bound on every string, number and map
    assert schema == json.loads(json.dumps(dict(RECORDS_WRITE_SCHEMA)))
    properties = schema["properties"]
    assert properties["key"]["maxLength"] == 1024
    assert properties["attributes"]["maxProperties"] == 32
    assert properties["attributes"]["additionalProperties"]["maxLength"] == 1024
    assert schema["additionalProperties"] is False


# Finding 6: partition


def test_no_policy_outside_the_key_and_workflow_spells_the_aws_partition(
    synthesized_stacks: Stacks,
) -> None:
    # Given every IAM document of every environment but the KMS key policy
    literal = [
        f"{stack_name} {name}"
        for stack_name, stack in synthesized_stacks.items()
        if stack_name.startswith("pipeline-")
        for name, document in documents(stack).items()
        if not name.startswith("foundation_key_policy") and "arn:aws:" in json.dumps(document)
    ]
    # Then none writes arn:aws: itself: the partition comes from data.aws_partition
    assert literal == []


@pytest.mark.parametrize("region", ["us-gov-west-1", "cn-north-1"])
def test_a_region_outside_the_commercial_partition_is_refused(tmp_path: Path, region: str) -> None:
    # Given a synth for a GovCloud or China region
    # When main.py runs, Then it stops with one line and writes no stack
    result = subprocess.run(
        [sys.executable, "main.py"],
        env={**os.environ, "PIPELINE_REGION": region, "CDKTF_OUTDIR": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: region {region!r} is outside the commercial AWS partition; this project "
        "deploys only to commercial regions like 'us-west-2'"
    ]
    assert not (tmp_path / "stacks").exists()


# Finding 7: confused deputy


def _statement(stack: dict[str, Any], document_prefix: str, sid: str | None = None) -> Any:
    matches = [
        statement
        for name, document in documents(stack).items()
        if name.startswith(document_prefix)
        for statement in document["statement"]
        if sid is None or statement.get("sid") == sid
    ]
    assert len(matches) == 1, (document_prefix, sid, len(matches))
    return matches[0]


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_access_log_delivery_names_the_account_and_source_buckets(
    synthesized_stacks: Stacks, env: str
) -> None:
    stack = synthesized_stacks[f"pipeline-{env}"]
    statement = _statement(stack, "foundation_access-logs", "AllowServerAccessLogDelivery")
    found = conditions(statement)
    assert found["aws:SourceAccount"][0].startswith("${data.aws_caller_identity.")
    (source,) = found["aws:SourceArn"]
    assert source.endswith(f":s3:::evpipe-{env}-*")


def test_state_bucket_log_delivery_names_the_state_bucket(synthesized_stacks: Stacks) -> None:
    stack = synthesized_stacks["state-bootstrap"]
    statement = _statement(stack, "access-logs", "AllowServerAccessLogDelivery")
    assert conditions(statement)["aws:SourceArn"][0].endswith(":s3:::evpipe-terraform-state")


def test_api_gateway_logging_role_trusts_only_this_accounts_api_gateway(
    synthesized_stacks: Stacks,
) -> None:
    # Given the account-wide logging role, which the bootstrap stack owns
    stack = synthesized_stacks["state-bootstrap"]
    found = conditions(_statement(stack, "apigateway-account_trust"))
    # Then only API Gateway acting for this account's REST APIs may assume it
    assert found["aws:SourceAccount"][0].startswith("${data.aws_caller_identity.")
    (source,) = found["aws:SourceArn"]
    assert source.startswith("arn:${data.aws_partition.")
    assert source.endswith(":apigateway:us-west-2::/restapis/*")


def test_state_machine_role_trusts_only_its_own_state_machine(
    synthesized_stacks: Stacks,
) -> None:
    stack = synthesized_stacks["pipeline-dev"]
    found = conditions(_statement(stack, "workflow_state-machine_trust"))
    assert found["aws:SourceAccount"][0].startswith("${data.aws_caller_identity.")
    assert found["aws:SourceArn"][0].endswith(":stateMachine:evpipe-dev-ingest-workflow")


# Finding 8: suppressions only where a wildcard needs them


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_function_policies_carry_no_wildcard_suppressions(
    synthesized_stacks: Stacks, env: str
) -> None:
    # Given every function's permissions document
    stack = synthesized_stacks[f"pipeline-{env}"]
    permissions = {n: d for n, d in documents(stack).items() if "_permissions_" in n}
    assert permissions
    # Then none carries a CKV_AWS_111/356 skip, and "*" is left only to actions without ARNs
    for name, document in permissions.items():
        assert not {"CKV_AWS_111", "CKV_AWS_356"} & set(skips(document)), name
        for statement in document["statement"]:
            if "*" in statement["resources"]:
                assert all(
                    action.startswith(("xray:", "logs:"))
                    or action == "ec2:DescribeNetworkInterfaces"
                    for action in statement["actions"]
                ), (name, statement["actions"])


def test_network_interface_actions_name_their_subnets_groups_and_interfaces(
    synthesized_stacks: Stacks,
) -> None:
    stack = synthesized_stacks["pipeline-prod"]
    (create,) = [
        statement
        for name, document in documents(stack).items()
        if name.startswith("ingest_processor_permissions")
        for statement in document["statement"]
        if statement.get("sid") == "CreateNetworkInterfacesInOwnSubnets"
    ]
    kinds = {resource.split(":")[-1].split("/")[0] for resource in create["resources"]}
    assert kinds == {"network-interface", "subnet", "security-group"}


# Finding 4: alarms reach someone


def alarm_topic(stack: dict[str, Any]) -> dict[str, Any]:
    topic: dict[str, Any]
    (topic,) = [
        body for name, body in of_type(stack, "aws_sns_topic").items()
        if name.startswith("operations_alarm-topic")
    ]  # fmt: skip
    return topic


@pytest.fixture(scope="module")
def prod_with_subscribers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = synth_app(
        tmp_path_factory.mktemp("alarm-subscribers"),
        {
            "PIPELINE_ENVIRONMENTS": "prod",
            "PIPELINE_ALARM_EMAIL": "oncall@example.com,lead@example.com",
            "PIPELINE_ALARM_HTTPS_URL": "https://hooks.example.com/alarms",
            "PIPELINE_ALARM_TOPIC_ARN": "arn:aws:sns:us-west-2:123456789012:chatops",
        },
    )
    stack: dict[str, Any] = json.loads((out / "pipeline-prod" / "cdk.tf.json").read_text())
    return stack


def test_alarm_subscribers_from_synth_variables_hear_every_alarm(
    prod_with_subscribers: dict[str, Any],
) -> None:
    # Given prod synthesized with an e-mail list, an HTTPS endpoint and an existing topic
    stack = prod_with_subscribers
    subscriptions = of_type(stack, "aws_sns_topic_subscription").values()
    # Then each address and URL is subscribed to the alarm topic
    assert sorted((s["protocol"], s["endpoint"]) for s in subscriptions) == [
        ("email", "lead@example.com"),
        ("email", "oncall@example.com"),
        ("https", "https://hooks.example.com/alarms"),
    ]
    # And every alarm also notifies the existing topic, and the plan is not refused
    alarms = of_type(stack, "aws_cloudwatch_metric_alarm").values()
    assert alarms
    assert all(
        "arn:aws:sns:us-west-2:123456789012:chatops" in alarm["alarm_actions"] for alarm in alarms
    )
    assert "precondition" not in alarm_topic(stack).get("lifecycle", {})


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_alarms_that_would_page_nobody_refuse_a_plan_against_aws(
    synthesized_stacks: Stacks, env: str
) -> None:
    # Given an AWS synth with alarm actions on and no subscriber set
    topic = alarm_topic(synthesized_stacks[f"pipeline-{env}"])
    # Then terraform plan stops at the topic's precondition, naming the variable to set
    (precondition,) = topic["lifecycle"]["precondition"]
    stack = synthesized_stacks[f"pipeline-{env}"]
    (local,) = [name for name in stack["locals"] if name.startswith("operations_alarm-topic")]
    assert precondition["condition"] == f"${{length(flatten(values(local.{local}))) > 0}}"
    assert stack["locals"][local] == {"email": [], "https": []}
    assert "PIPELINE_ALARM_EMAIL" in precondition["error_message"]
    assert of_type(synthesized_stacks[f"pipeline-{env}"], "aws_sns_topic_subscription") == {}


def test_silent_dev_alarms_and_emulator_synths_refuse_nothing(
    synthesized_stacks: Stacks,
) -> None:
    # Given dev (alarm actions off) / Then its plan is never refused
    topic = alarm_topic(synthesized_stacks["pipeline-dev"])
    assert "precondition" not in topic.get("lifecycle", {})
    # And an emulator deployment, which pages nobody, does not ask for a subscriber
    assert AWS_INTENT.require_alarm_subscriber
    assert (
        not EmulatorProfile(endpoint_url="http://127.0.0.1:4566").intent().require_alarm_subscriber
    )


def test_synth_warns_once_per_environment_whose_alarms_reach_nobody(tmp_path: Path) -> None:
    # Given a synth of dev (silent alarms) and prod (alarm actions on) with no subscriber set
    environ = {
        name: value for name, value in os.environ.items() if not name.startswith("PIPELINE_ALARM")
    }
    result = subprocess.run(
        [sys.executable, "main.py"],
        env={**environ, "PIPELINE_ENVIRONMENTS": "dev,prod", "CDKTF_OUTDIR": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
    )
    # When it finishes, Then it succeeded and printed one warning naming prod and the variable
    assert result.returncode == 0, result.stderr[-2000:]
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert warnings == [
        "warning: evpipe-prod: alarm actions are on but nobody is subscribed; set "
        "PIPELINE_ALARM_EMAIL (or PIPELINE_ALARM_HTTPS_URL or PIPELINE_ALARM_TOPIC_ARN) and "
        "synthesize again"
    ]

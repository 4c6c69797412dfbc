"""Operations wiring in the synthesized app: failure path, schedule, alarms, dashboard, tracing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from config.environments import build_environments

ENVIRONMENTS = build_environments()
ENV_NAMES = ("dev", "staging", "prod")
Stacks = dict[str, dict[str, Any]]
Body = dict[str, Any]


def stack_of(stacks: Stacks, env: str) -> dict[str, Any]:
    return stacks[f"pipeline-{env}"]


def at_path(stack: dict[str, Any], resource_type: str, path: str) -> tuple[str, Body]:
    """(Terraform address, body) of the resource whose construct path ends with ``path``."""
    block = "data" if resource_type.startswith("data.") else "resource"
    kind = resource_type.removeprefix("data.")
    matches = [
        (name, body)
        for name, body in stack[block].get(kind, {}).items()
        if body["//"]["metadata"]["path"].split("/", 1)[1] == path
    ]
    assert len(matches) == 1, f"{resource_type} at {path}: {len(matches)} found"
    name, body = matches[0]
    prefix = "data." if block == "data" else ""
    return f"{prefix}{kind}.{name}", body


def ref(address: str, attribute: str) -> str:
    return f"${{{address}.{attribute}}}"


def alarms(stack: dict[str, Any]) -> dict[str, Body]:
    return {
        body["alarm_name"]: body
        for body in stack["resource"]["aws_cloudwatch_metric_alarm"].values()
    }


@pytest.mark.parametrize("env", ENV_NAMES)
def test_dlq_is_kms_encrypted_keeps_two_weeks_and_refuses_plain_http(
    synthesized_stacks: Stacks, env: str
) -> None:
    # Given an environment stack
    stack = stack_of(synthesized_stacks, env)
    key, _ = at_path(stack, "aws_kms_key", "foundation/key/key")
    # When its pipeline DLQ is read
    queue_address, queue = at_path(stack, "aws_sqs_queue", "foundation/dlq/queue")
    _, document = at_path(stack, "data.aws_iam_policy_document", "foundation/dlq/policy-document")
    # Then it is encrypted with the environment key and keeps messages for 14 days
    assert queue["name"] == f"evpipe-{env}-dlq"
    assert queue["kms_master_key_id"] == ref(key, "arn")
    assert queue["message_retention_seconds"] == 14 * 24 * 3600
    # And its policy denies anything without TLS and grants nothing to anyone
    assert [s["sid"] for s in document["statement"]] == ["DenyInsecureTransport"]
    assert document["statement"][0]["resources"] == [ref(queue_address, "arn")]


@pytest.mark.parametrize("env", ENV_NAMES)
def test_async_functions_retry_per_profile_then_hand_failures_to_the_dlq(
    synthesized_stacks: Stacks, env: str
) -> None:
    # Given the environment's operations profile
    settings = ENVIRONMENTS[env].operations
    stack = stack_of(synthesized_stacks, env)
    queue, _ = at_path(stack, "aws_sqs_queue", "foundation/dlq/queue")
    for domain, function in (("ingest", "processor"), ("operations", "maintenance")):
        function_address, body = at_path(
            stack, "aws_lambda_function", f"{domain}/{function}/function"
        )
        # When its event-invoke config is read
        _, config = at_path(
            stack, "aws_lambda_function_event_invoke_config", f"{domain}/{function}-async/config"
        )
        # Then retries and event age follow the profile and failures go to the DLQ
        assert config["function_name"] == ref(function_address, "function_name")
        assert config["qualifier"].startswith("${aws_lambda_alias.")
        assert config["maximum_retry_attempts"] == settings.async_retry_attempts
        assert config["maximum_event_age_in_seconds"] == settings.max_event_age_seconds
        assert config["destination_config"] == {"on_failure": {"destination": ref(queue, "arn")}}
        # And the config waits for the role policy that allows the send
        policy, _ = at_path(stack, "aws_iam_role_policy", f"{domain}/{function}/policy")
        assert config["depends_on"] == [policy]
        # And no legacy dead_letter_config duplicates each failure
        assert "dead_letter_config" not in body


@pytest.mark.parametrize("env", ENV_NAMES)
def test_processor_role_may_send_to_exactly_the_dlq(synthesized_stacks: Stacks, env: str) -> None:
    # Given the processor's permissions
    stack = stack_of(synthesized_stacks, env)
    queue, _ = at_path(stack, "aws_sqs_queue", "foundation/dlq/queue")
    key, _ = at_path(stack, "aws_kms_key", "foundation/key/key")
    _, document = at_path(stack, "data.aws_iam_policy_document", "ingest/processor/permissions")
    statements = document["statement"]
    # When the SQS grants are collected
    sqs = [s for s in statements if any(action.startswith("sqs:") for action in s["actions"])]
    # Then there is one: SendMessage on the DLQ's ARN, nothing else
    assert sqs == [
        {
            "sid": "SendFailedEventsToDlq",
            "actions": ["sqs:SendMessage"],
            "resources": [ref(queue, "arn")],
        }
    ]
    # And the key may encrypt those messages
    encrypt = next(s for s in statements if s["sid"] == "EncryptFailedEvents")
    assert (encrypt["actions"], encrypt["resources"]) == (
        ["kms:GenerateDataKey"],
        [ref(key, "arn")],
    )


@pytest.mark.parametrize("env", ENV_NAMES)
def test_schedule_invokes_maintenance_on_the_profiles_expression(
    synthesized_stacks: Stacks, env: str
) -> None:
    # Given the environment's schedule settings
    settings = ENVIRONMENTS[env].operations
    stack = stack_of(synthesized_stacks, env)
    rule_address, rule = at_path(stack, "aws_cloudwatch_event_rule", "operations/schedule/rule")
    function, _ = at_path(stack, "aws_lambda_function", "operations/maintenance/function")
    # Then the rule fires on the configured expression, enabled per profile
    assert rule["schedule_expression"] == settings.schedule_expression == "rate(24 hours)"
    assert rule["state"] == ("ENABLED" if settings.schedule_enabled else "DISABLED")
    # And its target is the maintenance function with retries and its own DLQ
    _, target = at_path(stack, "aws_cloudwatch_event_target", "operations/schedule/target")
    schedule_dlq, dlq = at_path(stack, "aws_sqs_queue", "operations/schedule/dlq/queue")
    alias, _ = at_path(stack, "aws_lambda_alias", "operations/maintenance/alias")
    assert target["arn"] == ref(alias, "arn")
    assert target["dead_letter_config"] == {"arn": ref(schedule_dlq, "arn")}
    assert target["retry_policy"]["maximum_retry_attempts"] >= 1
    assert dlq["name"] == f"evpipe-{env}-schedule-dlq"
    # And only this rule may invoke the function
    _, permission = at_path(stack, "aws_lambda_permission", "operations/schedule/permission")
    assert permission["principal"] == "events.amazonaws.com"
    assert permission["source_arn"] == ref(rule_address, "arn")
    assert permission["function_name"] == ref(function, "function_name")
    assert permission["qualifier"] == ref(alias, "name")


def test_dev_profile_is_quiet_and_prod_notifies(synthesized_stacks: Stacks) -> None:
    # Given dev and prod
    dev, prod = (
        alarms(stack_of(synthesized_stacks, "dev")),
        alarms(stack_of(synthesized_stacks, "prod")),
    )
    # Then dev keeps alarms without actions and prod notifies on every one
    assert dev
    assert prod
    assert all(alarm["actions_enabled"] is False for alarm in dev.values())
    assert all(alarm["actions_enabled"] is True for alarm in prod.values())


@pytest.mark.parametrize("env", ENV_NAMES)
def test_every_alarm_notifies_the_encrypted_topic_and_decides_about_missing_data(
    synthesized_stacks: Stacks, env: str
) -> None:
    # Given the alarm topic
    stack = stack_of(synthesized_stacks, env)
    topic_address, topic = at_path(stack, "aws_sns_topic", "operations/alarm-topic/topic")
    key, _ = at_path(stack, "aws_kms_key", "foundation/key/key")
    assert topic["kms_master_key_id"] == ref(key, "arn")
    # When every alarm is read
    for name, alarm in alarms(stack).items():
        # Then it is named from the prefix, notifies the topic and states treat_missing_data
        assert name.startswith(f"evpipe-{env}-")
        assert alarm["alarm_actions"] == alarm["ok_actions"] == [ref(topic_address, "arn")]
        assert alarm["treat_missing_data"] in {"notBreaching", "ignore", "breaching", "missing"}
        assert alarm["threshold"] > 0


@pytest.mark.parametrize("env", ENV_NAMES)
def test_alarms_cover_each_part_with_the_profiles_thresholds(
    synthesized_stacks: Stacks, env: str
) -> None:
    # Given the environment's thresholds
    config = ENVIRONMENTS[env]
    thresholds = config.operations.thresholds
    by_name = alarms(stack_of(synthesized_stacks, env))
    prefix = f"evpipe-{env}"
    # Then the processor alarms use the profile, p99 duration against its own timeout
    assert by_name[f"{prefix}-processor-errors"]["threshold"] == thresholds.lambda_errors
    assert by_name[f"{prefix}-processor-throttles"]["threshold"] == thresholds.lambda_throttles
    duration = by_name[f"{prefix}-processor-duration-p99"]
    assert duration["extended_statistic"] == "p99"
    assert duration["threshold"] == round(
        config.functions.processor.timeout_seconds
        * 1000
        * thresholds.lambda_duration_p99_timeout_ratio
    )
    assert duration["period"] == thresholds.period_seconds
    # And the table, the DLQs and the schedule are watched
    for part in (
        "records-table-throttled-requests",
        "records-table-system-errors",
        "dlq-visible-messages",
        "schedule-dlq-visible-messages",
        "schedule-failed-invocations",
    ):
        assert f"{prefix}-{part}" in by_name
    assert by_name[f"{prefix}-dlq-visible-messages"]["treat_missing_data"] == "ignore"
    assert by_name[f"{prefix}-dlq-visible-messages"]["threshold"] == thresholds.dlq_visible_messages
    throttled = by_name[f"{prefix}-records-table-throttled-requests"]
    assert thresholds.dynamodb_throttled_requests == throttled["threshold"]


@pytest.mark.parametrize("env", ENV_NAMES)
def test_every_function_in_the_stack_has_its_three_alarms(
    synthesized_stacks: Stacks, env: str
) -> None:
    # Given every Lambda function, whichever domain of the stack created it
    stack = stack_of(synthesized_stacks, env)
    by_name = alarms(stack)
    for body in stack["resource"]["aws_lambda_function"].values():
        # Alarms are labelled with the function's short name: <prefix>-<name>
        name = body["function_name"].removeprefix(f"evpipe-{env}-")
        # Then errors, throttles and p99 duration alarms exist for it
        for kind in ("errors", "throttles", "duration-p99"):
            assert f"evpipe-{env}-{name}-{kind}" in by_name, f"{name} lacks {kind}"


@pytest.mark.parametrize("env", ENV_NAMES)
def test_api_alarms_exist_for_each_deployed_api(synthesized_stacks: Stacks, env: str) -> None:
    # Given the APIs this environment deploys
    stack = stack_of(synthesized_stacks, env)
    by_name = alarms(stack)
    thresholds = ENVIRONMENTS[env].operations.thresholds
    deployed = {
        "rest-api": "aws_api_gateway_stage" in stack["resource"],
        "http-api": "aws_apigatewayv2_stage" in stack["resource"],
    }
    assert any(deployed.values())
    for label, present in deployed.items():
        names = {f"evpipe-{env}-{label}-{kind}" for kind in ("5xx-rate", "4xx-rate", "latency-p99")}
        # Then each deployed API has 5XX, 4XX and latency alarms, and an absent one has none
        assert names <= set(by_name) if present else not names & set(by_name)
        if present:
            assert by_name[f"evpipe-{env}-{label}-5xx-rate"]["threshold"] == thresholds.api_5xx_rate
            assert by_name[f"evpipe-{env}-{label}-latency-p99"]["threshold"] == (
                thresholds.api_latency_p99_ms
            )


@pytest.mark.parametrize("env", ENV_NAMES)
def test_state_machine_alarms_follow_the_workflow(synthesized_stacks: Stacks, env: str) -> None:
    # Given the state machines in the stack (the ingest workflow is optional per environment;
    # the backfill is always there)
    stack = stack_of(synthesized_stacks, env)
    machines = stack["resource"].get("aws_sfn_state_machine", {})
    by_name = alarms(stack)
    for label, suffix in (("workflow", "-ingest-workflow"), ("backfill", "-backfill")):
        expected = {f"evpipe-{env}-{label}-executions-{kind}" for kind in ("failed", "timed-out")}
        deployed = [name for name, body in machines.items() if body["name"].endswith(suffix)]
        # Then failed and timed-out executions are alarmed exactly when the machine exists
        if deployed:
            assert expected <= set(by_name)
            (address,) = (f"aws_sfn_state_machine.{name}" for name in deployed)
            dimensions = by_name[f"evpipe-{env}-{label}-executions-failed"]["dimensions"]
            assert dimensions == {"StateMachineArn": ref(address, "arn")}
        else:
            assert label == "workflow"
            assert not expected & set(by_name)


@pytest.mark.parametrize("env", ENV_NAMES)
def test_xray_tracing_is_on_for_functions_rest_stages_and_state_machines(
    synthesized_stacks: Stacks, env: str
) -> None:
    # Given everything that can be traced in the stack
    resources = stack_of(synthesized_stacks, env)["resource"]
    functions = resources["aws_lambda_function"].values()
    # Then every function traces actively
    assert functions
    assert all(body["tracing_config"] == {"mode": "Active"} for body in functions)
    # And every REST API stage and state machine present has tracing enabled
    for stage in resources.get("aws_api_gateway_stage", {}).values():
        assert stage["xray_tracing_enabled"] is True
    for machine in resources.get("aws_sfn_state_machine", {}).values():
        assert machine["tracing_configuration"]["enabled"] is True
    # (HTTP API stages have no X-Ray setting; API Gateway traces only REST APIs.)


@pytest.mark.parametrize("env", ENV_NAMES)
def test_dashboard_follows_the_profile_and_shows_every_alarm(
    synthesized_stacks: Stacks, env: str
) -> None:
    # Given the environment's dashboard switch
    stack = stack_of(synthesized_stacks, env)
    enabled = ENVIRONMENTS[env].operations.dashboard_enabled
    dashboards = stack["resource"].get("aws_cloudwatch_dashboard", {})
    # Then a dashboard exists exactly when the profile asks for one
    assert len(dashboards) == (1 if enabled else 0)
    assert ("dashboard_name" in stack["output"]) is enabled
    if not enabled:
        return
    (dashboard,) = dashboards.values()
    assert dashboard["dashboard_name"] == f"evpipe-{env}-pipeline"
    # And its alarm widget lists every alarm in the stack, followed by graphs per part
    body = json.loads(dashboard["dashboard_body"])
    (status,) = [w for w in body["widgets"] if w["type"] == "alarm"]
    expected = {
        ref(f"aws_cloudwatch_metric_alarm.{name}", "arn")
        for name in stack["resource"]["aws_cloudwatch_metric_alarm"]
    }
    assert set(status["properties"]["alarms"]) == expected
    titles = [w["properties"]["markdown"] for w in body["widgets"] if w["type"] == "text"]
    assert {"## Traffic", "## Function processor", "## Records table"} <= set(titles)
    graphs = [w for w in body["widgets"] if w["type"] == "metric"]
    assert len(graphs) >= len(expected)


@pytest.mark.parametrize("env", ENV_NAMES)
def test_key_admits_the_services_that_write_encrypted_alarms_and_dead_letters(
    synthesized_stacks: Stacks, env: str
) -> None:
    # Given the environment key's policy
    stack = stack_of(synthesized_stacks, env)
    _, document = at_path(stack, "data.aws_iam_policy_document", "foundation/key/policy")
    # Then CloudWatch (alarm topic) and EventBridge (schedule DLQ) may use it
    statements = {s["sid"]: s for s in document["statement"]}
    alarms = statements["AlarmsEncryptTopicMessages"]["principals"][0]["identifiers"]
    queues = statements["ServicesEncryptQueueMessages"]["principals"][0]["identifiers"]
    assert "cloudwatch.amazonaws.com" in alarms
    assert "events.amazonaws.com" in queues


@pytest.mark.parametrize("env", ENV_NAMES)
def test_operations_outputs_are_named_after_their_resources(
    synthesized_stacks: Stacks, env: str
) -> None:
    stack = stack_of(synthesized_stacks, env)
    queue, _ = at_path(stack, "aws_sqs_queue", "foundation/dlq/queue")
    topic, _ = at_path(stack, "aws_sns_topic", "operations/alarm-topic/topic")
    outputs = stack["output"]
    assert outputs["dlq_queue_url"]["value"] == ref(queue, "url")
    assert outputs["dlq_queue_arn"]["value"] == ref(queue, "arn")
    assert outputs["alarm_topic_arn"]["value"] == ref(topic, "arn")
    for name in ("schedule_dlq_queue_url", "schedule_rule_arn", "maintenance_function_name"):
        assert name in outputs

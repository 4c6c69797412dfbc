"""No object is processed twice: each environment deploys exactly one ingest path."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import cdktf
import pytest

from config.deployment import DeploymentTarget, StateBackendSettings
from config.environments import build_environments
from stacks.pipeline_stack import PipelineStack

Stacks = dict[str, dict[str, Any]]
ENVIRONMENTS = build_environments()


def _resources(stack: dict[str, Any], resource_type: str) -> dict[str, Any]:
    found: dict[str, Any] = stack["resource"].get(resource_type, {})
    return found


def _paths(stack: dict[str, Any]) -> dict[str, bool]:
    """Which delivery paths a synthesized stack holds."""
    notifications = list(_resources(stack, "aws_s3_bucket_notification").values())
    assert len(notifications) == 1, "a bucket has exactly one notification configuration"
    (notification,) = notifications
    machines = [m["arn"] for m in _resources(stack, "aws_cloudwatch_event_target").values()]
    return {
        "direct_to_processor": bool(notification.get("lambda_function")),
        "eventbridge": notification.get("eventbridge") is True,
        "queue": bool(notification.get("queue")),
        "rule_to_state_machine": any("aws_sfn_state_machine." in arn for arn in machines),
        "queue_mapping": bool(_resources(stack, "aws_lambda_event_source_mapping")),
        # The ingest workflow; the backfill's state machine is deployed on either path.
        "state_machine": any(
            machine["name"].endswith("-ingest-workflow")
            for machine in _resources(stack, "aws_sfn_state_machine").values()
        ),
    }


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_each_environment_deploys_exactly_its_one_ingest_path(
    synthesized_stacks: Stacks, env: str
) -> None:
    # Given the environment's synthesized stack
    paths = _paths(synthesized_stacks[f"pipeline-{env}"])
    # Then S3 never notifies the processor directly, and exactly one path exists
    assert not paths["direct_to_processor"]
    if ENVIRONMENTS[env].ingest_path == "workflow":
        assert paths == {
            "direct_to_processor": False,
            "eventbridge": True,
            "queue": False,
            "rule_to_state_machine": True,
            "queue_mapping": False,
            "state_machine": True,
        }
    else:
        # The workflow is not deployed at all: nothing would start it
        assert paths == {
            "direct_to_processor": False,
            "eventbridge": False,
            "queue": True,
            "rule_to_state_machine": False,
            "queue_mapping": True,
            "state_machine": False,
        }


def test_dev_rule_matches_created_objects_in_its_bucket_under_the_ingest_prefix(
    synthesized_stacks: Stacks,
) -> None:
    stack = synthesized_stacks["pipeline-dev"]
    # The maintenance schedule is the other rule; it has no event pattern
    rules = _resources(stack, "aws_cloudwatch_event_rule").values()
    (rule,) = [body for body in rules if "event_pattern" in body]
    assert json.loads(rule["event_pattern"]) == {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {
            "bucket": {"name": ["evpipe-dev-ingest-us-west-2"]},
            "object": {"key": [{"prefix": "incoming/"}]},
        },
    }
    # And a failed start or a dead-lettered event raises an alarm on the alarm topic
    alarms = _resources(stack, "aws_cloudwatch_metric_alarm")
    names = {body["alarm_name"] for body in alarms.values()}
    assert {
        "evpipe-dev-workflow-trigger-failed-invocations",
        "evpipe-dev-workflow-trigger-dlq-visible-messages",
    } <= names


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_queue_environments_batch_and_alarm_on_their_dead_letters(
    synthesized_stacks: Stacks, env: str
) -> None:
    stack = synthesized_stacks[f"pipeline-{env}"]
    settings = ENVIRONMENTS[env].ingest_queue
    (mapping,) = _resources(stack, "aws_lambda_event_source_mapping").values()
    assert mapping["batch_size"] == settings.batch_size
    assert mapping["maximum_batching_window_in_seconds"] == settings.batching_window_seconds
    assert mapping["function_response_types"] == ["ReportBatchItemFailures"]
    # Pollers never outnumber the processor's reserved concurrency
    reserved = ENVIRONMENTS[env].functions.processor.reserved_concurrency
    assert mapping["scaling_config"] == {"maximum_concurrency": reserved}
    names = {b["alarm_name"] for b in _resources(stack, "aws_cloudwatch_metric_alarm").values()}
    assert f"evpipe-{env}-ingest-dlq-visible-messages" in names
    # And the processor publishes the notices itself, to the notifications topic
    (processor,) = [
        f
        for f in _resources(stack, "aws_lambda_function").values()
        if f["function_name"] == f"evpipe-{env}-processor"
    ]
    variables = processor["environment"]["variables"]
    assert variables["NOTICE_TOPIC_ARN"].startswith("${aws_sns_topic.workflow_notifications_topic")


def test_the_notifications_topic_keeps_its_address_on_both_paths(
    synthesized_stacks: Stacks,
) -> None:
    for env in ("dev", "staging", "prod"):
        topics = _resources(synthesized_stacks[f"pipeline-{env}"], "aws_sns_topic")
        assert "workflow_notifications_topic_C8B59403" in topics, env


def test_the_switch_puts_prod_on_the_workflow_path(tmp_path: Path) -> None:
    # Given PIPELINE_INGEST_PATH=workflow for a prod synth
    target = DeploymentTarget(
        environments=("prod",),
        state=StateBackendSettings(bucket="state", region="us-west-2"),
        ingest_path="workflow",
    )
    config = ENVIRONMENTS["prod"]
    stack = PipelineStack(
        cdktf.Testing.app(),
        "pipeline-prod",
        config=replace(config, ingest_path="workflow"),
        target=target,
    )
    # Then prod has the workflow path and no queue
    paths = _paths(json.loads(cdktf.Testing.synth(stack)))
    assert paths["rule_to_state_machine"]
    assert not paths["queue_mapping"]

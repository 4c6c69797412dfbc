"""Step Functions on the local cloud: real validation, executions whose tasks run our code."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest

from constructs_lib.pipeline.workflow_definition import RetryPolicy, build_definition
from tools.localcloud import LocalCloud

from .conftest import FUNCTIONS_DIR, wait_for

ROLE = "arn:aws:iam::123456789012:role/workflow"


@pytest.fixture
def workflow(cloud: LocalCloud, request: pytest.FixtureRequest) -> str:
    """The project's workflow definition over three stand-in functions; returns its ARN."""
    lam = cloud.client("lambda")
    prefix = request.node.name[:30]
    role = cloud.client("iam").create_role(
        RoleName=f"{prefix}-role", AssumeRolePolicyDocument="{}"
    )["Role"]["Arn"]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.write(FUNCTIONS_DIR / "steps.py", "steps.py")
    arns = {}
    for step in ("validate", "process", "notify"):
        arns[step] = lam.create_function(
            FunctionName=f"{prefix}-{step}",
            Runtime="python3.12",
            Role=role,
            Handler=f"steps.{step}",
            Code={"ZipFile": buffer.getvalue()},
            Timeout=5,
        )["FunctionArn"]
    definition = build_definition(
        validate_function_arn=arns["validate"],
        process_function_arn=arns["process"],
        notify_function_arn=arns["notify"],
        retry=RetryPolicy(max_attempts=1, interval_seconds=1, task_error_max_attempts=0),
    )
    arn: str = cloud.client("stepfunctions").create_state_machine(
        name=f"{prefix}-workflow", definition=json.dumps(definition), roleArn=ROLE
    )["stateMachineArn"]
    return arn


def run(cloud: LocalCloud, state_machine_arn: str, event: dict[str, Any]) -> dict[str, Any]:
    sfn = cloud.client("stepfunctions")
    execution = sfn.start_execution(stateMachineArn=state_machine_arn, input=json.dumps(event))
    arn = execution["executionArn"]
    return wait_for(  # type: ignore[no-any-return]
        lambda: (d := sfn.describe_execution(executionArn=arn))["status"] != "RUNNING" and d
    )


def entered_states(cloud: LocalCloud, execution_arn: str) -> list[str]:
    history = cloud.client("stepfunctions").get_execution_history(executionArn=execution_arn)
    return [
        e["stateEnteredEventDetails"]["name"]
        for e in history["events"]
        if "stateEnteredEventDetails" in e
    ]


def test_validation_accepts_the_projects_definition(cloud: LocalCloud) -> None:
    # Given the workflow definition the stack deploys
    definition = build_definition(
        validate_function_arn="arn:aws:lambda:us-west-2:123456789012:function:v",
        process_function_arn="arn:aws:lambda:us-west-2:123456789012:function:p",
        notify_function_arn="arn:aws:lambda:us-west-2:123456789012:function:n",
        retry=RetryPolicy(),
    )
    # When the local cloud validates it
    answer = cloud.client("stepfunctions").validate_state_machine_definition(
        definition=json.dumps(definition)
    )
    # Then it is OK with no diagnostics
    assert answer["result"] == "OK"
    assert answer["diagnostics"] == []


def test_validation_fails_a_broken_definition_with_diagnostics(cloud: LocalCloud) -> None:
    # Given a definition whose state points nowhere
    broken = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}}}
    # When the local cloud validates it
    answer = cloud.client("stepfunctions").validate_state_machine_definition(
        definition=json.dumps(broken)
    )
    # Then it fails, naming the problem
    assert answer["result"] == "FAIL"
    assert any("Nowhere" in d["message"] for d in answer["diagnostics"])


def test_an_execution_runs_every_state_through_our_code(cloud: LocalCloud, workflow: str) -> None:
    # Given the deployed workflow
    # When an execution starts with an S3 "Object Created" event
    result = run(cloud, workflow, {"detail": {"object": {"key": "in/a.json", "size": 3}}})
    # Then it succeeds, having validated, processed and notified, with each result in place
    assert result["status"] == "SUCCEEDED", result
    output = json.loads(result["output"])
    assert output["processing"] == {"record_id": "rec-in/a.json", "created": True}
    assert output["notification"] == {"message_id": "msg-processed"}
    assert entered_states(cloud, result["executionArn"]) == [
        "Validate", "IsValid", "Process", "PrepareProcessedNotice", "Notify",
    ]  # fmt: skip


def test_a_rejected_object_takes_the_rejected_branch(cloud: LocalCloud, workflow: str) -> None:
    # Given the deployed workflow
    # When the validator rejects the object
    result = run(cloud, workflow, {"detail": {"object": {"key": "reject/b.json", "size": 3}}})
    # Then the execution notifies the rejection and never processes
    assert result["status"] == "SUCCEEDED", result
    states = entered_states(cloud, result["executionArn"])
    assert "Process" not in states
    assert states[-2:] == ["PrepareRejectedNotice", "Notify"]


def test_a_processor_failure_is_caught_into_the_failed_state(
    cloud: LocalCloud, workflow: str
) -> None:
    # Given the deployed workflow
    # When the processor raises
    result = run(cloud, workflow, {"detail": {"object": {"key": "crash/c.json", "size": 3}}})
    # Then the execution fails in ProcessingFailed, carrying the function's own message
    assert result["status"] == "FAILED", result
    assert result.get("error") == "Pipeline.ProcessingFailed"
    assert "processor crashed" in result.get("cause", "")
    assert entered_states(cloud, result["executionArn"])[-1] == "ProcessingFailed"


def test_an_eventbridge_rule_starts_the_workflow(cloud: LocalCloud, workflow: str) -> None:
    # Given a rule on S3 "Object Created" events targeting the state machine
    s3 = cloud.client("s3")
    s3.create_bucket(
        Bucket="lc-workflow-in", CreateBucketConfiguration={"LocationConstraint": cloud.region}
    )
    s3.put_bucket_notification_configuration(
        Bucket="lc-workflow-in", NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    events = cloud.client("events")
    events.put_rule(
        Name="lc-start-workflow",
        EventPattern=json.dumps(
            {"source": ["aws.s3"], "detail": {"bucket": {"name": ["lc-workflow-in"]}}}
        ),
    )
    events.put_targets(
        Rule="lc-start-workflow", Targets=[{"Id": "sfn", "Arn": workflow, "RoleArn": ROLE}]
    )
    # When an object is put
    s3.put_object(Bucket="lc-workflow-in", Key="in/d.json", Body=b"{}")
    # Then one execution ran and succeeded
    sfn = cloud.client("stepfunctions")

    def finished() -> list[dict[str, Any]]:
        executions = sfn.list_executions(stateMachineArn=workflow)["executions"]
        return [e for e in executions if e["status"] != "RUNNING"]

    [execution] = wait_for(finished)
    assert execution["status"] == "SUCCEEDED"
    output = json.loads(sfn.describe_execution(executionArn=execution["executionArn"])["output"])
    assert output["processing"]["record_id"] == "rec-in/d.json"


def test_a_machines_published_versions_are_listed_newest_first(cloud: LocalCloud) -> None:
    # Given a state machine published twice (the AWS provider lists versions on every read)
    sfn = cloud.client("stepfunctions")
    definition = {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}
    arn = sfn.create_state_machine(
        name="versions-listed", definition=json.dumps(definition), roleArn=ROLE, publish=True
    )["stateMachineArn"]
    definition["States"]["A"]["Comment"] = "second"  # type: ignore[index]
    sfn.update_state_machine(stateMachineArn=arn, definition=json.dumps(definition), publish=True)
    # When its versions are listed
    listed = sfn.list_state_machine_versions(stateMachineArn=arn)["stateMachineVersions"]
    # Then both come back, newest first, with their creation dates
    assert [v["stateMachineVersionArn"] for v in listed] == [f"{arn}:2", f"{arn}:1"]
    assert all(v["creationDate"] for v in listed)

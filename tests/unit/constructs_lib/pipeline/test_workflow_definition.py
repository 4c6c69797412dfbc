"""The ingest workflow as States Language: steps, data contract, retries, catches."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from constructs_lib.patterns.state_machine import render_definition
from constructs_lib.pipeline.workflow_definition import (
    CHOICE_STATE,
    LAMBDA_INVOKE_RESOURCE,
    LAMBDA_SERVICE_ERRORS,
    NOTIFICATION_FAILED_STATE,
    NOTIFY_STATE,
    PROCESS_STATE,
    PROCESSED_NOTICE_STATE,
    PROCESSING_FAILED_STATE,
    REJECTED_NOTICE_STATE,
    SQS_SEND_RESOURCE,
    VALIDATE_STATE,
    VALIDATION_FAILED_STATE,
    RetryPolicy,
    build_definition,
    failure_record_state,
)

PROJECT_ROOT = Path(__file__).resolve().parents[4]
ACCOUNT = "123456789012"
VALIDATE_ARN = f"arn:aws:lambda:us-west-2:{ACCOUNT}:function:evpipe-test-validate"
PROCESS_ARN = f"arn:aws:lambda:us-west-2:{ACCOUNT}:function:evpipe-test-processor"
NOTIFY_ARN = f"arn:aws:lambda:us-west-2:{ACCOUNT}:function:evpipe-test-notify"
RETRY = RetryPolicy(
    max_attempts=4,
    interval_seconds=3,
    backoff_rate=2.5,
    max_delay_seconds=40,
    task_error_max_attempts=2,
)
TASKS = {
    VALIDATE_STATE: (VALIDATE_ARN, VALIDATION_FAILED_STATE),
    PROCESS_STATE: (PROCESS_ARN, PROCESSING_FAILED_STATE),
    NOTIFY_STATE: (NOTIFY_ARN, NOTIFICATION_FAILED_STATE),
}


FAILURE_QUEUE_URL = f"https://sqs.us-west-2.amazonaws.com/{ACCOUNT}/evpipe-test-dlq"


def definition(retry: RetryPolicy = RETRY, failure_queue_url: str | None = None) -> dict[str, Any]:
    return build_definition(
        validate_function_arn=VALIDATE_ARN,
        process_function_arn=PROCESS_ARN,
        notify_function_arn=NOTIFY_ARN,
        retry=retry,
        failure_queue_url=failure_queue_url,
    )


def asl_validate(document: dict[str, Any], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run the npm asl-validator (package.json devDependency) on a definition."""
    if (
        shutil.which("npx") is None
        or not (PROJECT_ROOT / "node_modules" / "asl-validator").is_dir()
    ):
        pytest.fail("asl-validator is not installed: run `npm ci` (make node-deps) first")
    path = tmp_path / "definition.asl.json"
    path.write_text(json.dumps(document))
    return subprocess.run(
        ["npx", "--no-install", "asl-validator", "--json-path", str(path)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_definition_is_valid_amazon_states_language(tmp_path: Path) -> None:
    # Given the definition built from Python data
    document = definition()
    # When the reference validator checks it
    result = asl_validate(document, tmp_path)
    # Then it is accepted
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is valid" in result.stdout


def test_validator_rejects_a_broken_definition(tmp_path: Path) -> None:
    # Given the definition with the choice pointing at a state that does not exist
    document = definition()
    document["States"][CHOICE_STATE]["Default"] = "NoSuchState"
    # When validated / Then the validator refuses it, so the check above can fail
    result = asl_validate(document, tmp_path)
    assert result.returncode != 0
    assert "NoSuchState" in result.stdout + result.stderr


def test_states_run_validate_choice_process_notify() -> None:
    # Given the definition
    states = definition()["States"]
    # Then validate leads to the choice, which sends valid objects on to process
    assert definition()["StartAt"] == VALIDATE_STATE
    assert states[VALIDATE_STATE]["Next"] == CHOICE_STATE
    (valid,) = states[CHOICE_STATE]["Choices"]
    assert valid == {"Variable": "$.validation.valid", "BooleanEquals": True, "Next": PROCESS_STATE}
    # And both outcomes are notified, the last step of the execution
    assert states[CHOICE_STATE]["Default"] == REJECTED_NOTICE_STATE
    assert states[PROCESS_STATE]["Next"] == PROCESSED_NOTICE_STATE
    assert states[PROCESSED_NOTICE_STATE]["Next"] == NOTIFY_STATE
    assert states[REJECTED_NOTICE_STATE]["Next"] == NOTIFY_STATE
    assert states[NOTIFY_STATE]["End"] is True
    assert definition()["TimeoutSeconds"] > 0


def test_steps_pass_data_in_the_contract_shapes() -> None:
    states = definition()["States"]
    # validate gets the execution input; its result is kept at $.validation
    assert states[VALIDATE_STATE]["Parameters"] == {"FunctionName": VALIDATE_ARN, "Payload.$": "$"}
    assert states[VALIDATE_STATE]["ResultPath"] == "$.validation"
    assert states[VALIDATE_STATE]["ResultSelector"] == {
        "valid.$": "$.Payload.valid",
        "errors.$": "$.Payload.errors",
        "object.$": "$.Payload.object",
    }
    # process gets {"object": ...} and returns record_id and created
    assert states[PROCESS_STATE]["Parameters"] == {
        "FunctionName": PROCESS_ARN,
        "Payload": {"object.$": "$.validation.object"},
    }
    assert set(states[PROCESS_STATE]["ResultSelector"]) == {"record_id.$", "created.$"}
    # notify gets status, record_id, object and errors for either outcome
    assert states[PROCESSED_NOTICE_STATE]["Parameters"] == {
        "status": "processed",
        "record_id.$": "$.processing.record_id",
        "object.$": "$.validation.object",
        "errors": [],
    }
    assert states[REJECTED_NOTICE_STATE]["Parameters"] == {
        "status": "rejected",
        "record_id": None,
        "object.$": "$.validation.object",
        "errors.$": "$.validation.errors",
    }
    assert states[NOTIFY_STATE]["Parameters"] == {
        "FunctionName": NOTIFY_ARN,
        "Payload.$": "$.notice",
    }
    assert states[NOTIFY_STATE]["ResultSelector"] == {"message_id.$": "$.Payload.message_id"}


@pytest.mark.parametrize("task", list(TASKS))
def test_every_task_retries_with_backoff_then_fails_into_its_named_state(task: str) -> None:
    # Given one task of the definition
    states = definition()["States"]
    function_arn, fail_state = TASKS[task]
    state = states[task]
    assert (state["Type"], state["Resource"]) == ("Task", LAMBDA_INVOKE_RESOURCE)
    assert state["Parameters"]["FunctionName"] == function_arn
    # Then Lambda service errors and throttling retry first, with the policy's backoff
    service, task_errors = state["Retry"]
    assert service == {
        "ErrorEquals": list(LAMBDA_SERVICE_ERRORS),
        "IntervalSeconds": 3,
        "MaxAttempts": 4,
        "BackoffRate": 2.5,
        "MaxDelaySeconds": 40,
        "JitterStrategy": "FULL",
    }
    assert "Lambda.TooManyRequestsException" in service["ErrorEquals"]
    # And our own code's errors retry more sparingly
    assert task_errors["ErrorEquals"] == ["States.TaskFailed"]
    assert task_errors["MaxAttempts"] == 2
    # And anything left is caught, kept at $.failure, into the task's own Fail state
    assert state["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": fail_state}
    ]
    assert states[fail_state]["Type"] == "Fail"
    assert states[fail_state]["Error"] == f"Pipeline.{fail_state}"
    assert states[fail_state]["CausePath"] == "$.failure.Cause"


def test_retriers_stay_within_what_step_functions_accepts() -> None:
    # asl-validator does not check these newer retrier fields, so check them here
    retriers = [r for state in definition()["States"].values() for r in state.get("Retry", [])]
    assert len(retriers) == 2 * len(TASKS)
    for retrier in retriers:
        assert retrier["JitterStrategy"] in ("FULL", "NONE")
        assert isinstance(retrier["MaxDelaySeconds"], int)
        assert 0 < retrier["MaxDelaySeconds"] < 31_622_401
        assert retrier["BackoffRate"] >= 1.0
        assert retrier["IntervalSeconds"] >= 1


def test_fail_states_are_exactly_the_catch_targets() -> None:
    states = definition()["States"]
    fail_states = {name for name, state in states.items() if state["Type"] == "Fail"}
    catch_targets = {c["Next"] for state in states.values() for c in state.get("Catch", [])}
    assert fail_states == catch_targets == {
        VALIDATION_FAILED_STATE, PROCESSING_FAILED_STATE, NOTIFICATION_FAILED_STATE
    }  # fmt: skip


def test_rendering_is_stable_json() -> None:
    # Given the same definition built twice / Then the text is identical and round-trips
    text = render_definition(definition())
    assert text == render_definition(definition())
    assert json.loads(text) == definition()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"max_attempts": 0}, "retry.max_attempts must be at least 1, got 0"),
        ({"interval_seconds": 0}, "retry.interval_seconds must be at least 1, got 0"),
        ({"backoff_rate": 0.5}, "retry.backoff_rate must be at least 1.0, got 0.5"),
        (
            {"interval_seconds": 10, "max_delay_seconds": 5},
            "retry.max_delay_seconds must be at least retry.interval_seconds, got 5 < 10",
        ),
        (
            {"task_error_max_attempts": -1},
            "retry.task_error_max_attempts must not be negative, got -1",
        ),
    ],
)
def test_invalid_retry_policy_names_the_field(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        RetryPolicy(**overrides)


def test_definition_with_a_failure_queue_is_valid_amazon_states_language(tmp_path: Path) -> None:
    # Given the definition that records failures in a queue
    document = definition(failure_queue_url=FAILURE_QUEUE_URL)
    # When the reference validator checks it / Then it is accepted
    result = asl_validate(document, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("task", list(TASKS))
def test_with_a_failure_queue_a_caught_failure_is_sent_there_before_failing(task: str) -> None:
    # Given the definition with a failure queue
    states = definition(failure_queue_url=FAILURE_QUEUE_URL)["States"]
    _, fail_state = TASKS[task]
    record = failure_record_state(task)
    # Then the task's catch goes to its record state, keeping the error at $.failure
    assert states[task]["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": record}
    ]
    # And that state sends the original input, the failed state and the error to the queue
    sender = states[record]
    assert (sender["Type"], sender["Resource"]) == ("Task", SQS_SEND_RESOURCE)
    assert sender["Parameters"]["QueueUrl"] == FAILURE_QUEUE_URL
    assert sender["Parameters"]["MessageBody"] == {
        "failed_state": task,
        "error.$": "$.failure.Error",
        "cause.$": "$.failure.Cause",
        "execution.$": "$$.Execution.Id",
        "input.$": "$$.Execution.Input",
    }
    # And then fails into the task's own Fail state, whether the send worked or not,
    # without overwriting the step's error
    assert sender["Next"] == fail_state
    (catch,) = sender["Catch"]
    assert catch["Next"] == fail_state
    assert catch["ResultPath"] != "$.failure"
    assert sender["ResultPath"] is None

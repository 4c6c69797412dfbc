"""A failing asynchronous event ends in the pipeline DLQ with its payload intact.

What is emulated (moto server on loopback): every AWS API. moto stores the processor's
event-invoke config, the SQS queue and its policy, but it cannot run Lambda code and has no
asynchronous-invocation machinery (no retries, no destinations).

What is ours and real: the dev stack synthesized by main.py and applied by the Terraform CLI;
the processor archive Terraform deployed, run by tools.local_invoke in a child Python with
only the zip, the layer and the runtime's libraries on its path; and tools.async_failure,
which does the one step moto cannot: it builds the invocation record Lambda's on-failure
destination sends (condition RetriesExhausted, the original event as requestPayload, the
handler's error as responsePayload) and sends it to the destination ARN read back from the
deployed config, exactly where Lambda would.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from config.environments import build_environments
from tools.async_failure import FunctionError, deliver
from tools.ci.terraform import StackWorkspace, synth_app
from tools.emulator import EMULATOR_ENV, MotoServer
from tools.local_invoke import invoke_packaged

EVENTS_DIR = Path(__file__).resolve().parents[1] / "events"
FAILING_EVENT = EVENTS_DIR / "s3-bad-event-time.json"
DEV = build_environments()["dev"]
PAYLOAD_FIELD = '"requestPayload": '


@dataclass
class DeployedDev:
    moto: MotoServer
    workspace: StackWorkspace
    outputs: dict[str, Any]

    def client(self, service: str) -> Any:
        session: Any = self.session()  # the service name is a runtime value here
        return session.client(service, endpoint_url=self.moto.endpoint_url)

    def session(self) -> boto3.session.Session:
        return boto3.session.Session(
            aws_access_key_id=EMULATOR_ENV["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=EMULATOR_ENV["AWS_SECRET_ACCESS_KEY"],
            region_name=EMULATOR_ENV["AWS_DEFAULT_REGION"],
        )

    def asset(self, resource_type: str, construct: str) -> Path:
        """The archive a synthesized resource deploys, found by its construct path."""
        document = json.loads((self.workspace.stack_dir / "cdk.tf.json").read_text())
        for body in document["resource"][resource_type].values():
            if body["//"]["metadata"]["path"].split("/")[-2] == construct:
                filename: str = body["filename"]
                return self.workspace.stack_dir / filename
        raise KeyError(f"no {resource_type} under construct {construct}")


@pytest.fixture(scope="module")
def dev(moto_server: MotoServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DeployedDev]:
    """pipeline-dev applied to moto with local state, destroyed afterwards."""
    moto_server.reset()
    out = tmp_path_factory.mktemp("failure-path")
    stacks = synth_app(
        out / "cdktf.out",
        {
            "AWS_ENDPOINT_URL": moto_server.endpoint_url,
            "PIPELINE_STATE_BACKEND": "local",
            "PIPELINE_ENVIRONMENTS": "dev",
        },
    )
    workspace = StackWorkspace(stacks / "pipeline-dev", moto_server.endpoint_url)
    workspace.init()
    workspace.apply()
    yield DeployedDev(moto_server, workspace, workspace.outputs())
    workspace.destroy()
    moto_server.reset()


def test_deployed_failure_path_matches_the_dev_profile(dev: DeployedDev) -> None:
    # Given dev applied to the emulator
    function_name = dev.outputs["processor_function_name"]
    # When the processor's async config and the DLQ are read back through the AWS APIs
    config = dev.client("lambda").get_function_event_invoke_config(FunctionName=function_name)
    attributes = dev.client("sqs").get_queue_attributes(
        QueueUrl=dev.outputs["dlq_queue_url"], AttributeNames=["All"]
    )["Attributes"]
    # Then retries and event age follow the dev profile and failures go to the DLQ
    assert config["MaximumRetryAttempts"] == DEV.operations.async_retry_attempts == 0
    assert config["MaximumEventAgeInSeconds"] == DEV.operations.max_event_age_seconds
    assert config["DestinationConfig"]["OnFailure"]["Destination"] == dev.outputs["dlq_queue_arn"]
    # And the DLQ is KMS-encrypted with the stack key, keeps messages 14 days, refuses plain HTTP
    assert attributes["KmsMasterKeyId"] == dev.outputs["kms_key_arn"]
    assert attributes["MessageRetentionPeriod"] == str(14 * 24 * 3600)
    policy = json.loads(attributes["Policy"])
    deny = next(s for s in policy["Statement"] if s["Sid"] == "DenyInsecureTransport")
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_failing_event_lands_in_the_dlq_with_its_payload_byte_for_byte(dev: DeployedDev) -> None:
    # Given a malformed S3 notification, exactly as it would arrive (non-ASCII included)
    payload = FAILING_EVENT.read_text(encoding="utf-8")
    event = json.loads(payload)
    function_name = dev.outputs["processor_function_name"]
    configuration = dev.client("lambda").get_function_configuration(FunctionName=function_name)

    # When the deployed processor archive runs on it (ours, in a local process) ...
    result = invoke_packaged(
        dev.asset("aws_lambda_function", "processor"),
        event,
        environment={
            **configuration["Environment"]["Variables"],
            **dev.moto.client_env(),
            "AWS_LAMBDA_FUNCTION_NAME": function_name,
        },
        layer_dir=dev.asset("aws_lambda_layer_version", "dependencies"),
    )
    # ... it fails for the bad record, not for anything else, and writes nothing
    assert not result.ok, result.logs
    assert result.error_type == "RecordBatchError", result.logs
    assert "Records[0].eventTime" in (result.error_message or "")
    table = dev.outputs["records_table_name"]
    assert dev.client("dynamodb").scan(TableName=table)["Count"] == 0

    # ... and the failure is delivered as Lambda's on-failure destination would deliver it
    sent = deliver(
        session=dev.session(),
        function_name=function_name,
        payload=payload,
        error=FunctionError(
            error_type=result.error_type,
            error_message=result.error_message or "",
            stack_trace=result.stack_trace,
        ),
        endpoint_url=dev.moto.endpoint_url,
    )

    # Then it went to the destination the deployed config names: the DLQ
    assert sent["destination"] == dev.outputs["dlq_queue_arn"]
    messages = dev.client("sqs").receive_message(
        QueueUrl=dev.outputs["dlq_queue_url"], MaxNumberOfMessages=10, WaitTimeSeconds=1
    )["Messages"]
    assert len(messages) == 1
    body = messages[0]["Body"]
    assert messages[0]["MD5OfBody"] == hashlib.md5(body.encode()).hexdigest()  # noqa: S324
    # And the record says why Lambda gave up and what the handler raised
    record = json.loads(body)
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert (
        record["requestContext"]["approximateInvokeCount"]
        == 1 + DEV.operations.async_retry_attempts
    )
    assert (
        record["requestContext"]["functionArn"]
        == f"{dev.outputs['processor_function_arn']}:$LATEST"
    )
    assert record["responsePayload"]["errorType"] == "RecordBatchError"
    # And the original payload is there byte for byte
    start = body.index(PAYLOAD_FIELD) + len(PAYLOAD_FIELD)
    assert body[start : start + len(payload)].encode("utf-8") == payload.encode("utf-8")
    assert record["requestPayload"] == event

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tools import rollout

REGION = "us-west-2"
FUNCTION = "evpipe-prod-processor"


def zipped(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", source)
    return buffer.getvalue()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """prod's processor with versions 1 and 2, `live` on 1, and its deployment group."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "test")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        role = boto3.client("iam").create_role(
            RoleName="fn", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17"})
        )["Role"]["Arn"]
        lam = boto3.client("lambda", region_name=REGION)
        lam.create_function(
            FunctionName=FUNCTION,
            Runtime="python3.12",
            Role=role,
            Handler="handler.lambda_handler",
            Code={"ZipFile": zipped("def lambda_handler(e, c):\n    return 1\n")},
            Publish=True,
        )
        lam.create_alias(FunctionName=FUNCTION, Name="live", FunctionVersion="1")
        lam.update_function_code(
            FunctionName=FUNCTION,
            ZipFile=zipped("def lambda_handler(e, c):\n    return 2\n"),
            Publish=True,
        )
        deploy = boto3.client("codedeploy", region_name=REGION)
        deploy.create_application(applicationName="evpipe-prod-functions", computePlatform="Lambda")
        deploy.create_deployment_group(
            applicationName="evpipe-prod-functions",
            deploymentGroupName="processor",
            serviceRoleArn=role,
            deploymentStyle={
                "deploymentType": "BLUE_GREEN",
                "deploymentOption": "WITH_TRAFFIC_CONTROL",
            },
        )
        yield deploy


def test_appspec_names_the_alias_and_both_versions() -> None:
    # Given versions 3 (serving) and 4 (new) of prod's api
    planned = rollout.deployment_input(
        name_prefix="evpipe-prod", function="api", current_version="3", target_version="4"
    )
    # Then the deployment goes to the api group of the functions application
    assert planned["applicationName"] == "evpipe-prod-functions"
    assert planned["deploymentGroupName"] == "api"
    # And its AppSpec moves `live` of evpipe-prod-api from 3 to 4
    content = json.loads(planned["revision"]["appSpecContent"]["content"])
    assert content["Resources"] == [
        {
            "live": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Name": "evpipe-prod-api",
                    "Alias": "live",
                    "CurrentVersion": "3",
                    "TargetVersion": "4",
                },
            }
        }
    ]


def test_start_deploys_the_newest_version_from_the_alias_current_one(
    aws: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given `live` on version 1 and version 2 published
    # When a rollout of prod's processor is started
    code = rollout.main(["--env", "prod", "--function", "processor"])
    # Then CodeDeploy recorded one deployment in the processor group, from 1 to 2
    assert code == 0
    [deployment_id] = aws.list_deployments(
        applicationName="evpipe-prod-functions", deploymentGroupName="processor"
    )["deployments"]
    assert deployment_id in capsys.readouterr().out
    info = aws.get_deployment(deploymentId=deployment_id)["deploymentInfo"]
    properties = json.loads(info["revision"]["appSpecContent"]["content"])["Resources"][0]["live"][
        "Properties"
    ]
    assert (properties["CurrentVersion"], properties["TargetVersion"]) == ("1", "2")


def test_nothing_is_started_when_the_alias_already_serves_the_target(
    aws: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # When the target is the version `live` already serves
    code = rollout.main(["--env", "prod", "--function", "processor", "--target-version", "1"])
    # Then no deployment is recorded and the user is told why
    assert code == 0
    assert "already serves the target" in capsys.readouterr().out
    assert (
        aws.list_deployments(
            applicationName="evpipe-prod-functions", deploymentGroupName="processor"
        )["deployments"]
        == []
    )


def test_a_function_without_the_alias_is_one_clear_error(
    aws: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # When the function to roll out was never deployed with its alias
    code = rollout.main(["--env", "prod", "--function", "api"])
    # Then the user gets one line naming it, and nothing is recorded
    assert code == 2
    assert "evpipe-prod-api" in capsys.readouterr().err
    assert (
        aws.list_deployments(
            applicationName="evpipe-prod-functions", deploymentGroupName="processor"
        )["deployments"]
        == []
    )

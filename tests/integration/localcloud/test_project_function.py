"""A project function runs on the local cloud from its zip and the arm64 layer, as deployed."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from tools.build_layer import LAYER_DIR, layer_archive
from tools.localcloud import LocalCloud
from tools.localcloud.settings import PROJECT_ROOT

from .conftest import wait_for

EVENTS = PROJECT_ROOT / "tests" / "events"


def zip_tree(root: Path, prefix: str = "") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(root.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                archive.write(path, prefix + path.relative_to(root).as_posix())
    return buffer.getvalue()


def test_validate_function_runs_with_its_layer_built_for_arm64(cloud: LocalCloud) -> None:
    # Given the layer zip as deployed (arm64 wheels, CPython 3.12 bytecode) and the validate
    # function's package
    if not (LAYER_DIR / "python").is_dir():
        pytest.fail("build/layer is missing: run `make layer`")
    lam = cloud.client("lambda")
    role = cloud.client("iam").create_role(
        RoleName="project-validate-role", AssumeRolePolicyDocument="{}"
    )["Role"]["Arn"]
    layer = lam.publish_layer_version(
        LayerName="project-deps", Content={"ZipFile": layer_archive().read_bytes()}
    )["LayerVersionArn"]
    lam.create_function(
        FunctionName="project-validate",
        Runtime="python3.12",
        Architectures=["arm64"],
        Role=role,
        Handler="validate.handler.lambda_handler",
        Code={"ZipFile": zip_tree(PROJECT_ROOT / "lambda_functions" / "validate", "validate/")},
        Layers=[layer],
        Timeout=10,
        Environment={
            "Variables": {
                "MAX_OBJECT_BYTES": "100",
                "POWERTOOLS_SERVICE_NAME": "validate",
                "POWERTOOLS_METRICS_NAMESPACE": "Pipeline",
                "POWERTOOLS_TRACE_DISABLED": "true",
            }
        },
    )
    # When it is invoked with the workflow's sample input
    response = lam.invoke(
        FunctionName="project-validate", Payload=(EVENTS / "validate-input.json").read_bytes()
    )
    # Then Powertools loaded (host build of the layer's wheels) and the verdict came back
    assert response.get("FunctionError") is None, response["Payload"].read()
    verdict = json.loads(response["Payload"].read())
    assert verdict["valid"] is False
    assert "exceeds the limit of 100 bytes" in verdict["errors"][0]
    # And the function's structured log line is in its log group
    logs = cloud.client("logs")
    found = wait_for(
        lambda: [
            e["message"]
            for e in logs.filter_log_events(logGroupName="/aws/lambda/project-validate")["events"]
            if '"service":"validate"' in e["message"].replace(" ", "")
        ]
    )
    assert found

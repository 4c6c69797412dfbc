"""Helpers that deploy small functions to the session's local cloud (see ../conftest.py)."""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tools.localcloud import LocalCloud

FUNCTIONS_DIR = Path(__file__).resolve().parent / "functions"


def zip_source(name: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.write(FUNCTIONS_DIR / f"{name}.py", f"{name}.py")
    return buffer.getvalue()


@pytest.fixture
def deploy(cloud: LocalCloud, request: pytest.FixtureRequest) -> Callable[..., str]:
    """Create the probe function under a name unique to the test; returns its ARN."""
    iam = cloud.client("iam")
    lam = cloud.client("lambda")
    counter = iter(range(100))

    def create(**overrides: Any) -> str:
        name = f"{request.node.name[:40]}-{next(counter)}".replace("[", "-").replace("]", "")
        role = iam.create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument="{}")["Role"]
        spec: dict[str, Any] = {
            "FunctionName": name,
            "Runtime": "python3.12",
            "Role": role["Arn"],
            "Handler": "probe.handler",
            "Code": {"ZipFile": zip_source("probe")},
            "Timeout": 5,
            **overrides,
        }
        arn: str = lam.create_function(**spec)["FunctionArn"]
        return arn

    return create


def wait_for(condition: Callable[[], Any], timeout: float = 30.0) -> Any:
    """Poll until ``condition()`` is truthy; return its value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"not true after {timeout} s: {condition}")


def receive_all(
    cloud: LocalCloud, queue_url: str, expected: int, timeout: float = 30.0
) -> list[dict[str, Any]]:
    """Receive (and delete) messages until ``expected`` arrived."""
    sqs = cloud.client("sqs")
    got: list[dict[str, Any]] = []

    def more() -> bool:
        response = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        )
        for message in response.get("Messages", []):
            got.append(message)
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        return len(got) >= expected

    wait_for(more, timeout)
    return got


def body(message: dict[str, Any]) -> Any:
    return json.loads(message["Body"])

"""The Lambda executor runs deployed zips in warm Python 3.12 environments (real moto, no mocks)."""

from __future__ import annotations

import json
from collections.abc import Callable

from tools.localcloud import LocalCloud

from .conftest import wait_for


def invoke(cloud: LocalCloud, arn: str, event: object) -> tuple[str | None, object]:
    response = cloud.client("lambda").invoke(FunctionName=arn, Payload=json.dumps(event))
    return response.get("FunctionError"), json.loads(response["Payload"].read())


def test_sync_invoke_returns_the_handler_result_with_env_and_context(
    cloud: LocalCloud, deploy: Callable[..., str]
) -> None:
    # Given a function with an environment variable
    arn = deploy(Environment={"Variables": {"GREETING": "hello"}}, MemorySize=256)
    # When it is invoked synchronously
    error, result = invoke(cloud, arn, {"n": 1})
    # Then its code ran under Python 3.12 with its variables, the context and the local endpoint
    assert error is None
    assert isinstance(result, dict)
    assert result["greeting"] == "hello"
    assert result["event"] == {"n": 1}
    assert result["function_name"] == arn.split(":")[-1]
    assert result["memory"] == 256
    assert 0 < result["remaining_ms"] <= 5000
    assert result["endpoint"] == cloud.endpoint_url
    assert result["python"] == "3.12"


def test_an_unhandled_error_comes_back_in_lambdas_shape(
    cloud: LocalCloud, deploy: Callable[..., str]
) -> None:
    # Given a function
    arn = deploy()
    # When its handler raises
    error, result = invoke(cloud, arn, {"fail": "on purpose"})
    # Then Lambda's error shape and the Unhandled marker come back
    assert error == "Unhandled"
    assert isinstance(result, dict)
    assert result["errorType"] == "ValueError"
    assert result["errorMessage"] == "asked to fail: on purpose"
    assert any("probe.py" in frame for frame in result["stackTrace"])


def test_a_timeout_kills_the_environment_and_says_so(
    cloud: LocalCloud, deploy: Callable[..., str]
) -> None:
    # Given a function with a 1 second timeout
    arn = deploy(Timeout=1)
    _, first = invoke(cloud, arn, {})
    # When an invocation runs longer
    error, result = invoke(cloud, arn, {"sleep": 5})
    # Then it fails as Lambda reports a timeout, and the next invocation gets a new environment
    assert error == "Unhandled"
    assert isinstance(result, dict)
    assert "Task timed out after 1.00 seconds" in result["errorMessage"]
    _, after = invoke(cloud, arn, {})
    assert isinstance(first, dict)
    assert isinstance(after, dict)
    assert after["pid"] != first["pid"]


def test_warm_environment_runs_init_once_across_invocations(
    cloud: LocalCloud, deploy: Callable[..., str]
) -> None:
    # Given a function
    arn = deploy()
    # When it is invoked three times in a row
    results = [invoke(cloud, arn, {"n": n})[1] for n in range(3)]
    # Then one environment served them all and its init code ran once
    assert all(isinstance(r, dict) for r in results)
    assert {r["pid"] for r in results} == {results[0]["pid"]}  # type: ignore[index]
    assert [r["init_count"] for r in results] == [1, 1, 1]  # type: ignore[index]


def test_the_functions_output_is_in_cloudwatch_logs(
    cloud: LocalCloud, deploy: Callable[..., str]
) -> None:
    # Given a function that prints at init and per invocation
    arn = deploy()
    name = arn.split(":")[-1]
    # When it is invoked
    invoke(cloud, arn, {"marker": "log-me"})
    # Then its log group holds init output, START/END/REPORT and the handler's print
    logs = cloud.client("logs")

    def messages() -> list[str]:
        events = logs.filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
        return [e["message"] for e in events]

    found = wait_for(lambda: [m for m in messages() if "log-me" in m] and messages())
    assert "probe init" in found
    assert any(m.startswith("START RequestId:") for m in found)
    assert any(m.startswith("REPORT RequestId:") for m in found)


def test_reserved_concurrency_bounds_the_environments(
    cloud: LocalCloud, deploy: Callable[..., str]
) -> None:
    # Given a function limited to one concurrent execution
    arn = deploy()
    cloud.client("lambda").put_function_concurrency(
        FunctionName=arn, ReservedConcurrentExecutions=1
    )
    # When a burst of asynchronous invocations arrives
    for n in range(4):
        cloud.client("lambda").invoke(
            FunctionName=arn, InvocationType="Event", Payload=json.dumps({"n": n})
        )
    assert cloud.wait_idle()
    # Then they all ran warm in one environment
    assert cloud.executor.environments_started(arn) == 1

"""The runtime script serves invocations from one warm process (no moto involved)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tools.localcloud.executor import Deployment, Environment

HANDLER = """
import os
CALLS = []
print("init once")

def handler(event, context):
    CALLS.append(event)
    if event == "raise":
        raise KeyError("missing")
    return {"calls": len(CALLS), "arn": context.invoked_function_arn, "var": os.environ["VAR"]}
"""


def deployment(code_dir: Path, handler: str = "app.handler") -> Deployment:
    return Deployment(
        function_arn="arn:aws:lambda:us-west-2:123456789012:function:app",
        function_name="app",
        version="$LATEST",
        handler=handler,
        timeout=5,
        memory_size=128,
        region="us-west-2",
        code_dir=code_dir,
        layer_dirs=(),
        host_dirs=(),
        environment=(("VAR", "value"),),
        log_group="/aws/lambda/app",
        concurrency=1,
    )


def start(code_dir: Path, handler: str = "app.handler") -> Environment:
    # The current interpreter: the handler needs no library, so nothing has to be installed.
    return Environment(deployment(code_dir, handler), sys.executable, {}, ())


def test_one_process_serves_invocations_with_init_once(tmp_path: Path) -> None:
    # Given a function whose module counts calls
    (tmp_path / "app.py").write_text(HANDLER)
    env = start(tmp_path)
    try:
        # When it is invoked twice
        first, logs = env.invoke({"n": 1}, "req-1")
        second, _ = env.invoke({"n": 2}, "req-2")
    finally:
        env.stop()
    # Then module state survived, init printed once, and the context and variables were there
    assert first is not None
    assert json.loads(first["result"]) == {
        "calls": 1,
        "arn": "arn:aws:lambda:us-west-2:123456789012:function:app",
        "var": "value",
    }
    assert second is not None
    assert '"calls": 2' in second["result"]
    assert env.init_logs == ["init once"]
    assert logs == []


def test_a_raised_error_comes_back_in_lambdas_shape(tmp_path: Path) -> None:
    # Given a function that raises
    (tmp_path / "app.py").write_text(HANDLER)
    env = start(tmp_path)
    try:
        # When it is invoked
        answer, _ = env.invoke("raise", "req-1")
    finally:
        env.stop()
    # Then the error has Lambda's fields and a trace starting in the function's code
    assert answer is not None
    error = answer["error"]
    assert error["errorType"] == "KeyError"
    assert error["requestId"] == "req-1"
    assert "app.py" in error["stackTrace"][0]


def test_a_missing_module_is_an_import_error_on_every_invocation(tmp_path: Path) -> None:
    # Given a handler setting naming a module that does not exist
    env = start(tmp_path, "nowhere.handler")
    try:
        # When it is invoked
        answer, _ = env.invoke({}, "req-1")
    finally:
        env.stop()
    # Then the runtime reports Lambda's import error
    assert answer is not None
    assert answer["error"]["errorType"] == "Runtime.ImportModuleError"

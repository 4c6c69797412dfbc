"""One warm Lambda execution environment: the script the executor runs in a Python 3.12 process.

    python3.12 -I -u runtime.py   (environment: the function's variables plus LOCALCLOUD_*)

It stands in for the Lambda runtime interface: put the function's code, its layers and the
runtime's own libraries on ``sys.path`` in Lambda's order, import the handler ONCE (init
code runs once per environment, as in Lambda), then serve invocations forever. Requests
arrive as JSON lines on stdin; the function's own output (print, logging) goes to stdout
as-is, and each answer is one line that starts with ``RESPONSE_MARK``, so the executor can
tell the invocation's log lines from its result. Standard library only: it runs under an
interpreter that has nothing else installed.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
from typing import Any

# Starts the line that carries an invocation's answer (an ASCII record separator).
RESPONSE_MARK = "\x1elocalcloud-response "


class LambdaContext:
    """The attributes and method Lambda's Python runtime gives a handler's ``context``."""

    def __init__(self, request: dict[str, Any]) -> None:
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = os.environ["AWS_LAMBDA_FUNCTION_VERSION"]
        self.invoked_function_arn = request["invoked_function_arn"]
        self.memory_limit_in_mb = int(os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"])
        self.aws_request_id = request["request_id"]
        self.log_group_name = os.environ["AWS_LAMBDA_LOG_GROUP_NAME"]
        self.log_stream_name = os.environ["AWS_LAMBDA_LOG_STREAM_NAME"]
        self.identity = None
        self.client_context = None
        self._deadline_ms = int(request["deadline_ms"])

    def get_remaining_time_in_millis(self) -> int:
        return max(self._deadline_ms - int(time.time() * 1000), 0)


def _error(error: BaseException, error_type: str | None = None) -> dict[str, Any]:
    """Lambda's shape for an unhandled error; the trace starts in the function's code."""
    trace = error.__traceback__
    if trace is not None and trace.tb_frame.f_code.co_filename == __file__:
        trace = trace.tb_next
    return {
        "errorMessage": str(error),
        "errorType": error_type or type(error).__name__,
        "requestId": "",
        "stackTrace": traceback.format_tb(trace),
    }


def _answer(payload: dict[str, Any]) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    # A leading newline ends a last log line the function printed without one.
    sys.__stdout__.write("\n" + RESPONSE_MARK + json.dumps(payload) + "\n")  # type: ignore[union-attr]
    sys.__stdout__.flush()  # type: ignore[union-attr]


def _load_handler() -> Any:
    task_root = os.environ["LAMBDA_TASK_ROOT"]
    layer_paths = [p for p in os.environ.get("LOCALCLOUD_LAYER_PATHS", "").split(os.pathsep) if p]
    host_paths = [p for p in os.environ.get("LOCALCLOUD_HOST_PATHS", "").split(os.pathsep) if p]
    runtime_paths = [
        p for p in os.environ.get("LOCALCLOUD_RUNTIME_PATHS", "").split(os.pathsep) if p
    ]
    # Lambda's order: the function's code, then /opt/python of the layers, then the runtime's
    # own libraries (boto3). Host builds of the layer's compiled wheels go before the layer.
    sys.path[:0] = [task_root, *host_paths, *layer_paths]
    sys.path.extend(runtime_paths)
    os.chdir(task_root)
    module_name, _, function_name = os.environ["_HANDLER"].rpartition(".")
    module = importlib.import_module(module_name.replace("/", "."))
    return getattr(module, function_name)


def main() -> None:
    init_error: dict[str, Any] | None = None
    handler: Any = None
    try:
        handler = _load_handler()
    except Exception as error:  # reported per invocation, as Lambda does
        error_type = (
            "Runtime.ImportModuleError"
            if isinstance(error, ImportError)
            else "Runtime.HandlerNotFound"
            if isinstance(error, AttributeError)
            else f"Runtime.{type(error).__name__}"
        )
        init_error = _error(error, error_type)
    _answer({"ready": True})
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        if init_error is not None:
            _answer({"error": {**init_error, "requestId": request["request_id"]}})
            continue
        os.environ["_X_AMZN_TRACE_ID"] = request.get("trace_id", "")
        try:
            result = handler(request["event"], LambdaContext(request))
            body = json.dumps(result)
        except Exception as error:  # the function's error, returned to the caller
            _answer({"error": {**_error(error), "requestId": request["request_id"]}})
            continue
        _answer({"result": body})


if __name__ == "__main__":
    main()

"""Extensions 2 and 3: Step Functions definitions validated for real, executions that run.

What moto 5.2.5 lacks: its server has no ``ValidateStateMachineDefinition`` (the AWS
provider calls it before ``CreateStateMachine``, so ``aws_sfn_state_machine`` cannot be
created), and executions only run when ``execute_state_machine`` is switched on in moto's
config. What this adds:

- ``StepFunctionResponse.validate_state_machine_definition``: the definition is checked by
  the npm ``asl-validator`` (package.json, the same check ``tests/unit`` runs on our
  definition) and answered in the API's shape ``{"result": "OK"|"FAIL", "diagnostics": [...]}``;
- ``StepFunctionResponse.list_state_machine_versions``: the provider lists a machine's
  versions on every read; moto keeps them (``StateMachine.versions``) but has no handler, so
  the provider retried without end. Answered from moto's own versions, newest first;
- :func:`enable_execution`: moto's ASL interpreter runs executions state by state. Its Lambda
  tasks call the server at ``localhost:$MOTO_PORT`` (``LocalCloud`` sets it), which reaches
  :mod:`tools.localcloud.executor`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from moto.core.config import default_user_config
from moto.stepfunctions.responses import StepFunctionResponse

# Reads a definition on stdin, prints asl-validator's verdict as JSON.
_NODE_SCRIPT = """
const validate = require("asl-validator");
let text = "";
process.stdin.on("data", (chunk) => (text += chunk));
process.stdin.on("end", () => {
  let definition;
  try { definition = JSON.parse(text); }
  catch (error) { return console.log(JSON.stringify({ isValid: false, errors: [
    { "Error code": "INVALID_JSON_DESCRIPTION", Message: String(error.message) }] })); }
  console.log(JSON.stringify(validate(definition)));
});
"""
VALIDATION_TIMEOUT_SECONDS = 60


def validate_definition(definition: str, node_modules: Path) -> dict[str, Any]:
    """The ``ValidateStateMachineDefinition`` answer for ``definition`` (a JSON string)."""
    node = shutil.which("node")
    if node is None or not (node_modules / "asl-validator").is_dir():
        return _answer(
            [("VALIDATOR_MISSING", "asl-validator is not installed: run `make node-deps`")]
        )
    completed = subprocess.run(
        [node, "-e", _NODE_SCRIPT],
        input=definition,
        capture_output=True,
        text=True,
        cwd=node_modules.parent,
        timeout=VALIDATION_TIMEOUT_SECONDS,
        check=False,
    )
    if completed.returncode != 0:
        return _answer([("VALIDATOR_FAILED", completed.stderr.strip()[:500])])
    verdict = json.loads(completed.stdout)
    errors = [
        (str(error.get("Error code", "SCHEMA_VALIDATION_FAILED")), str(error.get("Message", "")))
        for error in verdict.get("errors", [])
    ]
    return _answer(errors)


def _answer(errors: list[tuple[str, str]]) -> dict[str, Any]:
    return {
        "result": "FAIL" if errors else "OK",
        "diagnostics": [
            {"severity": "ERROR", "code": code, "message": message} for code, message in errors
        ],
        "truncated": False,
    }


def enable_execution() -> None:
    """Switch moto's ASL interpreter on (what ``/moto-api/config`` does in a server)."""
    default_user_config["stepfunctions"] = {"execute_state_machine": True}


def install(node_modules: Path) -> None:
    """Answer ``ValidateStateMachineDefinition`` (once per process; later calls swap the path)."""
    _ACTIVE["node_modules"] = node_modules
    if hasattr(StepFunctionResponse, "validate_state_machine_definition"):
        return

    def validate_state_machine_definition(self: StepFunctionResponse) -> str:
        definition = self._get_param("definition")
        return json.dumps(validate_definition(definition, _ACTIVE["node_modules"]))

    def list_state_machine_versions(self: StepFunctionResponse) -> str:
        machine = self.stepfunction_backend.describe_state_machine(
            self._get_param("stateMachineArn")
        )
        versions = sorted(getattr(machine, "versions", {}).values(), key=lambda v: -v.version)
        return json.dumps(
            {
                "stateMachineVersions": [
                    {"stateMachineVersionArn": v.arn, "creationDate": v.creation_date.timestamp()}
                    for v in versions
                ]
            }
        )

    StepFunctionResponse.validate_state_machine_definition = validate_state_machine_definition  # type: ignore[attr-defined]
    StepFunctionResponse.list_state_machine_versions = list_state_machine_versions  # type: ignore[attr-defined]


_ACTIVE: dict[str, Any] = {}

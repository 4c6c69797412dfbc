"""ValidateStateMachineDefinition answered by the npm asl-validator."""

from __future__ import annotations

import json
from pathlib import Path

from tools.localcloud import DEFAULT_NODE_MODULES
from tools.localcloud.stepfunctions import validate_definition

VALID = {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}


def test_a_valid_definition_is_ok() -> None:
    # Given a minimal valid definition / When validated
    answer = validate_definition(json.dumps(VALID), DEFAULT_NODE_MODULES)
    # Then the answer is OK without diagnostics
    assert answer == {"result": "OK", "diagnostics": [], "truncated": False}


def test_a_missing_target_fails_with_the_validators_code() -> None:
    # Given a definition whose state points at nothing
    broken = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}}}
    # When validated
    answer = validate_definition(json.dumps(broken), DEFAULT_NODE_MODULES)
    # Then it fails with asl-validator's diagnostics
    assert answer["result"] == "FAIL"
    codes = {d["code"] for d in answer["diagnostics"]}
    assert "MISSING_TRANSITION_TARGET" in codes


def test_text_that_is_not_json_fails() -> None:
    answer = validate_definition("{not json", DEFAULT_NODE_MODULES)
    assert answer["result"] == "FAIL"
    assert answer["diagnostics"][0]["code"] == "INVALID_JSON_DESCRIPTION"


def test_without_the_validator_installed_the_answer_says_how_to_get_it(tmp_path: Path) -> None:
    # Given a node_modules without asl-validator / When validating
    answer = validate_definition(json.dumps(VALID), tmp_path / "node_modules")
    # Then it fails and says what to run
    assert answer["result"] == "FAIL"
    assert "make node-deps" in answer["diagnostics"][0]["message"]

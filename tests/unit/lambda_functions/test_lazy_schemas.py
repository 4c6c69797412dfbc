"""JSON Schema validators compile on first use, so a cold start pays only for what it uses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import fastjsonschema
import pytest
from pipeline_common import object_schema

from .support import HANDLER_ENVIRONMENT, NEVER_INHERITED, PROJECT_ROOT

HANDLERS = ("processor", "api", "validate", "notify", "maintenance")
# Counts fastjsonschema.compile calls while every handler module is imported, then while
# validate's field checks run twice.
PROBE = """
import json, fastjsonschema
calls = []
original = fastjsonschema.compile
def counting(*args, **kwargs):
    calls.append(1)
    return original(*args, **kwargs)
fastjsonschema.compile = counting
import importlib
for name in {handlers!r}:
    importlib.import_module(name + ".handler")
at_import = len(calls)
from pipeline_common.object_schema import check_object, OBJECT_FIELDS
good = {{"bucket": "in-bucket", "key": "a.csv", "size": 1, "etag": "e", "version_id": None}}
check_object(good)
first_use = len(calls) - at_import
check_object(dict(good, size=-1))
print(json.dumps([at_import, first_use, len(calls) - at_import - first_use, len(OBJECT_FIELDS)]))
"""


def test_importing_the_handlers_compiles_no_validator() -> None:
    # Given a fresh interpreter with every handler's environment, counting schema compiles
    env = {k: v for k, v in os.environ.items() if k not in NEVER_INHERITED}
    env.update(HANDLER_ENVIRONMENT)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(PROJECT_ROOT / "lambda_functions"), str(PROJECT_ROOT / "lambda_functions" / "common")]
    )
    # When every handler module is imported, then validate's checks run twice
    completed = subprocess.run(
        [sys.executable, "-c", PROBE.format(handlers=HANDLERS)],
        env=env, capture_output=True, text=True, check=False, cwd=PROJECT_ROOT,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    at_import, first_use, second_use, fields = json.loads(completed.stdout.splitlines()[-1])
    # Then nothing compiled at import; the field validators compiled on first use, once
    assert at_import == 0
    assert first_use == fields
    assert second_use == 0


def test_a_lazy_validator_compiles_once_and_still_rejects(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a validator made from a schema, with compiles counted
    calls: list[Any] = []
    original = fastjsonschema.compile

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[0])
        return original(*args, **kwargs)

    monkeypatch.setattr(fastjsonschema, "compile", counting)
    validate = object_schema.compile_schema({"type": "integer", "minimum": 0})
    assert calls == []
    # When it checks a good value, then a bad one
    assert validate(3) == 3
    with pytest.raises(fastjsonschema.JsonSchemaValueException) as error:
        validate(-1)
    # Then it compiled exactly once, and the bad value was named as before
    assert len(calls) == 1
    assert object_schema.describe_schema_error(error.value, "n") == (
        "n must be bigger than or equal to 0"
    )

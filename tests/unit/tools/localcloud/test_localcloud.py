"""The local cloud's pure parts: version pin, requirement pins, target input, sequencers."""

from __future__ import annotations

import json
import platform
from pathlib import Path

import pytest

from tools.localcloud import MOTO_VERSION, LocalCloudError, check_moto_version
from tools.localcloud.async_invoke import qualified
from tools.localcloud.events import delivered_event, target_input
from tools.localcloud.executor import has_foreign_binaries, invoked_arn, pinned_requirements
from tools.localcloud.s3_notifications import sequencer
from tools.localcloud.settings import PROJECT_ROOT

EVENT = {
    "version": "0",
    "id": "e-1",
    "detail-type": "Object Created",
    "source": "aws.s3",
    "account": "123456789012",
    "time": 1_700_000_000.0,
    "region": "us-west-2",
    "resources": ["arn:aws:s3:::bucket"],
    "detail": {"bucket": {"name": "bucket"}, "object": {"key": "a.txt", "size": 3}},
    "ingestion-time": 1_700_000_000.5,
}


def test_the_pinned_moto_version_is_accepted() -> None:
    # Given the pinned version / When it is checked / Then nothing is raised
    check_moto_version(MOTO_VERSION)


def test_another_moto_version_fails_fast_naming_both() -> None:
    # Given another moto release
    # When it is checked
    with pytest.raises(LocalCloudError) as raised:
        check_moto_version("5.3.0")
    # Then the message names the installed and the pinned version
    assert "moto 5.3.0 is installed" in str(raised.value)
    assert MOTO_VERSION in str(raised.value)


def test_pinned_requirements_drop_hashes_and_comments() -> None:
    # Given the layer's hash-checked requirements
    requirements = PROJECT_ROOT / "lambda_functions" / "requirements.txt"
    # When their pins are read
    pins = pinned_requirements(requirements)
    # Then each requirement is one name==version, without hashes
    assert "aws-lambda-powertools[tracer]==3.37.0" in pins
    assert all("==" in pin and "--hash" not in pin for pin in pins)


def test_compiled_modules_for_another_cpu_are_detected(tmp_path: Path) -> None:
    # Given a layer holding a compiled module built for the other CPU
    other = "x86_64" if platform.machine() == "aarch64" else "aarch64"
    (tmp_path / "wrapt").mkdir()
    (tmp_path / "wrapt" / f"_wrappers.cpython-312-{other}-linux-gnu.so").write_bytes(b"")
    # When it is checked / Then it is foreign
    assert has_foreign_binaries(tmp_path)


def test_pure_python_layers_are_not_foreign(tmp_path: Path) -> None:
    # Given a layer of Python files only
    (tmp_path / "module.py").write_text("X = 1\n")
    # When it is checked / Then it is not foreign
    assert not has_foreign_binaries(tmp_path)


def test_target_gets_the_event_with_an_iso_time_by_default() -> None:
    # Given a target without input settings / When its input is built
    payload = target_input({"Id": "t", "Arn": "arn"}, EVENT)
    # Then it is the event with EventBridge's time format and no moto bookkeeping
    assert payload["time"] == "2023-11-14T22:13:20Z"
    assert "ingestion-time" not in payload
    assert payload["detail"] == EVENT["detail"]


def test_constant_input_replaces_the_event() -> None:
    target = {"Id": "t", "Arn": "arn", "Input": json.dumps({"constant": 1})}
    assert target_input(target, EVENT) == {"constant": 1}


def test_input_path_selects_part_of_the_event() -> None:
    target = {"Id": "t", "Arn": "arn", "InputPath": "$.detail.object"}
    assert target_input(target, EVENT) == {"key": "a.txt", "size": 3}


def test_input_transformer_fills_its_template() -> None:
    # Given a transformer reading the key and the time
    target = {
        "Id": "t",
        "Arn": "arn",
        "InputTransformer": {
            "InputPathsMap": {"key": "$.detail.object.key", "time": "$.time"},
            "InputTemplate": '{"object_key": "<key>", "at": "<time>"}',
        },
    }
    # When the input is built / Then the template is filled from the delivered event
    assert target_input(target, EVENT) == {"object_key": "a.txt", "at": "2023-11-14T22:13:20Z"}


def test_input_transformer_quotes_strings_placed_as_json_values() -> None:
    # Given the workflow trigger's kind of template: placeholders as bare JSON values, one of
    # them (a version id) absent from the event, another inside a string
    target = {
        "Id": "t",
        "Arn": "arn",
        "InputTransformer": {
            "InputPathsMap": {
                "bucket": "$.detail.bucket.name",
                "key": "$.detail.object.key",
                "size": "$.detail.object.size",
                "version_id": "$.detail.object.version-id",
            },
            "InputTemplate": '{"bucket": <bucket>, "key": <key>, "size": <size>, '
            '"version_id": <version_id>, "note": "<key> is \\"<size>\\" bytes"}',
        },
    }
    # When the input is built / Then it is JSON as EventBridge sends it: strings quoted,
    # numbers as numbers, the missing value null, text inside a string as text
    assert target_input(target, EVENT) == {
        "bucket": "bucket",
        "key": "a.txt",
        "size": 3,
        "version_id": None,
        "note": 'a.txt is "3" bytes',
    }


def test_delivered_event_keeps_string_times() -> None:
    assert delivered_event({**EVENT, "time": "2024-01-01T00:00:00Z"})["time"] == (
        "2024-01-01T00:00:00Z"
    )


def test_sequencers_are_hex_and_increase() -> None:
    # Given two sequencers taken one after the other
    first, second = sequencer(), sequencer()
    # Then both are hex and the later one sorts after the earlier one, as S3's do
    assert int(first, 16) < int(second, 16)
    assert len(first) == len(second)


class _Backend:
    region_name = "us-west-2"
    account_id = "123456789012"


@pytest.mark.parametrize(
    ("function_name", "qualifier", "expected"),
    [
        ("fn", None, "arn:aws:lambda:us-west-2:123456789012:function:fn:$LATEST"),
        ("fn", "live", "arn:aws:lambda:us-west-2:123456789012:function:fn:live"),
        (
            "arn:aws:lambda:us-west-2:123456789012:function:fn:live",
            None,
            "arn:aws:lambda:us-west-2:123456789012:function:fn:live",
        ),
        (
            "arn:aws:lambda:us-west-2:123456789012:function:fn",
            "3",
            "arn:aws:lambda:us-west-2:123456789012:function:fn:3",
        ),
    ],
)
def test_an_invocation_is_reported_under_the_arn_the_caller_named(
    function_name: str, qualifier: str | None, expected: str
) -> None:
    # Given a name or ARN and an optional Qualifier, as Invoke receives them
    # Then Lambda's records name the qualified ARN ($LATEST when unqualified)
    assert invoked_arn(_Backend(), function_name, qualifier) == expected  # type: ignore[arg-type]
    assert qualified(expected) == expected
    assert qualified(expected.rsplit(":", 1)[0]).endswith(":fn:$LATEST")

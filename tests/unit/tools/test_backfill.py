"""`make backfill`: refuses what cannot work with one line, adds up a run's results."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from tools.backfill import BackfillError, check_prefix, main, run_backfill


def test_a_prefix_outside_the_ingest_prefix_is_refused() -> None:
    with pytest.raises(BackfillError, match="PREFIX must start with the ingest prefix 'incoming/'"):
        check_prefix("archive/", "incoming/")


def test_an_environment_never_deployed_from_here_says_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given no deployed stack folder under CDKTF_OUT
    # When the command runs / Then it fails with one line naming the command to run first
    code = main(["--env", "staging", "--prefix", "incoming/"], {"CDKTF_OUT": str(tmp_path)})
    assert code == 1
    assert "run `make deploy ENV=staging` first" in capsys.readouterr().err


class _Sfn:
    def __init__(self, described: dict[str, Any]) -> None:
        self.described = described
        self.started: list[dict[str, Any]] = []

    def start_execution(self, **request: Any) -> dict[str, str]:
        self.started.append(request)
        return {"executionArn": "arn:execution"}

    def describe_execution(self, executionArn: str) -> dict[str, Any]:
        return self.described


class _S3:
    def __init__(self, objects: dict[str, Any]) -> None:
        self.objects = objects

    def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:
        return {"Body": io.BytesIO(json.dumps(self.objects[Key]).encode())}


def test_a_run_adds_up_every_childs_counts_from_its_result_files() -> None:
    # Given a succeeded execution whose manifest names one result file of two children
    output = {"map_run": {"ResultWriterDetails": {"Bucket": "b", "Key": "r/1/manifest.json"}}}
    sfn = _Sfn({"status": "SUCCEEDED", "output": json.dumps(output)})
    children = [
        {"Output": json.dumps({"records_created": 2, "records_already_recorded": 98})},
        {"Output": json.dumps({"records_created": 1, "objects_gone": 1})},
    ]
    manifest = {"ResultFiles": {"SUCCEEDED": [{"Key": "r/1/SUCCEEDED_0.json"}]}}
    s3 = _S3({"r/1/manifest.json": manifest, "r/1/SUCCEEDED_0.json": children})
    # When the backfill runs
    result = run_backfill(sfn, s3, state_machine_arn="arn:sm", bucket="b", prefix="incoming/")
    # Then it started the machine with the bucket and prefix, and summed the children
    assert json.loads(sfn.started[0]["input"]) == {"bucket": "b", "prefix": "incoming/"}
    assert result.batches == 2
    assert dict(result.counts) == {
        "records_created": 3,
        "records_already_recorded": 98,
        "objects_gone": 1,
    }


def test_a_failed_run_is_reported_with_step_functions_error_and_cause() -> None:
    sfn = _Sfn(
        {"status": "FAILED", "error": "States.ExceedToleratedFailureThreshold", "cause": "x"}
    )
    with pytest.raises(BackfillError, match=r"FAILED: States\.ExceedToleratedFailureThreshold: x"):
        run_backfill(sfn, _S3({}), state_machine_arn="arn:sm", bucket="b", prefix="incoming/")

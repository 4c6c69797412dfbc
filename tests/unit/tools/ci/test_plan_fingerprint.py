"""The apply after a merge runs only the plan its pull request reviewed (plan_fingerprint)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tools.ci import plan_fingerprint
from tools.ci.plan_fingerprint import Fingerprint, apply_reviewed, fingerprint, write
from tools.ci.progress import Progress
from tools.ci.terraform import StackWorkspace

PLANS = Path(__file__).parent / "plans"


def reviewed_plan() -> dict[str, Any]:
    plan: dict[str, Any] = json.loads((PLANS / "review_changes.json").read_text())
    return plan


def lay_out_review(out: Path, plan: dict[str, Any], environment: str = "staging") -> Path:
    """What make plan-review leaves: plan.json, the saved plan and the synthesized stack."""
    env_dir = out / environment
    stack_dir = env_dir / "cdktf.out" / "stacks" / f"pipeline-{environment}"
    stack_dir.mkdir(parents=True)
    (stack_dir / "cdk.tf.json").write_text(json.dumps({"provider": {"aws": [{}]}}))
    (env_dir / "plan.json").write_text(json.dumps(plan))
    (env_dir / "plan.tfplan").write_bytes(b"saved plan")
    return env_dir


class RecordedTerraform:
    """What StackWorkspace.run was asked to do: each Terraform command and its folder."""

    def __init__(self) -> None:
        self.calls: list[tuple[Path, tuple[str, ...]]] = []


@pytest.fixture
def terraform(monkeypatch: pytest.MonkeyPatch) -> RecordedTerraform:
    recorded = RecordedTerraform()

    def run(workspace: StackWorkspace, *args: str, **_: Any) -> None:
        recorded.calls.append((workspace.stack_dir, args))

    monkeypatch.setattr(StackWorkspace, "run", run)
    return recorded


def test_the_fingerprint_ignores_unchanged_resources_and_the_plans_timestamp() -> None:
    # Given a plan, and the same plan made later with one more unchanged resource
    plan = reviewed_plan()
    later = copy.deepcopy(plan)
    later["timestamp"] = "2030-01-01T00:00:00Z"
    later["resource_changes"].append(
        {"address": "aws_sqs_queue.extra", "change": {"actions": ["no-op"], "after": {"a": 1}}}
    )
    # When both are fingerprinted
    # Then the fingerprints are equal, and list every change with its actions
    first, second = fingerprint(plan, "staging"), fingerprint(later, "staging")
    assert first == second
    assert "delete/create aws_dynamodb_table.records_table_60AC12E3" in first.changes
    # And an unchanged resource is left out, while a moved one (no-op, new address) counts
    assert "no-op aws_kms_alias.key_alias_55667788" not in first.changes
    assert "no-op aws_cloudwatch_log_group.processor_logs_D44D1348" in first.changes


def test_a_different_planned_value_changes_the_fingerprint() -> None:
    # Given the reviewed plan, and one whose function update sets another value
    plan = reviewed_plan()
    other = copy.deepcopy(plan)
    other["resource_changes"][0]["change"]["after"]["memory_size"] = 4096
    # When both are fingerprinted
    # Then the addresses and actions match but the fingerprints do not
    first, second = fingerprint(plan, "staging"), fingerprint(other, "staging")
    assert first.changes == second.changes
    assert first.sha256 != second.sha256


def test_write_keeps_no_planned_value_in_the_artifact(tmp_path: Path) -> None:
    # Given a review whose plan carries a secret value
    plan = reviewed_plan()
    plan["resource_changes"][0]["change"]["after"]["secret"] = "s3cr3t-api-key"
    lay_out_review(tmp_path, plan)
    # When its fingerprint is written
    written = write(tmp_path, "staging")
    # Then the file has the hash and the addresses, never the value
    text = written.read_text()
    assert "s3cr3t-api-key" not in text
    assert json.loads(text)["sha256"] == fingerprint(plan, "staging").sha256


def test_the_reviewed_plan_is_applied_from_the_saved_plan_file(
    tmp_path: Path, terraform: RecordedTerraform
) -> None:
    # Given a fresh plan equal to the one the pull request reviewed
    env_dir = lay_out_review(tmp_path / "out", reviewed_plan())
    reviewed = tmp_path / "reviewed.json"
    reviewed.write_text(fingerprint(reviewed_plan(), "staging").to_json())
    # When the reviewed plan is applied
    with Progress("test") as progress:
        code = apply_reviewed(tmp_path / "out", "staging", reviewed, progress)
    # Then Terraform applied exactly the saved plan file, in the stack's folder
    assert code == 0
    assert terraform.calls == [
        (
            env_dir / "cdktf.out" / "stacks" / "pipeline-staging",
            ("apply", "-input=false", "-no-color", str((env_dir / "plan.tfplan").resolve())),
        )
    ]


def test_a_plan_that_differs_from_the_reviewed_one_is_not_applied(
    tmp_path: Path, terraform: RecordedTerraform, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a fresh plan that also destroys a queue the review did not show
    plan = reviewed_plan()
    reviewed = tmp_path / "reviewed.json"
    reviewed.write_text(fingerprint(plan, "staging").to_json())
    plan["resource_changes"].append(
        {"address": "aws_sqs_queue.work", "change": {"actions": ["delete"], "after": None}}
    )
    lay_out_review(tmp_path / "out", plan)
    # When the apply is asked for
    with Progress("test") as progress:
        code = apply_reviewed(tmp_path / "out", "staging", reviewed, progress)
    # Then nothing ran, and the error names the change nobody reviewed
    assert code == 1
    assert terraform.calls == []
    assert "planned only:  delete aws_sqs_queue.work" in capsys.readouterr().err


def test_a_fingerprint_of_another_environment_is_refused(
    tmp_path: Path, terraform: RecordedTerraform, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given prod's reviewed fingerprint offered for staging
    lay_out_review(tmp_path / "out", reviewed_plan())
    reviewed = tmp_path / "reviewed.json"
    reviewed.write_text(fingerprint(reviewed_plan(), "prod").to_json())
    # When the apply is asked for
    with Progress("test") as progress:
        code = apply_reviewed(tmp_path / "out", "staging", reviewed, progress)
    # Then nothing ran
    assert (code, terraform.calls) == (1, [])
    assert "the reviewed plan is for prod, this one for staging" in capsys.readouterr().err


def test_a_missing_reviewed_fingerprint_is_one_clear_error(
    tmp_path: Path, terraform: RecordedTerraform, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a review on disk but no reviewed fingerprint
    lay_out_review(tmp_path / "out", reviewed_plan())
    # When the command line asks to apply
    code = plan_fingerprint.main(
        ["apply", "--env", "staging", "--reviewed", str(tmp_path / "nowhere.json"),
         "--out", str(tmp_path / "out")]
    )  # fmt: skip
    # Then it exits 2 with one line naming the missing file, and ran nothing
    assert (code, terraform.calls) == (2, [])
    assert capsys.readouterr().err.strip() == (
        f"error: no reviewed fingerprint at {tmp_path / 'nowhere.json'}"
    )


def test_a_fingerprint_file_round_trips() -> None:
    # Given a fingerprint
    original = fingerprint(reviewed_plan(), "dev")
    # When it is written and read back
    # Then it is the same
    assert Fingerprint.from_json(original.to_json(), "file") == original

"""Plan review against the local cloud: a change that replaces the records table is caught, and a
commit planned against its own deployment (--base) changes nothing.

Real: Terraform, the provider, our synthesized stack, git, checkov on the plan JSON.
Emulated: AWS.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tools.ci import plan_review
from tools.ci.plan_review import (
    EXIT_OK,
    EXIT_STATEFUL,
    prepare_workspace,
    prevent_destroy_addresses,
)
from tools.ci.plan_review.report import COUNT_COLUMNS
from tools.ci.terraform_cli import TerraformError, terraform
from tools.localcloud.process import LocalCloudProcess

# A different project renames every resource, so the table (name forces a new table) is replaced.
RENAMED_PROJECT = "evpipx"


@dataclass(frozen=True)
class AppliedTable:
    cloud: LocalCloudProcess
    out: Path
    address: str


@pytest.fixture(scope="module")
def applied_table(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppliedTable]:
    """Dev synthesized the way plan review does, with only the records table applied."""
    out = tmp_path_factory.mktemp("plan-review")
    with LocalCloudProcess(log_path=out / "localcloud.log") as cloud:
        workspace = prepare_workspace("dev", out, cloud.endpoint_url)
        document = json.loads((workspace.stack_dir / "cdk.tf.json").read_text())
        # The records table (the request log is a table too).
        (name,) = [
            name for name in document["resource"]["aws_dynamodb_table"] if "records_table" in name
        ]
        address = f"aws_dynamodb_table.{name}"
        # -target applies the table and what it needs (the key), enough state to replace.
        workspace.apply(f"-target={address}")
        yield AppliedTable(cloud=cloud, out=out, address=address)


def _review(applied: AppliedTable, monkeypatch: pytest.MonkeyPatch, *extra: str) -> int:
    monkeypatch.setenv("AWS_ENDPOINT_URL", applied.cloud.endpoint_url)
    monkeypatch.setenv("PIPELINE_PROJECT", RENAMED_PROJECT)
    return plan_review.main(["--env", "dev", "--emulator", "--out", str(applied.out), *extra])


def test_replacing_the_records_table_fails_the_review(
    applied_table: AppliedTable, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the records table deployed, a renamed project and a CI job summary file
    step_summary = applied_table.out / "github-step-summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step_summary))
    # When dev's plan is reviewed
    code = _review(applied_table, monkeypatch)
    # Then the review fails with exit 3 and names the table and the attribute forcing it
    assert code == EXIT_STATEFUL
    env_dir = applied_table.out / "dev"
    summary = (env_dir / "summary.md").read_text()
    assert summary.startswith("<!-- plan-review:dev -->\n")
    assert "### :warning: Stateful resources would be destroyed or replaced" in summary
    assert f"| `{applied_table.address}` | replace | items (records" in summary
    # And the summary agrees with the plan JSON Terraform wrote, in the order it will act
    assert (env_dir / "plan.tfplan").stat().st_size > 0
    plan = json.loads((env_dir / "plan.json").read_text())
    actions = {c["address"]: c["change"]["actions"] for c in plan["resource_changes"]}
    assert sorted(actions[applied_table.address]) == ["create", "delete"]
    order = {
        ("create", "delete"): "create, then destroy",
        ("delete", "create"): "destroy, then create",
    }[tuple(actions[applied_table.address])]
    assert f"- `{applied_table.address}` **stateful**: {order}, forced by `name`" in summary
    assert '  - `name`: `"evpipe-dev-records"` → `"evpipx-dev-records"` (forces replacement)' in (
        summary
    )
    # And the same Markdown went to the CI job summary
    assert step_summary.read_text().strip() == summary.strip()


def test_allowing_stateful_replacement_passes_the_review(
    applied_table: AppliedTable, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the same renamed project
    # When the review explicitly allows replacing stateful resources
    code = _review(applied_table, monkeypatch, "--allow-stateful-replace")
    # Then it passes (checkov included) while still listing the replacement
    summary = (applied_table.out / "dev" / "summary.md").read_text()
    assert code == EXIT_OK, summary
    assert "(allowed by --allow-stateful-replace)" in summary
    assert f"| `{applied_table.address}` | replace |" in summary
    assert "failed 0," in summary


def test_terraform_prevent_destroy_refusal_is_recognised(tmp_path: Path) -> None:
    # Given a resource protected by prevent_destroy, applied with real Terraform
    config = tmp_path / "main.tf.json"

    def write(value: str) -> None:
        body = {"input": value, "triggers_replace": [value], "lifecycle": {"prevent_destroy": True}}
        config.write_text(json.dumps({"resource": {"terraform_data": {"records": body}}}))

    write("evpipe-staging-records")
    terraform(["init", "-input=false", "-no-color"], cwd=tmp_path)
    terraform(["apply", "-auto-approve", "-input=false", "-no-color"], cwd=tmp_path)
    # When a change would replace it
    write("evpipx-staging-records")
    with pytest.raises(TerraformError) as refused:
        terraform(["plan", "-input=false", "-no-color"], cwd=tmp_path)
    # Then the refusal in Terraform's own words names the resource
    assert prevent_destroy_addresses(str(refused.value)) == ["terraform_data.records"]


def test_a_commit_planned_against_its_own_deployment_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given no shared emulator: --base starts its own
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    # When HEAD is deployed to a fresh local cloud and HEAD is planned against that deployment
    code = plan_review.main(
        ["--env", "dev", "--emulator", "--base", "HEAD", "--head", "HEAD", "--out", str(tmp_path)]
    )
    # Then the review passes and says nothing would be added, changed, destroyed or moved
    env_dir = tmp_path / "dev"
    summary = (env_dir / "summary.md").read_text()
    assert code == EXIT_OK, summary
    assert "**Plan: 0 to add, 0 to change, 0 to destroy.**" in summary
    assert f"after deploying base commit `{head[:12]}` (`HEAD`) there" in summary
    assert "No changes: the infrastructure matches the configuration." in summary
    counts = dict(zip(COUNT_COLUMNS, _counts_row(summary), strict=True))
    assert {action: counts[action] for action in COUNT_COLUMNS[:6]} == dict.fromkeys(
        COUNT_COLUMNS[:6], 0
    )
    # And Terraform itself recorded the deployment: the state it planned against holds every
    # managed resource the plan found unchanged
    plan = json.loads((env_dir / "plan.json").read_text())
    managed = [c for c in plan["resource_changes"] if c["mode"] == "managed"]
    assert {tuple(c["change"]["actions"]) for c in managed} == {("no-op",)}
    state = json.loads((env_dir / "terraform.pipeline-dev.tfstate").read_text())
    deployed = [r for r in state["resources"] if r["mode"] == "managed"]
    assert len(deployed) == len(managed) == counts["no-op"] > 100
    # And nothing run-specific reached the summary: no emulator port, no temporary folder
    assert not re.search(r"127\.0\.0\.1:\d+", summary)
    assert str(tmp_path) not in summary
    # And every phase reported its time on stderr, the base apply included
    progress = capsys.readouterr().err
    assert re.search(rf"apply base {head[:12]}: done in [\d.]+ s \(\d+ resources\)", progress)
    assert re.search(r"\] plan: done in [\d.]+ s", progress)


def _counts_row(summary: str) -> list[int]:
    """The numbers under the per-action counts header."""
    lines = summary.splitlines()
    header = lines.index("| " + " | ".join(COUNT_COLUMNS) + " |")
    return [int(cell) for cell in lines[header + 2].strip("| ").split(" | ")]

"""Plan review: summary, stateful-loss gate, checkov mapping and bad input, on hand-made plans."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from tools.ci import plan_review
from tools.ci.plan_review import (
    EXIT_CHECKOV_FAILED,
    EXIT_OK,
    EXIT_STATEFUL,
    EXIT_USAGE,
    ReviewError,
    ReviewReport,
    check_synth_target,
    classify,
    evaluate_plan_scan,
    exit_code,
    prevent_destroy_addresses,
    render_summary,
    summarize_plan,
)
from tools.ci.security_scan import Finding, ScanResult, load_suppressions

PLANS = Path(__file__).resolve().parents[1] / "plans"
TABLE = "aws_dynamodb_table.records_table_60AC12E3"
QUEUE = "aws_sqs_queue.dlq_queue_0B3C6E1A"
ROLE = "aws_iam_role.processor_role_2630A70E"
# Every environment variable botocore's credential chain reads.
CREDENTIAL_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_ENDPOINT_URL",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
)


def load_plan(name: str) -> dict[str, Any]:
    plan: dict[str, Any] = json.loads((PLANS / f"{name}.json").read_text())
    return plan


def checkov_report(*failed: tuple[str, str], passed: int = 5) -> dict[str, Any]:
    """checkov's JSON report shape for --framework terraform_plan (one file)."""
    return {
        "check_type": "terraform_plan",
        "results": {
            "failed_checks": [
                {"check_id": check, "check_name": f"{check} title", "resource": resource,
                 "file_path": "/plan.json"}
                for check, resource in failed
            ]
        },
        "summary": {"passed": passed, "failed": len(failed)},
    }  # fmt: skip


@pytest.mark.parametrize(
    ("actions", "expected"),
    [
        (["create"], "create"),
        (["update"], "update"),
        (["delete"], "delete"),
        (["no-op"], "no-op"),
        (["delete", "create"], "replace"),
        (["create", "delete"], "replace"),
        (["create", "forget"], "create+forget"),
    ],
)
def test_actions_are_named_like_terraform_does(actions: list[str], expected: str) -> None:
    # Given Terraform's action list / When classified / Then one word names it
    assert classify(actions) == expected


def test_creates_are_counted_per_type_and_data_reads_ignored() -> None:
    # Given a first plan: three creates, one unchanged key and a data source read
    summary = summarize_plan(load_plan("create_only"))
    # Then only managed changes count, with Terraform's totals
    assert summary.totals == {"add": 3, "change": 0, "destroy": 0}
    assert summary.unchanged == 1
    assert {t: dict(c) for t, c in summary.counts_by_type.items()} == {
        "aws_lambda_function": {"create": 1},
        "aws_s3_bucket": {"create": 1},
        "aws_s3_bucket_versioning": {"create": 1},
    }
    # And creating a bucket loses nothing
    assert summary.stateful_losses == []


def test_destroying_or_replacing_stateful_resources_is_flagged() -> None:
    # Given a plan that replaces the table, deletes the DLQ and replaces a role
    summary = summarize_plan(load_plan("replace_stateful"))
    # Then the table and the queue are data losses, the role is not
    assert [c.address for c in summary.stateful_losses] == [TABLE, QUEUE]
    # And replacements count as one add and one destroy, as in Terraform's own line
    assert summary.totals == {"add": 3, "change": 1, "destroy": 4}
    replaced = {c.address: c.replace_paths for c in summary.replacements}
    assert replaced[TABLE] == ("name",)
    assert replaced["aws_s3_bucket_lifecycle_configuration.ingest_lifecycle_94E63AAD"] == (
        "bucket",
        "rule.0.filter.0.prefix",
    )
    # And the moved log group is listed, not counted as a change of data
    assert [(c.previous_address, c.action) for c in summary.moves] == [
        ("aws_cloudwatch_log_group.processor_log-group_5B1C2D3E", "move")
    ]
    assert summary.drifted == 1


def test_summary_markdown_highlights_losses_and_replacements() -> None:
    # Given the replacing plan reviewed without the override
    report = ReviewReport(
        environment="dev", target="moto", summary=summarize_plan(load_plan("replace_stateful"))
    )
    markdown = render_summary(report)
    # Then the losses come first, with what is lost, and the run fails with exit 3
    assert "## :warning: Stateful resources would be destroyed or replaced" in markdown
    assert f"| `{TABLE}` | replace | items (records" in markdown
    assert f"| `{QUEUE}` | delete | messages waiting" in markdown
    assert f"- `{TABLE}` **stateful**: forced by `name`" in markdown
    assert f"- `{ROLE}`: forced by `name`" in markdown
    assert "**Plan: 3 to add, 1 to change, 4 to destroy**" in markdown
    assert "| `aws_dynamodb_table` (stateful) |  |  | 1 |  |  |" in markdown
    assert markdown.rstrip().endswith("(exit 3).")


def test_allowing_stateful_replacement_passes_but_still_lists_it() -> None:
    # Given the same plan reviewed with --allow-stateful-replace
    summary = summarize_plan(load_plan("replace_stateful"))
    report = ReviewReport(environment="dev", target="moto", summary=summary, allow_stateful=True)
    markdown = render_summary(report)
    # Then the losses stay visible and the review passes
    assert "(allowed by --allow-stateful-replace)" in markdown
    assert f"| `{TABLE}` | replace |" in markdown
    assert exit_code(summary, None, allow_stateful=True) == EXIT_OK
    assert markdown.rstrip().endswith("Result: **passed** (exit 0).")


def test_stateful_loss_outranks_checkov_failures_in_the_exit_code() -> None:
    # Given a plan losing data and a scan with one failure
    summary = summarize_plan(load_plan("replace_stateful"))
    failing = ScanResult(
        stacks=["pipeline-dev"],
        failed=[
            Finding(check_id="CKV_AWS_1", check_name="x", stack="pipeline-dev", resource=TABLE)
        ],
    )
    # Then data loss decides first; once allowed, checkov still fails the review
    assert exit_code(summary, failing, allow_stateful=False) == EXIT_STATEFUL
    assert exit_code(summary, failing, allow_stateful=True) == EXIT_CHECKOV_FAILED
    clean = summarize_plan(load_plan("create_only"))
    assert exit_code(clean, ScanResult(stacks=["pipeline-dev"]), allow_stateful=False) == EXIT_OK


def test_checkov_findings_on_the_plan_honour_the_synthesized_suppressions() -> None:
    # Given suppressions written next to the resources in cdk.tf.json
    suppressions = load_suppressions(PLANS / "cdk.tf.json")
    reports = [
        checkov_report(
            ("CKV_AWS_144", "aws_s3_bucket.ingest_bucket_D2E76047"),
            ("CKV_AWS_272", "aws_lambda_function.processor_function_D7E0E582[0]"),
            ("CKV_AWS_145", "aws_s3_bucket.ingest_bucket_D2E76047"),
        )
    ]
    # When the plan's findings are evaluated
    result = evaluate_plan_scan(reports, suppressions, "pipeline-dev")
    # Then the suppressed ones keep their reasons and a check suppressed elsewhere fails
    assert {(f.check_id, f.reason) for f in result.suppressed} == {
        ("CKV_AWS_144", "Replication is a per-environment disaster-recovery choice."),
        ("CKV_AWS_272", "The zip is pinned by source_code_hash."),
    }
    assert [(f.check_id, f.resource) for f in result.failed] == [
        ("CKV_AWS_145", "aws_s3_bucket.ingest_bucket_D2E76047")
    ]
    assert result.passed == 5
    assert not result.ok


def test_terraform_prevent_destroy_refusal_names_every_protected_resource() -> None:
    # Given Terraform's real output for two protected resources (messages wrap lines)
    output = (PLANS / "prevent_destroy_error.txt").read_text()
    # Then both addresses are found
    assert prevent_destroy_addresses(output) == [
        "terraform_data.ingest_bucket_D2E76047",
        "terraform_data.records_table_60AC12E3",
    ]
    assert prevent_destroy_addresses("Error: something else") == []


def test_reused_synth_output_must_target_the_same_endpoint(tmp_path: Path) -> None:
    # Given a stack synthesized for an emulator endpoint
    stack_dir = tmp_path / "pipeline-dev"
    stack_dir.mkdir()
    provider = {"aws": [{"endpoints": [{"s3": "http://127.0.0.1:4566"}], "region": "us-west-2"}]}
    (stack_dir / "cdk.tf.json").write_text(json.dumps({"provider": provider}))
    # Then planning it against real AWS is refused, and the same endpoint is accepted
    with pytest.raises(ReviewError, match=r"synthesized for http://127\.0\.0\.1:4566, but this"):
        check_synth_target(stack_dir, None)
    check_synth_target(stack_dir, "http://127.0.0.1:4566")


def _single_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err
    return lines[0]


def test_unknown_environment_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # When an environment that does not exist is reviewed
    code = plan_review.main(["--env", "qa", "--emulator", "--out", str(tmp_path)])
    # Then the exit code is 2 and the message names it and the choices
    assert code == EXIT_USAGE
    assert _single_error_line(capsys) == (
        "error: unknown environment 'qa'; choose one of dev, staging, prod"
    )


def test_unreachable_emulator_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given AWS_ENDPOINT_URL pointing at a loopback port nobody listens on
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    # When the emulator review starts
    code = plan_review.main(["--env", "dev", "--emulator", "--out", str(tmp_path)])
    # Then it stops at once, naming the endpoint
    assert code == EXIT_USAGE
    line = _single_error_line(capsys)
    assert line.startswith(f"error: AWS_ENDPOINT_URL http://127.0.0.1:{port} is unreachable")


def test_missing_synth_output_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # When a synth folder without the environment's stack is reused
    code = plan_review.main(
        ["--env", "dev", "--emulator", "--synth-dir", str(tmp_path / "nowhere"), "--out",
         str(tmp_path)]
    )  # fmt: skip
    # Then the message names the missing file before any emulator starts
    assert code == EXIT_USAGE
    expected = tmp_path / "nowhere" / "stacks" / "pipeline-dev" / "cdk.tf.json"
    assert _single_error_line(capsys) == (
        f"error: no synthesized stack at {expected}; run `make synth` first"
    )


def test_real_aws_without_credentials_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given no credentials anywhere botocore looks
    for name in CREDENTIAL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    # When a real-AWS review starts
    code = plan_review.main(["--env", "dev", "--out", str(tmp_path)])
    # Then it asks for credentials or --emulator
    assert code == EXIT_USAGE
    assert _single_error_line(capsys).startswith("error: no AWS credentials found")


def test_endpoint_without_emulator_flag_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an emulator endpoint in the shell but no --emulator
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    # Then the ambiguity is refused rather than guessed
    assert plan_review.main(["--env", "dev", "--out", str(tmp_path)]) == EXIT_USAGE
    assert "pass --emulator to plan against it" in _single_error_line(capsys)

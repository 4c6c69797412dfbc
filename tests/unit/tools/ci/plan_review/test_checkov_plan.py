"""checkov on the plan JSON: failures are suppressed only by a skip on the same resource."""

from __future__ import annotations

from typing import Any

from tests.unit.tools.ci.plan_review.fixtures import PLANS
from tools.ci.plan_review import evaluate_plan_scan
from tools.ci.security_scan import load_suppressions


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

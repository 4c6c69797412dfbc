"""checkov gates every synthesized stack; suppressions count only with a reason, in place."""

from __future__ import annotations

import json
from pathlib import Path

from tools.ci.security_scan import evaluate, load_suppressions, scan


def test_synthesized_stacks_have_no_unsuppressed_checkov_failures(synthesized_dir: Path) -> None:
    # Given every stack of the app / When checkov scans them
    result = scan(synthesized_dir)
    # Then nothing fails, and every suppression carries its reason
    assert result.stacks == ["pipeline-dev", "pipeline-prod", "pipeline-staging", "state-bootstrap"]
    assert result.failed == [], "\n".join(
        f"{f.stack} {f.resource} {f.check_id}" for f in result.failed
    )
    assert result.passed > 0
    assert all(finding.reason for finding in result.suppressed)


def test_a_finding_without_a_suppression_on_that_resource_fails(tmp_path: Path) -> None:
    # Given a stack where only one of two buckets suppresses CKV_AWS_18
    stack = tmp_path / "demo"
    stack.mkdir()
    document = {
        "provider": {"aws": [{"region": "us-west-2"}]},
        "resource": {"aws_s3_bucket": {
            "logs": {"//": {"checkov": {"skip": [{"id": "CKV_AWS_18", "comment": "log sink"}]}},
                     "bucket": "logs"},
            "data": {"bucket": "data"},
        }},
    }  # fmt: skip
    (stack / "cdk.tf.json").write_text(json.dumps(document, indent=2))
    reports = [{"summary": {"passed": 0}, "results": {"failed_checks": [
        {"check_id": "CKV_AWS_18", "check_name": "access logging", "resource": f"aws_s3_bucket.{n}",
         "file_path": "/demo/cdk.tf.json"} for n in ("logs", "data")
    ]}}]  # fmt: skip
    # When the findings are evaluated against the suppressions in place
    result = evaluate(reports, {"demo": load_suppressions(stack / "cdk.tf.json")})
    # Then only the bucket carrying the suppression is excused
    assert [f.resource for f in result.suppressed] == ["aws_s3_bucket.logs"]
    assert [f.resource for f in result.failed] == ["aws_s3_bucket.data"]
    assert not result.ok


def test_real_checkov_run_fails_an_insecure_stack(tmp_path: Path) -> None:
    # Given a bare bucket with none of our defaults
    stack = tmp_path / "insecure"
    stack.mkdir()
    (stack / "cdk.tf.json").write_text(json.dumps({
        "provider": {"aws": [{"region": "us-west-2"}]},
        "resource": {"aws_s3_bucket": {"bare": {"bucket": "bare"}}},
    }, indent=2))  # fmt: skip
    # When checkov scans it
    result = scan(tmp_path)
    # Then the gate fails with checkov's own findings
    assert not result.ok
    assert {"CKV_AWS_18", "CKV_AWS_21"} <= {finding.check_id for finding in result.failed}

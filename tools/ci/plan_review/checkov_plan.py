"""checkov on a saved plan's JSON, honouring the suppressions written next to the code.

The plan-time counterpart of tools.ci.security_scan: the same suppressions (from the
synthesized cdk.tf.json) apply, matched on the resource's unique synthesized name.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tools.ci.security_scan import CHECKOV_ENV, Finding, ScanResult

CHECKOV_PLAN_FRAMEWORK = "terraform_plan"


class CheckovError(RuntimeError):
    """checkov produced no report; the message is the one line the user sees."""


def evaluate_plan_scan(
    reports: Sequence[Mapping[str, Any]], suppressions: Mapping[str, Mapping[str, str]], stack: str
) -> ScanResult:
    """checkov failures on a plan, suppressed only by a skip on the same synthesized resource.

    Plan addresses end in the unique name CDKTF gave the resource in cdk.tf.json
    (``aws_s3_bucket.ingest_bucket_D2E76047``), so the synthesized suppressions apply as is.
    """
    result = ScanResult(stacks=[stack])
    for report in reports:
        if "results" not in report:  # checkov's empty-report shape
            continue
        result.passed += report["summary"]["passed"]
        for check in report["results"]["failed_checks"]:
            name = re.sub(r"\[[^\]]*\]$", "", check["resource"]).rsplit(".", 1)[-1]
            reason = suppressions.get(name, {}).get(check["check_id"])
            finding = Finding(
                check_id=check["check_id"],
                check_name=check["check_name"],
                stack=stack,
                resource=check["resource"],
                reason=reason,
            )
            (result.suppressed if reason else result.failed).append(finding)
    return result


def run_checkov_on_plan(plan_json: Path) -> list[dict[str, Any]]:
    result = subprocess.run(
        [sys.executable, "-m", "checkov.main", "--file", str(plan_json),
         "--framework", CHECKOV_PLAN_FRAMEWORK, "--output", "json", "--quiet", "--compact",
         "--skip-download"],
        capture_output=True, text=True, env={**os.environ, **CHECKOV_ENV}, check=False,
    )  # fmt: skip
    # checkov exits 1 when a check fails; only output that is not a report is an error.
    try:
        reports = json.loads(result.stdout)
    except json.JSONDecodeError:
        raise CheckovError(f"checkov produced no report: {result.stderr.strip()[-500:]}") from None
    return reports if isinstance(reports, list) else [reports]

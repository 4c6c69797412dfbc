"""Gate synthesized stacks on checkov, honouring suppressions written next to the code.

checkov scans CDKTF's JSON output (framework terraform_json) but ignores inline skips there
(bridgecrewio/checkov#4634). Constructs record each justified suppression in the resource's
``"//"`` field through constructs_lib.checkov_suppression.skip_check; this tool runs checkov,
then treats a failed check as suppressed only when that very resource carries a skip for
that very check with a reason. Anything else is a failure.

    pipenv run python -m tools.ci.security_scan cdktf.out/stacks [--report build/checkov.md]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHECKOV_FRAMEWORK = "terraform_json"
# Keep checkov offline and quiet: no guideline download, no platform mapping.
# Top-level blocks checkov's terraform_json parser cannot read: it expects each one to map
# names to bodies, and Terraform's `moved` is a list (checkov 3.1.47 stops with an
# AttributeError); so is `removed`. They only tell Terraform where a resource used to be or
# that it stopped managing one; nothing to scan.
UNSCANNABLE_BLOCKS = ("moved", "removed")
CHECKOV_ENV = {"BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}


@dataclass(frozen=True, kw_only=True)
class Finding:
    check_id: str
    check_name: str
    stack: str
    resource: str
    reason: str | None = None


@dataclass(kw_only=True)
class ScanResult:
    passed: int = 0
    failed: list[Finding] = field(default_factory=list)
    suppressed: list[Finding] = field(default_factory=list)
    stacks: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed and bool(self.stacks)


def load_suppressions(stack_file: Path) -> dict[str, dict[str, str]]:
    """Map each resource or data source name to {check id: reason}."""
    document = json.loads(stack_file.read_text())
    suppressions: dict[str, dict[str, str]] = {}
    for block in ("resource", "data"):
        for resources in document.get(block, {}).values():
            for name, body in resources.items():
                reasons = {skip["id"]: skip.get("comment", "").strip() for skip in _skips(body)}
                suppressions[name] = {check: reason for check, reason in reasons.items() if reason}
    return suppressions


def _skips(body: Any) -> Iterable[dict[str, str]]:
    """Every checkov skip in a resource body, including comments in nested blocks."""
    if isinstance(body, list):
        for item in body:
            yield from _skips(item)
    elif isinstance(body, dict):
        comment = body.get("//")
        if isinstance(comment, dict):
            yield from comment.get("checkov", {}).get("skip", [])
        for key, value in body.items():
            if key != "//":
                yield from _skips(value)


def run_checkov(stacks_dir: Path) -> list[dict[str, Any]]:
    env = {**os.environ, **CHECKOV_ENV}
    result = subprocess.run(
        [sys.executable, "-m", "checkov.main", "--directory", str(stacks_dir),
         "--framework", CHECKOV_FRAMEWORK, "--output", "json", "--quiet", "--compact",
         "--skip-download"],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    # checkov exits 1 when any check fails; only unparsable output is an error here.
    try:
        reports = json.loads(result.stdout)
    except json.JSONDecodeError:
        raise RuntimeError(f"checkov produced no report:\n{result.stderr[-2000:]}") from None
    return reports if isinstance(reports, list) else [reports]


Suppressions = Mapping[str, Mapping[str, Mapping[str, str]]]


def evaluate(reports: Iterable[Mapping[str, Any]], suppressions: Suppressions) -> ScanResult:
    """Split checkov's failures into suppressed (with a reason) and real failures."""
    result = ScanResult(stacks=sorted(suppressions))
    for report in reports:
        if "results" not in report:  # checkov's empty-report shape: nothing was scanned
            continue
        result.passed += report["summary"]["passed"]
        for check in report["results"]["failed_checks"]:
            stack = Path(check["file_path"]).parent.name
            # terraform_json ids are "<resource type or block>.<unique name>".
            name = check["resource"].rsplit(".", 1)[-1]
            reason = suppressions.get(stack, {}).get(name, {}).get(check["check_id"])
            finding = Finding(
                check_id=check["check_id"], check_name=check["check_name"], stack=stack,
                resource=check["resource"], reason=reason,
            )  # fmt: skip
            (result.suppressed if reason else result.failed).append(finding)
    return result


def scannable_copy(stack_files: Iterable[Path], destination: Path) -> Path:
    """``<stack>/cdk.tf.json`` copies without the blocks checkov cannot parse."""
    for path in stack_files:
        document = json.loads(path.read_text(encoding="utf-8"))
        for block in UNSCANNABLE_BLOCKS:
            document.pop(block, None)
        target = destination / path.parent.name / path.name
        target.parent.mkdir(parents=True)
        target.write_text(json.dumps(document), encoding="utf-8")
    return destination


def scan(stacks_dir: Path) -> ScanResult:
    stack_files = sorted(stacks_dir.glob("*/cdk.tf.json"))
    if not stack_files:
        raise FileNotFoundError(f"no synthesized stacks under {stacks_dir}; run `make synth`")
    suppressions = {path.parent.name: load_suppressions(path) for path in stack_files}
    with tempfile.TemporaryDirectory(prefix="checkov-") as scratch:
        reports = run_checkov(scannable_copy(stack_files, Path(scratch)))
    return evaluate(reports, suppressions)


def render_markdown(result: ScanResult) -> str:
    lines = [
        "## checkov",
        "",
        f"Stacks: {', '.join(result.stacks)}. Passed {result.passed}, "
        f"failed {len(result.failed)}, suppressed {len(result.suppressed)}.",
        "",
    ]
    if result.failed:
        lines += ["| failed check | stack | resource |", "|---|---|---|"]
        lines += [
            f"| {f.check_id} {f.check_name} | {f.stack} | {f.resource} |" for f in result.failed
        ]
        lines.append("")
    unique: dict[tuple[str, str], int] = {}
    for finding in result.suppressed:
        key = (finding.check_id, finding.reason or "")
        unique[key] = unique.get(key, 0) + 1
    if unique:
        lines += ["| suppressed check | times | reason |", "|---|---|---|"]
        lines += [
            f"| {check} | {count} | {reason} |" for (check, reason), count in sorted(unique.items())
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stacks_dir", type=Path, nargs="?", default=Path("cdktf.out/stacks"))
    parser.add_argument("--report", type=Path, help="also write the summary as Markdown here")
    args = parser.parse_args(argv)
    try:
        result = scan(args.stacks_dir)
    except (FileNotFoundError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    summary = render_markdown(result)
    print(summary)
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(summary)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""The review as Markdown: what a pull-request reviewer reads, and the exit code it implies."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from tools.ci.plan_review.summary import STATEFUL_RESOURCE_TYPES, PlanSummary
from tools.ci.security_scan import ScanResult

EXIT_OK = 0
EXIT_CHECKOV_FAILED = 1
EXIT_USAGE = 2
EXIT_STATEFUL = 3
# The order columns appear in the per-type table.
ACTION_COLUMNS = ("create", "update", "replace", "delete")


def exit_code(summary: PlanSummary, scan: ScanResult | None, *, allow_stateful: bool) -> int:
    if summary.stateful_losses and not allow_stateful:
        return EXIT_STATEFUL
    if scan is not None and not scan.ok:
        return EXIT_CHECKOV_FAILED
    return EXIT_OK


@dataclass(kw_only=True)
class ReviewReport:
    """Everything the Markdown summary shows."""

    environment: str
    target: str
    summary: PlanSummary
    scan: ScanResult | None = None
    allow_stateful: bool = False
    timings: dict[str, float] = field(default_factory=dict)


def render_summary(report: ReviewReport) -> str:
    summary = report.summary
    totals = summary.totals
    code = exit_code(summary, report.scan, allow_stateful=report.allow_stateful)
    lines = [
        f"# Plan review: {report.environment}",
        "",
        f"Target: {report.target}.",
        "",
        f"**Plan: {totals['add']} to add, {totals['change']} to change, "
        f"{totals['destroy']} to destroy** ({summary.unchanged} unchanged; a replacement "
        "counts as one add and one destroy).",
        "",
    ]
    if summary.drifted:
        lines += [
            f"Refresh found {summary.drifted} resource(s) whose remote attributes differ from the "
            "state (often computed or deprecated attributes; see `resource_drift` in plan.json).",
            "",
        ]
    lines += _stateful_section(summary, allow=report.allow_stateful)
    if summary.has_changes:
        lines += [
            "## Changes by resource type",
            "",
            "| resource type | " + " | ".join(ACTION_COLUMNS) + " | other |",
            "|---|" + "--:|" * (len(ACTION_COLUMNS) + 1),
        ]
        for resource_type, counts in summary.counts_by_type.items():
            cells = [str(counts[action] or "") for action in ACTION_COLUMNS]
            other = sum(n for action, n in counts.items() if action not in ACTION_COLUMNS)
            marker = " (stateful)" if resource_type in STATEFUL_RESOURCE_TYPES else ""
            lines.append(
                f"| `{resource_type}`{marker} | " + " | ".join(cells) + f" | {other or ''} |"
            )
        lines.append("")
    else:
        lines += ["No changes: the infrastructure matches the configuration.", ""]
    if summary.replacements:
        lines += ["## Replacements", ""]
        for change in summary.replacements:
            forced = ", ".join(f"`{path}`" for path in change.replace_paths) or "(not reported)"
            stateful = " **stateful**" if change.data_loss_reason else ""
            lines.append(f"- `{change.address}`{stateful}: forced by {forced}")
        lines.append("")
    if summary.moves:
        lines += ["## Moved", ""]
        lines += [f"- `{c.previous_address}` -> `{c.address}`" for c in summary.moves]
        lines.append("")
    lines += _scan_section(report.scan)
    if report.timings:
        spent = ", ".join(f"{step} {seconds:.1f} s" for step, seconds in report.timings.items())
        lines += [f"Timings: {spent}.", ""]
    verdict = {
        EXIT_OK: "passed",
        EXIT_CHECKOV_FAILED: "failed: checkov",
        EXIT_STATEFUL: "failed: stateful resources would lose data",
    }[code]
    lines.append(f"Result: **{verdict}** (exit {code}).")
    return "\n".join(lines) + "\n"


def _stateful_section(summary: PlanSummary, *, allow: bool) -> list[str]:
    losses = summary.stateful_losses
    if not losses:
        return []
    heading = (
        "## Stateful resources destroyed or replaced (allowed by --allow-stateful-replace)"
        if allow
        else "## :warning: Stateful resources would be destroyed or replaced"
    )
    lines = [heading, "", "| resource | action | what is lost |", "|---|---|---|"]
    lines += [f"| `{c.address}` | {c.action} | {c.data_loss_reason} |" for c in losses]
    if not allow:
        lines += [
            "",
            "Re-run with `--allow-stateful-replace` only if losing that data is intended.",
        ]
    return [*lines, ""]


def _scan_section(scan: ScanResult | None) -> list[str]:
    if scan is None:
        return []
    lines = [
        "## checkov (plan JSON)",
        "",
        f"Passed {scan.passed}, failed {len(scan.failed)}, suppressed {len(scan.suppressed)}.",
        "",
    ]
    if scan.failed:
        lines += ["| failed check | resource |", "|---|---|"]
        lines += [f"| {f.check_id} {f.check_name} | `{f.resource}` |" for f in scan.failed]
        lines.append("")
    if scan.suppressed:
        reasons = Counter((f.check_id, f.reason or "") for f in scan.suppressed)
        lines += ["| suppressed check | times | reason |", "|---|--:|---|"]
        lines += [f"| {check} | {n} | {why} |" for (check, why), n in sorted(reasons.items())]
        lines.append("")
    return lines

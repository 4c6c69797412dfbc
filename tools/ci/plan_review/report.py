"""The review as Markdown: what a pull-request reviewer reads, and the exit code it implies.

The first line is a fixed HTML comment (``<!-- plan-review:<env> -->``), so a CI bot can
find its earlier comment on a pull request and edit it in place. The text is deterministic:
the same plan renders the same bytes, whatever emulator port, output folder or clock the run
had (``ReviewReport.redactions`` replaces run-specific strings, and nothing timed is shown).
GitHub refuses comments over 65,536 characters, so the full plan text is cut to fit and the
cut says where the whole text is.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from tools.ci.plan_review.commits import CommitRef
from tools.ci.plan_review.summary import (
    SENSITIVE_VALUE,
    STATEFUL_RESOURCE_TYPES,
    UNKNOWN_VALUE,
    AttributeChange,
    PlanSummary,
    ResourceChange,
)
from tools.ci.security_scan import ScanResult

EXIT_OK = 0
EXIT_CHECKOV_FAILED = 1
EXIT_USAGE = 2
EXIT_STATEFUL = 3
VERDICTS = {
    EXIT_OK: "passed",
    EXIT_CHECKOV_FAILED: "failed: checkov",
    EXIT_STATEFUL: "failed: stateful resources would lose data",
}
# GitHub's limit is 65,536 characters per comment; leave room for a bot's own footer.
MAX_COMMENT_CHARS = 60_000
# Per action section; the rest is counted, and plan.json has every entry.
MAX_LISTED = 200
# Attribute lines under one resource, tried in this order until the comment fits.
ATTRIBUTE_BUDGETS = (25, 5, 0)
# Columns of the counts table, in the order a reviewer should worry about them.
COUNT_COLUMNS = ("destroy", "replace", "update", "create", "moved", "import", "read", "no-op")
# Columns of the per-type table (Terraform's action words).
ACTION_COLUMNS = ("create", "update", "replace", "delete")
# What a moved resource also undergoes, as the Moved section says it.
ALSO_DONE = {"update": "updated", "replace": "replaced", "delete": "destroyed"}
# Clock readings in values (a function's last_modified, a key's creation date) become this:
# they say when the base was deployed, not what the change does.
TIMESTAMP_PLACEHOLDER = "<timestamp>"
_TIMESTAMP = re.compile(
    r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}| ?UTC)?"
)
# Identifiers made up at apply time, different in every deployment of the same code: UUIDs
# (the emulator's KMS key ids) and Terraform's unique names (name_prefix, a policy without a
# name: "terraform-" + timestamp + counter). Each distinct one becomes a numbered placeholder,
# in order of first appearance, so the text stays stable and a changed one still shows.
_GENERATED_IDS = (
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"), "uuid"),
    (re.compile(r"(?<!\d)\d{26}(?!\d)"), "unique-id"),
)
# Terraform's legend of action symbols opens every plan text; reviewers know it.
_LEGEND_START = "Terraform used the selected providers to generate the following execution"
_LEGEND_END = "Terraform will perform the following actions:"
# A plan line's action symbol after its indentation: "  + resource", "      ~ memory_size".
_ACTION_SYMBOL = re.compile(r"^(?P<indent> *)(?P<symbol>-/\+|\+/-|<=|[-+~]) ")

# A resource line's ending after its address, e.g. ": destroy, then create, forced by ...".
_Note = Callable[[ResourceChange], str]


def comment_marker(environment: str) -> str:
    """The hidden first line a CI bot searches for to update its comment in place."""
    return f"<!-- plan-review:{environment} -->"


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
    # Where the plan was made, without anything run-specific ("local cloud started ...").
    target: str
    summary: PlanSummary
    scan: ScanResult | None = None
    allow_stateful: bool = False
    # The deployment planned against (--base), and the code planned (None: the working tree).
    base: CommitRef | None = None
    head: CommitRef | None = None
    head_has_local_changes: bool = False
    # `terraform show` of the saved plan, shown collapsed at the end.
    plan_text: str | None = None
    plan_text_location: str = "plan.txt beside summary.md"
    # Run-specific strings (emulator endpoint, temporary folders) -> stable placeholders.
    redactions: Mapping[str, str] = field(default_factory=dict)
    # Terraform's warning diagnostics from the plan, each one block of text.
    warnings: Sequence[str] = ()
    # The command that makes this review again, shown at the end.
    reproduce: str | None = None


def normalize(text: str, redactions: Mapping[str, str]) -> str:
    """Replace every run-specific string, longest first so none hides inside another, and
    every timestamp."""
    for literal in sorted(redactions, key=len, reverse=True):
        if literal:
            text = text.replace(literal, redactions[literal])
    return _TIMESTAMP.sub(TIMESTAMP_PLACEHOLDER, text)


def number_generated_ids(text: str) -> str:
    """Each UUID or Terraform unique name as ``<uuid-N>``/``<unique-id-N>``, numbered in
    order of first appearance: the same plan gives the same text, and two different ids
    stay different. Applied once to a whole document, so the numbers agree throughout."""
    for pattern, kind in _GENERATED_IDS:
        seen: dict[str, str] = {}

        def placeholder(found: re.Match[str], seen: dict[str, str] = seen, kind: str = kind) -> str:
            return seen.setdefault(found[0], f"<{kind}-{len(seen) + 1}>")

        text = pattern.sub(placeholder, text)
    return text


def render_summary(report: ReviewReport) -> str:
    """The whole review as Markdown, at most MAX_COMMENT_CHARS long."""
    for budget in ATTRIBUTE_BUDGETS:
        head, tail = _sections(report, attribute_budget=budget)
        if len(head) + len(tail) <= MAX_COMMENT_CHARS:
            break
    room = MAX_COMMENT_CHARS - len(head) - len(tail)
    text = head + _plan_text_section(report, room) + tail
    return number_generated_ids(normalize(text, report.redactions))


def render_refusal(
    report: ReviewReport, blocked: Sequence[str], terraform_output: str | None = None
) -> str:
    """Terraform would not plan: the change destroys resources under prevent_destroy."""
    names = ", ".join(f"`{address}`" for address in blocked)
    lines = [
        *_header(report),
        f"Terraform refused to plan: the change would destroy {names}, protected by "
        "`lifecycle.prevent_destroy` (`--allow-stateful-replace` cannot override that).",
        "",
    ]
    if terraform_output:
        lines += _details("Terraform's output", terraform_output, MAX_COMMENT_CHARS // 2, "")
    lines.append(f"Result: **{VERDICTS[EXIT_STATEFUL]}** (exit {EXIT_STATEFUL}).")
    return number_generated_ids(normalize("\n".join(lines) + "\n", report.redactions))


def _header(report: ReviewReport) -> list[str]:
    if report.head is None:
        code = "the working tree"
        if report.head_has_local_changes:
            code += " (with changes not yet committed)"
    else:
        code = f"commit {report.head.describe()}"
    if report.base is None:
        compared = f"Planned {code} against {report.target}."
    else:
        compared = (
            f"Planned {code} against {report.target}, after deploying base commit "
            f"{report.base.describe()} there: the changes below are what this code changes."
        )
    return [
        comment_marker(report.environment),
        f"## Plan review: {report.environment}",
        "",
        compared,
        "",
    ]


def _sections(report: ReviewReport, *, attribute_budget: int) -> tuple[str, str]:
    """The Markdown before and after the full plan text."""
    summary = report.summary
    totals, counts = summary.totals, summary.counts
    lines = [
        *_header(report),
        f"**Plan: {totals['add']} to add, {totals['change']} to change, "
        f"{totals['destroy']} to destroy.** A replacement counts as one add and one destroy; "
        "moved, read and unchanged resources are counted apart.",
        "",
        "| " + " | ".join(COUNT_COLUMNS) + " |",
        "|" + "--:|" * len(COUNT_COLUMNS),
        "| " + " | ".join(str(counts[column]) for column in COUNT_COLUMNS) + " |",
        "",
        *_deletion_warning(summary),
    ]
    lines += _stateful_section(summary, allow=report.allow_stateful)
    lines += _rename_section(summary)
    if not summary.has_changes:
        lines += ["No changes: the infrastructure matches the configuration.", ""]
    lines += _resource_section(
        "Destroy", summary.with_action("delete"), attribute_budget=0, note=_destroy_note
    )
    lines += _resource_section(
        "Replace", summary.replacements, attribute_budget=attribute_budget, note=_replace_note
    )
    lines += _resource_section(
        "Update", summary.with_action("update"), attribute_budget=attribute_budget, note=_moved_note
    )
    lines += _resource_section(
        "Create", summary.with_action("create"), attribute_budget=0, note=lambda _: ""
    )
    lines += _moved_section(summary.moves)
    lines += _resource_section("Import", summary.imports, attribute_budget=0, note=lambda _: "")
    lines += _resource_section(
        "Other actions", summary.other_actions, attribute_budget=0, note=lambda c: f" ({c.action})"
    )
    lines += _by_type_section(summary)
    if summary.drifted:
        lines += [
            f"Refresh found {summary.drifted} resource(s) whose remote attributes differ from the "
            "state (often computed or deprecated attributes; see `resource_drift` in plan.json).",
            "",
        ]
    lines += _warnings_section(report.warnings)
    lines += _scan_section(report.scan)
    code = exit_code(summary, report.scan, allow_stateful=report.allow_stateful)
    tail = [f"Result: **{VERDICTS[code]}** (exit {code})."]
    if report.reproduce:
        tail += ["", f"To review this plan again locally: `{report.reproduce}`"]
    return "\n".join(lines) + "\n", "\n".join(tail) + "\n"


def _deletion_warning(summary: PlanSummary) -> list[str]:
    """Any deletion, stateful or not, leads the comment: the one thing not to miss."""
    destroyed, replaced = len(summary.with_action("delete")), len(summary.replacements)
    if not destroyed and not replaced:
        return []
    parts = [f"{n} {what}" for n, what in ((destroyed, "destroyed"), (replaced, "replaced")) if n]
    return [
        f"> [!WARNING]\n> This plan deletes existing resources: {' and '.join(parts)} "
        "(listed below). Read those first.",
        "",
    ]


def _warnings_section(warnings: Sequence[str]) -> list[str]:
    if not warnings:
        return []
    lines = [f"### Terraform warnings ({len(warnings)})", ""]
    for warning in warnings:
        title, _, body = warning.partition("\n")
        lines.append(f"- {title.removeprefix('Warning: ').strip()}")
        if body.strip():
            fence = _fence(body)
            lines += ["", "  <details><summary>details</summary>", "", f"  {fence}"]
            lines += [f"  {line}".rstrip() for line in body.strip("\n").splitlines()]
            lines += [f"  {fence}", "", "  </details>", ""]
    return [*lines, ""]


def _stateful_section(summary: PlanSummary, *, allow: bool) -> list[str]:
    losses = summary.stateful_losses
    if not losses:
        return []
    heading = (
        "### Stateful resources destroyed or replaced (allowed by --allow-stateful-replace)"
        if allow
        else "### :warning: Stateful resources would be destroyed or replaced"
    )
    lines = [heading, "", "| resource | action | what is lost |", "|---|---|---|"]
    lines += [f"| {_code(c.address)} | {_word(c.action)} | {c.data_loss_reason} |" for c in losses]
    if not allow:
        lines += [
            "",
            "Re-run with `--allow-stateful-replace` only if losing that data is intended.",
        ]
    return [*lines, ""]


def _rename_section(summary: PlanSummary) -> list[str]:
    renames = summary.likely_renames()
    if not renames:
        return []
    lines = ["### :warning: Destroyed and created under another address: renamed?", ""]
    for gone, new, attribute in renames:
        lines.append(
            f"- {_code(gone.address)} → {_code(new.address)}: same `{attribute}`. A `moved` "
            "block (CDKTF: `move_to`) keeps the object instead of replacing it."
        )
    return [*lines, ""]


def _resource_section(
    title: str,
    changes: Sequence[ResourceChange],
    *,
    attribute_budget: int,
    note: _Note,
) -> list[str]:
    if not changes:
        return []
    lines = [f"### {title} ({len(changes)})", ""]
    for change in changes[:MAX_LISTED]:
        stateful = " **stateful**" if change.data_loss_reason else ""
        lines.append(f"- {_code(change.address)}{stateful}{note(change)}")
        lines += _attribute_lines(change.attributes, attribute_budget)
    if len(changes) > MAX_LISTED:
        lines.append(f"- … and {len(changes) - MAX_LISTED} more (every address is in plan.json)")
    return [*lines, ""]


def _moved_section(moves: Sequence[ResourceChange]) -> list[str]:
    if not moves:
        return []
    lines = [f"### Moved ({len(moves)})", ""]
    for change in moves[:MAX_LISTED]:
        also = (
            ""
            if change.action == "no-op"
            else f", and {ALSO_DONE.get(change.action, change.action)}"
        )
        lines.append(f"- {_code(change.previous_address or '')} → {_code(change.address)}{also}")
    if len(moves) > MAX_LISTED:
        lines.append(f"- … and {len(moves) - MAX_LISTED} more (every address is in plan.json)")
    return [*lines, ""]


def _attribute_lines(attributes: Sequence[AttributeChange], budget: int) -> list[str]:
    if budget == 0 or not attributes:
        return []
    lines = []
    for attribute in attributes[:budget]:
        if attribute.json_attribute is None:
            where = _code(attribute.path)
        else:
            inner = attribute.path[len(attribute.json_attribute) + 1 :]
            where = f"{_code(attribute.json_attribute)} (JSON) {_code(inner or '.')}"
        forces = " (forces replacement)" if attribute.forces_replacement else ""
        lines.append(f"  - {where}: {_value(attribute.before)} → {_value(attribute.after)}{forces}")
    if len(attributes) > budget:
        lines.append(f"  - … and {len(attributes) - budget} more attribute(s) in the full plan")
    return lines


def _destroy_note(change: ResourceChange) -> str:
    return f": {change.reason}" if change.reason else ""


def _replace_note(change: ResourceChange) -> str:
    order = "create, then destroy" if change.create_first else "destroy, then create"
    forced = ", ".join(_code(path) for path in change.replace_paths) or "(not reported)"
    moved = f"; moved from {_code(change.previous_address or '')}" if change.moved else ""
    clash = ""
    if change.name_clash is not None:
        attribute, value = change.name_clash
        clash = (
            f". :warning: The new one keeps `{attribute}` {_code(value)} while the old one "
            "still exists: AWS refuses most such creates, so this apply would likely fail "
            "(create-first comes from `create_before_destroy` here or on a dependent resource)"
        )
    return f": {order}, forced by {forced}{moved}{clash}"


def _moved_note(change: ResourceChange) -> str:
    return f" (moved from {_code(change.previous_address or '')})" if change.moved else ""


def _by_type_section(summary: PlanSummary) -> list[str]:
    by_type = summary.counts_by_type
    if not by_type:
        return []
    lines = [
        "<details><summary>Changes by resource type</summary>",
        "",
        "| resource type | " + " | ".join(ACTION_COLUMNS) + " | other |",
        "|---|" + "--:|" * (len(ACTION_COLUMNS) + 1),
    ]
    for resource_type, counts in by_type.items():
        cells = [str(counts[action] or "") for action in ACTION_COLUMNS]
        other = sum(n for action, n in counts.items() if action not in ACTION_COLUMNS)
        marker = " (stateful)" if resource_type in STATEFUL_RESOURCE_TYPES else ""
        lines.append(f"| `{resource_type}`{marker} | " + " | ".join(cells) + f" | {other or ''} |")
    return [*lines, "", "</details>", ""]


def _scan_section(scan: ScanResult | None) -> list[str]:
    if scan is None:
        return []
    lines = [
        "### checkov (plan JSON)",
        "",
        f"Passed {scan.passed}, failed {len(scan.failed)}, suppressed {len(scan.suppressed)}.",
        "",
    ]
    if scan.failed:
        lines += ["| failed check | resource |", "|---|---|"]
        lines += [
            f"| {f.check_id} {f.check_name} | {_code(f.resource)} |"
            for f in sorted(scan.failed, key=lambda f: (f.check_id, f.resource))
        ]
        lines.append("")
    if scan.suppressed:
        reasons = Counter((f.check_id, f.reason or "") for f in scan.suppressed)
        lines += [
            "<details><summary>Suppressed checks, each with its reason in the code</summary>",
            "",
            "| suppressed check | times | reason |",
            "|---|--:|---|",
        ]
        lines += [f"| {check} | {n} | {why} |" for (check, why), n in sorted(reasons.items())]
        lines += ["", "</details>", ""]
    return lines


def _plan_text_section(report: ReviewReport, room: int) -> str:
    if report.plan_text is None:
        return ""
    text = diff_highlighted(without_legend(normalize(report.plan_text, report.redactions)))
    return (
        "\n".join(
            _details(
                "Full plan (terraform show)",
                text,
                room,
                report.plan_text_location,
                language="diff",
            )
        )
        + "\n"
    )


def without_legend(plan_text: str) -> str:
    """The plan text without Terraform's opening legend of action symbols."""
    start, end = plan_text.find(_LEGEND_START), plan_text.find(_LEGEND_END)
    if start == -1 or end < start:
        return plan_text
    return plan_text[:start] + plan_text[end:]


def diff_highlighted(plan_text: str) -> str:
    """Each action symbol moved to the start of its line, so a ``diff`` code block colours
    additions green and removals red; the indentation follows the symbol unchanged."""
    lines = []
    for line in plan_text.splitlines():
        found = _ACTION_SYMBOL.match(line)
        if found is None:
            lines.append(line)
            continue
        symbol, indent = found["symbol"], found["indent"]
        rest = line[found.end() :]
        lines.append(f"{symbol}{indent} {rest}")
    return "\n".join(lines)


def _details(summary: str, text: str, room: int, location: str, *, language: str = "") -> list[str]:
    """``text`` as a collapsed code block of at most ``room`` characters in all."""
    lines = text.strip("\n").splitlines()
    fence = _fence(text)
    opening = [f"<details><summary>{summary}</summary>", "", fence + language]
    closing = [fence, "", "</details>", ""]
    overhead = sum(len(line) + 1 for line in opening + closing) + 200
    kept: list[str] = []
    used = overhead
    for line in lines:
        if used + len(line) + 1 > room:
            break
        kept.append(line)
        used += len(line) + 1
    if len(kept) < len(lines):
        where = f"; the whole text is in {location}" if location else ""
        closing = [
            fence,
            "",
            f"Cut after {len(kept):,} of {len(lines):,} lines to fit a comment{where}.",
            "",
            "</details>",
            "",
        ]
    return [*opening, *kept, *closing]


def _fence(text: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def _code(text: str) -> str:
    """Inline code that survives backticks inside it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def _value(rendered: str) -> str:
    return rendered if rendered in (SENSITIVE_VALUE, UNKNOWN_VALUE) else _code(rendered)


def _word(action: str) -> str:
    return "destroy" if action == "delete" else action

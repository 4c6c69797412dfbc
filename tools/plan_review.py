"""Review what `terraform apply` would do to one environment, the way CI reviews a change.

    pipenv run python -m tools.plan_review --env dev --emulator
    pipenv run python -m tools.plan_review --env staging          # real AWS, needs credentials

Synthesizes the environment's stack, runs ``terraform init`` and ``terraform plan -out``,
keeps the binary plan and its JSON, summarises the changes per resource type, runs checkov
on the plan JSON and writes the summary as Markdown (also appended to $GITHUB_STEP_SUMMARY
when set). Everything lands in ``<out>/<env>/``: plan.tfplan, plan.json, summary.md.

Emulator flow (--emulator): plans against AWS_ENDPOINT_URL when it is set, otherwise against
a moto server started for this run. State is local (PIPELINE_STATE_BACKEND=local) at
``<out>/<env>/terraform.pipeline-<env>.tfstate``: a fresh emulator starts from empty state
(that file is removed), an emulator given by AWS_ENDPOINT_URL keeps it between runs. Without
--emulator the stack uses its configured backend (S3 by default) and real AWS credentials.

Exit codes: 0 reviewed and fine; 1 checkov found an unsuppressed failure; 2 bad input or no
plan could be made; 3 a stateful resource would be destroyed or replaced (pass
--allow-stateful-replace to accept that), or Terraform refused because of prevent_destroy.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from config.deployment import ConfigError, DeploymentTarget
from config.environments import ENVIRONMENT_NAMES
from tools.emulator import EmulatorError, MotoServer, StackWorkspace, synth_app
from tools.security_scan import CHECKOV_ENV, Finding, ScanResult, load_suppressions
from tools.terraform_cli import PROJECT_ROOT, TerraformError

DEFAULT_OUT = PROJECT_ROOT / "build" / "plan-review"
PLAN_FILE = "plan.tfplan"
PLAN_JSON_FILE = "plan.json"
SUMMARY_FILE = "summary.md"
CHECKOV_PLAN_FRAMEWORK = "terraform_plan"

EXIT_OK = 0
EXIT_CHECKOV_FAILED = 1
EXIT_USAGE = 2
EXIT_STATEFUL = 3

# Resource types whose destruction loses data; a plan that destroys or replaces one needs
# --allow-stateful-replace. Replacing creates a new, empty resource, so it counts as a loss.
STATEFUL_RESOURCE_TYPES: Mapping[str, str] = MappingProxyType(
    {
        "aws_dynamodb_table": "items (records, or Terraform's state locks) go with the table",
        "aws_s3_bucket": "objects and their versions (ingested data, Terraform state) go with it",
        "aws_kms_key": "anything encrypted under the key is unreadable once deletion completes",
        "aws_sqs_queue": "messages waiting in the queue (failed events in a DLQ) are lost",
        "aws_cloudwatch_log_group": "retained log events, the audit trail, are deleted with it",
        "aws_sfn_state_machine": "execution history of the workflow is deleted with it",
    }
)
# The order columns appear in the per-type table.
ACTION_COLUMNS = ("create", "update", "replace", "delete")
# Terraform wraps this message at ~80 columns, so any run of whitespace may be a line break.
_PREVENT_DESTROY = re.compile(r"Resource\s+(\S+)\s+has\s+lifecycle\.prevent_destroy\s+set")


class ReviewError(RuntimeError):
    """The review could not run; the message is the one line the user sees."""


# ---------------------------------------------------------------------------------------
# Pure plan summary (unit-tested on hand-made plan JSON)


def classify(actions: Sequence[str]) -> str:
    """Terraform's action list as one word; unknown combinations keep their raw spelling."""
    if sorted(actions) == ["create", "delete"]:
        return "replace"
    if len(actions) == 1:
        return actions[0]
    return "+".join(actions)


def _dotted(path: Sequence[Any]) -> str:
    return ".".join(str(step) for step in path)


@dataclass(frozen=True, kw_only=True)
class ResourceChange:
    address: str
    resource_type: str
    action: str
    # Attributes that force the replacement, e.g. ("name",); empty unless replacing.
    replace_paths: tuple[str, ...] = ()
    previous_address: str | None = None

    @property
    def removes_existing(self) -> bool:
        """True when the current object would be deleted (destroy, replace, or a future
        Terraform action combination that includes delete)."""
        return self.action == "replace" or "delete" in self.action.split("+")

    @property
    def data_loss_reason(self) -> str | None:
        if not self.removes_existing:
            return None
        return STATEFUL_RESOURCE_TYPES.get(self.resource_type)


@dataclass(frozen=True, kw_only=True)
class PlanSummary:
    changes: tuple[ResourceChange, ...]
    unchanged: int = 0
    # Resources Terraform found changed outside Terraform while refreshing.
    drifted: int = 0

    @property
    def counts_by_type(self) -> dict[str, Counter[str]]:
        counts: dict[str, Counter[str]] = {}
        for change in self.changes:
            counts.setdefault(change.resource_type, Counter())[change.action] += 1
        return dict(sorted(counts.items()))

    @property
    def totals(self) -> dict[str, int]:
        """Terraform's own tally: a replacement is one add and one destroy."""
        actions = Counter(change.action for change in self.changes)
        return {
            "add": actions["create"] + actions["replace"],
            "change": actions["update"],
            "destroy": actions["delete"] + actions["replace"],
        }

    @property
    def replacements(self) -> list[ResourceChange]:
        return [change for change in self.changes if change.action == "replace"]

    @property
    def moves(self) -> list[ResourceChange]:
        return [change for change in self.changes if change.previous_address]

    @property
    def stateful_losses(self) -> list[ResourceChange]:
        return [change for change in self.changes if change.data_loss_reason]

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)


def summarize_plan(plan: Mapping[str, Any]) -> PlanSummary:
    """Managed-resource changes from ``terraform show -json`` output; data reads are not changes."""
    changes: list[ResourceChange] = []
    unchanged = 0
    for entry in plan.get("resource_changes", []):
        if entry.get("mode", "managed") != "managed":
            continue
        action = classify(entry["change"]["actions"])
        previous = entry.get("previous_address")
        if action == "no-op":
            if not previous:
                unchanged += 1
                continue
            action = "move"  # same object under a new address (a moved block or move_to)
        changes.append(
            ResourceChange(
                address=entry["address"],
                resource_type=entry["type"],
                action=action,
                replace_paths=tuple(
                    _dotted(path) for path in entry["change"].get("replace_paths", [])
                ),
                previous_address=previous,
            )
        )
    return PlanSummary(
        changes=tuple(sorted(changes, key=lambda change: change.address)),
        unchanged=unchanged,
        drifted=len(plan.get("resource_drift", [])),
    )


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


def prevent_destroy_addresses(terraform_output: str) -> list[str]:
    """Resources Terraform refused to plan away because of lifecycle.prevent_destroy."""
    return sorted(set(_PREVENT_DESTROY.findall(terraform_output)))


# ---------------------------------------------------------------------------------------
# Running synth, Terraform and checkov


def stack_name(environment: str) -> str:
    return f"pipeline-{environment}"


def environment_dir(out: Path, environment: str) -> Path:
    return out / environment


def local_state_file(out: Path, environment: str) -> Path:
    """Where the emulator flow's LocalBackend keeps state (stack dir + ../../../)."""
    return environment_dir(out, environment) / f"terraform.{stack_name(environment)}.tfstate"


def forget_local_state(out: Path, environment: str) -> None:
    """Drop emulator state from an earlier run; it would describe resources that are gone."""
    state = local_state_file(out, environment)
    for stale in (state, state.with_name(state.name + ".backup")):
        stale.unlink(missing_ok=True)


def synthesize(
    environment: str,
    out: Path,
    endpoint_url: str | None,
    extra_environ: Mapping[str, str] | None = None,
) -> Path:
    """Synthesize one environment into ``<out>/<env>/cdktf.out``; return its stack folder."""
    outdir = environment_dir(out, environment) / "cdktf.out"
    shutil.rmtree(outdir, ignore_errors=True)
    outdir.mkdir(parents=True)
    environ = {"PIPELINE_ENVIRONMENTS": environment, **(extra_environ or {})}
    if endpoint_url is not None:
        environ |= {"AWS_ENDPOINT_URL": endpoint_url, "PIPELINE_STATE_BACKEND": "local"}
    stacks = synth_app(outdir, environ)
    return stacks / stack_name(environment)


def prepare_workspace(
    environment: str,
    out: Path,
    endpoint_url: str | None,
    extra_environ: Mapping[str, str] | None = None,
) -> StackWorkspace:
    """Synthesize and ``terraform init`` one environment (also used by tools.drift_check)."""
    stack_dir = synthesize(environment, out, endpoint_url, extra_environ)
    workspace = StackWorkspace(stack_dir, endpoint_url)
    workspace.init()
    return workspace


def require_stack_file(stack_dir: Path) -> Path:
    stack_file = stack_dir / "cdk.tf.json"
    if not stack_file.is_file():
        raise ReviewError(f"no synthesized stack at {stack_file}; run `make synth` first")
    return stack_file


def check_synth_target(stack_dir: Path, endpoint_url: str | None) -> None:
    """Refuse to plan a reused synth output that was made for another target."""
    stack_file = require_stack_file(stack_dir)
    providers = json.loads(stack_file.read_text()).get("provider", {}).get("aws", [{}])
    endpoints = {
        url
        for provider in providers
        for block in provider.get("endpoints", [])
        for url in block.values()
    }
    synthesized_for = next(iter(endpoints), None)
    if synthesized_for != endpoint_url:
        raise ReviewError(
            f"{stack_file} was synthesized for {synthesized_for or 'real AWS'}, but this review "
            f"targets {endpoint_url or 'real AWS'}; synthesize again for that target"
        )


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
        raise ReviewError(f"checkov produced no report: {result.stderr.strip()[-500:]}") from None
    return reports if isinstance(reports, list) else [reports]


def aws_credentials_present() -> bool:
    import boto3

    return boto3.session.Session().get_credentials() is not None


@contextmanager
def emulator_endpoint(out: Path, environment: str) -> Iterator[tuple[str, str]]:
    """(endpoint URL, description): AWS_ENDPOINT_URL when set, else a moto server for this run."""
    given = os.environ.get("AWS_ENDPOINT_URL")
    if given:
        try:  # probes the endpoint; ConfigError names it when unreachable
            DeploymentTarget.from_environ({"AWS_ENDPOINT_URL": given})
        except ConfigError as error:
            raise ReviewError(str(error)) from None
        yield given, f"emulator at {given} (AWS_ENDPOINT_URL)"
        return
    forget_local_state(out, environment)  # a fresh emulator holds nothing
    log = environment_dir(out, environment) / "moto.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    try:
        server = MotoServer(log_path=log)
        server.start()
    except EmulatorError as error:
        raise ReviewError(f"could not start the moto server: {error}") from None
    try:
        yield server.endpoint_url, f"moto server started for this review ({server.endpoint_url})"
    finally:
        server.stop()


@dataclass(frozen=True, kw_only=True)
class ReviewOptions:
    environment: str
    emulator: bool
    allow_stateful: bool
    out: Path
    synth_dir: Path | None = None


class Stopwatch:
    """Wall-clock seconds per step, for the summary's Timings line."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._started = self._last = time.monotonic()

    def lap(self, step: str) -> None:
        now = time.monotonic()
        self.laps[step] = now - self._last
        self._last = now

    def with_total(self) -> dict[str, float]:
        return {**self.laps, "total": time.monotonic() - self._started}


def review(options: ReviewOptions) -> int:
    """Run the whole review; raise ReviewError for anything that prevents a plan."""
    if options.environment not in ENVIRONMENT_NAMES:
        raise ReviewError(
            f"unknown environment {options.environment!r}; choose one of "
            f"{', '.join(ENVIRONMENT_NAMES)}"
        )
    if options.synth_dir is not None:  # fail before starting an emulator
        require_stack_file(options.synth_dir / "stacks" / stack_name(options.environment))
    watch = Stopwatch()
    env_dir = environment_dir(options.out, options.environment)
    env_dir.mkdir(parents=True, exist_ok=True)
    if options.emulator:
        with emulator_endpoint(options.out, options.environment) as (endpoint, target):
            watch.lap("emulator")
            return _plan_and_report(options, env_dir, endpoint, target, watch)
    if os.environ.get("AWS_ENDPOINT_URL"):
        raise ReviewError(
            "AWS_ENDPOINT_URL is set: pass --emulator to plan against it, or unset it for real AWS"
        )
    if not aws_credentials_present():
        raise ReviewError(
            "no AWS credentials found (environment, profile, SSO or instance role); "
            "configure them to plan against AWS, or pass --emulator"
        )
    return _plan_and_report(options, env_dir, None, "AWS (credentials from the environment)", watch)


def _plan_and_report(
    options: ReviewOptions, env_dir: Path, endpoint: str | None, target: str, watch: Stopwatch
) -> int:
    if options.synth_dir is not None:
        stack_dir = options.synth_dir / "stacks" / stack_name(options.environment)
        check_synth_target(stack_dir, endpoint)
    else:
        try:
            stack_dir = synthesize(options.environment, options.out, endpoint)
        except EmulatorError as error:
            raise ReviewError(str(error)) from None
        watch.lap("synth")
    workspace = StackWorkspace(stack_dir, endpoint)
    workspace.init()
    watch.lap("init")
    plan_file, plan_json = (env_dir / PLAN_FILE).resolve(), env_dir / PLAN_JSON_FILE
    try:
        workspace.plan(f"-out={plan_file}")
    except TerraformError as error:
        blocked = ", ".join(f"`{address}`" for address in prevent_destroy_addresses(str(error)))
        if not blocked:
            raise
        _publish(
            env_dir,
            f"# Plan review: {options.environment}\n\nTarget: {target}.\n\nTerraform refused to "
            f"plan: the change would destroy {blocked}, protected by `lifecycle.prevent_destroy` "
            "(`--allow-stateful-replace` cannot override that).\n\n"
            f"Result: **failed: stateful resources would lose data** (exit {EXIT_STATEFUL}).\n",
        )
        return EXIT_STATEFUL
    watch.lap("plan")
    shown = workspace.run("show", "-json", str(plan_file))
    plan_json.write_text(shown.stdout)
    watch.lap("show")
    suppressions = load_suppressions(stack_dir / "cdk.tf.json")
    scan = evaluate_plan_scan(run_checkov_on_plan(plan_json), suppressions, stack_dir.name)
    watch.lap("checkov")
    report = ReviewReport(
        environment=options.environment,
        target=target,
        summary=summarize_plan(json.loads(shown.stdout)),
        scan=scan,
        allow_stateful=options.allow_stateful,
        timings=watch.with_total(),
    )
    _publish(env_dir, render_summary(report))
    return exit_code(report.summary, scan, allow_stateful=options.allow_stateful)


def _publish(env_dir: Path, markdown: str) -> None:
    """Print the summary, write it beside the plan and hand it to the CI job summary."""
    (env_dir / SUMMARY_FILE).write_text(markdown)
    print(markdown)
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        with open(step_summary, "a", encoding="utf-8") as handle:
            handle.write(markdown + "\n")


def parse_args(argv: Sequence[str] | None) -> ReviewOptions:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--env", required=True, help=f"one of {', '.join(ENVIRONMENT_NAMES)}")
    parser.add_argument(
        "--emulator",
        action="store_true",
        help="plan against AWS_ENDPOINT_URL, or a moto server started for this run",
    )
    parser.add_argument(
        "--allow-stateful-replace",
        action="store_true",
        help="accept destroying or replacing tables, buckets, keys, queues and log groups",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="default: build/plan-review")
    parser.add_argument(
        "--synth-dir",
        type=Path,
        help="reuse this cdktf.out (synthesized for the same target) instead of synthesizing",
    )
    args = parser.parse_args(argv)
    return ReviewOptions(
        environment=args.env,
        emulator=args.emulator,
        allow_stateful=args.allow_stateful_replace,
        out=args.out,
        synth_dir=args.synth_dir,
    )


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    try:
        return review(options)
    except (ReviewError, TerraformError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())

"""Review what `terraform apply` would do to one environment, the way CI reviews a change.

    pipenv run python -m tools.ci.plan_review --env dev --emulator
    pipenv run python -m tools.ci.plan_review --env dev --emulator --base origin/main
    pipenv run python -m tools.ci.plan_review --env staging          # real AWS, needs credentials

Synthesizes the environment's stack, runs ``terraform init`` and ``terraform plan -out``,
keeps the binary plan, its JSON and its text, summarises every change for a pull-request
reviewer (tools.ci.plan_review.report), runs checkov on the plan JSON and writes the summary
as Markdown (also appended to $GITHUB_STEP_SUMMARY when set). Everything lands in
``<out>/<env>/``: plan.tfplan, plan.json, plan.txt, summary.md. Progress goes to stderr,
phase by phase, the summary to stdout.

Emulator flow (--emulator): plans against AWS_ENDPOINT_URL when it is set, otherwise against
a local cloud started for this run. State is local (PIPELINE_STATE_BACKEND=local) at
``<out>/<env>/terraform.pipeline-<env>.tfstate``: a fresh emulator starts from empty state
(that file is removed), an emulator given by AWS_ENDPOINT_URL keeps it between runs. Without
--emulator the stack uses its configured backend (S3 by default) and real AWS credentials.

--base <rev> (emulator only, on a local cloud of its own): exports that commit, synthesizes
and applies it first, then plans the working tree (or --head <rev>) against that deployment
and its state, so the summary shows what the change does rather than everything to add.

Exit codes: 0 reviewed and fine; 1 checkov found an unsuppressed failure; 2 bad input or no
plan could be made; 3 a stateful resource would be destroyed or replaced (pass
--allow-stateful-replace to accept that), or Terraform refused because of prevent_destroy.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from config.deployment import ConfigError, DeploymentTarget, account_variable
from config.environments import ENVIRONMENT_NAMES, build_environments
from tools.ci.plan_review.checkov_plan import CheckovError, evaluate_plan_scan, run_checkov_on_plan
from tools.ci.plan_review.commits import (
    CommitError,
    CommitRef,
    export_commit,
    provide_layer,
    resolve_commit,
    working_tree_changes,
)
from tools.ci.plan_review.report import (
    EXIT_STATEFUL,
    EXIT_USAGE,
    ReviewReport,
    exit_code,
    normalize,
    number_generated_ids,
    render_refusal,
    render_summary,
)
from tools.ci.plan_review.summary import PlanSummary, summarize_plan
from tools.ci.plan_review.workspace import (
    ReviewError,
    check_synth_target,
    environment_dir,
    forget_local_state,
    hand_over_state,
    prevent_destroy_addresses,
    require_stack_file,
    stack_name,
    synthesize,
    terraform_warnings,
)
from tools.ci.progress import Progress
from tools.ci.security_scan import ScanResult, load_suppressions
from tools.ci.terraform import StackWorkspace, SynthError
from tools.ci.terraform_cli import PROJECT_ROOT, TerraformError
from tools.localcloud.process import LocalCloudProcess, LocalCloudProcessError

DEFAULT_OUT = PROJECT_ROOT / "build" / "plan-review"
PLAN_FILE = "plan.tfplan"
PLAN_JSON_FILE = "plan.json"
PLAN_TEXT_FILE = "plan.txt"
SUMMARY_FILE = "summary.md"
# What run-specific strings become in the summary and plan.txt.
EMULATOR_PLACEHOLDER = "<emulator>"
OUT_PLACEHOLDER = "<out>"
PROJECT_PLACEHOLDER = "<project>"
# How each target reads in the summary: stable, so two runs of one plan compare equal.
FRESH_CLOUD_TARGET = "a local cloud started for this review"
GIVEN_EMULATOR_TARGET = "the emulator at AWS_ENDPOINT_URL"
AWS_TARGET = "AWS (credentials from the environment)"


@dataclass(frozen=True, kw_only=True)
class ReviewOptions:
    environment: str
    emulator: bool
    allow_stateful: bool
    out: Path
    synth_dir: Path | None = None
    # Deploy this revision first and plan against it (emulator only).
    base: str | None = None
    # Plan this revision instead of the working tree.
    head: str | None = None


@dataclass(frozen=True, kw_only=True)
class _Target:
    endpoint_url: str | None
    description: str


def aws_credentials_present() -> bool:
    import boto3

    return boto3.session.Session().get_credentials() is not None


@contextmanager
def emulator_endpoint(out: Path, environment: str) -> Iterator[_Target]:
    """AWS_ENDPOINT_URL when set, else a local cloud started (and stopped) for this run."""
    given = os.environ.get("AWS_ENDPOINT_URL")
    if given:  # checked to answer before the review started
        yield _Target(endpoint_url=given, description=GIVEN_EMULATOR_TARGET)
        return
    forget_local_state(out, environment)  # a fresh emulator holds nothing
    log = environment_dir(out, environment) / "localcloud.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    try:
        server = LocalCloudProcess(log_path=log)
        server.start()
    except LocalCloudProcessError as error:
        raise ReviewError(f"could not start the local cloud: {error}") from None
    try:
        yield _Target(endpoint_url=server.endpoint_url, description=FRESH_CLOUD_TARGET)
    finally:
        server.stop()


def redactions(out: Path, endpoint_url: str | None) -> dict[str, str]:
    """Run-specific strings that must not reach the summary, and what replaces them.

    Folders are replaced only when at least two levels deep: replacing "/app" everywhere
    would also rewrite values that merely contain it.
    """
    found = {
        str(path): placeholder
        for path, placeholder in (
            (out.resolve(), OUT_PLACEHOLDER),
            (PROJECT_ROOT, PROJECT_PLACEHOLDER),
        )
        if len(path.parts) > 2
    }
    if endpoint_url:
        found[endpoint_url] = EMULATOR_PLACEHOLDER
        host = endpoint_url.split("://", 1)[-1].rstrip("/")
        found[host] = EMULATOR_PLACEHOLDER
    return found


def review(options: ReviewOptions, progress: Progress) -> int:
    """Run the whole review; raise ReviewError for anything that prevents a plan."""
    base, head = _check_options(options)
    env_dir = environment_dir(options.out, options.environment)
    env_dir.mkdir(parents=True, exist_ok=True)
    if not options.emulator:
        target = _Target(endpoint_url=None, description=AWS_TARGET)
        return _plan_and_report(options, target, progress, base=None, head=head)
    with ExitStack() as stack:
        with progress.phase("start emulator"):
            target = stack.enter_context(emulator_endpoint(options.out, options.environment))
        base_workspace = None
        if base is not None:
            base_workspace = _deploy_base(options, base, target, progress)
        code = _plan_and_report(
            options, target, progress, base=base, head=head, base_workspace=base_workspace
        )
    return code


def _check_options(options: ReviewOptions) -> tuple[CommitRef | None, CommitRef | None]:
    """Fail on bad input before anything slow starts; resolve the revisions named."""
    if options.environment not in ENVIRONMENT_NAMES:
        raise ReviewError(
            f"unknown environment {options.environment!r}; choose one of "
            f"{', '.join(ENVIRONMENT_NAMES)}"
        )
    if options.synth_dir is not None and (options.base or options.head):
        raise ReviewError("--synth-dir cannot be combined with --base or --head")
    if options.base is not None:
        if not options.emulator:
            raise ReviewError(
                "--base deploys that commit before planning, which is done only on an "
                "emulator; add --emulator"
            )
        if os.environ.get("AWS_ENDPOINT_URL"):
            raise ReviewError(
                "--base deploys to an empty local cloud of its own; unset AWS_ENDPOINT_URL"
            )
    if options.synth_dir is not None:  # fail before starting an emulator
        require_stack_file(options.synth_dir / "stacks" / stack_name(options.environment))
    given = os.environ.get("AWS_ENDPOINT_URL")
    if options.emulator and given:
        try:  # probes the endpoint; ConfigError names it when unreachable
            DeploymentTarget.from_environ({"AWS_ENDPOINT_URL": given})
        except ConfigError as error:
            raise ReviewError(str(error)) from None
    if not options.emulator:
        if os.environ.get("AWS_ENDPOINT_URL"):
            raise ReviewError(
                "AWS_ENDPOINT_URL is set: pass --emulator to plan against it, "
                "or unset it for real AWS"
            )
        _require_account_pin(options.environment)
        if not aws_credentials_present():
            raise ReviewError(
                "no AWS credentials found (environment, profile, SSO or instance role); "
                "configure them to plan against AWS, or pass --emulator"
            )
    return _resolve("--base", options.base), _resolve("--head", options.head)


def _require_account_pin(environment: str) -> None:
    """Staging and prod plan against AWS only once their account is pinned (issue 13)."""
    try:
        target = DeploymentTarget.from_environ(os.environ, probe=False)
    except ConfigError as error:
        raise ReviewError(str(error)) from None
    config = build_environments(region=target.region, project=target.project)[environment]
    if config.requires_account_pin and (
        target.account_ids.get(environment, config.account_id) is None
    ):
        raise ReviewError(
            f"{account_variable(environment)} is not set: pin {environment}'s 12-digit AWS "
            "account ID before planning it against AWS"
        )


def _resolve(flag: str, rev: str | None) -> CommitRef | None:
    if rev is None:
        return None
    try:
        return resolve_commit(rev)
    except CommitError as error:
        raise ReviewError(f"{flag}: {error}") from None


def _checkout(ref: CommitRef, folder: Path, progress: Progress, role: str) -> Path:
    """Export a commit with the Lambda layer it builds; return the folder."""
    with progress.phase(f"export {role} {ref.short}"):
        try:
            export_commit(ref, folder)
            provide_layer(folder)
        except CommitError as error:
            raise ReviewError(f"{role} commit {ref.short}: {error}") from None
    return folder


def _deploy_base(
    options: ReviewOptions, base: CommitRef, target: _Target, progress: Progress
) -> StackWorkspace:
    """Synthesize the base commit and apply it to the emulator, with its own local state."""
    base_dir = environment_dir(options.out, options.environment) / "base"
    shutil.rmtree(base_dir, ignore_errors=True)
    source = _checkout(base, base_dir / "source", progress, "base")
    try:
        with progress.phase(f"synth base {base.short}"):
            stack_dir = synthesize(
                options.environment,
                options.out,
                target.endpoint_url,
                outdir=base_dir / "cdktf.out",
                project_root=source,
            )
        shutil.rmtree(source)  # the synth copied every asset it needs into cdktf.out
        workspace = StackWorkspace(stack_dir, target.endpoint_url)
        with progress.phase("init base"):
            workspace.init()
        with progress.phase(f"apply base {base.short}"):
            workspace.apply(on_line=progress.terraform_line)
    except (SynthError, TerraformError) as error:
        raise ReviewError(f"could not deploy base commit {base.short}: {error}") from None
    return workspace


def _synthesize_head(
    options: ReviewOptions, head: CommitRef | None, target: _Target, progress: Progress
) -> Path:
    if options.synth_dir is not None:
        stack_dir = options.synth_dir / "stacks" / stack_name(options.environment)
        check_synth_target(stack_dir, target.endpoint_url)
        return stack_dir
    project_root = PROJECT_ROOT
    head_source = environment_dir(options.out, options.environment) / "head-source"
    if head is not None:
        project_root = _checkout(head, head_source, progress, "head")
    label = f"synth {head.short}" if head is not None else "synth working tree"
    try:
        with progress.phase(label):
            stack_dir = synthesize(
                options.environment, options.out, target.endpoint_url, project_root=project_root
            )
    except SynthError as error:
        raise ReviewError(str(error)) from None
    finally:
        shutil.rmtree(head_source, ignore_errors=True)
    return stack_dir


def _plan_and_report(
    options: ReviewOptions,
    target: _Target,
    progress: Progress,
    *,
    base: CommitRef | None,
    head: CommitRef | None,
    base_workspace: StackWorkspace | None = None,
) -> int:
    env_dir = environment_dir(options.out, options.environment)
    stack_dir = _synthesize_head(options, head, target, progress)
    workspace = StackWorkspace(stack_dir, target.endpoint_url)
    if base_workspace is not None:
        hand_over_state(base_workspace, workspace)
    with progress.phase("init"):
        workspace.init()

    def make_report(
        summary: PlanSummary,
        scan: ScanResult | None = None,
        plan_text: str | None = None,
        warnings: Sequence[str] = (),
    ) -> ReviewReport:
        return ReviewReport(
            environment=options.environment,
            target=target.description,
            summary=summary,
            allow_stateful=options.allow_stateful,
            base=base,
            head=head,
            head_has_local_changes=head is None and working_tree_changes(),
            plan_text_location=f"{PLAN_TEXT_FILE} beside summary.md",
            redactions=redactions(options.out, target.endpoint_url),
            scan=scan,
            plan_text=plan_text,
            warnings=warnings,
            reproduce=reproduce_command(options, base, head),
        )

    plan_file = (env_dir / PLAN_FILE).resolve()
    output: list[str] = []  # all of it: the error's tail may miss a prevent_destroy refusal

    def on_line(line: str) -> None:
        output.append(line)
        progress.terraform_line(line)

    try:
        with progress.phase("plan"):
            workspace.plan(f"-out={plan_file}", on_line=on_line)
    except TerraformError as error:
        blocked = prevent_destroy_addresses("\n".join(output))
        if not blocked:
            raise
        refused = make_report(PlanSummary(changes=()))
        _publish(env_dir, render_refusal(refused, blocked, str(error)))
        return EXIT_STATEFUL
    with progress.phase("show"):
        shown = workspace.run("show", "-json", str(plan_file))
        (env_dir / PLAN_JSON_FILE).write_text(shown.stdout)
        plan_text = workspace.run("show", "-no-color", str(plan_file)).stdout
        redacted = number_generated_ids(
            normalize(plan_text, redactions(options.out, target.endpoint_url))
        )
        (env_dir / PLAN_TEXT_FILE).write_text(redacted)
    with progress.phase("checkov"):
        suppressions = load_suppressions(stack_dir / "cdk.tf.json")
        reports = run_checkov_on_plan(env_dir / PLAN_JSON_FILE)
        scan = evaluate_plan_scan(reports, suppressions, stack_dir.name)
    report = make_report(
        summarize_plan(json.loads(shown.stdout)),
        scan=scan,
        plan_text=plan_text,
        warnings=terraform_warnings("\n".join(output)),
    )
    _publish(env_dir, render_summary(report))
    code = exit_code(report.summary, report.scan, allow_stateful=options.allow_stateful)
    counts = report.summary.counts
    progress.say(
        "summary: "
        + ", ".join(f"{counts[action]} {action}" for action in ("destroy", "replace", "moved"))
        + f"; exit {code}"
    )
    return code


def reproduce_command(
    options: ReviewOptions, base: CommitRef | None, head: CommitRef | None
) -> str:
    """The command line that plans the same code against the same target again."""
    parts = ["pipenv run python -m tools.ci.plan_review", f"--env {options.environment}"]
    if options.emulator:
        parts.append("--emulator")
    if base is not None:
        parts.append(f"--base {base.short}")
    if head is not None:
        parts.append(f"--head {head.short}")
    if options.allow_stateful:
        parts.append("--allow-stateful-replace")
    return " ".join(parts)


def _publish(env_dir: Path, markdown: str) -> None:
    """Print the summary, write it beside the plan and hand it to the CI job summary."""
    (env_dir / SUMMARY_FILE).write_text(markdown)
    print(markdown)
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        with open(step_summary, "a", encoding="utf-8") as handle:
            handle.write(markdown + "\n")


def parse_args(argv: Sequence[str] | None) -> ReviewOptions:
    parser = argparse.ArgumentParser(
        prog="python -m tools.ci.plan_review", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument("--env", required=True, help=f"one of {', '.join(ENVIRONMENT_NAMES)}")
    parser.add_argument(
        "--emulator",
        action="store_true",
        help="plan against AWS_ENDPOINT_URL, or a local cloud started for this run",
    )
    parser.add_argument(
        "--base",
        metavar="REV",
        help="deploy this git revision to a fresh local cloud first and plan against it "
        "(needs --emulator)",
    )
    parser.add_argument(
        "--head", metavar="REV", help="plan this git revision instead of the working tree"
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
        base=args.base,
        head=args.head,
    )


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    with Progress("plan-review") as progress:
        try:
            code = review(options, progress)
        except (ReviewError, TerraformError, CheckovError, SynthError) as error:
            print(f"error: {error}", file=sys.stderr)
            return EXIT_USAGE
        progress.say(f"finished in {progress.elapsed:.1f} s")
        return code

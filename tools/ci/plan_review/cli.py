"""Review what `terraform apply` would do to one environment, the way CI reviews a change.

    pipenv run python -m tools.ci.plan_review --env dev --emulator
    pipenv run python -m tools.ci.plan_review --env staging          # real AWS, needs credentials

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
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from config.deployment import ConfigError, DeploymentTarget
from config.environments import ENVIRONMENT_NAMES
from tools.ci.plan_review.checkov_plan import CheckovError, evaluate_plan_scan, run_checkov_on_plan
from tools.ci.plan_review.report import (
    EXIT_STATEFUL,
    EXIT_USAGE,
    ReviewReport,
    exit_code,
    render_summary,
)
from tools.ci.plan_review.summary import summarize_plan
from tools.ci.plan_review.workspace import (
    ReviewError,
    check_synth_target,
    environment_dir,
    forget_local_state,
    prevent_destroy_addresses,
    require_stack_file,
    stack_name,
    synthesize,
)
from tools.ci.security_scan import load_suppressions
from tools.ci.terraform import StackWorkspace, SynthError
from tools.ci.terraform_cli import PROJECT_ROOT, TerraformError
from tools.emulator import EmulatorError, MotoServer

DEFAULT_OUT = PROJECT_ROOT / "build" / "plan-review"
PLAN_FILE = "plan.tfplan"
PLAN_JSON_FILE = "plan.json"
SUMMARY_FILE = "summary.md"


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
        except SynthError as error:
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
    except (ReviewError, TerraformError, CheckovError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())

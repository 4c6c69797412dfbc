"""After an emulator apply, a second plan must be empty but for listed emulator quirks.

    pipenv run python -m tools.ci.drift_check [--env dev] [--with-network] [--out build/drift-check]

Starts a local cloud (tools.localcloud, moto underneath) in its own process, applies the
environment's stack to it (local state), runs
``terraform plan -detailed-exitcode`` and compares: every planned change must be explained by
an entry of EMULATOR_DRIFT_EXCEPTIONS (resource type + attribute path + why the emulator
differs). Anything else is drift our configuration causes, and the check fails listing it.
--with-network sets PIPELINE_FORCE_VPC=1 so the private network is checked as well.
Exit codes: 0 nothing unexplained, 1 unexplained drift, 2 the check could not run.
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from config.environments import ENVIRONMENT_NAMES
from tools.ci.plan_review import forget_local_state, prepare_workspace, summarize_plan
from tools.ci.progress import Progress
from tools.ci.terraform import StackWorkspace, SynthError
from tools.ci.terraform_cli import PROJECT_ROOT, TerraformError, terraform_env
from tools.localcloud.process import LocalCloudProcess, LocalCloudProcessError
from tools.localcloud.settings import client_env

DEFAULT_OUT = PROJECT_ROOT / "build" / "drift-check"
# `terraform plan -detailed-exitcode`: 0 no changes, 1 error, 2 changes present.
PLAN_HAS_CHANGES = 2
WHOLE_RESOURCE = "(whole resource)"


@dataclass(frozen=True, kw_only=True)
class DriftException:
    """A difference only the emulator produces.

    ``attribute`` is a dotted path prefix (``dead_letter_config`` also covers
    ``dead_letter_config.0.target_arn``); ``*`` stands for any one list index or map key.
    """

    resource_type: str
    attribute: str
    reason: str

    def explains(self, resource_type: str, path: str) -> bool:
        if resource_type != self.resource_type or not path:
            return False
        wanted, actual = self.attribute.split("."), path.split(".")
        if len(actual) < len(wanted):
            return False
        return all(part in ("*", seen) for part, seen in zip(wanted, actual, strict=False))


# Every difference moto 5.x shows after an apply of dev (with --with-network), found by
# applying and planning again. Each entry was checked against moto directly.
EMULATOR_DRIFT_EXCEPTIONS: tuple[DriftException, ...] = (
    DriftException(
        resource_type="aws_vpc_security_group_egress_rule",
        attribute="description",
        reason="moto's DescribeSecurityGroupRules returns no Description for any rule",
    ),
    DriftException(
        resource_type="aws_vpc_security_group_ingress_rule",
        attribute="description",
        reason="moto's DescribeSecurityGroupRules returns no Description for any rule",
    ),
)


@dataclass(frozen=True, kw_only=True)
class Difference:
    address: str
    resource_type: str
    action: str
    # Dotted attribute path; empty when the whole resource would be created or deleted.
    path: str
    # As the plan review renders them: JSON, "(sensitive value)" or "(known after apply)".
    before: str = ""
    after: str = ""

    def describe(self) -> str:
        if not self.path:
            return f"{self.address} [{self.action}] {WHOLE_RESOURCE}"
        return f"{self.address} [{self.action}] {self.path}: {self.before} -> {self.after}"


@dataclass(kw_only=True)
class DriftReport:
    explained: list[tuple[Difference, DriftException]] = field(default_factory=list)
    unexplained: list[Difference] = field(default_factory=list)
    unchanged: int = 0

    @property
    def ok(self) -> bool:
        return not self.unexplained

    def unused(self, exceptions: Sequence[DriftException]) -> list[DriftException]:
        used = {exception for _, exception in self.explained}
        return [exception for exception in exceptions if exception not in used]


def differences(plan: Mapping[str, Any]) -> tuple[list[Difference], int]:
    """Attribute-level differences of a plan's managed resources, and how many are no-ops.

    The attribute changes are the plan review's (sensitive values masked, unknown values
    marked), so both tools read a plan the same way.
    """
    summary = summarize_plan(plan)
    found: list[Difference] = []
    for change in summary.changes:
        if change.action == "no-op":  # moved only; nothing differs
            continue
        common = {
            "address": change.address,
            "resource_type": change.resource_type,
            "action": change.action,
        }
        found += [
            Difference(**common, path=item.path, before=item.before, after=item.after)
            for item in change.attributes
        ]
        # A create or delete right after an apply means the emulator lost or invented an object.
        if not change.attributes:
            found.append(Difference(**common, path=""))
    return found, summary.unchanged


def explain(
    plan: Mapping[str, Any], exceptions: Sequence[DriftException] = EMULATOR_DRIFT_EXCEPTIONS
) -> DriftReport:
    """Match every difference against the exceptions; the rest is unexplained drift."""
    found, unchanged = differences(plan)
    report = DriftReport(unchanged=unchanged)
    for difference in found:
        reason = next(
            (e for e in exceptions if e.explains(difference.resource_type, difference.path)), None
        )
        if reason is None:
            report.unexplained.append(difference)
        else:
            report.explained.append((difference, reason))
    return report


def plan_again(workspace: StackWorkspace, out: Path) -> dict[str, Any]:
    """``terraform plan -detailed-exitcode -out`` after an apply; returns the plan JSON."""
    out.mkdir(parents=True, exist_ok=True)
    plan_file = (out / "drift.tfplan").resolve()
    emulator = {}
    if workspace.endpoint_url is not None:
        emulator = client_env(workspace.endpoint_url)
    result = subprocess.run(
        ["terraform", "plan", "-input=false", "-no-color", "-detailed-exitcode",
         f"-out={plan_file}"],
        cwd=workspace.stack_dir, env=terraform_env(emulator), capture_output=True, text=True,
        check=False,
    )  # fmt: skip
    (out / "drift-plan.txt").write_text(result.stdout + result.stderr)
    if result.returncode not in (0, PLAN_HAS_CHANGES):
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise TerraformError(f"terraform plan failed in {workspace.stack_dir}:\n{tail}")
    shown = workspace.run("show", "-json", str(plan_file))
    (out / "drift-plan.json").write_text(shown.stdout)
    plan: dict[str, Any] = json.loads(shown.stdout)
    return plan


def render(
    report: DriftReport, exceptions: Sequence[DriftException] = EMULATOR_DRIFT_EXCEPTIONS
) -> str:
    lines = [f"Unchanged resources: {report.unchanged}."]
    if report.explained:
        lines.append("Emulator-only differences (EMULATOR_DRIFT_EXCEPTIONS):")
        lines += [f"  {d.address} {d.path}: {e.reason}" for d, e in report.explained]
    lines += [f"Unused exception (moto may have caught up): {e}" for e in report.unused(exceptions)]
    if report.unexplained:
        lines.append("UNEXPLAINED drift (our configuration, or a new emulator quirk to list):")
        lines += [f"  {difference.describe()}" for difference in report.unexplained]
    else:
        lines.append("No unexplained drift: the plan after apply is empty but for the exceptions.")
    return "\n".join(lines)


def check(
    environment: str, out: Path, *, with_network: bool, progress: Progress | None = None
) -> DriftReport:
    """Apply to a fresh local cloud, plan again and explain the plan."""
    forget_local_state(out, environment)  # the new emulator starts empty
    out.mkdir(parents=True, exist_ok=True)
    extra = {"PIPELINE_FORCE_VPC": "1"} if with_network else {}
    with ExitStack() as stack:
        if progress is None:
            progress = stack.enter_context(Progress("drift-check", stream=io.StringIO()))
        with progress.phase("start emulator"):
            cloud = stack.enter_context(LocalCloudProcess(log_path=out / "localcloud.log"))
        with progress.phase(f"synth and init {environment}"):
            workspace = prepare_workspace(environment, out, cloud.endpoint_url, extra)
        with progress.phase(f"apply {environment}"):
            workspace.apply(on_line=progress.terraform_line)
        with progress.phase("plan again"):
            plan = plan_again(workspace, out / environment)
    return explain(plan)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.ci.drift_check", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument("--env", default="dev", choices=ENVIRONMENT_NAMES)
    parser.add_argument("--with-network", action="store_true", help="also the private VPC")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    with Progress("drift-check") as progress:
        try:
            report = check(args.env, args.out, with_network=args.with_network, progress=progress)
        except (LocalCloudProcessError, SynthError, TerraformError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        progress.say(f"apply and second plan took {progress.elapsed:.0f} s")
    print(render(report))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""After an emulator apply, a second plan must be empty but for listed emulator quirks.

    pipenv run python -m tools.ci.drift_check [--env dev] [--with-network] [--out build/drift-check]

Starts a moto server, applies the environment's stack to it (local state), runs
``terraform plan -detailed-exitcode`` and compares: every planned change must be explained by
an entry of EMULATOR_DRIFT_EXCEPTIONS (resource type + attribute path + why the emulator
differs). Anything else is drift our configuration causes, and the check fails listing it.
--with-network sets PIPELINE_FORCE_VPC=1 so the private network is checked as well.
Exit codes: 0 nothing unexplained, 1 unexplained drift, 2 the check could not run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from config.environments import ENVIRONMENT_NAMES
from tools.ci.plan_review import classify, forget_local_state, prepare_workspace
from tools.ci.terraform import StackWorkspace
from tools.ci.terraform_cli import PROJECT_ROOT, TerraformError, terraform_env
from tools.emulator import EMULATOR_ENV, EmulatorError, MotoServer

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
    before: Any = None
    after: Any = None

    def describe(self) -> str:
        where = self.path or WHOLE_RESOURCE
        return f"{self.address} [{self.action}] {where}: {self.before!r} -> {self.after!r}"


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


def changed_paths(
    before: Any, after: Any, unknown: Any = None, path: tuple[str, ...] = ()
) -> Iterator[tuple[str, Any, Any]]:
    """Leaf paths where ``after`` differs from ``before`` or is only known after apply."""
    if unknown is True:
        yield ".".join(path), before, "(known after apply)"
    elif isinstance(before, dict) and isinstance(after, dict):
        hidden = unknown if isinstance(unknown, dict) else {}
        for key in sorted(set(before) | set(after) | set(hidden)):
            step = (*path, str(key))
            yield from changed_paths(before.get(key), after.get(key), hidden.get(key), step)
    elif isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        hidden_items = unknown if isinstance(unknown, list) else []
        for index, (old, new) in enumerate(zip(before, after, strict=True)):
            marker = hidden_items[index] if index < len(hidden_items) else None
            yield from changed_paths(old, new, marker, (*path, str(index)))
    elif before != after:
        yield ".".join(path), before, after


def differences(plan: Mapping[str, Any]) -> tuple[list[Difference], int]:
    """Attribute-level differences of a plan's managed resources, and how many are no-ops."""
    found: list[Difference] = []
    unchanged = 0
    for entry in plan.get("resource_changes", []):
        if entry.get("mode", "managed") != "managed":
            continue
        change = entry["change"]
        action = classify(change["actions"])
        if action == "no-op":
            unchanged += 1
            continue
        common = {"address": entry["address"], "resource_type": entry["type"], "action": action}
        paths = []
        if action in ("update", "replace"):
            before, after = change.get("before"), change.get("after")
            paths = list(changed_paths(before, after, change.get("after_unknown")))
        # A create or delete right after an apply means the emulator lost or invented an object.
        found += [Difference(**common, path=p, before=old, after=new) for p, old, new in paths]
        if not paths:
            found.append(Difference(**common, path=""))
    return found, unchanged


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
        emulator = {**EMULATOR_ENV, "AWS_ENDPOINT_URL": workspace.endpoint_url}
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


def check(environment: str, out: Path, *, with_network: bool) -> DriftReport:
    """Apply to a fresh moto server, plan again and explain the plan."""
    forget_local_state(out, environment)  # the new emulator starts empty
    out.mkdir(parents=True, exist_ok=True)
    extra = {"PIPELINE_FORCE_VPC": "1"} if with_network else {}
    with MotoServer(log_path=out / "moto.log") as moto:
        workspace = prepare_workspace(environment, out, moto.endpoint_url, extra)
        workspace.apply()
        return explain(plan_again(workspace, out / environment))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--env", default="dev", choices=ENVIRONMENT_NAMES)
    parser.add_argument("--with-network", action="store_true", help="also the private VPC")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        report = check(args.env, args.out, with_network=args.with_network)
    except (EmulatorError, TerraformError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(render(report))
    print(f"Apply and second plan took {time.monotonic() - started:.0f} s.")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())

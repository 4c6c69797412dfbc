"""A plan's change set as one fingerprint, and the apply that requires the reviewed one.

    pipenv run python -m tools.ci.plan_fingerprint write --env staging
    pipenv run python -m tools.ci.plan_fingerprint apply --env staging \
        --reviewed reviewed/plan.fingerprint.json

``write`` reads ``build/plan-review/<env>/plan.json`` (made by ``make plan-review``) and writes
``plan.fingerprint.json`` beside it: the SHA-256 of every change (address, former address,
actions, planned values, unknown and sensitive markers, attributes forcing a replacement),
and of every changed output, plus the list of addresses and actions (no values: the file is
a CI artifact, and planned values hold secrets such as the API key).

``apply`` is the merge-to-main half of the review (README: Continuous integration): it
compares the fingerprint of the plan just made for the landed commit with the one its pull
request reviewed, and only when they are equal runs ``terraform apply`` on that saved plan,
in the workspace ``make plan-review`` initialised. Terraform refuses the saved plan itself if
the state changed since it was made. Exit codes: 0 applied (or nothing to apply), 1 the plans
differ (the differing addresses are listed), 2 bad input or a failed apply.

Terraform has no command that compares two plans; this module is the few lines that do.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.ci.progress import Progress
from tools.ci.terraform import StackWorkspace
from tools.ci.terraform_cli import PROJECT_ROOT, TerraformError

DEFAULT_OUT = PROJECT_ROOT / "build" / "plan-review"
FINGERPRINT_FILE = "plan.fingerprint.json"
# A full environment applies in about a quarter of an hour on AWS; the CI job allows 60 min.
APPLY_TIMEOUT_SECONDS = 50 * 60
# The parts of a resource change that say what the apply will do (not what the state was).
_CHANGE_FIELDS = ("actions", "after", "after_unknown", "after_sensitive", "replace_paths")
_OUTPUT_FIELDS = ("actions", "after", "after_unknown", "after_sensitive")


class FingerprintError(RuntimeError):
    """Bad input: a missing or unreadable plan or fingerprint; the message says which."""


@dataclass(frozen=True, kw_only=True)
class Fingerprint:
    environment: str
    sha256: str
    # "<actions> <address>" per change, sorted: what a mismatch message can show.
    changes: tuple[str, ...]

    def to_json(self) -> str:
        return (
            json.dumps(
                {"environment": self.environment, "sha256": self.sha256, "changes": self.changes},
                indent=2,
            )
            + "\n"
        )

    @classmethod
    def from_json(cls, text: str, source: str) -> Fingerprint:
        try:
            data = json.loads(text)
            return cls(
                environment=str(data["environment"]),
                sha256=str(data["sha256"]),
                changes=tuple(str(change) for change in data["changes"]),
            )
        except (ValueError, KeyError, TypeError) as error:
            raise FingerprintError(f"{source} is not a plan fingerprint ({error})") from None


def _is_change(change: Mapping[str, Any]) -> bool:
    return list(change.get("actions", ["no-op"])) != ["no-op"]


def change_set(plan: Mapping[str, Any]) -> dict[str, Any]:
    """What ``terraform apply`` of this plan would do, in a canonical shape."""
    resources = {}
    for entry in plan.get("resource_changes", []):
        change = entry.get("change", {})
        if not _is_change(change) and "previous_address" not in entry:
            continue
        key = entry["address"]
        resources[key] = {
            "previous_address": entry.get("previous_address"),
            **{field: change.get(field) for field in _CHANGE_FIELDS},
        }
    outputs = {
        name: {field: change.get(field) for field in _OUTPUT_FIELDS}
        for name, change in plan.get("output_changes", {}).items()
        if _is_change(change)
    }
    return {"resources": resources, "outputs": outputs}


def fingerprint(plan: Mapping[str, Any], environment: str) -> Fingerprint:
    changes = change_set(plan)
    canonical = json.dumps(changes, sort_keys=True, separators=(",", ":"))
    listed = sorted(
        f"{'/'.join(body['actions'] or [])} {address}"
        for address, body in changes["resources"].items()
    )
    listed += sorted(
        f"{'/'.join(body['actions'] or [])} output.{name}"
        for name, body in changes["outputs"].items()
    )
    return Fingerprint(
        environment=environment,
        sha256=hashlib.sha256(canonical.encode()).hexdigest(),
        changes=tuple(listed),
    )


def difference(reviewed: Fingerprint, planned: Fingerprint) -> list[str]:
    """Why ``planned`` is not the reviewed plan, one line each; empty when it is."""
    if reviewed.environment != planned.environment:
        return [
            f"the reviewed plan is for {reviewed.environment}, this one for {planned.environment}"
        ]
    if reviewed.sha256 == planned.sha256:
        return []
    only_reviewed = sorted(set(reviewed.changes) - set(planned.changes))
    only_planned = sorted(set(planned.changes) - set(reviewed.changes))
    lines = [f"reviewed only: {change}" for change in only_reviewed]
    lines += [f"planned only:  {change}" for change in only_planned]
    return lines or ["the same addresses and actions, but different planned values"]


def _env_dir(out: Path, environment: str) -> Path:
    return out / environment


def read_plan_fingerprint(out: Path, environment: str) -> Fingerprint:
    plan_json = _env_dir(out, environment) / "plan.json"
    if not plan_json.is_file():
        raise FingerprintError(f"no plan at {plan_json}; run make plan-review ENV={environment}")
    return fingerprint(json.loads(plan_json.read_text()), environment)


def write(out: Path, environment: str) -> Path:
    target = _env_dir(out, environment) / FINGERPRINT_FILE
    target.write_text(read_plan_fingerprint(out, environment).to_json())
    return target


def apply_reviewed(out: Path, environment: str, reviewed_file: Path, progress: Progress) -> int:
    """Apply the saved plan when its fingerprint is the reviewed one; see the module doc."""
    if not reviewed_file.is_file():
        raise FingerprintError(f"no reviewed fingerprint at {reviewed_file}")
    reviewed = Fingerprint.from_json(reviewed_file.read_text(), str(reviewed_file))
    planned = read_plan_fingerprint(out, environment)
    differences = difference(reviewed, planned)
    if differences:
        print(
            f"error: the plan for {environment} is not the one its pull request reviewed; "
            "nothing was applied:",
            file=sys.stderr,
        )
        for line in differences:
            print(f"  {line}", file=sys.stderr)
        return 1
    if not planned.changes:
        progress.say(f"{environment}: the reviewed plan changes nothing; nothing to apply")
        return 0
    env_dir = _env_dir(out, environment)
    stack_dir = env_dir / "cdktf.out" / "stacks" / f"pipeline-{environment}"
    plan_file = (env_dir / "plan.tfplan").resolve()
    if not plan_file.is_file():
        raise FingerprintError(f"no saved plan at {plan_file}; run make plan-review first")
    workspace = StackWorkspace(stack_dir, _endpoint_of(stack_dir))
    with progress.phase(f"apply {environment} ({len(planned.changes)} changes)"):
        workspace.run(
            "apply",
            "-input=false",
            "-no-color",
            str(plan_file),
            timeout=APPLY_TIMEOUT_SECONDS,
            on_line=progress.terraform_line,
        )
    return 0


def _endpoint_of(stack_dir: Path) -> str | None:
    """The emulator a stack was synthesized for (its provider endpoints), or None for AWS."""
    stack_file = stack_dir / "cdk.tf.json"
    if not stack_file.is_file():
        raise FingerprintError(f"no synthesized stack at {stack_file}; run make plan-review")
    providers = json.loads(stack_file.read_text()).get("provider", {}).get("aws", [{}])
    for provider in providers:
        for block in provider.get("endpoints", []):
            for url in block.values():
                return str(url)
    return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.ci.plan_fingerprint", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument("command", choices=("write", "apply"))
    parser.add_argument("--env", required=True, help="the environment make plan-review planned")
    parser.add_argument("--reviewed", type=Path, help="apply: the reviewed plan.fingerprint.json")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="default: build/plan-review")
    args = parser.parse_args(argv)
    try:
        if args.command == "write":
            print(f"wrote {write(args.out, args.env)}")
            return 0
        if args.reviewed is None or not str(args.reviewed):
            raise FingerprintError("apply needs --reviewed <the reviewed plan.fingerprint.json>")
        with Progress("apply-reviewed") as progress:
            return apply_reviewed(args.out, args.env, args.reviewed, progress)
    except (FingerprintError, TerraformError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

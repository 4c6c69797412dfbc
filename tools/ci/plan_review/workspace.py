"""Synthesize one environment and prepare its Terraform workspace for a review.

Also used by tools.ci.drift_check: the same synth output folder and local-state location.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Mapping
from pathlib import Path

from tools.ci.terraform import StackWorkspace, synth_app
from tools.ci.terraform_cli import PROJECT_ROOT

# Terraform wraps this message at ~80 columns, so any run of whitespace may be a line break.
_PREVENT_DESTROY = re.compile(r"Resource\s+(\S+)\s+has\s+lifecycle\.prevent_destroy\s+set")
# Lines that end an unframed warning: the next diagnostic, or Terraform's own closing text.
_NOT_A_WARNING = ("Error: ", "Plan: ", "Saved the plan", "To perform exactly", "─", "Note: ")


class ReviewError(RuntimeError):
    """The review could not run; the message is the one line the user sees."""


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
    *,
    outdir: Path | None = None,
    project_root: Path = PROJECT_ROOT,
) -> Path:
    """Synthesize one environment; return its stack folder.

    Into ``<out>/<env>/cdktf.out`` unless ``outdir`` says otherwise; from this checkout
    unless ``project_root`` names another (an exported commit). Aimed at an emulator, the
    stack keeps local state (three folders above the stack folder, beside ``cdktf.out``).
    """
    outdir = outdir or environment_dir(out, environment) / "cdktf.out"
    shutil.rmtree(outdir, ignore_errors=True)
    outdir.mkdir(parents=True)
    environ = {"PIPELINE_ENVIRONMENTS": environment, **(extra_environ or {})}
    if endpoint_url is not None:
        environ |= {"AWS_ENDPOINT_URL": endpoint_url, "PIPELINE_STATE_BACKEND": "local"}
    stacks = synth_app(outdir, environ, project_root=project_root)
    stack_dir = stacks / stack_name(environment)
    if not (stack_dir / "cdk.tf.json").is_file():
        found = ", ".join(sorted(p.parent.name for p in stacks.glob("*/cdk.tf.json"))) or "none"
        raise ReviewError(
            f"{project_root} synthesized no stack {stack_dir.name} (stacks found: {found})"
        )
    return stack_dir


def prepare_workspace(
    environment: str,
    out: Path,
    endpoint_url: str | None,
    extra_environ: Mapping[str, str] | None = None,
) -> StackWorkspace:
    """Synthesize and ``terraform init`` one environment (also used by tools.ci.drift_check)."""
    stack_dir = synthesize(environment, out, endpoint_url, extra_environ)
    workspace = StackWorkspace(stack_dir, endpoint_url)
    workspace.init()
    return workspace


def hand_over_state(source: StackWorkspace, target: StackWorkspace) -> None:
    """Give ``target`` the local state ``source`` applied, so it plans against that deployment."""
    given, wanted = source.local_state_file, target.local_state_file
    if given is None or wanted is None:
        which = source if given is None else target
        raise ReviewError(
            f"{which.stack_dir} does not keep local state; an emulator review needs "
            "PIPELINE_STATE_BACKEND=local, which that commit does not support"
        )
    if not given.is_file():
        raise ReviewError(f"the base deployment left no state at {given}")
    if given != wanted:
        wanted.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(given, wanted)


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


def prevent_destroy_addresses(terraform_output: str) -> list[str]:
    """Resources Terraform refused to plan away because of lifecycle.prevent_destroy."""
    return sorted(set(_PREVENT_DESTROY.findall(terraform_output)))


def terraform_warnings(terraform_output: str) -> tuple[str, ...]:
    """Each ``Warning:`` diagnostic in Terraform's plan output, as its own block of text.

    With -no-color Terraform still frames a diagnostic in box-drawing characters (``╷``,
    ``│``, ``╵``); without them a diagnostic ends at the next diagnostic or the output's end.
    Identical warnings (one per resource, often) are kept once.
    """
    blocks: list[list[str]] = []
    current: list[str] | None = None
    for raw in terraform_output.splitlines():
        framed = raw.startswith(("│", "╷", "╵"))
        line = (raw.lstrip("╷│╵").removeprefix(" ") if framed else raw).rstrip()
        if line.startswith("Warning: "):
            current = [line]
            blocks.append(current)
        elif raw.startswith("╵") or (not framed and line.startswith(_NOT_A_WARNING)):
            current = None
        elif current is not None:
            current.append(line)
    unique: dict[str, None] = {}
    for block in blocks:
        unique.setdefault("\n".join(block).strip("\n"), None)
    return tuple(unique)

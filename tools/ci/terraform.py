"""Synthesize the CDKTF app and run Terraform on one synthesized stack.

    stacks = synth_app(outdir, {"AWS_ENDPOINT_URL": url, "PIPELINE_ENVIRONMENTS": "dev"})
    dev = StackWorkspace(stacks / "pipeline-dev", endpoint_url=url)
    dev.init(); dev.apply(); print(dev.outputs())

These are Terraform helpers shared by CI (plan review, drift check, diagram) and by the local
harness (``make run``, the emulator tests). The emulator itself lives in tools.localcloud; a
workspace given an endpoint URL only adds that emulator's credentials to Terraform's
environment.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.ci.terraform_cli import PROJECT_ROOT, terraform
from tools.localcloud.settings import client_env

# Quiet the Node 20 end-of-life banner jsii prints on every start.
JSII_ENV = {
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
}


class SynthError(RuntimeError):
    """main.py failed to synthesize; the message carries the end of its error output."""


def synth_app(
    outdir: Path, environ: Mapping[str, str] | None = None, *, project_root: Path = PROJECT_ROOT
) -> Path:
    """Run main.py in a fresh interpreter, as `cdktf synth` does; return the stacks folder.

    AWS_ENDPOINT_URL from the caller's process is dropped unless ``environ`` sets it, so a
    stray shell variable never turns a production synth into an emulator one.
    ``project_root`` may be another checkout of this project (an exported base commit); it
    runs with this interpreter and its packages, and PYTHONPATH names only the checkout's own
    ``lambda_functions/common``, so that nothing from this tree shadows the checkout's
    modules (the installed pipeline_common is this tree's, found after PYTHONPATH).
    """
    dropped = (
        {"AWS_ENDPOINT_URL"} if project_root == PROJECT_ROOT else {"AWS_ENDPOINT_URL", "PYTHONPATH"}
    )
    env = {key: value for key, value in os.environ.items() if key not in dropped}
    env.update(JSII_ENV)
    if project_root != PROJECT_ROOT:
        # The checkout's own pipeline_common, not the one this interpreter has installed
        # (editable, from this tree): the two sides of a contract must come from one commit.
        env["PYTHONPATH"] = str(project_root / "lambda_functions" / "common")
    env.update(environ or {})
    outdir = outdir.resolve()  # main.py may run in another folder (project_root)
    env["CDKTF_OUTDIR"] = str(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [sys.executable, "main.py"],
        cwd=project_root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SynthError(f"synth failed: {result.stderr.strip()[-3000:]}")
    return outdir / "stacks"


@dataclass
class StackWorkspace:
    """Terraform commands for one synthesized stack folder, aimed at an emulator or AWS."""

    stack_dir: Path
    endpoint_url: str | None = None

    @property
    def name(self) -> str:
        return self.stack_dir.name

    def _env(self) -> dict[str, str]:
        if self.endpoint_url is None:
            return {}
        return client_env(self.endpoint_url)

    def run(
        self, *args: str, timeout: float = 900, on_line: Callable[[str], None] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return terraform(
            list(args), cwd=self.stack_dir, env=self._env(), timeout=timeout, on_line=on_line
        )

    def init(self, *, backend: bool = True, on_line: Callable[[str], None] | None = None) -> None:
        no_backend = [] if backend else ["-backend=false"]
        self.run("init", "-input=false", "-no-color", *no_backend, on_line=on_line)

    def apply(self, *extra: str, on_line: Callable[[str], None] | None = None) -> None:
        self.run("apply", "-auto-approve", "-input=false", "-no-color", *extra, on_line=on_line)

    def destroy(self) -> None:
        self.run("destroy", "-auto-approve", "-input=false", "-no-color")

    def plan(
        self, *extra: str, on_line: Callable[[str], None] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return self.run("plan", "-input=false", "-no-color", *extra, on_line=on_line)

    def outputs(self) -> dict[str, Any]:
        raw = json.loads(self.run("output", "-json").stdout)
        return {name: value["value"] for name, value in raw.items()}

    def state_resources(self) -> list[str]:
        return self.run("state", "list").stdout.split()

    @property
    def local_state_file(self) -> Path | None:
        """Where a local backend keeps this stack's state; None for any other backend."""
        document = json.loads((self.stack_dir / "cdk.tf.json").read_text())
        local = document.get("terraform", {}).get("backend", {}).get("local")
        if local is None:
            return None
        path = Path(str(local.get("path", "terraform.tfstate")))
        return (self.stack_dir / path).resolve()

"""`make deploy|diff|destroy|output ENV=<env>`: the cdktf CLI, with this project's settings.

    pipenv run python -m tools.cdktf_run deploy --env dev        # npx cdktf deploy pipeline-dev
    pipenv run python -m tools.cdktf_run destroy --env bootstrap # state-bootstrap: refused

What it adds to `npx cdktf <command> <stack>`, each a thing the bare CLI gets wrong here:

- jsii's 11-line Node 20 end-of-life banner is silenced, and TF_CLI_CONFIG_FILE points at
  build/terraformrc (the provider mirror when there is one), written first if missing;
- one loud line when the default state bucket name is used against real AWS (no
  AWS_ENDPOINT_URL): bucket names are global, so it is someone else's bucket or a clash;
- `deploy` and `destroy` pass `--auto-approve`: review with `diff` first (or run
  `npx cdktf deploy <stack>` yourself to approve interactively);
- on a local cloud (AWS_ENDPOINT_URL set), Terraform runs with the local harness's
  parallelism (tools/local_stack.py says why);
- a failed command names its cause in one last line: cdktf itself only says "Invoking
  Terraform CLI failed", which hides a destroy refused by `prevent_destroy`.
- cdktf's output is passed through as it comes, and while cdktf is quiet (synth, Terraform
  starting) a heartbeat line on stderr says the command is still running (tools.ci.progress):
  nothing is silent for 10 s.

The output folder is CDKTF_OUT (default cdktf.out); the bootstrap's local state file lives in
its parent folder (stacks/bootstrap_stack.py). The provider lock file is placed by the synth
itself (stacks/provider_lock.py).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from config.environments import DEFAULT_PROJECT, ENVIRONMENT_NAMES
from stacks.names import BOOTSTRAP_STACK_ID, pipeline_stack_id
from tools.ci.progress import Progress
from tools.ci.terraform_cli import PROJECT_ROOT, TerraformError, write_cli_config
from tools.local_stack import LOCAL_PARALLELISM

BOOTSTRAP = "bootstrap"
COMMANDS = ("deploy", "diff", "destroy", "output")
DEFAULT_OUTDIR = "cdktf.out"
SILENCE_JSII = {
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
    "CHECKPOINT_DISABLE": "1",
}
_PREVENT_DESTROY = re.compile(r"Resource (\S+) has lifecycle\.prevent_destroy")
_REFUSED = "Instance cannot be destroyed"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_TERRAFORM_ERROR = re.compile(r"Error: (.+)")


def stack_name(env: str) -> str:
    return BOOTSTRAP_STACK_ID if env == BOOTSTRAP else pipeline_stack_id(env)


def default_bucket_warning(environ: Mapping[str, str]) -> str | None:
    """The loud line for the default state bucket name on real AWS, else None."""
    if environ.get("AWS_ENDPOINT_URL") or environ.get("PIPELINE_STATE_BUCKET"):
        return None
    project = environ.get("PIPELINE_PROJECT", DEFAULT_PROJECT)
    return (
        f"WARNING: PIPELINE_STATE_BUCKET is unset, so state goes to the default bucket "
        f"'{project}-terraform-state' on REAL AWS; bucket names are global: "
        "export PIPELINE_STATE_BUCKET=<a name of your own> unless this is really yours"
    )


def cdktf_command(command: str, stack: str, outdir: str, environ: Mapping[str, str]) -> list[str]:
    args = ["npx", "--no-install", "cdktf", command, stack, "--output", outdir]
    if command in ("deploy", "destroy"):
        args.append("--auto-approve")
    if command in ("deploy", "diff", "destroy") and environ.get("AWS_ENDPOINT_URL"):
        args += ["--parallelism", str(LOCAL_PARALLELISM)]
    return args


def failure_cause(command: str, stack: str, output: str) -> str:
    """One line saying why the cdktf command failed, from Terraform's own output."""
    # Terraform colours and wraps its messages; cdktf prefixes each line with the stack's name.
    output = _ANSI.sub("", output)
    flat = " ".join(re.sub("[\u2502\u2577\u2575]", " ", output.replace(stack, " ")).split())
    refused = sorted(set(_PREVENT_DESTROY.findall(flat)))
    if refused or _REFUSED in flat:
        refused = refused or ["a resource"]
        more = f" and {len(refused) - 3} more" if len(refused) > 3 else ""
        shown = ", ".join(refused[:3]) + more
        return (
            f"error: {command} of {stack} refused: {shown} has lifecycle.prevent_destroy "
            "(it keeps data); see README, Teardown"
        )
    errors = _TERRAFORM_ERROR.findall(output)
    cause = errors[0].strip() if errors else "see the output above"
    return f"error: cdktf {command} {stack} failed: {cause}"


def run(command: str, env_name: str, environ: Mapping[str, str]) -> int:
    stack = stack_name(env_name)
    env = dict(environ)
    env.update(SILENCE_JSII)
    try:
        env.setdefault("TF_CLI_CONFIG_FILE", str(write_cli_config(env)))
    except TerraformError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if env_name != BOOTSTRAP:
        env["PIPELINE_ENVIRONMENTS"] = env_name  # synthesize only the stack at hand
    warning = default_bucket_warning(env)
    if warning is not None:
        print(warning, file=sys.stderr, flush=True)
    outdir = env.get("CDKTF_OUT") or DEFAULT_OUTDIR
    lines: list[str] = []
    with (
        Progress("cdktf") as progress,
        subprocess.Popen(
            cdktf_command(command, stack, outdir, env),
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        ) as process,
    ):
        assert process.stdout is not None  # stdout=PIPE above
        # cdktf is quiet while it synthesizes and Terraform starts: a heartbeat fills gaps.
        progress.track(f"{command} {stack}")
        for line in process.stdout:  # Terraform's progress, as it comes
            progress.relay(line.rstrip("\n"))
            lines.append(line)
        code = process.wait()
        progress.track(None)
    if code != 0:
        print(failure_cause(command, stack, "".join(lines)), file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] = os.environ) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.cdktf_run")
    parser.add_argument("command", choices=COMMANDS)
    parser.add_argument("--env", required=True, help=f"{', '.join(ENVIRONMENT_NAMES)} or bootstrap")
    args = parser.parse_args(argv)
    if args.env not in (*ENVIRONMENT_NAMES, BOOTSTRAP):
        print(
            f"error: ENV={args.env or '(empty)'} is not one of "
            f"{', '.join(ENVIRONMENT_NAMES)}, {BOOTSTRAP}",
            file=sys.stderr,
        )
        return 2
    if not Path(PROJECT_ROOT, "node_modules", ".bin", "cdktf").exists():
        print("error: the cdktf CLI is not installed; run make setup", file=sys.stderr)
        return 2
    return run(args.command, args.env, environ)


if __name__ == "__main__":
    sys.exit(main())

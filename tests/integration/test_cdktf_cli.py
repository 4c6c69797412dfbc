"""The README's cdktf flow, run as the README shows it, on a local cloud of its own.

`make deploy ENV=bootstrap`, `make deploy ENV=dev`, `make diff ENV=dev`, `make output ENV=dev`
and `make destroy ENV=dev` drive the cdktf CLI (tools/cdktf_run.py). The registry is made
unreachable (a proxy nobody listens on, the local cloud exempt), so this passes only if the
first deploy of each stack needs no network: cdktf finds the committed provider lock in each
stack folder and skips its own `terraform providers lock` (stacks/provider_lock.py).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest

from stacks.provider_lock import COMMITTED_LOCK_FILE, STACK_LOCK_FILE_NAME
from tools.localcloud.process import LocalCloudProcess
from tools.localcloud.settings import PROJECT_ROOT, free_port

# One cdktf command (synth, init, apply on the local cloud) finishes well inside this.
COMMAND_TIMEOUT_SECONDS = 900
# PIPELINE_STATE_BUCKET is left unset, as the README's local run leaves it.
DEFAULT_STATE_BUCKET = "evpipe-terraform-state"


def offline_env(cloud: LocalCloudProcess, outdir: Path) -> dict[str, str]:
    """The caller's environment aimed at ``cloud``, with every other host unreachable."""
    nowhere = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PIPELINE_", "AWS_", "TF_", "MAKE", "MFLAGS"))
    }
    env.update(cloud.client_env())
    env.update(
        CDKTF_OUT=str(outdir),
        HTTPS_PROXY=nowhere,
        HTTP_PROXY=nowhere,
        https_proxy=nowhere,
        http_proxy=nowhere,
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
    )
    return env


def make(target: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        ["make", "--no-print-directory", target, "ENV=" + env["_ENV"]],
        cwd=PROJECT_ROOT,
        env={key: value for key, value in env.items() if key != "_ENV"},
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_SECONDS,
        check=False,
    )
    assert result.returncode == 0, (
        f"make {target} ENV={env['_ENV']} exited {result.returncode}:\n"
        f"{(result.stdout + result.stderr)[-4000:]}"
    )
    return result


def client(cloud: LocalCloudProcess, service: str) -> Any:
    env = cloud.client_env()
    factory: Callable[..., Any] = boto3.client
    return factory(
        service,
        endpoint_url=cloud.endpoint_url,
        region_name=env["AWS_DEFAULT_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )


def table_names(cloud: LocalCloudProcess) -> list[str]:
    names: list[str] = client(cloud, "dynamodb").list_tables()["TableNames"]
    return names


def bucket_names(cloud: LocalCloudProcess) -> list[str]:
    return [bucket["Name"] for bucket in client(cloud, "s3").list_buckets()["Buckets"]]


def output_value(stdout: str, name: str) -> str:
    """The value cdktf output prints for ``name`` (``name = value``)."""
    for line in stdout.splitlines():
        key, sep, value = line.strip().partition(" = ")
        if sep and key == name:
            return value.strip().strip('"')
    raise AssertionError(f"no output {name} in:\n{stdout}")


@pytest.mark.skipif(not COMMITTED_LOCK_FILE.is_file(), reason="providers.lock.hcl is missing")
def test_readme_cdktf_flow_works_first_time_offline(
    own_cloud: LocalCloudProcess, tmp_path: Path
) -> None:
    # Given an empty account, a fresh output folder and no route to the Terraform registry
    outdir = tmp_path / "cdktf.out"
    env = offline_env(own_cloud, outdir)

    # When the README's commands run, each once
    make("deploy", {**env, "_ENV": "bootstrap"})
    deployed = make("deploy", {**env, "_ENV": "dev"})
    diff = make("diff", {**env, "_ENV": "dev"})
    output = make("output", {**env, "_ENV": "dev"})
    table = output_value(output.stdout, "records_table_name")
    tables_after_deploy = table_names(own_cloud)
    destroyed = make("destroy", {**env, "_ENV": "dev"})

    # Then every stack deployed from the committed lock, without cdktf's own locking
    # (`terraform providers lock` would have rewritten the file with Terraform's own header)
    for stack in ("state-bootstrap", "pipeline-dev"):
        lock = outdir / "stacks" / stack / STACK_LOCK_FILE_NAME
        assert lock.read_text() == COMMITTED_LOCK_FILE.read_text()
    assert "Could not retrieve providers" not in deployed.stdout + deployed.stderr
    assert "end-of-life" not in (deployed.stdout + deployed.stderr).lower()  # jsii banner
    # And the plan after the deploy is empty
    assert "No changes." in diff.stdout, diff.stdout[-3000:]
    # And the records table existed in the local cloud until dev was destroyed
    assert table in tables_after_deploy
    assert table not in table_names(own_cloud), destroyed.stdout[-3000:]
    # And the bootstrap's state bucket survives: destroy was for dev only
    assert DEFAULT_STATE_BUCKET in bucket_names(own_cloud)

"""Deploy stacks to a local AWS emulator (moto in server mode) with the real Terraform CLI.

    with MotoServer() as moto:
        stacks = synth_app(outdir, AWS_ENDPOINT_URL=moto.endpoint_url, PIPELINE_ENVIRONMENTS="dev")
        dev = StackWorkspace(stacks / "pipeline-dev", endpoint_url=moto.endpoint_url)
        dev.init(); dev.apply(); print(dev.outputs())

moto binds to loopback only. It cannot run Lambda code without Docker, so callers run the
packaged handler locally (tools.local_invoke) against the emulated resources.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from tools.terraform_cli import PROJECT_ROOT, terraform

LOOPBACK = "127.0.0.1"
# Credentials and region every emulator client uses; moto accepts anything.
EMULATOR_ENV = {
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_DEFAULT_REGION": "us-west-2",
    "AWS_REGION": "us-west-2",
}
# Quiet the Node 20 end-of-life banner jsii prints on every start.
JSII_ENV = {
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
}
STARTUP_TIMEOUT_SECONDS = 30.0


class EmulatorError(RuntimeError):
    """The emulator could not be started or reached."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


class MotoServer:
    """A moto server subprocess on loopback, stopped on exit from the ``with`` block."""

    def __init__(self, port: int | None = None, log_path: Path | None = None) -> None:
        self.port = port or _free_port()
        self.endpoint_url = f"http://{LOOPBACK}:{self.port}"
        self._log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> MotoServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        log = open(self._log_path, "wb") if self._log_path else subprocess.DEVNULL  # noqa: SIM115
        self._process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", LOOPBACK, "-p", str(self.port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise EmulatorError(f"moto server exited with code {self._process.returncode}")
            try:
                # The URL is always http://127.0.0.1:<port>, built above.
                with urllib.request.urlopen(f"{self.endpoint_url}/moto-api/", timeout=1):  # noqa: S310
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        self.stop()
        raise EmulatorError(f"moto server did not answer on {self.endpoint_url} within 30 s")

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def reset(self) -> None:
        """Forget every emulated resource (moto's own reset endpoint)."""
        url = f"{self.endpoint_url}/moto-api/reset"
        with urllib.request.urlopen(urllib.request.Request(url, method="POST"), timeout=10):  # noqa: S310
            pass

    def client_env(self) -> dict[str, str]:
        """Environment that points boto3, Terraform and our tools at this emulator."""
        return {**EMULATOR_ENV, "AWS_ENDPOINT_URL": self.endpoint_url}


def synth_app(outdir: Path, environ: Mapping[str, str] | None = None) -> Path:
    """Run main.py in a fresh interpreter, as `cdktf synth` does; return the stacks folder.

    AWS_ENDPOINT_URL from the caller's process is dropped unless ``environ`` sets it, so a
    stray shell variable never turns a production synth into an emulator one.
    """
    env = {key: value for key, value in os.environ.items() if key != "AWS_ENDPOINT_URL"}
    env.update(JSII_ENV)
    env.update(environ or {})
    env["CDKTF_OUTDIR"] = str(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [sys.executable, "main.py"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise EmulatorError(f"synth failed: {result.stderr.strip()[-3000:]}")
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
        return {**EMULATOR_ENV, "AWS_ENDPOINT_URL": self.endpoint_url}

    def run(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        return terraform(list(args), cwd=self.stack_dir, env=self._env(), timeout=timeout)

    def init(self, *, backend: bool = True) -> None:
        self.run("init", "-input=false", "-no-color", *([] if backend else ["-backend=false"]))

    def apply(self, *extra: str) -> None:
        self.run("apply", "-auto-approve", "-input=false", "-no-color", *extra)

    def destroy(self) -> None:
        self.run("destroy", "-auto-approve", "-input=false", "-no-color")

    def plan(self, *extra: str) -> subprocess.CompletedProcess[str]:
        return self.run("plan", "-input=false", "-no-color", *extra)

    def outputs(self) -> dict[str, Any]:
        raw = json.loads(self.run("output", "-json").stdout)
        return {name: value["value"] for name, value in raw.items()}

    def state_resources(self) -> list[str]:
        return self.run("state", "list").stdout.split()

"""A local AWS emulator (moto in server mode) for the real Terraform CLI and our tools.

    with MotoServer() as moto:
        stacks = synth_app(outdir, {"AWS_ENDPOINT_URL": moto.endpoint_url})  # tools.ci.terraform
        dev = StackWorkspace(stacks / "pipeline-dev", endpoint_url=moto.endpoint_url)
        dev.init(); dev.apply(); print(dev.outputs())

moto binds to loopback only. It cannot run Lambda code without Docker, so callers run the
packaged handler locally (tools.local_invoke) against the emulated resources.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

LOOPBACK = "127.0.0.1"
# Credentials and region every emulator client uses; moto accepts anything.
EMULATOR_ENV = {
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_DEFAULT_REGION": "us-west-2",
    "AWS_REGION": "us-west-2",
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

"""The local cloud in its own process: what `make emulator` runs, started and stopped by a tool.

    with LocalCloudProcess(log_path=out / "localcloud.log") as cloud:
        workspace = StackWorkspace(stack_dir, cloud.endpoint_url)

Tools that only need the AWS APIs answered (plan review, the drift check) and tests that need
an account of their own use this rather than :class:`tools.localcloud.LocalCloud` in process:
moto keeps its accounts in module globals, so two clouds in one process would share them.
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

from tools.localcloud.settings import LOOPBACK, PROJECT_ROOT, client_env, free_port

STARTUP_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 10.0


class LocalCloudProcessError(RuntimeError):
    """The local cloud process could not be started or reached (one line for the user)."""


class LocalCloudProcess:
    """``python -m tools.localcloud`` on a free loopback port, stopped on leaving ``with``."""

    def __init__(self, port: int | None = None, log_path: Path | None = None) -> None:
        self.port = port or free_port()
        self.endpoint_url = f"http://{LOOPBACK}:{self.port}"
        self._log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> LocalCloudProcess:
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
            [sys.executable, "-m", "tools.localcloud", "--port", str(self.port)],
            cwd=PROJECT_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                code = self._process.returncode
                self._process = None
                where = f" (see {self._log_path})" if self._log_path else ""
                raise LocalCloudProcessError(f"the local cloud exited with code {code}{where}")
            try:
                # Always http://127.0.0.1:<port>, built above.
                with urllib.request.urlopen(f"{self.endpoint_url}/moto-api/", timeout=1):  # noqa: S310
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        self.stop()
        raise LocalCloudProcessError(
            f"the local cloud did not answer on {self.endpoint_url} within "
            f"{STARTUP_TIMEOUT_SECONDS:.0f} s"
        )

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def client_env(self) -> dict[str, str]:
        """Environment that points boto3, the AWS CLI and Terraform at this local cloud."""
        return client_env(self.endpoint_url)

"""The local cloud: moto's server in this process, plus what it needs to run the pipeline by itself.

    with LocalCloud() as cloud:                       # port 0: a free port
        s3 = cloud.client("s3"); ...                  # or AWS_ENDPOINT_URL=cloud.endpoint_url
        cloud.fire_rule("maintenance-schedule")       # a scheduled rule, now

    python -m tools.localcloud --port 4566            # the same, in the foreground (make emulator)

moto (pinned: ``MOTO_VERSION``) serves the AWS APIs. It cannot run Lambda code without
Docker, has no ``ValidateStateMachineDefinition``, runs Step Functions executions only when
told to, and delivers EventBridge rules only to a few target kinds. ``LocalCloud`` installs,
once per process, the extensions that add these, each documented at the top of its module:

- :mod:`.executor`: Lambda functions run from their deployed zip and layers in warm
  Python 3.12 environments; :mod:`.async_invoke`: asynchronous invocations with retries,
  event age and destinations (S3 notifications and EventBridge targets use it);
- :mod:`.stepfunctions`: real definition validation; executions run state by state;
  :mod:`.distributed_map`: a Distributed Map's ItemBatcher, a full S3 listing and its results;
- :mod:`.events`: Lambda and Step Functions rule targets, target DLQs, ``fire_rule``;
- :mod:`.s3_notifications`: S3 event fields as S3 sends them;
- :mod:`.sqs_poller`: SQS event source mappings polled with batches and partial failures.

Every extension replaces moto internals by name, so a different moto version fails fast
here rather than misbehaving later.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import boto3
import moto
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server

from tools.localcloud.control import with_control_routes
from tools.localcloud.settings import (
    CREDENTIALS,
    DEFAULT_REGION,
    LOOPBACK,
    PROJECT_ROOT,
    client_env,
    free_port,
    port_is_free,
)

# The moto release every extension was written against and tested with.
MOTO_VERSION = "5.2.5"
DEFAULT_WORK_DIR = PROJECT_ROOT / "build" / "localcloud"
# The layer's pinned closure; built for the host when the layer's wheels cannot load here.
DEFAULT_HOST_REQUIREMENTS = PROJECT_ROOT / "lambda_functions" / "requirements.txt"
DEFAULT_NODE_MODULES = PROJECT_ROOT / "node_modules"


class LocalCloudError(RuntimeError):
    """The local cloud cannot start (one line for the user)."""


def check_moto_version(found: str = moto.__version__) -> None:
    if found != MOTO_VERSION:
        raise LocalCloudError(
            f"tools.localcloud extends moto {MOTO_VERSION} internals but moto {found} is "
            f"installed: run `make python-deps` (Pipfile.lock pins {MOTO_VERSION}), or port "
            "and re-test the extensions before changing the pin"
        )


class _Server(ThreadedMotoServer):
    """moto's threaded server with the local cloud's control routes (:mod:`.control`) in front."""

    def __init__(self, port: int, fire_rule: Any) -> None:
        super().__init__(ip_address=LOOPBACK, port=port, verbose=False)
        self._fire_rule = fire_rule
        self._failed: BaseException | None = None

    def _server_entry(self) -> None:
        app = with_control_routes(DomainDispatcherApplication(create_backend_app), self._fire_rule)
        try:
            self._server = make_server(
                self._ip_address, self._port, app, True, request_handler=MotoRequestHandler
            )
        except (OSError, SystemExit) as error:  # werkzeug exits when it cannot bind
            self._failed = error
            self._server_ready_event.set()  # moto's start() would otherwise wait forever
            return
        self._server_ready_event.set()
        self._server.serve_forever()

    def start(self) -> None:
        super().start()
        if self._failed is not None:
            self._thread = None
            raise OSError(f"the server could not start ({self._failed})")


class LocalCloud:
    """moto's server on ``127.0.0.1:<port>`` with the local cloud's extensions installed."""

    def __init__(
        self,
        port: int = 0,
        *,
        region: str = DEFAULT_REGION,
        work_dir: Path = DEFAULT_WORK_DIR,
        host_requirements: Path | None = DEFAULT_HOST_REQUIREMENTS,
        node_modules: Path = DEFAULT_NODE_MODULES,
        retry_delays: Sequence[float] | None = None,
        default_concurrency: int | None = None,
        verbose: bool = False,
    ) -> None:
        check_moto_version()
        self.port = port or free_port()
        self.region = region
        self.account_id = DEFAULT_ACCOUNT_ID
        self.endpoint_url = f"http://{LOOPBACK}:{self.port}"
        self._work_dir = work_dir
        self._host_requirements = host_requirements
        self._node_modules = node_modules
        self._retry_delays = retry_delays
        self._default_concurrency = default_concurrency
        self._verbose = verbose
        self._server: _Server | None = None
        self._saved_env: dict[str, str | None] = {}
        self.executor: Any = None
        self.async_invoker: Any = None
        self.sqs_poller: Any = None

    def __enter__(self) -> LocalCloud:
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
        from tools.localcloud import (
            async_invoke,
            distributed_map,
            events,
            executor,
            s3_notifications,
            sqs_poller,
            stepfunctions,
        )

        if not port_is_free(self.port):
            raise LocalCloudError(
                f"port {self.port} on {LOOPBACK} is taken: stop what listens there or choose "
                "another port"
            )
        # moto's Step Functions interpreter calls http://localhost:$MOTO_PORT.
        self._set_env("MOTO_PORT", str(self.port))
        self._work_dir.mkdir(parents=True, exist_ok=True)
        self.executor = executor.Executor(
            endpoint_url=self.endpoint_url,
            work_dir=self._work_dir,
            host_requirements=self._host_requirements,
            **(
                {"default_concurrency": self._default_concurrency}
                if self._default_concurrency
                else {}
            ),
        )
        self.async_invoker = async_invoke.AsyncInvoker(
            self.executor,
            retry_delays=self._retry_delays
            if self._retry_delays is not None
            else async_invoke.RETRY_DELAYS_SECONDS,
        )
        self.sqs_poller = sqs_poller.SqsPoller(self.executor)
        executor.install(self.executor, self.async_invoker.submit)
        async_invoke.install(self.async_invoker)
        events.install(self.async_invoker.submit_arn)
        s3_notifications.install()
        sqs_poller.install(self.sqs_poller)
        stepfunctions.install(self._node_modules)
        stepfunctions.enable_execution()
        distributed_map.install()
        # One line per request is useful in the foreground, noise in tests.
        logging.getLogger("werkzeug").setLevel(logging.INFO if self._verbose else logging.WARNING)
        self._server = _Server(self.port, self.fire_rule)
        try:
            self._server.start()
        except OSError as error:
            self._server = None
            self.stop()
            raise LocalCloudError(f"cannot listen on {self.endpoint_url}: {error}") from error

    def stop(self) -> None:
        for part in (self.sqs_poller, self.async_invoker, self.executor):
            if part is not None:
                part.stop()
        if self._server is not None:
            self._server.stop()
            self._server = None
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env = {}

    def _set_env(self, name: str, value: str) -> None:
        self._saved_env.setdefault(name, os.environ.get(name))
        os.environ[name] = value

    def client_env(self) -> dict[str, str]:
        """Environment that points boto3, the AWS CLI and Terraform at the local cloud."""
        return client_env(self.endpoint_url, self.region)

    def client(self, service: str) -> Any:
        """A boto3 client of ``service`` talking to the local cloud."""
        return boto3.client(
            service,  # type: ignore[call-overload]
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )

    def fire_rule(self, rule_name: str, bus: str = "default") -> str:
        """Fire a scheduled EventBridge rule now; returns the event id."""
        from tools.localcloud.events import fire_rule

        return fire_rule(self.account_id, self.region, rule_name, bus)

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Wait until no asynchronous invocation or SQS batch is queued or running."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.async_invoker.idle() and self.sqs_poller.idle():
                return True
            time.sleep(0.05)
        return False


def main(argv: Sequence[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m tools.localcloud", description="Run the local cloud in the foreground."
    )
    parser.add_argument("--port", type=int, default=4566, help="port on 127.0.0.1 (0: any free)")
    parser.add_argument("--region", default=DEFAULT_REGION)
    parser.add_argument(
        "--prepare",
        action="store_true",
        help="only install the functions' host libraries into build/localcloud (needs PyPI once)",
    )
    args = parser.parse_args(argv)
    if args.prepare:
        from tools.localcloud.executor import ExecutorError, prepare

        try:
            for path in prepare(DEFAULT_WORK_DIR, DEFAULT_HOST_REQUIREMENTS):
                print(f"local cloud: {path.relative_to(PROJECT_ROOT)} is ready")
        except ExecutorError as error:
            # Not fatal: the first invocation installs them again, or the cache is enough.
            print(f"warning: {error}", file=sys.stderr)
        return 0
    try:
        cloud = LocalCloud(args.port, region=args.region, verbose=True)
        cloud.start()
    except LocalCloudError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"local cloud on {cloud.endpoint_url} (moto {MOTO_VERSION}); Ctrl-C stops it")
    print(f"  export AWS_ENDPOINT_URL={cloud.endpoint_url} AWS_DEFAULT_REGION={cloud.region}")
    print("  export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test", flush=True)
    # `kill` (SIGTERM) stops it as cleanly as Ctrl-C: the finally block below runs.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("stopping the local cloud")
    finally:
        cloud.stop()
    return 0

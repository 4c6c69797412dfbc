"""`make up` as a user runs it: typed as the README shows, then the printed commands pasted.

One deploy: `make up PORT=<free> RUN_DIR=<tmp>` runs as a subprocess until it prints its ready
line; the test then runs the `curl` commands it printed (POST and GET through each served API,
the schedule fired through the local cloud's control route), checks what the system recorded
with boto3 against the printed endpoint (the table, the maintenance function's log group),
and stops it with SIGINT, as Ctrl-C does, expecting exit status 0 and every port freed.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

from tools.localcloud.settings import CREDENTIALS, LOOPBACK, PROJECT_ROOT, free_port, port_is_free
from tools.run_local import READY_LINE, STOPPED_LINE

pytestmark = pytest.mark.integration

# Setup check, synth and two applies on a shared 2-core machine; beyond this it is stuck.
READY_TIMEOUT_SECONDS = 1200.0
# A fired rule reaches the function through an asynchronous invocation (a cold environment).
DELIVERY_TIMEOUT_SECONDS = 120.0
STOP_TIMEOUT_SECONDS = 60.0
_LOCAL_URL = re.compile(r"http://127\.0\.0\.1:(\d+)")


@dataclass
class MakeUp:
    """The running `make up` and what it printed so far."""

    process: subprocess.Popen[str]
    port: int
    lines: list[str] = field(default_factory=list)
    ready: threading.Event = field(default_factory=threading.Event)

    def read(self) -> None:
        assert self.process.stdout is not None  # stdout=PIPE
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            if line.strip() == READY_LINE:
                self.ready.set()
        self.ready.set()  # ended: stop waiting either way

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def pasted(self, program: str, *contains: str) -> list[list[str]]:
        """The printed commands of ``program`` holding every string of ``contains``."""
        return [
            shlex.split(line)
            for line in self.lines
            if line.strip().startswith(program + " ") and all(part in line for part in contains)
        ]

    def value_after(self, command: list[str], option: str) -> str:
        return command[command.index(option) + 1]


def _descendants(pid: int) -> list[int]:
    found: list[int] = []
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        found += [int(child), *_descendants(int(child))]
    return found


def _run_local_pid(make: subprocess.Popen[str]) -> int:
    """The `python -m tools.run_local` process that make started (pipenv run execs it)."""
    for pid in _descendants(make.pid):
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        if b"tools.run_local" in cmdline:
            return pid
    raise AssertionError(f"no tools.run_local process under make ({make.pid})")


def _curl(command: list[str]) -> tuple[int, Any]:
    """Run a pasted `curl -s -i ...`; its status code and JSON body."""
    assert command[0] == "curl"
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    head, _, body = result.stdout.replace("\r\n", "\n").partition("\n\n")
    status = int(head.split()[1]) if head.startswith("HTTP/") else 0
    return status, json.loads(body) if body.strip() else None


@pytest.fixture(scope="module")
def make_up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MakeUp]:
    port = free_port()
    run_dir = tmp_path_factory.mktemp("make-up") / "run"
    # As typed in a fresh shell: no AWS settings, and not inside `make test`'s own make.
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "PYTEST_", "MAKE", "MFLAGS"))
    }
    process = subprocess.Popen(
        ["make", "up", f"PORT={port}", f"RUN_DIR={run_dir}"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, as a terminal would give it
    )
    running = MakeUp(process=process, port=port)
    reader = threading.Thread(target=running.read, daemon=True)
    reader.start()
    try:
        running.ready.wait(READY_TIMEOUT_SECONDS)
        if process.poll() is not None or READY_LINE not in running.lines:
            pytest.fail(f"make up never got ready; its output ended:\n{running.output[-4000:]}")
        yield running
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_make_up_serves_the_commands_it_prints(make_up: MakeUp) -> None:
    # Given `make up` ready, its local cloud on the port it was given
    assert f"Local cloud: http://{LOOPBACK}:{make_up.port} " in make_up.output
    endpoint = f"http://{LOOPBACK}:{make_up.port}"
    scan = make_up.pasted("aws", "dynamodb scan")[0]
    assert make_up.value_after(scan, "--endpoint-url") == endpoint
    table = make_up.value_after(scan, "--table-name")
    session = boto3.session.Session(
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        region_name=make_up.value_after(scan, "--region"),
    )
    dynamodb = session.client("dynamodb", endpoint_url=endpoint)
    logs = session.client("logs", endpoint_url=endpoint)
    api_ports = {int(port) for port in _LOCAL_URL.findall(make_up.output)} - {make_up.port}
    assert api_ports, "no API URL was printed"

    # When the printed POST of each API is pasted
    posts = make_up.pasted("curl", "-d ", "/records")
    assert len(posts) == 2  # the REST API and the HTTP API
    for post in posts:
        status, created = _curl(post)
        # Then it answers 201 with the new record
        assert status == 201, created
        key = json.loads(make_up.value_after(post, "-d"))["key"]
        assert created["key"] == key
        # And the record is in the table, read back through the printed endpoint
        items = dynamodb.scan(TableName=table)["Items"]
        assert [item for item in items if item["object_key"]["S"] == key]
        # And a GET of that record, with the printed command's headers, answers 200
        url = post[-1]
        get = [arg for arg in post if arg not in ("-d", post[post.index("-d") + 1])]
        get[-1] = f"{url}/{created['id']}"
        status, fetched = _curl(get)
        assert status == 200, fetched
        assert fetched["id"] == created["id"]
    # And the printed list GETs answer 200 with those records
    listings = [c for c in make_up.pasted("curl", "/records") if "-d" not in c]
    assert len(listings) == 2
    for listing in listings:
        status, page = _curl(listing)
        assert status == 200, page

    # When the printed command that fires the schedule is pasted
    fire = make_up.pasted("curl", "-X POST", "/fire")[0]
    group = make_up.pasted("aws", "logs tail", "maintenance")[0][-1]

    def messages() -> list[str]:
        try:
            events = logs.filter_log_events(logGroupName=group)["events"]
        except logs.exceptions.ResourceNotFoundException:
            return []
        return [event["message"] for event in events]

    def reports() -> int:
        return sum(message.startswith("REPORT RequestId") for message in messages())

    # (dev deploys the schedule disabled; the guide then prints the command enabling it)
    for enable in make_up.pasted("aws", "events enable-rule"):
        session.client("events", endpoint_url=endpoint).enable_rule(
            Name=make_up.value_after(enable, "--name")
        )
    before = reports()
    fired = subprocess.run(fire, capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(fired.stdout)["rule"] in fire[-1]
    # Then the maintenance function ran: its log group has one more invocation
    deadline = time.monotonic() + DELIVERY_TIMEOUT_SECONDS
    while reports() == before and time.monotonic() < deadline:
        time.sleep(0.5)
    assert reports() == before + 1
    # And it got to the end of its work: its log line with the day's record count
    assert [message for message in messages() if "Daily record count" in message]

    # When make up is interrupted as Ctrl-C interrupts it (SIGINT to the running program)
    os.kill(_run_local_pid(make_up.process), signal.SIGINT)
    code = make_up.process.wait(timeout=STOP_TIMEOUT_SECONDS)
    # Then it stops cleanly, make exits 0, and every port it listened on is free again
    assert code == 0, make_up.output[-3000:]
    assert STOPPED_LINE in make_up.lines[-3:]
    assert "Traceback" not in make_up.output
    assert port_is_free(make_up.port)
    assert all(port_is_free(port) for port in api_ports)

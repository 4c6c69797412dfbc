"""tools/run_local.py (`make run`, `make up`) and its deploy helpers in tools/local_stack.py:
the phase table, the printed guide, the stop signals and the one-line errors."""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from tools.ci.terraform import StackWorkspace
from tools.local_stack import (
    DeployError,
    LocalDeployment,
    ProviderServer,
    WaitTimeout,
    _StackRun,
    first_error,
    last_line,
    wait_for,
)
from tools.localcloud.control import FIRE_RULE_PATH
from tools.localcloud.gateway import ServedApi
from tools.localcloud.settings import LOOPBACK, PROJECT_ROOT, client_env
from tools.run_local import PHASES, Clock, guide, main, phase_table, wait_for_stop

ENDPOINT = "http://127.0.0.1:4566"
OUTPUTS = {
    "ingest_bucket_name": "pipeline-dev-ingest",
    "ingest_object_prefix": "incoming/",
    "records_table_name": "pipeline-dev-records",
    "state_machine_arn": "arn:aws:states:us-west-2:123456789012:stateMachine:pipeline-dev",
    "schedule_rule_arn": "arn:aws:events:us-west-2:123456789012:rule/pipeline-dev-maintenance",
    "maintenance_function_name": "pipeline-dev-maintenance",
    "processor_function_name": "pipeline-dev-processor",
}


class FakeCloud:
    endpoint_url = ENDPOINT
    region = "us-west-2"

    def client_env(self) -> dict[str, str]:
        return client_env(ENDPOINT)


class FakeEvents:
    """EventBridge's DescribeRule answer for the schedule rule."""

    def __init__(self, state: str) -> None:
        self.state = state

    def describe_rule(self, Name: str) -> dict[str, str]:  # boto3's keyword
        return {"Name": Name, "State": self.state}


def deployment(outputs: dict[str, Any], rule_state: str = "ENABLED") -> LocalDeployment:
    workspace = StackWorkspace(Path("unused"), ENDPOINT)
    deployed = LocalDeployment(
        cloud=FakeCloud(),
        environment="dev",
        stacks_dir=Path("unused"),
        workspace=workspace,
        outputs=outputs,
        bootstrap=workspace,
    )
    deployed._clients["events"] = FakeEvents(rule_state)
    return deployed


def apis() -> list[ServedApi]:
    return [
        ServedApi(
            name="pipeline-dev-records",
            kind="rest",
            url="http://127.0.0.1:40001/dev",
            api_id="a1",
            stage="dev",
            api_key="key with 'quote'",
        ),
        ServedApi(
            name="pipeline-dev-records-http",
            kind="http",
            url="http://127.0.0.1:40002",
            api_id="a2",
            stage="$default",
        ),
    ]


def commands(text: str, program: str) -> list[list[str]]:
    """The printed command lines of ``program``, split as a shell would."""
    return [
        shlex.split(line) for line in text.splitlines() if line.strip().startswith(program + " ")
    ]


def test_phase_table_lists_phases_in_order_then_the_total() -> None:
    # Given laps recorded out of order, one of them unknown to the table
    laps = {"synth": 2.0, "local cloud start": 0.5, "pipeline-dev apply": 10.25, "other": 1.0}
    # When the table is drawn
    rows = phase_table(laps).splitlines()
    # Then the known phases come in make run's order, the rest after, and the total sums all
    assert rows[0] == "Phases:"
    names = [row.split("  ")[1].strip() for row in rows[1:]]
    assert names == ["local cloud start", "synth", "pipeline-dev apply", "other", "total"]
    assert rows[-1].endswith("13.8 s")


def test_clock_ends_each_phase_when_the_next_starts(capsys: pytest.CaptureFixture[str]) -> None:
    # Given a clock that goes through two phases and stops
    clock = Clock()
    clock.phase(PHASES[0])
    clock.phase(PHASES[1])
    clock.stop()
    # Then both have a lap, each start was printed, and stop() is idempotent
    assert list(clock.laps) == [PHASES[0], PHASES[1]]
    clock.stop()
    assert list(clock.laps) == [PHASES[0], PHASES[1]]
    printed = capsys.readouterr().out.splitlines()
    assert [line.split("] ", 1)[1] for line in printed] == [PHASES[0], PHASES[1]]


def test_guide_prints_commands_a_user_can_paste() -> None:
    # Given dev deployed with a workflow and two served APIs, one of them keyed
    text = guide(FakeCloud(), deployment(OUTPUTS), apis())  # type: ignore[arg-type]
    # Then every aws command names the local endpoint and region
    aws = commands(text, "aws")
    assert aws
    assert all(c[1:5] == ["--endpoint-url", ENDPOINT, "--region", "us-west-2"] for c in aws)
    assert ["s3", "cp", "./data.csv", "s3://pipeline-dev-ingest/incoming/data.csv"] in [
        c[5:] for c in aws
    ]
    assert any(c[5:7] == ["stepfunctions", "list-executions"] for c in aws)
    # And the schedule is fired through the control route with a POST
    curl = commands(text, "curl")
    fire = ENDPOINT + FIRE_RULE_PATH.format(rule="pipeline-dev-maintenance")
    assert ["curl", "-s", "-X", "POST", fire] in curl
    # And each API gets a GET and a POST; the key survives shell quoting intact
    rest = [c for c in curl if any(a.startswith("http://127.0.0.1:40001/dev") for a in c)]
    assert len(rest) == 2
    assert all("x-api-key: key with 'quote'" in c for c in rest)
    post = next(c for c in rest if "-d" in c)
    body = json.loads(post[post.index("-d") + 1])
    assert body["bucket"] == "pipeline-dev-ingest"
    http = [c for c in curl if any(a.startswith("http://127.0.0.1:40002") for a in c)]
    assert len(http) == 2
    assert not any("x-api-key" in " ".join(c) for c in http)
    # And the two POST examples use different keys (the second paste is not a conflict)
    keys = {json.loads(c[c.index("-d") + 1])["key"] for c in curl if "-d" in c}
    assert len(keys) == 2


def test_guide_without_a_workflow_leaves_out_the_executions() -> None:
    # Given an environment on the queue ingest path (no state machine)
    outputs = {k: v for k, v in OUTPUTS.items() if k != "state_machine_arn"}
    # When the guide is printed
    text = guide(FakeCloud(), deployment(outputs), [])  # type: ignore[arg-type]
    # Then it has no Step Functions command
    assert "stepfunctions" not in text


def test_a_missing_output_is_named_with_the_ones_there_are() -> None:
    # Given a deployment without the schedule output
    outputs = {k: v for k, v in OUTPUTS.items() if k != "schedule_rule_arn"}
    # Then asking for it names the stack, the output and what exists
    with pytest.raises(KeyError, match="pipeline-dev has no output 'schedule_rule_arn'"):
        guide(FakeCloud(), deployment(outputs), [])  # type: ignore[arg-type]


def test_wait_for_names_what_it_waited_for() -> None:
    # Given a probe that never succeeds
    # Then the timeout says what was awaited
    with pytest.raises(WaitTimeout, match=r"waiting for the record of x\.csv"):
        wait_for("the record of x.csv", lambda: None, timeout=0.0, interval=0.0)
    # And a probe that succeeds returns its value
    assert wait_for("anything", lambda: [1], timeout=0.0) == [1]


def test_first_error_picks_terraforms_error_line() -> None:
    # Given Terraform's output with boxed errors
    output = (
        "aws_s3_bucket.x: Creating...\n╷\n│ Error: creating S3 Bucket (x): BucketAlreadyExists\n"
        "│ \n│   with aws_s3_bucket.x,\n╵\n╷\n│ Error: second\n╵\n"
    )
    # Then the first error is the one shown, with a count of the others
    assert first_error(output) == "Error: creating S3 Bucket (x): BucketAlreadyExists (and 1 more)"
    # And output without an Error line gives its last line
    assert first_error("a\nb\n\n") == "b"
    assert last_line("Traceback\n  File x\nValueError: bad\n") == "ValueError: bad"


def test_a_failed_terraform_command_is_one_line_naming_the_log(tmp_path: Path) -> None:
    # Given a stack folder whose configuration Terraform cannot parse
    stack = tmp_path / "stacks" / "pipeline-dev"
    stack.mkdir(parents=True)
    (stack / "cdk.tf.json").write_text('{"resource": {"aws_s3_bucket": ')
    logs = tmp_path / "logs"
    logs.mkdir()
    run = _StackRun(StackWorkspace(stack, ENDPOINT), logs, None, None)
    # When it is deployed
    with pytest.raises(DeployError) as raised:
        run()
    # Then the error is one line naming the command, the stack and the log with everything
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith("terraform init of pipeline-dev failed: Error:")
    assert message.endswith(f"(full output: {logs / 'pipeline-dev.log'})")
    assert "Error" in (logs / "pipeline-dev.log").read_text()


def test_a_taken_port_is_one_error_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given something already listening on a port
    with socket.socket() as busy:
        busy.bind((LOOPBACK, 0))
        busy.listen()
        port = busy.getsockname()[1]
        # When make run is asked to use it
        code = main(["--port", str(port), "--run-dir", str(tmp_path / "run")])
    # Then it exits 1 with one error line that names the port, and no traceback
    err = capsys.readouterr().err
    assert code == 1
    assert err.strip().splitlines() == [
        f"error: port {port} on {LOOPBACK} is taken: stop what listens there or choose another port"
    ]


def test_an_invalid_port_is_refused_by_the_parser(capsys: pytest.CaptureFixture[str]) -> None:
    # Given a port out of range
    # Then argparse refuses it with its usage line, exit status 2
    with pytest.raises(SystemExit) as raised:
        main(["--port", "70000"])
    assert raised.value.code == 2
    assert "--port must be 0-65535" in capsys.readouterr().err


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_up_stops_on_sigterm_and_sigint(signum: signal.Signals) -> None:
    # Given make up waiting for a stop signal
    timer = threading.Timer(0.2, os.kill, (os.getpid(), signum))
    timer.start()
    # When the signal arrives, wait_for_stop returns (no KeyboardInterrupt, no exit)
    wait_for_stop()
    timer.join()
    # Then the previous handlers are back in place
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_the_module_runs_and_documents_its_options() -> None:
    # Given the command the Makefile runs
    result = subprocess.run(
        [sys.executable, "-m", "tools.run_local", "--help"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    # Then it starts and names the options the Makefile and the benchmark pass
    assert result.returncode == 0
    for option in ("--up", "--port", "--run-dir", "--key", "--plain-deploy"):
        assert option in result.stdout


def fake_provider(path: Path, body: str) -> Path:
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return path


def test_a_provider_server_hands_terraform_its_reattach_setting(tmp_path: Path) -> None:
    # Given a provider binary that announces where it listens, as `-debug` does, then waits
    value = '{"registry.terraform.io/hashicorp/aws":{"Protocol":"grpc","Pid":1}}'
    announcement = tmp_path / "announcement.txt"
    announcement.write_text(f"Provider started.\n\tTF_REATTACH_PROVIDERS='{value}'\n")
    binary = fake_provider(tmp_path / "provider", f"cat '{announcement}'; exec sleep 30")
    server = ProviderServer(binary, tmp_path / "provider.log")
    # When it is started and asked for Terraform's setting
    server.start(tmp_path)
    try:
        env = server.reattach_env()
    finally:
        server.stop()
    # Then Terraform gets the announced value as it was printed
    assert env == {"TF_REATTACH_PROVIDERS": value}


def test_a_provider_that_exits_is_one_error_naming_its_log(tmp_path: Path) -> None:
    # Given a provider binary that fails at start
    binary = fake_provider(tmp_path / "provider", "echo 'cannot start'; exit 3")
    server = ProviderServer(binary, tmp_path / "provider.log")
    server.start(tmp_path)
    # When Terraform's setting is asked for / Then the error names the code and the log
    with pytest.raises(
        DeployError, match=r"exited with code 3 before listening \(see .*provider\.log\)"
    ):
        server.reattach_env()
    server.stop()


def test_a_disabled_schedule_is_enabled_before_it_is_fired() -> None:
    # Given dev's schedule rule deployed disabled
    text = guide(FakeCloud(), deployment(OUTPUTS, "DISABLED"), [])  # type: ignore[arg-type]
    # Then the guide says so and prints the enable-rule command before the fire command
    aws = commands(text, "aws")
    enable = [c for c in aws if c[5:7] == ["events", "enable-rule"]]
    assert enable == [[*aws[0][:5], "events", "enable-rule", "--name", "pipeline-dev-maintenance"]]
    assert "DISABLED in this environment" in text
    assert text.index("enable-rule") < text.index("/fire")


def test_terraform_lines_reach_the_progress_with_their_stack(tmp_path: Path) -> None:
    # Given a stack Terraform cannot parse, and a listener for Terraform's lines
    stack = tmp_path / "stacks" / "pipeline-dev"
    stack.mkdir(parents=True)
    (stack / "cdk.tf.json").write_text('{"resource": {"aws_s3_bucket": ')
    logs = tmp_path / "logs"
    logs.mkdir()
    heard: list[tuple[str, str]] = []
    run = _StackRun(
        StackWorkspace(stack, ENDPOINT), logs, None, lambda name, line: heard.append((name, line))
    )
    # When it is deployed
    with pytest.raises(DeployError):
        run()
    # Then every line Terraform printed was handed over with the stack it came from
    assert heard
    assert {name for name, _ in heard} == {"pipeline-dev"}
    assert any("Error:" in line for _, line in heard)


def test_the_clock_tells_the_live_progress_each_phase() -> None:
    # Given a clock whose phases a listener hears
    heard: list[str | None] = []
    clock = Clock(on_phase=heard.append)
    # When two phases run and the clock stops
    clock.phase("synth")
    clock.phase("bootstrap apply")
    clock.stop()
    # Then the listener heard each phase start and the end (None: nothing is running)
    assert heard == ["synth", None, "bootstrap apply", None]

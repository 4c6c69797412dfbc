"""tools.local_invoke runs the packaged zip in an isolated child process against moto server."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from constructs_lib.code_archive import build_archive
from tools import local_invoke
from tools.build_layer import LAYER_DIR, REQUIREMENTS, is_current
from tools.local_invoke import InvokeResult, invoke_packaged

from .support import (
    HANDLER_ENVIRONMENT,
    PROJECT_ROOT,
    REGION,
    TABLE_NAME,
    create_records_table,
    load_event,
)

FUNCTION_ENVIRONMENT = {
    name: value
    for name, value in HANDLER_ENVIRONMENT.items()
    if not name.startswith("AWS_") and name != "POWERTOOLS_TRACE_DISABLED"
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def moto_server() -> Iterator[str]:
    """moto in server mode on loopback, as the emulator runs it."""
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def emulator_env(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """This process points at the emulator; local_invoke passes that on to the function."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    dynamodb = boto3.client("dynamodb", endpoint_url=moto_server, region_name=REGION)
    if TABLE_NAME in dynamodb.list_tables()["TableNames"]:
        dynamodb.delete_table(TableName=TABLE_NAME)
    create_records_table(dynamodb)
    return dynamodb


@pytest.fixture(scope="module")
def host_layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A layer of this machine's copies of the pinned libraries (make layer needs PyPI)."""
    python = tmp_path_factory.mktemp("layer") / "python"
    python.mkdir()
    names = re.findall(r"^([A-Za-z0-9_.-]+)(?:\[[^]]*\])?==", REQUIREMENTS.read_text(), re.M)
    modules = {
        "aws-lambda-powertools": "aws_lambda_powertools",
        "aws-xray-sdk": "aws_xray_sdk",
        "typing-extensions": "typing_extensions",
    }
    for name in names:
        spec = find_spec(modules.get(name, name))
        assert spec is not None, name
        assert spec.origin is not None, name
        source = Path(spec.origin)
        source = source.parent if spec.submodule_search_locations else source
        (python / source.name).symlink_to(source)
    shared = PROJECT_ROOT / "lambda_functions" / "common" / "pipeline_common"
    (python / "pipeline_common").symlink_to(shared)
    return python.parent


@pytest.fixture(scope="module")
def function_zip(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The function archive exactly as the infrastructure builds it."""
    out = tmp_path_factory.mktemp("zips")

    def _zip(function: str) -> Path:
        source = PROJECT_ROOT / "lambda_functions" / function
        return build_archive(source, out / f"{function}.zip", prefix=f"{function}/")

    return _zip


def _items(dynamodb: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = dynamodb.scan(TableName=TABLE_NAME)["Items"]
    return items


def test_packaged_processor_writes_to_the_emulator(
    emulator_env: Any, host_layer: Path, function_zip: Any
) -> None:
    # Given the processor zip, a layer and moto server on loopback holding the table
    # When local invoke runs it on the S3 put sample
    result = invoke_packaged(
        function_zip("processor"),
        load_event("s3-put"),
        environment=FUNCTION_ENVIRONMENT,
        layer_dir=host_layer,
        function_name="evpipe-dev-processor",
    )

    # Then the handler succeeded, printed Lambda-style logs and wrote the record to the server
    assert result.ok, result.logs
    assert result.response["records_created"] == 1
    assert f"START RequestId: {result.request_id}" in result.logs
    assert '"message":"Invocation received"' in result.logs
    assert '"function_name":"evpipe-dev-processor"' in result.logs
    assert "REPORT RequestId" in result.logs
    [item] = _items(emulator_env)
    assert item["object_key"]["S"] == "incoming/sample file (1).csv"


def test_packaged_api_answers_an_http_api_event(
    emulator_env: Any, host_layer: Path, function_zip: Any
) -> None:
    result = invoke_packaged(
        function_zip("api"),
        load_event("api-get-v2"),
        environment=FUNCTION_ENVIRONMENT,
        layer_dir=host_layer,
    )
    assert result.ok, result.logs
    assert result.response["statusCode"] == 200
    assert json.loads(result.response["body"])["items"] == []


def test_handler_exception_is_reported_like_lambda(
    emulator_env: Any, host_layer: Path, function_zip: Any
) -> None:
    # Given an event the processor cannot accept
    # When it is invoked locally
    result = invoke_packaged(
        function_zip("processor"), {}, environment=FUNCTION_ENVIRONMENT, layer_dir=host_layer
    )

    # Then the result carries Lambda's error shape and the traceback is in the logs
    assert not result.ok
    assert result.error_type == "MalformedEventError"
    assert result.payload()["errorType"] == "MalformedEventError"
    assert any("logic.py" in line or "handler.py" in line for line in result.stack_trace)
    assert "MalformedEventError" in result.logs


def test_nothing_outside_the_zip_layer_and_runtime_is_importable(
    emulator_env: Any, function_zip: Any
) -> None:
    # Given no layer, although this virtualenv has Powertools installed
    # When the processor is invoked locally
    result = invoke_packaged(function_zip("processor"), {}, environment=FUNCTION_ENVIRONMENT)

    # Then the import fails as it would in Lambda without the layer
    assert result.error_type == "Runtime.ImportModuleError"
    assert "No module named 'aws_lambda_powertools'" in (result.error_message or "")


def test_missing_environment_fails_at_init_naming_the_variable(
    emulator_env: Any, host_layer: Path, function_zip: Any
) -> None:
    environment = {k: v for k, v in FUNCTION_ENVIRONMENT.items() if k != "TABLE_NAME"}
    result = invoke_packaged(
        function_zip("processor"), {}, environment=environment, layer_dir=host_layer
    )
    assert result.error_type == "ConfigurationError"
    assert (
        result.error_message == "environment variable TABLE_NAME is required and must not be empty"
    )


@pytest.mark.skipif(not is_current(), reason="build/layer is missing or stale; run `make layer`")
def test_the_built_arm64_layer_imports_here(emulator_env: Any, function_zip: Any) -> None:
    # Given the real layer (wheels for arm64; wrapt falls back to pure Python on this host)
    result = invoke_packaged(
        function_zip("validate"),
        load_event("validate-input"),
        environment=FUNCTION_ENVIRONMENT,
        layer_dir=LAYER_DIR,
    )
    assert result.ok, result.logs
    assert result.response["valid"] is True


def test_cli_runs_a_zip_on_a_sample_and_prints_the_response(
    emulator_env: Any, host_layer: Path, function_zip: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the CLI pointed at a zip, a layer and the emulator
    args = ["--function", "processor", "--zip", str(function_zip("processor"))]
    args += ["--layer", str(host_layer), "--sample", "s3-put"]
    args += [f"--env={name}={value}" for name, value in FUNCTION_ENVIRONMENT.items()]

    # When it runs
    code = local_invoke.main(args)

    # Then it exits 0 after printing the logs and the response
    out = capsys.readouterr().out
    assert code == 0, out
    response = json.loads(out.split("--- response ---", 1)[1])
    assert response["records_created"] == 1
    assert len(_items(emulator_env)) == 1


def _fake_synth(root: Path, *, archive: Path, layer: Path) -> Path:
    stack = root / "pipeline-dev"
    (stack / "assets").mkdir(parents=True)
    (stack / "assets" / "processor.zip").write_bytes(archive.read_bytes())
    (stack / "assets" / "layer.zip").write_bytes(layer.read_bytes())
    document = {
        "resource": {
            "aws_lambda_function": {
                "processor_function_1A2B": {
                    "function_name": "evpipe-dev-processor",
                    "handler": "processor.handler.lambda_handler",
                    "filename": "assets/processor.zip",
                    "timeout": 45,
                    "memory_size": 512,
                    "layers": ["${aws_lambda_layer_version.dependencies_layer_3C4D.arn}"],
                    "environment": {
                        "variables": {
                            "TABLE_NAME": "${aws_dynamodb_table.records_table_5E6F.name}",
                            "RECORD_TTL_DAYS": "30",
                        }
                    },
                }
            },
            "aws_lambda_layer_version": {
                "dependencies_layer_3C4D": {"filename": "assets/layer.zip"}
            },
        }
    }
    (stack / "cdk.tf.json").write_text(json.dumps(document))
    return root


def test_synthesized_function_is_found_with_its_layer_and_settings(
    tmp_path: Path, function_zip: Any
) -> None:
    # Given a synthesized stack declaring the processor and its layer
    archive = function_zip("processor")
    synth = _fake_synth(tmp_path, archive=archive, layer=archive)

    # When the processor is looked up
    found = local_invoke.find_synthesized_function("processor", "pipeline-dev", synth)

    # Then its archive, layer, settings and literal variables come from the stack
    assert found.archive == synth / "pipeline-dev" / "assets" / "processor.zip"
    assert found.layer == synth / "pipeline-dev" / "assets" / "layer.zip"
    assert (found.function_name, found.timeout_seconds, found.memory_mb) == (
        "evpipe-dev-processor",
        45,
        512,
    )
    assert found.environment == {"RECORD_TTL_DAYS": "30"}
    assert found.unresolved == ("TABLE_NAME",)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--function", "processor", "--sample", "s3-put"], "no synth output at "),
        (
            ["--function", "reporter", "--stack", "pipeline-dev", "--sample", "s3-put"],
            "stack pipeline-dev has no function with handler reporter.*; it has processor",
        ),
        (
            ["--function", "processor", "--zip", "/nonexistent.zip", "--sample", "s3-put"],
            "/nonexistent.zip does not exist",
        ),
        (
            ["--function", "processor", "--event", "/nonexistent.json"],
            "event file /nonexistent.json does not exist",
        ),
    ],
)
def test_cli_errors_are_one_line_without_a_traceback(
    tmp_path: Path,
    function_zip: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    # Given a synth folder that holds only the pipeline-dev stack
    archive = function_zip("processor")
    synth = _fake_synth(tmp_path / "synth", archive=archive, layer=archive)
    if "--stack" not in args:
        args = [*args, "--stack", "pipeline-missing"]
    monkeypatch.setattr(local_invoke, "SYNTH_DIR", synth)

    # When the CLI runs
    code = local_invoke.main(args)

    # Then it exits 2 with one "error:" line naming the problem
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: "), err
    assert err.count("\n") == 1, err
    assert message in err
    assert "Traceback" not in err


def test_cli_reports_an_unreachable_endpoint_in_one_line(
    function_zip: Any,
    host_layer: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given AWS_ENDPOINT_URL names a loopback port nobody listens on
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{_free_port()}")
    args = ["--function", "processor", "--zip", str(function_zip("processor"))]

    # When the CLI runs
    code = local_invoke.main([*args, "--layer", str(host_layer), "--sample", "s3-put"])

    # Then it stops before invoking, with one line telling how to start the emulator
    err = capsys.readouterr().err
    assert code == 2
    assert "is unreachable" in err
    assert "make emulator" in err
    assert err.count("\n") == 1


def test_invoke_result_error_summary() -> None:
    failed = InvokeResult(
        ok=False,
        response=None,
        logs="",
        request_id="r",
        duration_ms=1.0,
        error_type="RecordBatchError",
        error_message="1 of 1 records failed",
    )
    assert failed.error == "RecordBatchError: 1 of 1 records failed"
    assert InvokeResult(ok=True, response=1, logs="", request_id="r", duration_ms=1.0).error is None

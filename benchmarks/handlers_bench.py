"""Handler benchmark: ``pipenv run python -m benchmarks.handlers_bench``.

Prints, from one run on in-process moto:

1. the processor's cost per S3 record divided by a bare ``put_item`` loop's cost per item,
   both measured in the same run, interleaved, on the same moto table (target <= 1.5);
2. the cold import time of each handler module in a fresh interpreter (target <= 500 ms),
   with bytecode cached as on a developer machine, and from the built layer without bytecode
   as Lambda imports it today (informational);
3. the size of each function zip as the infrastructure builds it (target <= 100 KB).

The handlers log at INFO as deployed; their output goes to /dev/null while timing.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
COMMON_DIR = PROJECT_ROOT / "lambda_functions" / "common"
FUNCTIONS = ("processor", "api", "validate", "notify")
TABLE_NAME = "bench-records"
REGION = "us-west-2"
ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": REGION,
    "TABLE_NAME": TABLE_NAME,
    "RECORD_TTL_DAYS": "30",
    "CORS_ALLOWED_ORIGINS": "https://console.example.com",
    "MAX_PAGE_SIZE": "100",
    "MAX_OBJECT_BYTES": "104857600",
    "TOPIC_ARN": f"arn:aws:sns:{REGION}:123456789012:bench",
    "POWERTOOLS_SERVICE_NAME": "bench",
    "POWERTOOLS_METRICS_NAMESPACE": "Bench",
    "POWERTOOLS_LOG_LEVEL": "INFO",
    "POWERTOOLS_TRACE_DISABLED": "true",
}
RATIO_TARGET = 1.5
IMPORT_TARGET_MS = 500.0
ZIP_TARGET_BYTES = 100 * 1024
# Short alternating rounds, so load from other processes hits both sides alike.
ROUNDS = 25
CALLS_PER_ROUND = 20
BATCH_RECORDS = 10
IMPORT_RUNS = 5


def main() -> int:
    os.environ.update(ENVIRONMENT)
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        os.environ.pop(name, None)
    sys.path[:0] = [str(PROJECT_ROOT), str(COMMON_DIR)]
    with _silenced_stdout():
        single, batch = measure_record_cost()
    report = print
    report(f"processor cost per S3 record / bare put_item ({ROUNDS} alternating rounds, medians)")
    report(
        f"  1-record events : {single[0]:7.3f} ms vs {single[1]:.3f} ms  ratio {single[2]:.2f}"
        f"  (target <= {RATIO_TARGET})"
    )
    report(
        f"  {BATCH_RECORDS}-record events: {batch[0]:7.3f} ms vs {batch[1]:.3f} ms  "
        f"ratio {batch[2]:.2f}"
    )
    report(
        "cold import of each handler module (fresh interpreter, best of "
        f"{IMPORT_RUNS}; target <= {IMPORT_TARGET_MS:.0f} ms)"
    )
    layer = PROJECT_ROOT / "build" / "layer" / "python"
    for function in FUNCTIONS:
        cached = cold_import_ms(function)
        line = f"  {function:<10} {cached:6.0f} ms with cached bytecode"
        if layer.is_dir():
            line += (
                f"   {cold_import_ms(function, layer=layer):6.0f} ms from build/layer, no bytecode"
            )
        report(line)
    report(f"function zip sizes (target <= {ZIP_TARGET_BYTES // 1024} KB)")
    for function, size in zip_sizes().items():
        report(f"  {function:<10} {size / 1024:6.1f} KB")
    return 0


def measure_record_cost() -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    """Median ms per record for the processor and a bare put_item loop, and their ratio."""
    import boto3
    from boto3.dynamodb.types import TypeSerializer
    from moto import mock_aws

    with mock_aws():
        from lambda_functions.processor import handler as processor

        _create_table(boto3.client("dynamodb", region_name=REGION))
        client = processor.STORE._client  # the same client and retry config as the handler
        serializer = TypeSerializer()
        template = _sample_item()
        counter = iter(range(10**9))

        def bare_put() -> None:
            item = dict(template, sk=f"OBJECT#bare/{next(counter)}")
            client.put_item(
                TableName=TABLE_NAME,
                Item={name: serializer.serialize(value) for name, value in item.items()},
            )

        def processor_event(records: int) -> Callable[[], None]:
            def invoke() -> None:
                event = {"Records": [_s3_record(next(counter)) for _ in range(records)]}
                processor.lambda_handler(event, _Context())

            return invoke

        single = _compare(processor_event(1), bare_put, records_per_call=1)
        batch = _compare(processor_event(BATCH_RECORDS), bare_put, records_per_call=BATCH_RECORDS)
    return single, batch


def _compare(
    candidate: Callable[[], None], baseline: Callable[[], None], *, records_per_call: int
) -> tuple[float, float, float]:
    """Per-record medians and the median of per-round ratios (rounds alternate the two)."""
    for _ in range(10):  # warm caches, moto's and ours
        candidate()
        baseline()
    candidate_ms, baseline_ms, ratios = [], [], []
    calls = max(1, CALLS_PER_ROUND // records_per_call)
    for _ in range(ROUNDS):
        candidate_ms.append(_time_per_call(candidate, calls) / records_per_call)
        baseline_ms.append(_time_per_call(baseline, calls * records_per_call))
        ratios.append(candidate_ms[-1] / baseline_ms[-1])
    return (
        statistics.median(candidate_ms),
        statistics.median(baseline_ms),
        statistics.median(ratios),
    )


def _time_per_call(function: Callable[[], None], calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        function()
    return (time.perf_counter() - started) * 1000 / calls


def cold_import_ms(function: str, *, layer: Path | None = None) -> float:
    """Fastest of several imports of ``<function>.handler`` in a new interpreter.

    The minimum, as timeit reports, is the figure least disturbed by other processes;
    interpreter startup is excluded.
    """
    code = (
        "import time; started = time.perf_counter(); "
        f"import {function}.handler; "
        "print((time.perf_counter() - started) * 1000)"
    )
    env = {**os.environ, **ENVIRONMENT}
    if layer is None:  # the venv, bytecode cached
        command = [sys.executable, "-c", code]
        env["PYTHONPATH"] = os.pathsep.join(
            [str(PROJECT_ROOT / "lambda_functions"), str(COMMON_DIR)]
        )
    else:  # like Lambda: our code and the layer only, no site-packages, no bytecode written
        command = [sys.executable, "-S", "-B", "-c", code]
        env["PYTHONPATH"] = os.pathsep.join(
            [str(PROJECT_ROOT / "lambda_functions"), str(layer), _runtime_path()]
        )
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    samples = []
    for _ in range(IMPORT_RUNS):
        completed = subprocess.run(
            command, env=env, capture_output=True, text=True, check=True, cwd=tempfile.gettempdir()
        )
        samples.append(float(completed.stdout.strip().splitlines()[-1]))
    return min(samples)


def _runtime_path() -> str:
    """Where boto3 and botocore live, standing in for the Lambda runtime's own copies."""
    import botocore

    return str(Path(botocore.__file__).parent.parent)


def zip_sizes() -> dict[str, int]:
    """Each function archive as constructs_lib builds it for Terraform."""
    from constructs_lib.code_archive import build_archive

    sizes = {}
    with tempfile.TemporaryDirectory() as out:
        for function in FUNCTIONS:
            source = PROJECT_ROOT / "lambda_functions" / function
            archive = build_archive(source, Path(out) / f"{function}.zip", prefix=f"{function}/")
            sizes[function] = archive.stat().st_size
    return sizes


class _Context:
    function_name = "bench-processor"
    function_version = "$LATEST"
    memory_limit_in_mb = 256
    invoked_function_arn = f"arn:aws:lambda:{REGION}:123456789012:function:bench-processor"
    aws_request_id = "00000000-0000-0000-0000-000000000000"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def _create_table(client: Any) -> None:
    client.create_table(
        TableName=TABLE_NAME,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )


def _s3_record(n: int) -> dict[str, Any]:
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": REGION,
        "eventTime": "2024-05-01T12:30:45.123Z",
        "eventName": "ObjectCreated:Put",
        "responseElements": {"x-amz-request-id": f"REQ{n:013d}"},
        "s3": {
            "s3SchemaVersion": "1.0",
            "bucket": {"name": "bench-ingest", "arn": "arn:aws:s3:::bench-ingest"},
            "object": {
                "key": f"incoming/file+{n}.csv",
                "size": 1024,
                "eTag": "d41d8cd98f00b204e9800998ecf8427e",
                "sequencer": f"{n:018X}",
            },
        },
    }


def _sample_item() -> dict[str, Any]:
    """An item of the same shape and size as the processor writes."""
    return {
        "pk": "DATE#2024-05-01",
        "bucket": "bench-ingest",
        "object_key": "incoming/file 1.csv",
        "size": 1024,
        "etag": "d41d8cd98f00b204e9800998ecf8427e",
        "sequencer": "000000000000000001",
        "event_name": "ObjectCreated:Put",
        "event_time": "2024-05-01T12:30:45.123Z",
        "source": "s3",
        "s3_request_id": "REQ0000000000001",
        "recorded_at": "2024-05-01T12:30:46.000Z",
        "expires_at": 1717245046,
    }


@contextmanager
def _silenced_stdout() -> Iterator[None]:
    """Send fd 1 (the handlers' logs and metrics) to /dev/null while timing."""
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(devnull)
        os.close(saved)


if __name__ == "__main__":
    sys.exit(main())

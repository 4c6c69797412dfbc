"""Fixtures for handler tests: in-process moto, a fake Lambda context, sample events, logs.

Handler modules read their environment and build clients at import, as they do in Lambda.
``handler_env`` sets that environment for one test module at a time (so nothing leaks into
other test folders); moto is imported first so clients built at import are intercepted.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from .support import (
    HANDLER_ENVIRONMENT,
    NEVER_INHERITED,
    PROJECT_ROOT,
    REGION,
    FakeLambdaContext,
    LogCapture,
    create_records_table,
    create_request_log_table,
)

# The layer ships pipeline_common at its root; tests find it in the source tree.
_COMMON = str(PROJECT_ROOT / "lambda_functions" / "common")
if _COMMON not in sys.path:
    sys.path.insert(0, _COMMON)


@pytest.fixture(scope="module")
def handler_env() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        for name in NEVER_INHERITED:
            patch.delenv(name, raising=False)
        for name, value in HANDLER_ENVIRONMENT.items():
            patch.setenv(name, value)
        yield


@pytest.fixture(scope="module")
def dynamodb_client(handler_env: None) -> Any:
    """Built once per module: client creation costs more than a whole moto test."""
    return boto3.client("dynamodb", region_name=REGION)


@pytest.fixture
def aws(dynamodb_client: Any) -> Iterator[None]:
    """A fresh in-process moto account holding the records and request log tables."""
    with mock_aws():
        create_records_table(dynamodb_client)
        create_request_log_table(dynamodb_client)
        yield


@pytest.fixture
def dynamodb(aws: None, dynamodb_client: Any) -> Any:
    return dynamodb_client


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


@pytest.fixture
def capture_logs() -> Iterator[Any]:
    """Call with a handler module; its logger writes into the returned LogCapture."""
    restores: list[tuple[Any, Any]] = []

    def _capture(module: ModuleType) -> LogCapture:
        capture = LogCapture()
        handler = module.logger.registered_handler
        restores.append((handler, handler.setStream(capture.stream)))
        return capture

    yield _capture
    for handler, previous in reversed(restores):
        handler.setStream(previous)

"""A Powertools Tracer that loads the X-Ray SDK only when traces are recorded.

``Tracer()`` always imports ``aws_xray_sdk.core``, whose global recorder builds a botocore
X-Ray client at import: about 300 ms of cold start here even when tracing is off. When the
tracer is off (``POWERTOOLS_TRACE_DISABLED``, or outside Lambda as in tests and local invoke),
it gets a provider that records nothing instead; with Lambda's active tracing it is the
ordinary X-Ray provider.
"""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator, Generator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from aws_lambda_powertools import Tracer
from aws_lambda_powertools.tracing.base import BaseProvider, BaseSegment

_TRUTHY = frozenset({"1", "true", "yes", "on", "y", "t"})


def tracing_disabled(environ: Mapping[str, str] = os.environ) -> bool:
    """Powertools' own rule: off when asked, outside Lambda, or under SAM/Chalice local."""
    if environ.get("POWERTOOLS_TRACE_DISABLED", "false").strip().lower() in _TRUTHY:
        return True
    in_lambda = bool(environ.get("LAMBDA_TASK_ROOT"))
    emulated = bool(environ.get("AWS_SAM_LOCAL") or environ.get("AWS_CHALICE_CLI_MODE"))
    return not in_lambda or emulated


def build_tracer(environ: Mapping[str, str] = os.environ) -> Tracer:
    if tracing_disabled(environ):
        return Tracer(disabled=True, provider=_NoTraceProvider())
    return Tracer()


class _NoSegment(BaseSegment):
    def close(self, end_time: int | None = None) -> None:
        return None

    def add_subsegment(self, subsegment: Any) -> None:
        return None

    def remove_subsegment(self, subsegment: Any) -> None:
        return None

    def put_annotation(self, key: str, value: Any) -> None:
        return None

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        return None

    def add_exception(self, exception: BaseException, stack: Any, remote: bool = False) -> None:
        return None


class _NoTraceProvider(BaseProvider):
    @contextmanager
    def in_subsegment(
        self, name: str | None = None, **kwargs: Any
    ) -> Generator[BaseSegment, None, None]:
        yield _NoSegment()

    @asynccontextmanager
    async def in_subsegment_async(
        self, name: str | None = None, **kwargs: Any
    ) -> AsyncGenerator[BaseSegment, None]:
        yield _NoSegment()

    def put_annotation(self, key: str, value: Any) -> None:
        return None

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        return None

    def patch(self, modules: Sequence[str]) -> None:
        return None

    def patch_all(self) -> None:
        return None

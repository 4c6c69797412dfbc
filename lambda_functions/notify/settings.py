"""The notify function's environment, parsed once per container (NOTIFY_ENVIRONMENT)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pipeline_common.environment import TOPIC_ARN


@dataclass(frozen=True, kw_only=True)
class NotifySettings:
    topic_arn: str


def load_settings(environ: Mapping[str, str]) -> NotifySettings:
    return NotifySettings(topic_arn=TOPIC_ARN.read(environ))

"""The notify function's environment, parsed once per container."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from pipeline_common.settings import ConfigurationError, required_text

# A standard topic: FIFO topics also need a message group id, which this function never sends.
_TOPIC_ARN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$")


@dataclass(frozen=True, kw_only=True)
class NotifySettings:
    topic_arn: str


def load_settings(environ: Mapping[str, str]) -> NotifySettings:
    topic_arn = required_text(environ, "TOPIC_ARN")
    if not _TOPIC_ARN.fullmatch(topic_arn):
        raise ConfigurationError(
            f"environment variable TOPIC_ARN must be a standard SNS topic ARN, got {topic_arn!r}"
        )
    return NotifySettings(topic_arn=topic_arn)

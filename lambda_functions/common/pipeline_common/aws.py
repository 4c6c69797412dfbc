"""botocore settings every function's clients share."""

from __future__ import annotations

from botocore.config import Config

# Standard mode retries throttling (ProvisionedThroughputExceeded, Throttling...) and
# transient 5xx errors with jittered exponential backoff; five attempts in all ride out a burst
# and still leave a 30 s function time to report the failure.
MAX_ATTEMPTS = 5
# Fail fast on an unreachable endpoint rather than hang until the function times out.
CONNECT_TIMEOUT_SECONDS = 3
READ_TIMEOUT_SECONDS = 10


def client_config() -> Config:
    return Config(
        retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUT_SECONDS,
        tcp_keepalive=True,
    )

"""Where the local cloud listens and the credentials its clients use: one place for both."""

from __future__ import annotations

import socket
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
LOOPBACK = "127.0.0.1"
DEFAULT_REGION = "us-west-2"
# moto accepts any credentials; these are what every client of the local cloud uses.
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}


def client_env(endpoint_url: str, region: str = DEFAULT_REGION) -> dict[str, str]:
    """Environment that points boto3, the AWS CLI and Terraform at a local cloud."""
    return {
        **CREDENTIALS,
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        "AWS_ENDPOINT_URL": endpoint_url,
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def port_is_free(port: int) -> bool:
    """Whether a server could listen on ``LOOPBACK:port`` now (nothing else listens there)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return False
        return True

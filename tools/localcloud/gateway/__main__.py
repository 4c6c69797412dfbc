"""Serve the APIs deployed on the local cloud until Ctrl-C.

    pipenv run python -m tools.localcloud.gateway --endpoint-url http://127.0.0.1:4566
    pipenv run python -m tools.localcloud.gateway --endpoint-url http://127.0.0.1:4566 \\
        --port 8080 --unverified-auth deny

Prints one line per served API stage (kind, name, URL) and a curl example for each.
"""

from __future__ import annotations

import argparse
import logging
import shlex
import signal
import sys
import threading
from collections.abc import Sequence

from tools.localcloud.gateway.server import DEFAULT_REGION, LOOPBACK, Gateway, ServedApi


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.localcloud.gateway", description=__doc__)
    parser.add_argument("--endpoint-url", required=True, help="the local cloud (moto) endpoint")
    parser.add_argument("--region", default=DEFAULT_REGION)
    parser.add_argument("--host", default=LOOPBACK, help="address to bind (default loopback)")
    parser.add_argument(
        "--port", type=int, default=None, help="first port; one per API stage (default: free)"
    )
    parser.add_argument(
        "--unverified-auth",
        choices=("warn", "deny"),
        default="warn",
        help="routes needing SigV4 or an authorizer: let through with a warning, or answer 403",
    )
    parser.add_argument("--quiet", action="store_true", help="log only warnings, not every request")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
    )
    gateway = Gateway(
        args.endpoint_url,
        args.region,
        host=args.host,
        base_port=args.port,
        unverified_auth=args.unverified_auth,
    )
    served = gateway.start()
    if not served:
        print(f"no deployed REST or HTTP API found at {args.endpoint_url}", file=sys.stderr)
        return 1
    for api in served:
        print(f"{api.kind:<4} {api.name}  {api.url}")
        print(f"     {curl_example(api)}")
    print("Ctrl-C stops the gateway.", flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        stopped.wait()
    except KeyboardInterrupt:
        pass
    finally:
        gateway.stop()
    return 0


def curl_example(api: ServedApi) -> str:
    """A ready-to-paste request against the served stage (the API key when one is needed)."""
    command = ["curl", "-i"]
    if api.api_key is not None:
        command += ["-H", f"x-api-key: {api.api_key}"]
    readable = [
        key.partition(" ")[2] for key in api.routes if key.startswith("GET /") and "{" not in key
    ]
    return shlex.join([*command, f"{api.url}{readable[0] if readable else '/'}"])


if __name__ == "__main__":
    sys.exit(main())

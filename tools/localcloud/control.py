"""The local cloud's own HTTP routes, beside moto's, for what AWS does on a clock.

    curl -s -X POST http://127.0.0.1:4566/_localcloud/events/rules/<rule>/fire

fires a scheduled EventBridge rule now (AWS fires it on its schedule; moto never does), so a
user of `make up` and the tests can run the scheduled maintenance without waiting an hour.
Everything not under ``/_localcloud/`` goes to moto unchanged.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import Any

PREFIX = "/_localcloud/"
FIRE_RULE_PATH = "/_localcloud/events/rules/{rule}/fire"
_FIRE_RULE = re.compile(r"^/_localcloud/events/rules/(?P<rule>[\w.\-]{1,64})/fire$")

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
FireRule = Callable[[str, str], str]


def with_control_routes(app: WsgiApp, fire_rule: FireRule) -> WsgiApp:
    """``app`` (moto's WSGI application) with the ``/_localcloud/`` routes in front."""

    def answer(
        start_response: Callable[..., Any], status: str, body: dict[str, Any]
    ) -> list[bytes]:
        data = json.dumps(body).encode()
        start_response(
            status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
        )
        return [data]

    def control(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path: str = environ.get("PATH_INFO", "")
        if not path.startswith(PREFIX):
            return app(environ, start_response)
        matched = _FIRE_RULE.match(path)
        if matched is None:
            return answer(start_response, "404 Not Found", {"message": f"no route {path}"})
        if environ.get("REQUEST_METHOD") != "POST":
            return answer(start_response, "405 Method Not Allowed", {"message": "use POST"})
        query = dict(
            part.split("=", 1) for part in environ.get("QUERY_STRING", "").split("&") if "=" in part
        )
        rule, bus = matched["rule"], query.get("bus", "default")
        try:
            event_id = fire_rule(rule, bus)
        except Exception as error:  # moto's ResourceNotFound, worded for the caller
            return answer(
                start_response,
                "404 Not Found",
                {"message": f"cannot fire rule {rule!r} on bus {bus!r}: {error}"},
            )
        return answer(start_response, "200 OK", {"rule": rule, "bus": bus, "event_id": event_id})

    return control

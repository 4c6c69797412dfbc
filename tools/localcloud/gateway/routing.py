"""Which deployed route serves a request path, with API Gateway's precedence.

A literal segment beats a ``{parameter}``, which beats a greedy ``{proxy+}``; an exact
method beats ``ANY``; an HTTP API falls back to its ``$default`` route.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import unquote

from tools.localcloud.gateway.deployed import HTTP_DEFAULT_ROUTE, Route

ANY_METHOD = "ANY"
_LITERAL, _PARAMETER, _GREEDY = 0, 1, 2


@dataclass(frozen=True)
class Match:
    route: Route
    path_parameters: dict[str, str]


def match_path(template: str, path: str) -> tuple[tuple[int, ...], dict[str, str]] | None:
    """(precedence, parameters) when ``path`` fits ``template``; lower precedence wins."""
    names = template.split("/")[1:]
    values = path.split("/")[1:]
    rank: list[int] = []
    parameters: dict[str, str] = {}
    for index, name in enumerate(names):
        if name.startswith("{") and name.endswith("+}"):
            rest = values[index:]
            if not rest or rest == [""]:
                return None
            parameters[name[1:-2]] = unquote("/".join(rest))
            rank.append(_GREEDY)
            return tuple(rank), parameters
        if index >= len(values):
            return None
        if name.startswith("{") and name.endswith("}"):
            if not values[index]:
                return None
            parameters[name[1:-1]] = unquote(values[index])
            rank.append(_PARAMETER)
        elif name == values[index]:
            rank.append(_LITERAL)
        else:
            return None
    if len(values) != len(names):
        return None
    return tuple(rank), parameters


def find_route(routes: Sequence[Route], method: str, path: str) -> Match | None:
    """The route serving ``method path``, or None (the caller answers 403/404 like AWS)."""
    best: tuple[tuple[tuple[int, ...], int], Match] | None = None
    for route in routes:
        if route.method == HTTP_DEFAULT_ROUTE or route.method not in (method, ANY_METHOD):
            continue
        found = match_path(route.path, path or "/")
        if found is None:
            continue
        rank = (found[0], 0 if route.method == method else 1)
        if best is None or rank < best[0]:
            best = (rank, Match(route, found[1]))
    if best is not None:
        return best[1]
    default = next((route for route in routes if route.method == HTTP_DEFAULT_ROUTE), None)
    return Match(default, {}) if default is not None else None

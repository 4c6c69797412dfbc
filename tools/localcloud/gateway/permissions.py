"""Whether the function's resource policy lets API Gateway invoke it for a route.

API Gateway invokes a Lambda integration only when the function's policy allows
``lambda:InvokeFunction`` to ``apigateway.amazonaws.com`` for the calling route's
execute-api ARN (``arn:aws:execute-api:<region>:<account>:<api>/<stage>/<METHOD>/<path>``);
otherwise the client gets a 500. The gateway reads each function's policy once at start
(``GetPolicy``) and applies the same check, so a missing or mis-scoped ``aws_lambda_permission``
fails locally as it would on AWS. The path is tried both as the route's template and as
requested, and the method as requested and as routed (ANY), because permissions are commonly
written either way; any of them matching is enough.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from tools.localcloud.gateway.deployed import DeployedApi

API_GATEWAY_PRINCIPAL = "apigateway.amazonaws.com"
INVOKE_ACTIONS = frozenset({"lambda:InvokeFunction", "lambda:*", "*"})
_SOURCE_ARN_OPERATORS = ("arnlike", "arnequals", "stringlike", "stringequals")


def source_arns(api: DeployedApi, methods: Iterable[str], paths: Iterable[str]) -> list[str]:
    """The execute-api ARNs a request may be invoked under, one per method and path."""
    prefix = f"arn:aws:execute-api:{api.region}:{api.account_id}:{api.api_id}/{api.stage}"
    return [f"{prefix}/{method}{path}" for method in dict.fromkeys(methods) for path in paths]


def read_policy(lambda_client: Any, function_arn: str) -> Mapping[str, Any] | None:
    """The function's resource policy, or None when it has none (or the function is gone)."""
    try:
        found = lambda_client.get_policy(FunctionName=function_arn)
    except lambda_client.exceptions.ResourceNotFoundException:
        return None
    policy: Mapping[str, Any] = json.loads(found["Policy"])
    return policy


def allows(
    policy: Mapping[str, Any] | None, *, account_id: str, source_arns: Iterable[str]
) -> bool:
    """True when an Allow statement lets API Gateway invoke for one of ``source_arns``."""
    if policy is None:
        return False
    candidates = list(source_arns)
    statements = policy.get("Statement") or []
    if isinstance(statements, dict):
        statements = [statements]
    return any(
        _allows(statement, account_id, candidates)
        for statement in statements
        if isinstance(statement, dict)
    )


def _allows(statement: Mapping[str, Any], account_id: str, candidates: list[str]) -> bool:
    if statement.get("Effect") != "Allow":
        return False
    if not INVOKE_ACTIONS & set(_as_list(statement.get("Action"))):
        return False
    principal = statement.get("Principal")
    services = _as_list(principal.get("Service")) if isinstance(principal, dict) else []
    if principal != "*" and API_GATEWAY_PRINCIPAL not in services:
        return False
    patterns: list[str] = []
    for operator, conditions in (statement.get("Condition") or {}).items():
        for key, value in (conditions or {}).items():
            if key.lower() == "aws:sourceaccount" and account_id not in _as_list(value):
                return False
            if key.lower() == "aws:sourcearn" and operator.lower() in _SOURCE_ARN_OPERATORS:
                patterns += _as_list(value)
    if not patterns:
        return True
    return any(_arn_like(pattern, arn) for pattern in patterns for arn in candidates)


def _arn_like(pattern: str, arn: str) -> bool:
    """IAM's ArnLike: * is any run of characters, ? one character, all else literal."""
    regex = "".join(
        ".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern
    )
    return re.fullmatch(regex, arn) is not None


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(item) for item in value] if isinstance(value, list) else [str(value)]

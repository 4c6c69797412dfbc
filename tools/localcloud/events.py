"""Extension 4: EventBridge rule targets for Lambda and Step Functions; scheduled rules fired now.

What moto 5.2.5 lacks: ``Rule.send_to_targets`` delivers only to SQS, CloudWatch Logs,
archives, event buses and API destinations (a Lambda or Step Functions target raises
``NotImplementedError``, which the S3 path swallows); it ignores a target's ``Input`` and
``InputPath`` and its ``DeadLetterConfig``; a rule with only a schedule matches every event
put on its bus; disabled rules still deliver; schedules never fire. What this adds, in one
replacement of ``Rule.send_to_targets``:

- the target's input as EventBridge builds it: ``Input`` (constant JSON), ``InputPath`` or
  ``InputTransformer``, else the event itself with ``time`` as an ISO timestamp;
- Lambda targets: an asynchronous invocation through :mod:`tools.localcloud.async_invoke`
  (the function's retries and destinations apply);
- Step Functions targets: ``StartExecution`` of the state machine (the target's
  ``RoleArn`` is accepted as AWS requires, not enforced: moto has no IAM evaluation);
- SQS targets delivered here too, with the same input rules; other targets go to moto;
- a target that cannot be reached (missing function, state machine or queue) sends the
  event to the target's ``DeadLetterConfig`` queue with EventBridge's error attributes;
- scheduled rules deliver only when fired, and :func:`fire_rule` fires one now with
  EventBridge's "Scheduled Event".
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast

from moto.events.models import Rule, events_backends
from moto.events.utils import EventTemplateParser

# Target kinds moto itself delivers; everything else is handled here.
_MOTO_DELIVERED = ("logs", "events")


def _iso(value: Any) -> Any:
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(float(value), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value


def delivered_event(event: dict[str, Any]) -> dict[str, Any]:
    """The event as a target receives it: ISO ``time``, no moto bookkeeping."""
    out = {k: v for k, v in event.items() if k not in ("ingestion-time", "replay-name")}
    if "time" in out:
        out["time"] = _iso(out["time"])
    return out


def target_input(target: dict[str, Any], event: dict[str, Any]) -> Any:
    """What EventBridge sends a target: Input, InputPath, InputTransformer, or the event."""
    plain = delivered_event(event)
    if "Input" in target and target["Input"] is not None:
        return json.loads(target["Input"])
    if target.get("InputPath"):
        from jsonpath_ng.ext import parse  # type: ignore[attr-defined]

        matches = parse(target["InputPath"]).find(plain)
        return matches[0].value if matches else None
    transformer = target.get("InputTransformer")
    if transformer:
        if not transformer.get("InputTemplate"):  # moto's defaults for an empty template
            return EventTemplateParser.parse(
                input_template=transformer.get("InputTemplate"),
                input_paths_map=transformer.get("InputPathsMap", {}),
                event=cast(Any, {**plain, "ingestion-time": event.get("ingestion-time", 0)}),
            )
        return render_template(
            transformer["InputTemplate"],
            transformer.get("InputPathsMap") or {},
            {**plain, "ingestion-time": _iso(event.get("ingestion-time", 0))},
        )
    return plain


_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.\-]+)>")
_MISSING = object()


def render_template(template: str, paths: dict[str, str], event: dict[str, Any]) -> Any:
    """An InputTemplate filled as EventBridge fills it.

    A placeholder standing as a JSON value (``"key": <key>``) receives the value as JSON,
    strings quoted (moto 5.2.5 inserts strings bare, which is not JSON); one inside a JSON
    string (``"at <time>"``) receives the text. A path that matches nothing gives ``null``
    (or nothing inside a string). A template that is not a JSON object or array is text.
    """
    from jsonpath_ng.ext import parse  # type: ignore[attr-defined]

    values: dict[str, Any] = {
        "aws.events.event.json": event,
        "aws.events.event.ingestion-time": event.get("ingestion-time"),
    }
    for name, path in paths.items():
        matches = parse(path).find(event)
        values[name] = matches[0].value if matches else _MISSING
    out: list[str] = []
    in_string, index = False, 0
    while index < len(template):
        char = template[index]
        matched = _PLACEHOLDER.match(template, index) if char == "<" else None
        if matched is not None and matched[1] in values:
            value = values[matched[1]]
            if in_string:
                text = (
                    ""
                    if value is _MISSING
                    else value
                    if isinstance(value, str)
                    else json.dumps(value)
                )
                out.append(json.dumps(text)[1:-1])
            else:
                out.append("null" if value is _MISSING else json.dumps(value))
            index = matched.end()
            continue
        if in_string and char == "\\":
            out.append(template[index : index + 2])
            index += 2
            continue
        if char == '"':
            in_string = not in_string
        out.append(char)
        index += 1
    rendered = "".join(out)
    if template.lstrip().startswith(("{", "[")):
        return json.loads(rendered)
    return rendered


def _dead_letter(rule: Rule, target: dict[str, Any], event: Any, error: Exception) -> None:
    arn = (target.get("DeadLetterConfig") or {}).get("Arn")
    if not arn:
        print(f"localcloud: rule {rule.name} could not deliver to {target['Arn']}: {error}")
        return
    from moto.sqs.models import sqs_backends

    parts = arn.split(":")
    code = getattr(error, "error_type", type(error).__name__)
    attributes = {
        "RULE_ARN": rule.arn,
        "TARGET_ARN": target["Arn"],
        "ERROR_CODE": str(code),
        "ERROR_MESSAGE": str(getattr(error, "message", error))[:1000],
    }
    sqs_backends[parts[4]][parts[3]].send_message(
        queue_name=parts[5],
        message_body=json.dumps(event),
        message_attributes={
            name: {"DataType": "String", "StringValue": value} for name, value in attributes.items()
        },
    )


def _start_execution(state_machine_arn: str, payload: Any) -> None:
    from moto.stepfunctions.responses import get_backend

    parts = state_machine_arn.split(":")
    get_backend(parts[4], parts[3]).start_execution(
        state_machine_arn, str(uuid.uuid4()), json.dumps(payload)
    )


def _send_sqs(queue_arn: str, payload: Any, target: dict[str, Any]) -> None:
    from moto.sqs.models import sqs_backends

    parts = queue_arn.split(":")
    group_id = (target.get("SqsParameters") or {}).get("MessageGroupId")
    body = payload if isinstance(payload, str) else json.dumps(payload)
    sqs_backends[parts[4]][parts[3]].send_message(
        queue_name=parts[5], message_body=body, group_id=group_id
    )


def install(submit_lambda: Callable[[str, Any], str]) -> None:
    """Replace ``Rule.send_to_targets`` (once per process; later calls swap the invoker)."""
    _ACTIVE["submit_lambda"] = submit_lambda
    if getattr(Rule, "_localcloud_installed", False):
        return
    original = Rule.send_to_targets

    def send_to_targets(
        self: Rule,
        original_event: dict[str, Any],
        transform_input: bool = True,
        *,
        scheduled: bool = False,
    ) -> None:
        if self.state == "DISABLED" or (self.scheduled_expression and not scheduled):
            return
        if not scheduled and not self.event_pattern.matches_event(cast(Any, original_event)):
            return
        for target in list(self.targets):
            service = target["Arn"].split(":")[2]
            if service in _MOTO_DELIVERED:
                clone = copy.copy(self)
                clone.targets = [target]
                original(clone, cast(Any, original_event), transform_input)
                continue
            payload = target_input(target, original_event)
            try:
                if service == "lambda":
                    _ACTIVE["submit_lambda"](target["Arn"], payload)
                elif service == "states":
                    _start_execution(target["Arn"], payload)
                elif service == "sqs":
                    _send_sqs(target["Arn"], payload, target)
                else:
                    raise NotImplementedError(f"targets of service {service}")
            except Exception as error:  # EventBridge reports delivery failures to the DLQ
                _dead_letter(self, target, payload, error)

    Rule.send_to_targets = send_to_targets  # type: ignore[method-assign,assignment]
    Rule._localcloud_installed = True  # type: ignore[attr-defined]


def fire_rule(account_id: str, region: str, rule_name: str, bus: str = "default") -> str:
    """Fire a scheduled rule now, as its schedule would; returns the event id."""
    backend = events_backends[account_id][region]
    rule = backend.describe_rule(rule_name, bus)
    event_id = str(uuid.uuid4())
    event = {
        "version": "0",
        "id": event_id,
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account_id,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [rule.arn],
        "detail": {},
    }
    rule.send_to_targets(cast(Any, event), scheduled=True)  # type: ignore[call-arg]
    return event_id


_ACTIVE: dict[str, Any] = {}

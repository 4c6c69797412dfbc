"""Terraform's plan JSON (``terraform show -json``) as a typed summary of resource changes.

Pure functions on the parsed JSON: no Terraform, no files. ``summarize_plan`` gives every
resource's address and action (create, update, replace, delete, read, no-op), the address it
moved from, the attributes that change (sensitive values masked, unknown ones marked) and the
attributes forcing a replacement. The review's Markdown and its stateful-loss gate are
computed from it, and tools.ci.drift_check reads the same attribute changes.

Terraform's own ``terraform show`` text has all of this too, but only as text meant for a
terminal; the JSON is the documented, stable interface (format_version 1.x).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

# Resource types whose destruction loses data; a plan that destroys or replaces one needs
# --allow-stateful-replace. Replacing creates a new, empty resource, so it counts as a loss.
STATEFUL_RESOURCE_TYPES: Mapping[str, str] = MappingProxyType(
    {
        "aws_dynamodb_table": "items (records, or Terraform's state locks) go with the table",
        "aws_s3_bucket": "objects and their versions (ingested data, Terraform state) go with it",
        "aws_kms_key": "anything encrypted under the key is unreadable once deletion completes",
        "aws_sqs_queue": "messages waiting in the queue (failed events in a DLQ) are lost",
        "aws_cloudwatch_log_group": "retained log events, the audit trail, are deleted with it",
        "aws_sfn_state_machine": "execution history of the workflow is deleted with it",
    }
)
# Terraform's words for values it will not print or does not know yet.
SENSITIVE_VALUE = "(sensitive value)"
UNKNOWN_VALUE = "(known after apply)"
# A value longer than this is cut; the full plan text keeps it whole.
MAX_VALUE_CHARS = 160
# Arguments that name the remote object: a delete and a create of one type sharing one of
# these values is most likely a renamed construct id that needs a `moved` block (move_to).
IDENTITY_ATTRIBUTES = ("name", "bucket", "function_name")
# Terraform's action_reason values, in a reviewer's words.
ACTION_REASONS: Mapping[str, str] = MappingProxyType(
    {
        "replace_because_tainted": "the object is tainted",
        "replace_because_cannot_update": "an argument cannot be updated in place",
        "replace_by_request": "replacement was requested (-replace)",
        "replace_by_triggers": "replace_triggered_by fired",
        "delete_because_no_resource_config": "no longer in the configuration",
        "delete_because_no_moved_target": "its moved block points at nothing",
        "delete_because_wrong_repetition": "count/for_each changed shape",
        "delete_because_count_index": "count index out of range",
        "delete_because_each_key": "for_each key removed",
        "delete_because_no_module": "its module is gone",
        "read_because_config_unknown": "its arguments are known only after apply",
        "read_because_dependency_pending": "a dependency changes first",
    }
)
# Placeholders kept as strings inside rendered structures, then shown without JSON quotes.
_SENSITIVE_MARK = "\x00sensitive\x00"
_UNKNOWN_MARK = "\x00unknown\x00"


def classify(actions: Sequence[str]) -> str:
    """Terraform's action list as one word; unknown combinations keep their raw spelling."""
    if sorted(actions) == ["create", "delete"]:
        return "replace"
    if len(actions) == 1:
        return actions[0]
    return "+".join(actions)


@dataclass(frozen=True, kw_only=True)
class AttributeChange:
    """One attribute (a dotted path to a leaf) whose value the plan changes."""

    # Dotted, from the resource: "environment.0.variables.TABLE_NAME". Inside an attribute
    # holding a JSON document the path goes on into the document: "policy.Statement.0.Action".
    path: str
    # Rendered for people: JSON, SENSITIVE_VALUE, UNKNOWN_VALUE, or "null" when absent.
    before: str
    after: str
    forces_replacement: bool = False
    # The attribute holding that JSON document ("policy"); None for plain attributes.
    json_attribute: str | None = None


@dataclass(frozen=True, kw_only=True)
class ResourceChange:
    address: str
    resource_type: str
    action: str
    mode: str = "managed"
    # Set when the object moves to this address (a moved block, or move_to in CDKTF).
    previous_address: str | None = None
    # Attributes that force the replacement, e.g. ("name",); empty unless replacing.
    replace_paths: tuple[str, ...] = ()
    attributes: tuple[AttributeChange, ...] = ()
    action_reason: str | None = None
    # ["delete", "create"] (the default) or ["create", "delete"] (create_before_destroy).
    create_first: bool = False
    importing: bool = False
    # IDENTITY_ATTRIBUTES values the object has before and after, for rename hints.
    identity_before: tuple[tuple[str, str], ...] = ()
    identity_after: tuple[tuple[str, str], ...] = ()

    @property
    def moved(self) -> bool:
        return self.previous_address is not None and self.previous_address != self.address

    @property
    def removes_existing(self) -> bool:
        """True when the current object would be deleted (destroy, replace, or a future
        Terraform action combination that includes delete)."""
        return self.action == "replace" or "delete" in self.action.split("+")

    @property
    def data_loss_reason(self) -> str | None:
        if not self.removes_existing:
            return None
        return STATEFUL_RESOURCE_TYPES.get(self.resource_type)

    @property
    def name_clash(self) -> tuple[str, str] | None:
        """(attribute, value) when a create-first replacement keeps the old object's name:
        the new object is created while the old one still holds that name, which most AWS
        services refuse (a DynamoDB table, an S3 bucket, a Lambda function)."""
        if self.action != "replace" or not self.create_first:
            return None
        # Every naming attribute unchanged: a name scoped to another that changes (an alias
        # moving to another function) does not clash.
        if not self.identity_before or self.identity_before != self.identity_after:
            return None
        return self.identity_before[0]

    @property
    def reason(self) -> str | None:
        """Why Terraform chose this action, in words, when it said."""
        if self.action_reason is None:
            return None
        return ACTION_REASONS.get(self.action_reason, self.action_reason)


@dataclass(frozen=True, kw_only=True)
class PlanSummary:
    # Every managed resource with something to do: an action other than no-op, a move or
    # an import. Sorted by address.
    changes: tuple[ResourceChange, ...]
    # Managed resources with nothing to do, not moved.
    unchanged: int = 0
    # Data sources Terraform can only read during apply.
    reads: tuple[str, ...] = ()
    # Resources Terraform found changed outside Terraform while refreshing.
    drifted: int = 0

    def with_action(self, action: str) -> list[ResourceChange]:
        return [change for change in self.changes if change.action == action]

    @property
    def moves(self) -> list[ResourceChange]:
        return [change for change in self.changes if change.moved]

    @property
    def imports(self) -> list[ResourceChange]:
        return [change for change in self.changes if change.importing]

    @property
    def replacements(self) -> list[ResourceChange]:
        return self.with_action("replace")

    @property
    def other_actions(self) -> list[ResourceChange]:
        """Action combinations this tool does not name (a newer Terraform's, e.g. forget)."""
        named = {"create", "update", "replace", "delete", "no-op"}
        return [change for change in self.changes if change.action not in named]

    @property
    def counts(self) -> dict[str, int]:
        """How many resources each action touches; a moved resource may also be updated."""
        return {
            "create": len(self.with_action("create")),
            "update": len(self.with_action("update")),
            "replace": len(self.replacements),
            "destroy": len(self.with_action("delete")),
            "moved": len(self.moves),
            "import": len(self.imports),
            "read": len(self.reads),
            "no-op": self.unchanged,
        }

    @property
    def counts_by_type(self) -> dict[str, Counter[str]]:
        counts: dict[str, Counter[str]] = {}
        for change in self.changes:
            if change.action != "no-op":
                counts.setdefault(change.resource_type, Counter())[change.action] += 1
        return dict(sorted(counts.items()))

    @property
    def totals(self) -> dict[str, int]:
        """Terraform's own tally: a replacement is one add and one destroy."""
        actions = Counter(change.action for change in self.changes)
        return {
            "add": actions["create"] + actions["replace"],
            "change": actions["update"],
            "destroy": actions["delete"] + actions["replace"],
        }

    @property
    def stateful_losses(self) -> list[ResourceChange]:
        return [change for change in self.changes if change.data_loss_reason]

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)

    def likely_renames(self) -> list[tuple[ResourceChange, ResourceChange, str]]:
        """(destroyed, created, attribute) pairs of one type that name the same object."""
        created = self.with_action("create")
        pairs = []
        for gone in self.with_action("delete"):
            for new in created:
                if new.resource_type != gone.resource_type:
                    continue
                shared = set(gone.identity_before) & set(new.identity_after)
                if shared:
                    pairs.append((gone, new, min(shared)[0]))
        return pairs


def summarize_plan(plan: Mapping[str, Any]) -> PlanSummary:
    """The summary of ``terraform show -json`` output for one plan."""
    changes: list[ResourceChange] = []
    unchanged = 0
    reads: list[str] = []
    for entry in plan.get("resource_changes", []):
        change = entry["change"]
        action = classify(change["actions"])
        if entry.get("mode", "managed") != "managed":
            if action == "read":
                reads.append(entry["address"])
            continue
        previous = entry.get("previous_address")
        importing = bool(change.get("importing"))
        if action == "no-op" and not previous and not importing:
            unchanged += 1
            continue
        changes.append(_resource_change(entry, action))
    return PlanSummary(
        changes=tuple(sorted(changes, key=lambda change: change.address)),
        unchanged=unchanged,
        reads=tuple(sorted(reads)),
        drifted=len(plan.get("resource_drift", [])),
    )


def _resource_change(entry: Mapping[str, Any], action: str) -> ResourceChange:
    change = entry["change"]
    replace_paths = tuple(_dotted(path) for path in change.get("replace_paths", []))
    attributes: tuple[AttributeChange, ...] = ()
    if action not in ("create", "delete", "no-op"):
        marked = [
            AttributeChange(
                path=item.path,
                before=item.before,
                after=item.after,
                json_attribute=item.json_attribute,
                forces_replacement=any(
                    item.path == forced or item.path.startswith(forced + ".")
                    for forced in replace_paths
                ),
            )
            for item in attribute_changes(change)
        ]
        # What forces a replacement first; then by path, as Terraform lists them.
        attributes = tuple(
            sorted(marked, key=lambda item: (not item.forces_replacement, item.path))
        )
    return ResourceChange(
        address=entry["address"],
        resource_type=entry["type"],
        action=action,
        mode=entry.get("mode", "managed"),
        previous_address=entry.get("previous_address"),
        replace_paths=replace_paths,
        attributes=attributes,
        action_reason=entry.get("action_reason"),
        create_first=list(change["actions"]) == ["create", "delete"],
        importing=bool(change.get("importing")),
        identity_before=_identity(change.get("before"), change.get("before_sensitive")),
        identity_after=_identity(change.get("after"), change.get("after_sensitive")),
    )


def attribute_changes(change: Mapping[str, Any]) -> list[AttributeChange]:
    """Leaf attributes whose value differs between ``before`` and ``after`` in one change.

    Values marked in ``before_sensitive``/``after_sensitive`` are never shown, those marked
    in ``after_unknown`` show as UNKNOWN_VALUE. A string holding JSON on both sides (an IAM
    policy, a state machine definition) is compared as JSON, so one changed statement shows
    as one path instead of two whole documents.
    """
    return list(
        _walk(
            change.get("before"),
            change.get("after"),
            unknown=change.get("after_unknown"),
            before_sensitive=change.get("before_sensitive"),
            after_sensitive=change.get("after_sensitive"),
            path=(),
        )
    )


def _walk(
    before: Any,
    after: Any,
    *,
    unknown: Any,
    before_sensitive: Any,
    after_sensitive: Any,
    path: tuple[str, ...],
) -> Iterator[AttributeChange]:
    here = ".".join(path)
    if unknown is True:
        yield AttributeChange(
            path=here, before=render_value(before, before_sensitive), after=UNKNOWN_VALUE
        )
        return
    if isinstance(before, dict) and isinstance(after, dict):
        keys = set(before) | set(after)
        if isinstance(unknown, dict):
            keys |= set(unknown)
        for key in sorted(keys):
            yield from _walk(
                before.get(key),
                after.get(key),
                unknown=_child(unknown, key),
                before_sensitive=_child(before_sensitive, key),
                after_sensitive=_child(after_sensitive, key),
                path=(*path, str(key)),
            )
        return
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        for index, (old, new) in enumerate(zip(before, after, strict=True)):
            yield from _walk(
                old,
                new,
                unknown=_child(unknown, index),
                before_sensitive=_child(before_sensitive, index),
                after_sensitive=_child(after_sensitive, index),
                path=(*path, str(index)),
            )
        return
    if before == after and not _contains_unknown(unknown):
        return
    old_document, new_document = _json_document(before), _json_document(after)
    if (
        old_document is not None
        and new_document is not None
        and not _marked(before_sensitive)
        and not _marked(after_sensitive)
    ):
        inner = _walk(
            old_document,
            new_document,
            unknown=None,
            before_sensitive=None,
            after_sensitive=None,
            path=(),
        )
        for item in inner:
            yield AttributeChange(
                path=f"{here}.{item.path}" if item.path else here,
                before=item.before,
                after=item.after,
                json_attribute=here,
            )
        return
    yield AttributeChange(
        path=here,
        before=render_value(before, before_sensitive),
        after=render_value(after, after_sensitive, unknown),
    )


def render_value(value: Any, sensitive: Any = None, unknown: Any = None) -> str:
    """One value as compact JSON, with masked and unknown parts in Terraform's words."""
    if sensitive is True:
        return SENSITIVE_VALUE
    if unknown is True:
        return UNKNOWN_VALUE
    shown = json.dumps(_masked(value, sensitive, unknown), sort_keys=True, ensure_ascii=False)
    shown = shown.replace(json.dumps(_SENSITIVE_MARK), SENSITIVE_VALUE)
    shown = shown.replace(json.dumps(_UNKNOWN_MARK), UNKNOWN_VALUE)
    if len(shown) > MAX_VALUE_CHARS:
        shown = f"{shown[: MAX_VALUE_CHARS - 1]}… ({len(shown):,} chars)"
    return shown


def _masked(value: Any, sensitive: Any, unknown: Any) -> Any:
    if sensitive is True:
        return _SENSITIVE_MARK
    if unknown is True:
        return _UNKNOWN_MARK
    if isinstance(value, dict):
        keys = set(value) | (set(unknown) if isinstance(unknown, dict) else set())
        return {
            key: _masked(value.get(key), _child(sensitive, key), _child(unknown, key))
            for key in keys
        }
    if isinstance(value, list):
        return [
            _masked(item, _child(sensitive, index), _child(unknown, index))
            for index, item in enumerate(value)
        ]
    return value


def _child(marker: Any, key: str | int) -> Any:
    """The sensitivity or unknown marker of one member; True covers everything below it."""
    if marker is True:
        return True
    if isinstance(marker, dict) and isinstance(key, str):
        return marker.get(key)
    if isinstance(marker, list) and isinstance(key, int) and key < len(marker):
        return marker[key]
    return None


def _marked(marker: Any) -> bool:
    if marker is True:
        return True
    if isinstance(marker, dict):
        return any(_marked(value) for value in marker.values())
    if isinstance(marker, list):
        return any(_marked(value) for value in marker)
    return False


_contains_unknown = _marked


def _json_document(value: Any) -> dict[str, Any] | list[Any] | None:
    if not isinstance(value, str) or not value.lstrip().startswith(("{", "[")):
        return None
    try:
        document = json.loads(value)
    except json.JSONDecodeError:
        return None
    return document if isinstance(document, dict | list) else None


def _identity(values: Any, sensitive: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(values, dict):
        return ()
    return tuple(
        (name, values[name])
        for name in IDENTITY_ATTRIBUTES
        if isinstance(values.get(name), str)
        and values[name]
        and not _marked(_child(sensitive, name))
    )


def _dotted(path: Sequence[Any]) -> str:
    return ".".join(str(step) for step in path)

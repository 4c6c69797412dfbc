"""Terraform's plan JSON (``terraform show -json``) as a typed summary of resource changes.

Pure functions on the parsed JSON: no Terraform, no files. ``summarize_plan`` is what the
review's Markdown and its stateful-loss gate are computed from.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
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


def classify(actions: Sequence[str]) -> str:
    """Terraform's action list as one word; unknown combinations keep their raw spelling."""
    if sorted(actions) == ["create", "delete"]:
        return "replace"
    if len(actions) == 1:
        return actions[0]
    return "+".join(actions)


def _dotted(path: Sequence[Any]) -> str:
    return ".".join(str(step) for step in path)


@dataclass(frozen=True, kw_only=True)
class ResourceChange:
    address: str
    resource_type: str
    action: str
    # Attributes that force the replacement, e.g. ("name",); empty unless replacing.
    replace_paths: tuple[str, ...] = ()
    previous_address: str | None = None

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


@dataclass(frozen=True, kw_only=True)
class PlanSummary:
    changes: tuple[ResourceChange, ...]
    unchanged: int = 0
    # Resources Terraform found changed outside Terraform while refreshing.
    drifted: int = 0

    @property
    def counts_by_type(self) -> dict[str, Counter[str]]:
        counts: dict[str, Counter[str]] = {}
        for change in self.changes:
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
    def replacements(self) -> list[ResourceChange]:
        return [change for change in self.changes if change.action == "replace"]

    @property
    def moves(self) -> list[ResourceChange]:
        return [change for change in self.changes if change.previous_address]

    @property
    def stateful_losses(self) -> list[ResourceChange]:
        return [change for change in self.changes if change.data_loss_reason]

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)


def summarize_plan(plan: Mapping[str, Any]) -> PlanSummary:
    """Managed-resource changes from ``terraform show -json`` output; data reads are not changes."""
    changes: list[ResourceChange] = []
    unchanged = 0
    for entry in plan.get("resource_changes", []):
        if entry.get("mode", "managed") != "managed":
            continue
        action = classify(entry["change"]["actions"])
        previous = entry.get("previous_address")
        if action == "no-op":
            if not previous:
                unchanged += 1
                continue
            action = "move"  # same object under a new address (a moved block or move_to)
        changes.append(
            ResourceChange(
                address=entry["address"],
                resource_type=entry["type"],
                action=action,
                replace_paths=tuple(
                    _dotted(path) for path in entry["change"].get("replace_paths", [])
                ),
                previous_address=previous,
            )
        )
    return PlanSummary(
        changes=tuple(sorted(changes, key=lambda change: change.address)),
        unchanged=unchanged,
        drifted=len(plan.get("resource_drift", [])),
    )

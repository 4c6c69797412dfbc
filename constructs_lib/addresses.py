"""Keep Terraform addresses across a change of the construct tree, with ``moved`` blocks.

A resource's Terraform address is its construct path below the stack, joined with ``_``
plus a hash of the whole path (cdktf's ``makeUniqueId``). Moving a construct under a new
parent therefore gives every resource in it a new address, which Terraform reads as destroy
and create unless a ``moved`` block says where it came from.

``keep_addresses`` adds those blocks from a table of path prefixes (new -> previous). The
previous address is computed here with a port of ``makeUniqueId``; the test suite checks the
port against cdktf's own ids. Written by hand because cdktf only offers ``move_from_id`` for
one resource at a time and has no notion of a renamed subtree.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence

from cdktf import TerraformElement, TerraformResource, TerraformStack
from constructs import Construct, Node

# cdktf drops this id from paths entirely, and this one from the human part only.
_HIDDEN_ID = "Default"
_HIDDEN_FROM_HUMAN_ID = "Resource"
_HASH_LENGTH = 8
_MAX_HUMAN_LENGTH = 240
_MAX_ID_LENGTH = 255
_DISALLOWED = re.compile(r"[^A-Za-z0-9_-]")


def logical_id(components: Sequence[str]) -> str:
    """The Terraform name cdktf gives the element at ``components`` (its path below the stack)."""
    parts = [component for component in components if component != _HIDDEN_ID]
    if not parts:
        raise ValueError("a logical id needs at least one path component")
    if len(parts) == 1:
        candidate = _DISALLOWED.sub("", parts[0])
        if len(candidate) <= _MAX_ID_LENGTH:
            return candidate
    digest = hashlib.md5("/".join(parts).encode(), usedforsecurity=False).hexdigest()
    human: list[str] = []
    for part in parts:
        if not human or not human[-1].endswith(part):
            human.append(part)
    readable = "_".join(
        _DISALLOWED.sub("", part) for part in human if part != _HIDDEN_FROM_HUMAN_ID
    )[:_MAX_HUMAN_LENGTH]
    return f"{readable}_{digest[:_HASH_LENGTH].upper()}"


def keep_addresses(stack: TerraformStack, previous_paths: Mapping[str, str]) -> list[str]:
    """Add a ``moved`` block to every resource under each new path, from its previous address.

    ``previous_paths`` maps a construct path below the stack (``"ingest/bucket"``) to the path
    the same construct had before (``"ingest"``). Paths that do not exist in this stack (an
    optional part the environment leaves out) are skipped. Returns the moved addresses.
    """
    moved: list[str] = []
    for new_path, old_path in previous_paths.items():
        scope = _find(stack, new_path.split("/"))
        if scope is None:
            continue
        new_prefix = new_path.split("/")
        old_prefix = old_path.split("/")
        # Construct ids never contain "/", and the stack's own path is its id alone.
        skip = len(stack.node.path.split("/"))
        for node in scope.node.find_all():
            if not isinstance(node, TerraformResource):
                continue
            components = node.node.path.split("/")[skip:]
            previous = logical_id([*old_prefix, *components[len(new_prefix) :]])
            if previous == logical_id(components):
                continue
            address = f"{node.terraform_resource_type}.{previous}"
            node.move_from_id(address)
            moved.append(address)
    return moved


def _find(root: Construct, components: Sequence[str]) -> Construct | None:
    node: Construct | None = root
    for component in components:
        if node is None:
            return None
        child = node.node.try_find_child(component)
        node = child if isinstance(child, Construct) else None
    return node


class AddressPinningStack(TerraformStack):
    """A stack whose constructs under ``pinned_paths`` keep the addresses of other paths.

    ``pinned_paths`` maps a construct path below the stack (``"ingest/notifications"``) to
    the path whose Terraform addresses its resources keep (``"workflow/notifications"``). The
    logical id is decided when cdktf first allocates it (through ``allocateLogicalId``, the
    hook cdktf documents for custom naming), so references made during construction already
    use the kept address. Unlike a ``moved`` block this leaves state untouched, so it
    combines with ``keep_addresses``, which then moves earlier state straight to the kept
    address.
    """

    pinned_paths: Mapping[str, str] = {}

    def _allocate_logical_id(self, tf_element: Node | TerraformElement) -> str:
        node = tf_element.node if isinstance(tf_element, TerraformElement) else tf_element
        skip = len(self.node.path.split("/"))
        components = node.path.split("/")[skip:]
        for new_path, kept_path in self.pinned_paths.items():
            prefix = new_path.split("/")
            if components[: len(prefix)] == prefix:
                return logical_id([*kept_path.split("/"), *components[len(prefix) :]])
        return super()._allocate_logical_id(tf_element)


def forget_resources(stack: TerraformStack, addresses: Sequence[str]) -> None:
    """Make Terraform forget ``addresses`` without destroying them (``removed`` blocks).

    For a resource whose ownership moved to another stack (or to the operator): the next plan
    reports "will no longer be managed" and destroys nothing. An address absent from the state
    is a no-op, so the blocks stay harmless on fresh deployments. Call once per stack.
    """
    stack.add_override(
        "removed",
        [{"from": address, "lifecycle": {"destroy": False}} for address in addresses],
    )

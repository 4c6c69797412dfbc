"""Draw the architecture from the synthesized configuration, never by hand.

    pipenv run python -m tools.ci.diagram [--stack pipeline-dev] [--out docs/architecture]
    pipenv run python -m tools.ci.diagram --from cdktf.out    # reuse an existing synth

Reads ``cdktf.out/stacks/<stack>/cdk.tf.json`` (synthesized fresh into build/diagram unless
--from is given), groups resources by construct (the first construct id below the stack in
each resource's ``"//".metadata.path``) and draws an edge wherever one resource refers to
another (``${aws_x.name.attr}`` or depends_on). Edges are classed by where the reference sits:
triggers (notifications, permissions, event targets, subscriptions), integrations (API
integrations and routes, state machine definitions), data flow (environment variables,
dead-letter targets, alarm actions, log delivery) and plain use (role, key, parent resource,
ordering); plain use is drawn only inside a construct unless --all-edges is given. Writes
<out>.svg and <out>.png with Graphviz's ``dot`` (Debian package graphviz).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import graphviz  # type: ignore[import-untyped]  # the package ships no type hints

from config.environments import ENVIRONMENT_NAMES
from tools.ci.terraform import SynthError, synth_app
from tools.ci.terraform_cli import PROJECT_ROOT

DEFAULT_STACK = "pipeline-dev"
DEFAULT_OUT = PROJECT_ROOT / "docs" / "architecture"
SYNTH_DIR = PROJECT_ROOT / "build" / "diagram" / "cdktf.out"
# The SVG is the picture the README shows; the PNG is a preview, kept small for the repository.
PNG_DPI = 60
# Resources created directly on the stack, outside any construct.
STACK_GROUP = "(stack)"

EdgeKind = Literal["trigger", "integration", "data", "uses"]

# A reference inside Terraform interpolation: [data.]<type>.<name>.
_REFERENCE = re.compile(r"(?<![\w.])(data\.)?([a-z][a-z0-9]*_[a-z0-9_]+)\.([A-Za-z_][\w-]*)")
_INTERPOLATION = re.compile(r"\$\{(.*?)\}")

# Resource types that connect an event source to its consumer, recognised by name so new
# services work without edits: *_notification, *_event_source_mapping, *_permission ...
TRIGGER_TYPE_SUFFIXES = (
    "_notification",
    "_event_source_mapping",
    "_event_target",
    "_permission",
    "_subscription",
    "_schedule",
    "_pipe",
)
INTEGRATION_TYPE_MARKERS = ("_integration", "_route")
# In a trigger or integration, a reference under one of these arguments is the event source
# (drawn source -> trigger). A trigger's other references are its destination.
SOURCE_ARGUMENTS = frozenset(
    {"bucket", "event_source_arn", "source_arn", "rule", "topic_arn", "api_id", "rest_api_id",
     "event_bus_name", "queue_url"}
)  # fmt: skip
# An integration's destination; its other references (resource, method) are structure.
INTEGRATION_TARGET_ARGUMENTS = frozenset({"uri", "integration_uri", "target"})
# Plumbing a trigger also refers to; drawn as plain use.
PLUMBING_ARGUMENTS = frozenset({"role_arn", "role", "kms_key_id", "kms_key_arn", "credentials_arn"})
# Arguments of any resource through which data leaves it for the referenced resource.
DATA_FLOW_ARGUMENTS = frozenset(
    {"environment", "dead_letter_config", "destination_config", "redrive_policy",
     "alarm_actions", "ok_actions", "insufficient_data_actions", "definition",
     "logging_configuration", "access_log_settings", "target", "target_bucket"}
)  # fmt: skip

EDGE_STYLES: Mapping[EdgeKind, Mapping[str, str]] = {
    "trigger": {"color": "#1f77b4", "penwidth": "2"},
    "integration": {"color": "#2ca02c", "penwidth": "2"},
    "data": {"color": "#ff7f0e", "penwidth": "1.5"},
    "uses": {"color": "#9e9e9e", "style": "dashed", "arrowsize": "0.6"},
}
LEGEND = (
    "Edges: blue = trigger, green = integration, orange = data flow, "
    "grey dashed = uses within a construct (role, log group, parent resource, ordering)."
)
LEGEND_ALL_EDGES = (
    "Edges: blue = trigger, green = integration, orange = data flow, "
    "grey dashed = uses (role, key, log group, parent resource, ordering)."
)


@dataclass(frozen=True, kw_only=True, order=True)
class Node:
    group: str
    address: str
    resource_type: str
    # Construct path below the group, e.g. "function" or "handler/function".
    local_name: str

    @property
    def label(self) -> str:
        return f"{self.resource_type}\n{self.local_name}"


@dataclass(frozen=True, kw_only=True, order=True)
class Edge:
    source: str
    target: str
    kind: EdgeKind


@dataclass(frozen=True, kw_only=True)
class Architecture:
    stack: str
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]

    @property
    def resource_types(self) -> set[str]:
        return {node.resource_type for node in self.nodes}

    @property
    def groups(self) -> dict[str, list[Node]]:
        grouped: dict[str, list[Node]] = {}
        for node in self.nodes:
            grouped.setdefault(node.group, []).append(node)
        return dict(sorted(grouped.items()))


def references(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], str]]:
    """(argument path, "<type>.<name>" or "data.<type>.<name>") for each reference in a body."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key not in ("//", "lifecycle", "provider"):
                yield from references(item, (*path, str(key)))
    elif isinstance(value, list):
        for item in value:
            yield from references(item, path)
    elif isinstance(value, str):
        for expression in _INTERPOLATION.findall(value):
            for data, resource_type, name in _REFERENCE.findall(expression):
                yield path, f"{data}{resource_type}.{name}"


def _construct_path(stack: str, name: str, body: Mapping[str, Any]) -> list[str]:
    """Construct ids below the stack, e.g. ["ingest", "bucket"]."""
    path = str(body.get("//", {}).get("metadata", {}).get("path", ""))
    parts = path.split("/")
    if len(parts) >= 2 and parts[0] == stack:
        return parts[1:]
    return [STACK_GROUP, name]


def edge_kind(resource_type: str, argument_path: tuple[str, ...]) -> tuple[EdgeKind, bool]:
    """How a reference under ``argument_path`` of a ``resource_type`` is drawn.

    Returns the kind and whether the edge points *into* the referring resource (event
    source -> trigger) rather than out of it.
    """
    argument = argument_path[0] if argument_path else ""
    if argument in PLUMBING_ARGUMENTS or argument == "depends_on":
        return "uses", False
    if resource_type.endswith(TRIGGER_TYPE_SUFFIXES):
        return "trigger", argument in SOURCE_ARGUMENTS
    if any(marker in resource_type for marker in INTEGRATION_TYPE_MARKERS):
        if argument in SOURCE_ARGUMENTS or argument in INTEGRATION_TARGET_ARGUMENTS:
            return "integration", argument in SOURCE_ARGUMENTS
        return "uses", False
    if argument in DATA_FLOW_ARGUMENTS:
        return ("integration" if argument == "definition" else "data"), False
    return "uses", False


def build_architecture(stack: str, document: Mapping[str, Any]) -> Architecture:
    """Nodes for every managed resource and edges for every reference between them."""
    nodes: dict[str, Node] = {}
    bodies: dict[str, Mapping[str, Any]] = {}
    for resource_type, resources in document.get("resource", {}).items():
        for name, body in resources.items():
            address = f"{resource_type}.{name}"
            group, *rest = _construct_path(stack, name, body)
            nodes[address] = Node(
                group=group,
                address=address,
                resource_type=resource_type,
                local_name="/".join(rest) or group,
            )
            bodies[address] = body
    edges: set[Edge] = set()
    for address, body in bodies.items():
        resource_type = nodes[address].resource_type
        found = list(references(body))
        found += [(("depends_on",), target) for target in body.get("depends_on", [])]
        for argument_path, target in found:
            if target not in nodes or target == address:
                continue  # data sources and self-references are not drawn
            kind, inbound = edge_kind(resource_type, argument_path)
            source, destination = (target, address) if inbound else (address, target)
            edges.add(Edge(source=source, target=destination, kind=kind))
    return Architecture(stack=stack, nodes=tuple(sorted(nodes.values())), edges=_strongest(edges))


def _strongest(edges: set[Edge]) -> tuple[Edge, ...]:
    """One edge per pair of resources: a trigger or data edge hides a plain "uses" edge."""
    rank: dict[EdgeKind, int] = {"trigger": 0, "integration": 1, "data": 2, "uses": 3}
    best: dict[frozenset[str], Edge] = {}
    for edge in sorted(edges, key=lambda e: (rank[e.kind], e.source, e.target)):
        best.setdefault(frozenset((edge.source, edge.target)), edge)
    return tuple(sorted(best.values()))


def visible_edges(architecture: Architecture, *, all_edges: bool = False) -> list[Edge]:
    """Triggers, integrations and data flow, plus "uses" edges inside one construct.

    A "uses" edge between constructs (every encrypted resource to the key, alarms to what they
    watch, a deployment to every method) says little and hides the flow; --all-edges keeps them.
    """
    group = {node.address: node.group for node in architecture.nodes}
    return [
        edge
        for edge in architecture.edges
        if all_edges or edge.kind != "uses" or group[edge.source] == group[edge.target]
    ]


def to_graphviz(
    architecture: Architecture, *, source_note: str = "", all_edges: bool = False
) -> graphviz.Digraph:
    graph = graphviz.Digraph(architecture.stack, format="svg")
    title = f"{architecture.stack}: resources grouped by construct"
    legend = LEGEND_ALL_EDGES if all_edges else LEGEND
    note = f"\\n{source_note}" if source_note else ""
    graph.attr(
        rankdir="LR", fontname="Helvetica", fontsize="18", labelloc="t",
        label=f"{title}\\n{legend}{note}", nodesep="0.2", ranksep="0.9", newrank="true",
    )  # fmt: skip
    graph.attr("node", shape="box", style="rounded,filled", fillcolor="white", fontname="Helvetica",
               fontsize="10")  # fmt: skip
    for group, members in architecture.groups.items():
        with graph.subgraph(name=f"cluster_{group}") as cluster:
            cluster.attr(label=group, style="rounded,filled", fillcolor="#f4f6fb", color="#8da0cb")
            for node in members:
                cluster.node(node.address, label=node.label.replace("\n", "\\n"))
    for edge in visible_edges(architecture, all_edges=all_edges):
        graph.edge(edge.source, edge.target, **EDGE_STYLES[edge.kind])
    return graph


def node_labels(dot_source: str) -> set[str]:
    """The resource types named in the node labels of a DOT source."""
    return {label.split("\\n", 1)[0] for label in re.findall(r'\[label="([^"]*)"', dot_source)}


def svg_texts(svg: str) -> set[str]:
    """Every text line drawn in an SVG written by Graphviz."""
    return {text.strip() for text in re.findall(r"<text[^>]*>([^<]*)</text>", svg)}


def load_stack(stacks_dir: Path, stack: str) -> dict[str, Any]:
    stack_file = stacks_dir / stack / "cdk.tf.json"
    if not stack_file.is_file():
        available = sorted(p.parent.name for p in stacks_dir.glob("*/cdk.tf.json"))
        hint = f"available: {', '.join(available)}" if available else "run `make synth` first"
        raise FileNotFoundError(f"no synthesized stack {stack} at {stack_file} ({hint})")
    document: dict[str, Any] = json.loads(stack_file.read_text())
    return document


def render(graph: graphviz.Digraph, out: Path) -> list[Path]:
    """Write <out>.svg and <out>.png; needs Graphviz's dot on PATH."""
    if shutil.which("dot") is None:
        raise FileNotFoundError("Graphviz 'dot' is not installed; run `apt-get install graphviz`")
    out.parent.mkdir(parents=True, exist_ok=True)
    svg, png = out.with_suffix(".svg"), out.with_suffix(".png")
    svg.write_bytes(graph.pipe(format="svg"))
    raster = graph.copy()
    raster.attr(dpi=str(PNG_DPI))
    png.write_bytes(raster.pipe(format="png"))
    return [svg, png]


def _synth_environ(stack: str) -> dict[str, str]:
    """Synthesize only the environment drawn; real-AWS settings, as a user deploys it."""
    environment = stack.removeprefix("pipeline-")
    return {"PIPELINE_ENVIRONMENTS": environment} if environment in ENVIRONMENT_NAMES else {}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--stack", default=DEFAULT_STACK)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="path without extension")
    parser.add_argument(
        "--all-edges", action="store_true", help="also draw 'uses' edges between constructs"
    )
    parser.add_argument(
        "--from", dest="synth_dir", type=Path, help="an existing cdktf.out instead of a fresh synth"
    )
    args = parser.parse_args(argv)
    try:
        if args.synth_dir is None:
            shutil.rmtree(SYNTH_DIR, ignore_errors=True)
            SYNTH_DIR.mkdir(parents=True)
            stacks_dir = synth_app(SYNTH_DIR, _synth_environ(args.stack))
        else:
            stacks_dir = args.synth_dir / "stacks"
        architecture = build_architecture(args.stack, load_stack(stacks_dir, args.stack))
        graph = to_graphviz(
            architecture,
            source_note=f"Generated by tools/ci/diagram.py from {args.stack}/cdk.tf.json",
            all_edges=args.all_edges,
        )
        written = render(graph, args.out)
    except (FileNotFoundError, SynthError, graphviz.ExecutableNotFound) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(
        f"{args.stack}: {len(architecture.nodes)} resources of {len(architecture.resource_types)} "
        f"types in {len(architecture.groups)} groups, {len(architecture.edges)} edges -> "
        + ", ".join(str(path) for path in written)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The architecture picture is drawn from the synthesized stacks and covers every resource type."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tools.ci import diagram
from tools.ci.diagram import (
    DEFAULT_OUT,
    DEFAULT_STACK,
    Edge,
    build_architecture,
    node_labels,
    svg_texts,
    to_graphviz,
    visible_edges,
)

BUCKET = "aws_s3_bucket.ingest_bucket_1"
VERSIONING = "aws_s3_bucket_versioning.ingest_versioning_2"
NOTIFICATION = "aws_s3_bucket_notification.trigger_notification_3"
PERMISSION = "aws_lambda_permission.trigger_permission_4"
FUNCTION = "aws_lambda_function.processor_function_5"
ROLE = "aws_iam_role.processor_role_6"
TABLE = "aws_dynamodb_table.records_table_7"
KEY = "aws_kms_key.key_key_8"


def _resource(path: str, **body: Any) -> dict[str, Any]:
    return {"//": {"metadata": {"path": f"pipeline-test/{path}"}}, **body}


def small_stack() -> dict[str, Any]:
    """Bucket -> notification -> function -> table, the shape of our ingest path."""
    return {
        "resource": {
            "aws_s3_bucket": {"ingest_bucket_1": _resource("ingest/bucket", bucket="in")},
            "aws_s3_bucket_versioning": {
                "ingest_versioning_2": _resource("ingest/versioning", bucket=f"${{{BUCKET}.id}}")
            },
            "aws_s3_bucket_notification": {
                "trigger_notification_3": _resource(
                    "trigger/notification",
                    bucket=f"${{{BUCKET}.id}}",
                    lambda_function=[{"lambda_function_arn": f"${{{FUNCTION}.arn}}"}],
                    depends_on=[PERMISSION, FUNCTION],
                )
            },
            "aws_lambda_permission": {
                "trigger_permission_4": _resource(
                    "trigger/permission",
                    function_name=f"${{{FUNCTION}.function_name}}",
                    source_arn=f"${{{BUCKET}.arn}}",
                    source_account="${data.aws_caller_identity.trigger_caller_9.account_id}",
                )
            },
            "aws_lambda_function": {
                "processor_function_5": _resource(
                    "processor/function",
                    role=f"${{{ROLE}.arn}}",
                    kms_key_arn=f"${{{KEY}.arn}}",
                    environment={"variables": {"TABLE_NAME": f"${{{TABLE}.name}}"}},
                )
            },
            "aws_iam_role": {"processor_role_6": _resource("processor/role")},
            "aws_dynamodb_table": {
                "records_table_7": _resource(
                    "records/table",
                    server_side_encryption={"kms_key_arn": f"${{{KEY}.arn}}", "enabled": True},
                )
            },
            "aws_kms_key": {"key_key_8": _resource("key/key")},
        },
        "data": {"aws_caller_identity": {"trigger_caller_9": {}}},
    }


def test_edges_follow_triggers_and_data_flow_in_the_direction_events_travel() -> None:
    # Given a hand-made stack shaped like the ingest path
    architecture = build_architecture("pipeline-test", small_stack())
    edges = set(architecture.edges)
    # Then the bucket feeds the trigger resources, which point at the function
    assert Edge(source=BUCKET, target=NOTIFICATION, kind="trigger") in edges
    assert Edge(source=NOTIFICATION, target=FUNCTION, kind="trigger") in edges
    assert Edge(source=BUCKET, target=PERMISSION, kind="trigger") in edges
    assert Edge(source=PERMISSION, target=FUNCTION, kind="trigger") in edges
    # And the function's environment reference is data flow into the table
    assert Edge(source=FUNCTION, target=TABLE, kind="data") in edges
    # And depends_on is plain ordering, hidden where a trigger already joins the two
    assert Edge(source=NOTIFICATION, target=PERMISSION, kind="uses") in edges
    assert Edge(source=NOTIFICATION, target=FUNCTION, kind="uses") not in edges
    # And data sources are never drawn
    assert all("caller" not in edge.source + edge.target for edge in edges)


def test_resources_are_grouped_by_their_first_construct_id() -> None:
    # Given the hand-made stack
    architecture = build_architecture("pipeline-test", small_stack())
    # Then each group holds the resources created by that construct
    groups = {group: [n.local_name for n in nodes] for group, nodes in architecture.groups.items()}
    assert groups == {
        "ingest": ["bucket", "versioning"],
        "key": ["key"],
        "processor": ["role", "function"],
        "records": ["table"],
        "trigger": ["permission", "notification"],
    }


def test_uses_edges_are_drawn_only_inside_a_construct_by_default() -> None:
    # Given the hand-made stack
    architecture = build_architecture("pipeline-test", small_stack())
    # When the default picture is chosen
    shown = set(visible_edges(architecture))
    # Then the role (same construct) is drawn and the key (shared by all) is not
    assert Edge(source=FUNCTION, target=ROLE, kind="uses") in shown
    assert Edge(source=VERSIONING, target=BUCKET, kind="uses") in shown
    assert Edge(source=FUNCTION, target=KEY, kind="uses") not in shown
    # And --all-edges brings it back
    assert Edge(source=FUNCTION, target=KEY, kind="uses") in set(
        visible_edges(architecture, all_edges=True)
    )


def test_every_synthesized_resource_type_is_in_the_picture(
    synthesized_stacks: dict[str, dict[str, Any]],
) -> None:
    # Given every stack the app synthesizes
    for stack, document in synthesized_stacks.items():
        # When its picture is generated
        source = to_graphviz(build_architecture(stack, document)).source
        # Then each resource type appears as a node label, and nothing else does
        assert node_labels(source) == set(document.get("resource", {})), stack


def test_committed_picture_shows_every_resource_type_of_the_dev_stack(
    synthesized_stacks: dict[str, dict[str, Any]],
) -> None:
    # Given the picture committed for the README
    svg_path = DEFAULT_OUT.with_suffix(".svg")
    assert svg_path.is_file(), f"{svg_path} is missing; run `make diagram`"
    drawn = svg_texts(svg_path.read_text())
    # Then it shows every resource type the dev stack synthesizes today
    missing = set(synthesized_stacks[DEFAULT_STACK]["resource"]) - drawn
    assert not missing, f"docs/architecture.svg is stale, run `make diagram`: missing {missing}"


def test_missing_synth_output_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # When the diagram is drawn from a folder with no synthesized stacks
    code = diagram.main(["--from", str(tmp_path), "--out", str(tmp_path / "picture")])
    # Then it fails with one line naming the missing file
    captured = capsys.readouterr()
    assert code == 2
    expected = tmp_path / "stacks" / DEFAULT_STACK / "cdk.tf.json"
    assert captured.err.strip() == (
        f"error: no synthesized stack {DEFAULT_STACK} at {expected} (run `make synth` first)"
    )

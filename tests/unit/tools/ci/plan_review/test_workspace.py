"""Review set-up: reused synth output must fit the target; prevent_destroy refusals are read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.unit.tools.ci.plan_review.fixtures import PLANS
from tools.ci.plan_review import (
    ReviewError,
    check_synth_target,
    hand_over_state,
    prevent_destroy_addresses,
    synthesize,
    terraform_warnings,
)
from tools.ci.terraform import StackWorkspace


def test_terraform_prevent_destroy_refusal_names_every_protected_resource() -> None:
    # Given Terraform's real output for two protected resources (messages wrap lines)
    output = (PLANS / "prevent_destroy_error.txt").read_text()
    # Then both addresses are found
    assert prevent_destroy_addresses(output) == [
        "terraform_data.ingest_bucket_D2E76047",
        "terraform_data.records_table_60AC12E3",
    ]
    assert prevent_destroy_addresses("Error: something else") == []


def test_reused_synth_output_must_target_the_same_endpoint(tmp_path: Path) -> None:
    # Given a stack synthesized for an emulator endpoint
    stack_dir = tmp_path / "pipeline-dev"
    stack_dir.mkdir()
    provider = {"aws": [{"endpoints": [{"s3": "http://127.0.0.1:4566"}], "region": "us-west-2"}]}
    (stack_dir / "cdk.tf.json").write_text(json.dumps({"provider": provider}))
    # Then planning it against real AWS is refused, and the same endpoint is accepted
    with pytest.raises(ReviewError, match=r"synthesized for http://127\.0\.0\.1:4566, but this"):
        check_synth_target(stack_dir, None)
    check_synth_target(stack_dir, "http://127.0.0.1:4566")


def _stack(folder: Path, backend: dict[str, object]) -> StackWorkspace:
    folder.mkdir(parents=True)
    (folder / "cdk.tf.json").write_text(json.dumps({"terraform": {"backend": backend}}))
    return StackWorkspace(folder)


def test_the_base_deployment_state_is_handed_to_the_planned_stack(tmp_path: Path) -> None:
    # Given a base stack and a head stack keeping local state in different folders
    base = _stack(tmp_path / "base" / "cdktf.out" / "stacks" / "pipeline-dev",
                  {"local": {"path": "../../../terraform.pipeline-dev.tfstate"}})  # fmt: skip
    head = _stack(tmp_path / "cdktf.out" / "stacks" / "pipeline-dev",
                  {"local": {"path": "../../../terraform.pipeline-dev.tfstate"}})  # fmt: skip
    (tmp_path / "base" / "terraform.pipeline-dev.tfstate").write_text('{"serial": 7}')
    # When the state is handed over
    hand_over_state(base, head)
    # Then the head plans against the state the base apply wrote
    assert (tmp_path / "terraform.pipeline-dev.tfstate").read_text() == '{"serial": 7}'


def test_a_stack_without_local_state_cannot_take_over_a_deployment(tmp_path: Path) -> None:
    # Given a head synthesized with the S3 backend
    base = _stack(tmp_path / "base", {"local": {"path": "state.tfstate"}})
    head = _stack(tmp_path / "head", {"s3": {"bucket": "b", "key": "k"}})
    (tmp_path / "base" / "state.tfstate").write_text("{}")
    # Then the hand-over is refused, naming the stack and what it needs
    with pytest.raises(ReviewError, match=r"head does not keep local state; an emulator review"):
        hand_over_state(base, head)


def test_a_checkout_that_synthesizes_other_stacks_is_named(tmp_path: Path) -> None:
    # Given a checkout whose main.py writes a stack under another name
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    (checkout / "main.py").write_text(
        "import os, pathlib\n"
        "stack = pathlib.Path(os.environ['CDKTF_OUTDIR']) / 'stacks' / 'renamed-dev'\n"
        "stack.mkdir(parents=True)\n"
        "(stack / 'cdk.tf.json').write_text('{}')\n"
    )
    # When dev is synthesized from it
    with pytest.raises(ReviewError) as missing:
        synthesize("dev", tmp_path / "out", None, project_root=checkout)
    # Then the error names the stack wanted and the stacks it did write
    assert str(missing.value) == (
        f"{checkout} synthesized no stack pipeline-dev (stacks found: renamed-dev)"
    )


PLAIN_WARNINGS = """aws_sqs_queue.dlq: Refreshing state... [id=x]

Plan: 0 to add, 1 to change, 0 to destroy.

Warning: Argument is deprecated

  with aws_s3_bucket.ingest,
  on cdk.tf.json line 12, in resource.aws_s3_bucket.ingest:
  12: "acl": "private"

Use the aws_s3_bucket_acl resource instead.

Warning: Argument is deprecated

  with aws_s3_bucket.ingest,
  on cdk.tf.json line 12, in resource.aws_s3_bucket.ingest:
  12: "acl": "private"

Use the aws_s3_bucket_acl resource instead.

Warning: Provider development overrides are in effect

The following provider development overrides are set in the CLI configuration.
"""
FRAMED_WARNING = """Plan: 1 to add, 0 to change, 0 to destroy.
╷
│ Warning: Value for undeclared variable
│\x20
│ The root module does not declare a variable named "x".
╵
─────────────────────────────────────────────────────────────────────────────
Saved the plan to: /tmp/x/plan.tfplan
"""


def test_terraform_warnings_are_read_from_plain_and_framed_output() -> None:
    # Given plan output with warnings, plain (-no-color) and framed, one repeated
    # Then each distinct warning is one block, without frame, closing text or repeats
    assert terraform_warnings(PLAIN_WARNINGS) == (
        "Warning: Argument is deprecated\n\n  with aws_s3_bucket.ingest,\n"
        "  on cdk.tf.json line 12, in resource.aws_s3_bucket.ingest:\n"
        '  12: "acl": "private"\n\nUse the aws_s3_bucket_acl resource instead.',
        "Warning: Provider development overrides are in effect\n\n"
        "The following provider development overrides are set in the CLI configuration.",
    )
    assert terraform_warnings(FRAMED_WARNING) == (
        "Warning: Value for undeclared variable\n\n"
        'The root module does not declare a variable named "x".',
    )
    assert terraform_warnings("Plan: 1 to add, 0 to change, 0 to destroy.\n") == ()

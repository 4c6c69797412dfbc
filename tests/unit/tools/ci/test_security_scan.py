"""What the security gate hands checkov: every stack, minus the blocks checkov cannot parse."""

from __future__ import annotations

import json
from pathlib import Path

from tools.ci.security_scan import UNSCANNABLE_BLOCKS, scannable_copy


def test_moved_blocks_are_left_out_of_what_checkov_reads(tmp_path: Path) -> None:
    # Given a synthesized stack that records where a resource used to be
    source = tmp_path / "stacks" / "pipeline-dev" / "cdk.tf.json"
    source.parent.mkdir(parents=True)
    document = {
        "resource": {"aws_sqs_queue": {"foundation_dlq_queue_1": {"name": "dlq"}}},
        "moved": [
            {"from": "aws_sqs_queue.dlq_queue_0", "to": "aws_sqs_queue.foundation_dlq_queue_1"}
        ],
    }
    source.write_text(json.dumps(document))
    # When the scannable copy is made
    copy = scannable_copy([source], tmp_path / "scan") / "pipeline-dev" / "cdk.tf.json"
    # Then checkov sees the same resources under the same stack folder, without the moves
    scanned = json.loads(copy.read_text())
    assert "moved" in UNSCANNABLE_BLOCKS
    assert scanned == {"resource": document["resource"]}
    # And the synthesized file itself is untouched
    assert json.loads(source.read_text()) == document

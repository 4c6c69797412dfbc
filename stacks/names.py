"""Stack names (cdktf's stack ids), importable without cdktf: tools that drive the CLI use them."""

from __future__ import annotations

BOOTSTRAP_STACK_ID = "state-bootstrap"


def pipeline_stack_id(environment: str) -> str:
    return f"pipeline-{environment}"

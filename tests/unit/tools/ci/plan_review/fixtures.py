"""Plan JSON fixtures shared by the plan-review tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PLANS = Path(__file__).resolve().parents[1] / "plans"
# Stands for the emulator endpoint in review_changes.*; each test puts a real-looking one in.
ENDPOINT_TOKEN = "__ENDPOINT__"


def load_plan(name: str, endpoint: str = "http://127.0.0.1:4566") -> dict[str, Any]:
    text = (PLANS / f"{name}.json").read_text().replace(ENDPOINT_TOKEN, endpoint)
    plan: dict[str, Any] = json.loads(text)
    return plan


def load_plan_text(name: str, endpoint: str = "http://127.0.0.1:4566") -> str:
    return (PLANS / f"{name}.txt").read_text().replace(ENDPOINT_TOKEN, endpoint)

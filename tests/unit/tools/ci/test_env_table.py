"""The README's environments table is generated from the code and must match it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from config.environments import build_environments
from constructs_lib.specs import AlarmSubscribers, AlarmThresholds
from tools.ci import env_table

README = Path(__file__).resolve().parents[4] / "README.md"


def test_table_has_one_column_per_environment_and_one_row_per_setting() -> None:
    # Given the three profiles
    rendering = env_table.render_table(build_environments())
    lines = rendering.splitlines()
    # Then the block is marked, headed dev | staging | prod, with every row filled
    assert lines[0] == env_table.BEGIN_MARKER
    assert lines[-1] == env_table.END_MARKER
    assert lines[1] == "| Setting | dev | staging | prod |"
    rows = [line for line in lines[3:] if line.startswith("| ")]
    assert len(rows) == len(env_table.ROWS)
    assert all(line.count("|") == 5 for line in rows)
    assert "| Schedule enabled | off | on | on |" in rows
    assert "| Async retries (processor, maintenance) | 0 | 2 | 2 |" in rows


def test_table_follows_the_settings() -> None:
    # Given prod with a stricter latency threshold and an alarm address
    environments = dict(build_environments())
    prod = environments["prod"]
    environments["prod"] = replace(
        prod,
        operations=replace(
            prod.operations,
            alarm_subscribers=AlarmSubscribers(emails=("oncall@example.com",)),
            thresholds=AlarmThresholds(api_latency_p99_ms=750, period_seconds=60),
        ),
    )
    # When rendered / Then the change shows in prod's column only
    rendering = env_table.render_table(environments)
    assert "| API p99 latency ≥ | 3,000 ms | 2,000 ms | 750 ms |" in rendering
    assert (
        "| Alarm subscribers | none (alarms silent) | `PIPELINE_ALARM_*` at synth; a plan "
        "against AWS refuses without one | `oncall@example.com` |"
    ) in rendering
    assert "| Alarm window | 1 period of 5 min | 1 period of 5 min | 1 period of 1 min |" in (
        rendering
    )


def test_check_reports_a_stale_document(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a document with last release's table and one with the current table
    stale = tmp_path / "stale.md"
    stale.write_text(
        "# Pipeline\n" + env_table.render_table(build_environments()).replace("| 0 |", "| 1 |")
    )
    current = tmp_path / "current.md"
    current.write_text(
        "# Pipeline\n\n" + env_table.render_table(build_environments()) + "\nMore.\n"
    )
    # When checked / Then only the stale one fails, with a message saying how to fix it
    assert env_table.main(["--check", str(current)]) == 0
    assert env_table.main(["--check", str(stale)]) == 1
    assert "paste the output of `python -m tools.ci.env_table`" in capsys.readouterr().err
    assert env_table.main(["--check", str(tmp_path / "missing.md")]) == 2


def test_readme_shows_the_current_environment_table() -> None:
    # Given the README the lead maintains / Then it holds today's rendering of the profiles
    assert README.is_file(), "README.md is missing; it must show `python -m tools.ci.env_table`"
    assert not env_table.stale(
        README.read_text(encoding="utf-8"), env_table.render_table(build_environments())
    ), "README.md's environments table is stale: paste `python -m tools.ci.env_table` output"


def test_every_row_where_environments_differ_says_why() -> None:
    # Given the shipped profiles and the reasons kept beside the table's rows
    environments = build_environments()
    differing = env_table.differing_rows(environments)
    reasons = env_table.reasons()
    # Then each row whose cells differ has a reason, and no reason names a row that is gone
    assert [label for label in differing if label not in reasons] == []
    labels = {label for label, _ in env_table.ROWS}
    assert [label for label in reasons if label not in labels] == []
    # And the rendering lists them, the production seed's stage throttle among them
    rendering = env_table.render_table(environments)
    assert "- **API throttle (rate / burst)**: Prod's stage is the production seed's" in rendering


def test_a_new_difference_without_a_reason_shows_in_the_rendering() -> None:
    # Given prod whose access logs expire later than elsewhere (no reason recorded for that)
    environments = dict(build_environments())
    environments["prod"] = replace(environments["prod"], access_log_expiration_days=365)
    # When rendered / Then the row is listed as unexplained, and the check above would fail
    assert "Access-log objects expire after" in env_table.differing_rows(environments)
    rendering = env_table.render_table(environments)
    assert "- **Access-log objects expire after**: (no reason given)" in rendering

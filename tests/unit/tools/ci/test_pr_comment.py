"""The one pull-request comment that holds every environment's plan review."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.environments import ENVIRONMENT_NAMES
from tools.ci.pr_comment import COMMENT_LIMIT, ENVIRONMENT_ORDER, compose, find_summaries, main

RUN_URL = "https://github.com/acme/pipeline/actions/runs/42"


def summary(environment: str, plan_lines: int = 3) -> str:
    plan = "\n".join(f"  # aws_s3_bucket.b{n} will be updated in-place" for n in range(plan_lines))
    return (
        f"<!-- plan-review:{environment} -->\n## Plan review: {environment}\n\n"
        f"1 to update\n\n<details><summary>Full plan</summary>\n\n```\n{plan}\n```\n</details>\n"
    )


def test_the_order_matches_the_configured_environments() -> None:
    # Given the copy kept so that the comment job needs no project packages
    # Then it is the configuration's order
    assert ENVIRONMENT_ORDER == ENVIRONMENT_NAMES


def test_artifact_folders_are_read_in_deployment_order(tmp_path: Path) -> None:
    # Given the artifacts as the comment job downloads them
    for environment in ("prod", "dev", "staging"):
        folder = tmp_path / f"plan-review-{environment}"
        folder.mkdir()
        (folder / "summary.md").write_text(summary(environment))
    # When the comment is composed
    comment = compose(find_summaries(tmp_path), run_url=RUN_URL)
    # Then every environment's summary is in it, dev first and prod last
    positions = [
        comment.index(f"<!-- plan-review:{name} -->") for name in ("dev", "staging", "prod")
    ]
    assert positions == sorted(positions)
    assert comment.startswith("<!-- plan-review:dev -->")


def test_an_environment_without_a_summary_says_so(tmp_path: Path) -> None:
    # Given only dev's review finished
    (tmp_path / "dev").mkdir()
    (tmp_path / "dev" / "summary.md").write_text(summary("dev"))
    # When the comment is composed
    comment = compose(find_summaries(tmp_path), run_url=RUN_URL)
    # Then staging and prod each say their review stopped, with the run's link
    assert comment.count("stopped before writing one") == 2
    assert f"[the run]({RUN_URL})" in comment


def test_long_reviews_are_cut_to_one_comment_with_their_blocks_closed() -> None:
    # Given three summaries that together pass GitHub's limit, prod's by far the longest
    summaries = {
        "dev": summary("dev"),
        "staging": summary("staging", plan_lines=700),
        "prod": summary("prod", plan_lines=3000),
    }
    # When the comment is composed
    comment = compose(summaries, run_url=RUN_URL)
    # Then it fits, dev is whole, and the cut sections point to their artifact
    assert len(comment) <= COMMENT_LIMIT
    assert summaries["dev"] in comment
    assert "artifact `plan-review-prod`" in comment
    # And every code block and collapsed section that was opened is closed
    assert comment.count("```") % 2 == 0
    assert comment.count("<details>") == comment.count("</details>")


def test_the_command_line_prints_the_comment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given one review folder
    (tmp_path / "prod").mkdir()
    (tmp_path / "prod" / "summary.md").write_text(summary("prod"))
    # When the command runs
    code = main([str(tmp_path), "--run-url", RUN_URL])
    # Then it prints the comment
    assert code == 0
    assert "<!-- plan-review:prod -->" in capsys.readouterr().out


def test_a_missing_folder_is_one_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given no downloaded reviews
    # When the command runs
    code = main([str(tmp_path / "absent")])
    # Then it exits 2 naming the folder
    assert code == 2
    assert "absent is not a folder of plan-review summaries" in capsys.readouterr().err

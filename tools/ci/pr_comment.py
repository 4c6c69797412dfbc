"""Join every environment's plan-review summary into the one pull-request comment CI posts.

    python3 -m tools.ci.pr_comment build/plan-review --run-url URL > comment.md

Reads ``<dir>/**/summary.md`` (what ``make plan-review`` writes per environment, or the
``plan-review-<env>`` artifacts the CI job downloads) and prints one Markdown comment: the
environments in deployment order, each summary as written. GitHub refuses a comment over
65,536 characters, so when the summaries together are longer, the longest are cut at a line
(open code blocks and ``<details>`` closed) with a pointer to the run's artifacts. An
environment whose review wrote no summary says so. Standard library only: the comment job
runs it without installing the project.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

# config.environments.ENVIRONMENT_NAMES, copied so that this runs without the project's
# packages; tests/unit/tools/ci/test_pr_comment.py keeps the two equal.
ENVIRONMENT_ORDER = ("dev", "staging", "prod")
ENVIRONMENTS = frozenset(ENVIRONMENT_ORDER)
# GitHub's limit for a comment body, less room for the sticky action's own hidden marker.
COMMENT_LIMIT = 65_536 - 512
_ENV_FOLDER = re.compile(r"^(?:plan-review-)?(?P<env>[a-z]+)$")


def find_summaries(root: Path) -> dict[str, str]:
    """Environment name -> summary text, from ``<root>/<env>/`` or ``<root>/plan-review-<env>/``."""
    found: dict[str, str] = {}
    for path in sorted(root.glob("*/summary.md")):
        match = _ENV_FOLDER.match(path.parent.name)
        if match and match["env"] in ENVIRONMENTS:
            found[match["env"]] = path.read_text(encoding="utf-8")
    return found


def _missing(environment: str, run_url: str | None) -> str:
    where = f" ([the run]({run_url}))" if run_url else ""
    return (
        f"## Plan review: {environment}\n\nNo summary: the plan review of {environment} "
        f"stopped before writing one; its log says why{where}.\n"
    )


def cut(text: str, budget: int, note: str) -> str:
    """``text`` within ``budget`` characters, cut at a line, its Markdown blocks closed."""
    if len(text) <= budget:
        return text
    kept: list[str] = []
    size = 0
    reserve = len(note) + 64  # closing fences and tags
    for line in text.splitlines(keepends=True):
        if size + len(line) > budget - reserve:
            break
        kept.append(line)
        size += len(line)
    body = "".join(kept)
    if not body.endswith("\n"):
        body += "\n"
    if sum(1 for line in kept if line.lstrip().startswith("```")) % 2:
        body += "```\n"
    open_details = body.count("<details") - body.count("</details>")
    body += "</details>\n" * max(open_details, 0)
    return body + note


def compose(
    summaries: Mapping[str, str],
    *,
    environments: Sequence[str] = ENVIRONMENT_ORDER,
    run_url: str | None = None,
    limit: int = COMMENT_LIMIT,
) -> str:
    """The comment: every environment's section, cut longest-first to fit ``limit``."""
    sections = {
        name: summaries[name].rstrip("\n") + "\n" if name in summaries else _missing(name, run_url)
        for name in environments
    }
    separator = "\n---\n\n"
    overhead = len(separator) * (len(sections) - 1)
    budget = limit - overhead
    # Give each section an equal share; a short one leaves its spare to the others.
    remaining = budget
    shares: dict[str, int] = {}
    for index, name in enumerate(sorted(sections, key=lambda n: len(sections[n]))):
        share = remaining // (len(sections) - index)
        shares[name] = min(len(sections[name]), share)
        remaining -= shares[name]
    where = f"the run's artifacts ({run_url})" if run_url else "the run's artifacts"
    parts = [
        cut(
            sections[name],
            shares[name],
            f"\n_Cut to fit one comment: the whole summary is `summary.md` in artifact "
            f"`plan-review-{name}` of {where}._\n",
        )
        for name in environments
    ]
    # Each summary opens with its own "## Plan review: <env>" heading.
    return separator.join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python3 -m tools.ci.pr_comment", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument("root", type=Path, help="folder holding <env>/summary.md")
    parser.add_argument("--run-url", help="link to the CI run, for its artifacts")
    args = parser.parse_args(argv)
    if not args.root.is_dir():
        print(f"error: {args.root} is not a folder of plan-review summaries", file=sys.stderr)
        return 2
    sys.stdout.write(compose(find_summaries(args.root), run_url=args.run_url))
    return 0


if __name__ == "__main__":
    sys.exit(main())

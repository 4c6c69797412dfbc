"""The GitHub Actions workflow runs .ci/run's stages, with the least permissions per job."""

from __future__ import annotations

import re
from typing import Any

import yaml  # type: ignore[import-untyped]  # PyYAML: locked in Pipfile.lock (checkov needs it)

from tools.ci.terraform_cli import PROJECT_ROOT

WORKFLOWS = PROJECT_ROOT / ".github" / "workflows"
CI_SCRIPT = PROJECT_ROOT / ".ci" / "run"
MAKEFILE = PROJECT_ROOT / "Makefile"


def workflow(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    return loaded


def run_steps(document: dict[str, Any]) -> list[str]:
    return [
        step["run"]
        for job in document["jobs"].values()
        for step in job.get("steps", [])
        if "run" in step
    ]


def script_stages() -> set[str]:
    """The stages .ci/run's case statement accepts."""
    return set(re.findall(r"^    ([a-z-]+)\)$", CI_SCRIPT.read_text(), flags=re.MULTILINE))


def test_every_project_command_in_the_workflows_is_a_stage_of_the_ci_script() -> None:
    # Given every shell step of both workflows
    steps = run_steps(workflow("ci.yml")) + run_steps(workflow("apply.yml"))
    # When the ones that run the project are picked out
    project_steps = [step for step in steps if re.search(r"\b(make|pytest|pipenv)\b|\.ci/", step)]
    # Then each calls .ci/run with a stage the script has, and none calls make or pytest itself
    called = {
        re.fullmatch(r'bash \.ci/run ([a-z-]+)( "\$ENVIRONMENT")?', s.strip())
        for s in project_steps
    }
    assert None not in called, project_steps
    stages = {match.group(1) for match in called if match}
    assert stages == {"test", "plan-review", "apply"}
    assert stages <= script_stages()


def test_the_ci_script_calls_only_make_targets_that_exist() -> None:
    # Given the make targets .ci/run calls
    called = set(re.findall(r"\bmake ([a-z-]+)", CI_SCRIPT.read_text()))
    defined = set(re.findall(r"^([a-z-]+):", MAKEFILE.read_text(), flags=re.MULTILINE))
    # Then the Makefile defines each of them
    assert called >= {"test", "plan-review", "plan-fingerprint", "apply-reviewed"}
    assert called <= defined


def test_each_job_gets_only_the_permissions_it_uses() -> None:
    # Given both workflows, which grant nothing by default
    ci, apply = workflow("ci.yml"), workflow("apply.yml")
    assert ci["permissions"] == {}
    assert apply["permissions"] == {}
    jobs = {**ci["jobs"], **{f"apply.yml:{name}": job for name, job in apply["jobs"].items()}}

    def holders(scope: str, level: str) -> set[str]:
        return {name for name, job in jobs.items() if job["permissions"].get(scope) == level}

    # Then only the comment job writes to pull requests
    assert holders("pull-requests", "write") == {"comment"}
    # And only the jobs that assume an AWS role may ask for an OIDC token
    assert holders("id-token", "write") == {
        "plan-aws",
        "apply-dev",
        "apply-staging",
        "apply-prod",
        "apply.yml:apply",
    }
    # And nothing writes to the repository's contents
    assert not holders("contents", "write")


def test_every_job_has_a_timeout_and_applies_run_behind_their_environment() -> None:
    # Given the jobs that run steps (callers of apply.yml run none of their own)
    ci, apply = workflow("ci.yml"), workflow("apply.yml")
    step_jobs = [job for job in [*ci["jobs"].values(), *apply["jobs"].values()] if "steps" in job]
    # Then each has a timeout
    assert all(isinstance(job.get("timeout-minutes"), int) for job in step_jobs)
    # And the apply job names its GitHub environment and is never cancelled mid-apply
    job = apply["jobs"]["apply"]
    assert job["environment"] == "${{ inputs.environment }}"
    assert job["concurrency"] == {
        "group": "apply-${{ inputs.environment }}",
        "cancel-in-progress": False,
    }
    # And the environments are applied in order, each after the one before
    assert ci["jobs"]["apply-staging"]["needs"] == "apply-dev"
    assert ci["jobs"]["apply-prod"]["needs"] == "apply-staging"


def test_the_review_comment_is_one_sticky_comment() -> None:
    # Given the comment job
    steps = workflow("ci.yml")["jobs"]["comment"]["steps"]
    sticky = [step for step in steps if "sticky-pull-request-comment" in step.get("uses", "")]
    # Then one step posts it, under one header, pinned by commit
    assert len(sticky) == 1
    assert sticky[0]["with"]["header"] == "plan-review"
    assert re.fullmatch(r"marocchino/sticky-pull-request-comment@[0-9a-f]{40}", sticky[0]["uses"])

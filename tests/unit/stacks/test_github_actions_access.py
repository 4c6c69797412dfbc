"""The bootstrap's GitHub OIDC provider and CI roles (issue 15), as synthesized.

Each role trusts exactly one subject of exactly this repository, for the STS audience, through
the provider the bootstrap creates; without PIPELINE_GITHUB_REPOSITORY there is none of it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from config.deployment import ConfigError, DeploymentTarget
from constructs_lib.pipeline.github_actions_access import GithubActionsAccessProps
from constructs_lib.specs import GithubRepository
from stacks.app import build_app

REPOSITORY = "acme-platform/event-pipeline"
ENVIRONMENTS = ("dev", "staging", "prod")


def synth_bootstrap(tmp_path: Path, **environ: str) -> dict[str, Any]:
    target = DeploymentTarget.from_environ(environ, probe=False)
    build_app(target, outdir=str(tmp_path)).synth()
    stack: dict[str, Any] = json.loads(
        (tmp_path / "stacks" / "state-bootstrap" / "cdk.tf.json").read_text()
    )
    return stack


def by_path(stack: dict[str, Any], section: str, suffix: str) -> dict[str, Any]:
    kind, resource_type = section.split(".")
    for body in stack[kind][resource_type].values():
        if body["//"]["metadata"]["path"].endswith(suffix):
            return dict(body)
    raise AssertionError(f"no {section} ending in {suffix}")


def reference(stack: dict[str, Any], section: str, suffix: str, attribute: str) -> str:
    kind, resource_type = section.split(".")
    for name, body in stack[kind][resource_type].items():
        if body["//"]["metadata"]["path"].endswith(suffix):
            prefix = "data." if kind == "data" else ""
            return f"${{{prefix}{resource_type}.{name}.{attribute}}}"
    raise AssertionError(f"no {section} ending in {suffix}")


@pytest.fixture(scope="module")
def bootstrap(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return synth_bootstrap(
        tmp_path_factory.mktemp("bootstrap"), PIPELINE_GITHUB_REPOSITORY=REPOSITORY
    )


def test_the_provider_is_githubs_issuer_for_the_sts_audience(bootstrap: dict[str, Any]) -> None:
    # Given the bootstrap for a named repository
    provider = by_path(bootstrap, "resource.aws_iam_openid_connect_provider", "provider")
    # Then it trusts GitHub Actions' issuer for STS only, with no pinned thumbprint
    assert provider["url"] == "https://token.actions.githubusercontent.com"
    assert provider["client_id_list"] == ["sts.amazonaws.com"]
    assert "thumbprint_list" not in provider


@pytest.mark.parametrize("environment", ENVIRONMENTS)
@pytest.mark.parametrize(
    ("kind", "subject"),
    [
        ("plan", f"repo:{REPOSITORY}:pull_request"),
        ("apply", f"repo:{REPOSITORY}:environment:{{environment}}"),
    ],
)
def test_each_role_trusts_exactly_one_subject_of_this_repository(
    bootstrap: dict[str, Any], environment: str, kind: str, subject: str
) -> None:
    # Given one of the CI roles and its trust policy document
    role = by_path(bootstrap, "resource.aws_iam_role", f"{environment}-{kind}-role")
    trust = by_path(bootstrap, "data.aws_iam_policy_document", f"{environment}-{kind}-trust")
    provider_arn = reference(
        bootstrap, "resource.aws_iam_openid_connect_provider", "provider", "arn"
    )
    # Then the role's trust is that document
    assert role["assume_role_policy"] == reference(
        bootstrap, "data.aws_iam_policy_document", f"{environment}-{kind}-trust", "json"
    )
    # And its only statement lets the bootstrap's provider assume it by web identity
    (statement,) = trust["statement"]
    assert statement.get("effect", "Allow") == "Allow"
    assert statement["actions"] == ["sts:AssumeRoleWithWebIdentity"]
    assert statement["principals"] == [{"type": "Federated", "identifiers": [provider_arn]}]
    # And only for the STS audience and this exact subject, compared exactly (no wildcard)
    conditions = {condition["variable"]: condition for condition in statement["condition"]}
    assert set(conditions) == {
        "token.actions.githubusercontent.com:aud",
        "token.actions.githubusercontent.com:sub",
    }
    for condition in conditions.values():
        assert condition["test"] == "StringEquals"
        assert all("*" not in value and "?" not in value for value in condition["values"])
    assert conditions["token.actions.githubusercontent.com:aud"]["values"] == ["sts.amazonaws.com"]
    assert conditions["token.actions.githubusercontent.com:sub"]["values"] == [
        subject.format(environment=environment)
    ]


def test_the_outputs_map_each_environment_to_its_roles(bootstrap: dict[str, Any]) -> None:
    # Given the bootstrap's outputs
    outputs: dict[str, Any] = bootstrap["output"]
    # Then the provider and both role maps are there, named after their resources
    assert {name for name in outputs if "github" in name} == {
        "github_oidc_provider_arn",
        "github_plan_role_arns",
        "github_apply_role_arns",
    }
    # And each map has one role per environment
    plan, apply = outputs["github_plan_role_arns"], outputs["github_apply_role_arns"]
    assert set(plan["value"]) == set(apply["value"]) == set(ENVIRONMENTS)
    assert plan["value"]["prod"] == reference(
        bootstrap, "resource.aws_iam_role", "prod-plan-role", "arn"
    )
    assert apply["value"]["dev"] == reference(
        bootstrap, "resource.aws_iam_role", "dev-apply-role", "arn"
    )


def test_a_plan_role_reads_only_its_own_state_and_locks_it(bootstrap: dict[str, Any]) -> None:
    # Given staging's plan role permissions
    document = by_path(bootstrap, "data.aws_iam_policy_document", "staging-plan-permissions")
    statements = {statement["sid"]: statement for statement in document["statement"]}
    # Then it reads staging's state object and takes its lock file, nothing more in S3
    state = statements["ThisEnvironmentsState"]
    assert state["actions"] == ["s3:GetObject"]
    assert state["resources"][0].endswith(
        ":s3:::evpipe-terraform-state/pipeline-staging/terraform.tfstate"
    )
    lock = statements["ThisEnvironmentsStateLock"]
    assert lock["resources"][0].endswith("pipeline-staging/terraform.tfstate.tflock")
    # And every other environment's state is denied, whatever ReadOnlyAccess allows
    denied = statements["DenyOtherEnvironmentsState"]
    assert denied["effect"] == "Deny"
    assert sorted(resource.rsplit("/", 2)[-2] for resource in denied["resources"]) == [
        "pipeline-dev",
        "pipeline-dev",
        "pipeline-prod",
        "pipeline-prod",
    ]


def test_without_a_repository_the_bootstrap_creates_no_oidc_resources(tmp_path: Path) -> None:
    # Given the default bootstrap (PIPELINE_GITHUB_REPOSITORY unset)
    stack = synth_bootstrap(tmp_path)
    # Then there is no OIDC provider, no CI role and no CI output
    assert "aws_iam_openid_connect_provider" not in stack["resource"]
    assert not [
        body
        for body in stack["resource"].get("aws_iam_role", {}).values()
        if "github" in body["name"]
    ]
    assert not [name for name in stack.get("output", {}) if "github" in name]


@pytest.mark.parametrize(
    ("value", "complaint"),
    [
        ("event-pipeline", "must be written owner/name"),
        ("acme/*", "is not a GitHub repository name"),
        ("*/event-pipeline", "is not a GitHub user or organization name"),
        ("acme/event-pipeline/extra", "is not a GitHub repository name"),
        ("-acme/event-pipeline", "is not a GitHub user or organization name"),
        ("acme/..", "is not a GitHub repository name"),
        ("acme/", "is not a GitHub repository name"),
    ],
)
def test_a_bad_repository_name_is_refused_naming_the_variable(value: str, complaint: str) -> None:
    # Given a repository setting that is not one exact GitHub repository
    # When the deployment settings are read
    with pytest.raises(ConfigError) as raised:
        DeploymentTarget.from_environ({"PIPELINE_GITHUB_REPOSITORY": value}, probe=False)
    # Then the error names the variable and what is wrong
    assert str(raised.value).startswith("PIPELINE_GITHUB_REPOSITORY: ")
    assert complaint in str(raised.value)


def test_a_repository_is_spelled_as_github_shows_it() -> None:
    # Given a repository name with dots, underscores and capitals
    repository = GithubRepository.parse("Acme-Platform/event_pipeline.v2")
    # Then it keeps them (the sub claim is compared exactly)
    assert repository.full_name == "Acme-Platform/event_pipeline.v2"


def test_props_refuse_no_environment_and_shared_state_objects() -> None:
    # Given CI access props without environments, or two sharing one state object
    repository = GithubRepository.parse(REPOSITORY)
    common: dict[str, Any] = {
        "repository": repository,
        "project": "evpipe",
        "state_bucket": "evpipe-terraform-state",
        "state_key_arn": "arn:aws:kms:us-west-2:123456789012:key/x",
    }
    # When they are built, Then each is refused with its reason
    with pytest.raises(ValueError, match="state_keys must name at least one environment"):
        GithubActionsAccessProps(state_keys={}, **common)
    with pytest.raises(ValueError, match="the same state object"):
        GithubActionsAccessProps(state_keys={"dev": "same", "prod": "same"}, **common)

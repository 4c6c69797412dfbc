"""Start a CodeDeploy deployment that moves one function's `live` alias to a new version.

Where an environment's rollout is gradual (``RolloutSettings.gradual``), ``terraform apply``
publishes each new version but leaves the alias on the old one. This starts the deployment
that shifts it, by the deployment group's configuration (canary, linear), rolled back by
CodeDeploy when the function's error alarm fires:

    pipenv run python -m tools.rollout --env prod --function processor             # start it
    pipenv run python -m tools.rollout --env prod --function processor --dry-run   # print it

``--dry-run`` prints the input for ``aws deploy create-deployment --cli-input-json`` instead.
The AppSpec names the alias's current version and the target (by default the newest
published version; ``--target-version N`` picks another, e.g. to roll forward a fix).
Written here because neither the AWS CLI nor boto3 builds a Lambda AppSpec from an alias.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from config.environments import ENVIRONMENT_NAMES, build_environments
from constructs_lib.base.python_function import LIVE_ALIAS

FUNCTIONS = ("processor", "api", "validate", "notify", "maintenance")
# The application the environment's Operations construct creates (GradualRollout).
APPLICATION_SUFFIX = "functions"


class RolloutError(RuntimeError):
    """Why no deployment was started (one line for the user)."""


def application_name(name_prefix: str) -> str:
    return f"{name_prefix}-{APPLICATION_SUFFIX}"


def appspec(*, function_name: str, current_version: str, target_version: str) -> dict[str, Any]:
    """CodeDeploy's AppSpec for a Lambda deployment of the `live` alias."""
    return {
        "version": 0.0,
        "Resources": [
            {
                "live": {
                    "Type": "AWS::Lambda::Function",
                    "Properties": {
                        "Name": function_name,
                        "Alias": LIVE_ALIAS,
                        "CurrentVersion": current_version,
                        "TargetVersion": target_version,
                    },
                }
            }
        ],
    }


def deployment_input(
    *, name_prefix: str, function: str, current_version: str, target_version: str
) -> dict[str, Any]:
    """CreateDeployment's input (the CLI's --cli-input-json) for one function's group."""
    function_name = f"{name_prefix}-{function}"
    content = appspec(
        function_name=function_name,
        current_version=current_version,
        target_version=target_version,
    )
    return {
        "applicationName": application_name(name_prefix),
        "deploymentGroupName": function,
        "description": f"{function_name}: {LIVE_ALIAS} {current_version} -> {target_version}",
        "revision": {
            "revisionType": "AppSpecContent",
            "appSpecContent": {"content": json.dumps(content, sort_keys=True)},
        },
    }


def newest_version(lambda_client: Any, function_name: str) -> str:
    """The highest published version number of the function ($LATEST is not a version)."""
    numbers = [
        int(version["Version"])
        for page in lambda_client.get_paginator("list_versions_by_function").paginate(
            FunctionName=function_name
        )
        for version in page["Versions"]
        if version["Version"].isdigit()
    ]
    if not numbers:
        raise RolloutError(f"{function_name} has no published version")
    return str(max(numbers))


def plan_deployment(
    lambda_client: Any, *, name_prefix: str, function: str, target_version: str | None
) -> dict[str, Any] | None:
    """The deployment to start, or None when the alias already serves the target."""
    function_name = f"{name_prefix}-{function}"
    try:
        alias = lambda_client.get_alias(FunctionName=function_name, Name=LIVE_ALIAS)
    except lambda_client.exceptions.ResourceNotFoundException:
        raise RolloutError(f"{function_name} has no {LIVE_ALIAS} alias: deploy it first") from None
    current = str(alias["FunctionVersion"])
    target = target_version or newest_version(lambda_client, function_name)
    if target == current:
        return None
    return deployment_input(
        name_prefix=name_prefix, function=function, current_version=current, target_version=target
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", required=True, choices=ENVIRONMENT_NAMES)
    parser.add_argument("--function", required=True, choices=FUNCTIONS)
    parser.add_argument("--target-version", help="a published version number (default: newest)")
    parser.add_argument("--dry-run", action="store_true", help="print the deployment's input")
    args = parser.parse_args(argv)
    if args.target_version is not None and not args.target_version.isdigit():
        parser.error(f"--target-version must be a version number, got {args.target_version!r}")
    config = build_environments()[args.env]
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        planned = plan_deployment(
            boto3.client("lambda", region_name=config.region),
            name_prefix=config.name_prefix,
            function=args.function,
            target_version=args.target_version,
        )
        if planned is None:
            print(f"{config.name_prefix}-{args.function}: {LIVE_ALIAS} already serves the target")
            return 0
        if args.dry_run:
            print(json.dumps(planned, indent=2))
            return 0
        started = boto3.client("codedeploy", region_name=config.region).create_deployment(**planned)
    except RolloutError as error:
        print(f"rollout: {error}", file=sys.stderr)
        return 2
    except (BotoCoreError, ClientError) as error:
        print(f"rollout: AWS refused: {error}", file=sys.stderr)
        return 2
    print(f"{planned['description']}: deployment {started['deploymentId']} started")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

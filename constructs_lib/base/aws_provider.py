"""The AWS provider for one stack: region, default tags, account guard and endpoint override."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cdktf import TerraformStack
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.provider import (
    AwsProvider,
    AwsProviderDefaultTags,
    AwsProviderEndpoints,
)
from constructs import Construct

from constructs_lib.specs import EndpointOverride

# The bindings pin the exact provider release they were generated from (5.99.1); any 5.x
# from 5.99 on has the same schema for what we use, including the 5.100.0 offline mirror.
PROVIDER_VERSION_CONSTRAINT = "~> 5.99"

# Every service the pipeline's resources call; an endpoint override must serve them all.
OVERRIDDEN_SERVICES = (
    "apigateway",
    "apigatewayv2",
    "applicationautoscaling",
    "cloudwatch",
    "cloudwatchevents",
    "cloudwatchlogs",
    "dynamodb",
    "ec2",
    "iam",
    "kms",
    "lambda_",
    "s3",
    "sfn",
    "sns",
    "sqs",
    "sts",
    "xray",
)


@dataclass(frozen=True, kw_only=True)
class AwsProviderProps:
    region: str
    default_tags: Mapping[str, str]
    # Refuse to run against any other account when set.
    allowed_account_id: str | None = None
    # When set and no account is pinned, every plan and apply fails at once, naming this
    # variable: the stack must not reach real AWS before it knows which account is its own.
    require_account_variable: str | None = None
    # One endpoint (and credentials) for every service, such as a local emulator; None is AWS.
    endpoint: EndpointOverride | None = None


class PipelineAwsProvider(Construct):
    """Configures hashicorp/aws so every resource is tagged and, optionally, redirected."""

    def __init__(self, scope: Construct, construct_id: str, *, props: AwsProviderProps) -> None:
        super().__init__(scope, construct_id)
        override: dict[str, Any] = {}
        if props.endpoint is not None:
            override = {
                "access_key": props.endpoint.access_key,
                "secret_key": props.endpoint.secret_key,
                "endpoints": [
                    AwsProviderEndpoints(**dict.fromkeys(OVERRIDDEN_SERVICES, props.endpoint.url))
                ],
                "s3_use_path_style": True,
                "skip_credentials_validation": True,
                "skip_metadata_api_check": "true",
                # The account lookup stays on: the endpoint answers GetCallerIdentity, and
                # without an account the provider builds ARNs with an empty account field and
                # reads same-account security-group references as cross-account (drift).
                "skip_region_validation": True,
            }
        self.provider = AwsProvider(
            self,
            "aws",
            region=props.region,
            default_tags=[AwsProviderDefaultTags(tags=dict(props.default_tags))],
            allowed_account_ids=(
                [props.allowed_account_id] if props.allowed_account_id is not None else None
            ),
            **override,
        )
        if props.allowed_account_id is None and props.require_account_variable is not None:
            self._refuse_unpinned_account(props.require_account_variable)
        stack = TerraformStack.of(self)
        stack.add_override("terraform.required_providers.aws.source", "hashicorp/aws")
        stack.add_override("terraform.required_providers.aws.version", PROVIDER_VERSION_CONSTRAINT)

    def _refuse_unpinned_account(self, variable: str) -> None:
        # Read first in every plan; the postcondition can never hold, so planning stops here.
        caller = DataAwsCallerIdentity(self, "unpinned-account")
        caller.add_override(
            "lifecycle.postcondition",
            [
                {
                    "condition": '${self.account_id == "pinned"}',
                    "error_message": (
                        f"No AWS account is pinned for this stack: set {variable} to its "
                        "12-digit account ID (or account_id in config/environments.py) and "
                        "synthesize again."
                    ),
                }
            ],
        )

"""GitHub Actions' way into the account: the OIDC provider, and per environment two roles.

No stored AWS keys: a workflow job asks GitHub for an OIDC token and exchanges it with STS
for one role's short-lived credentials. Each role trusts one ``sub`` claim of one repository,
matched exactly (StringEquals, never a wildcard), and the audience ``sts.amazonaws.com``:

- plan role  ``repo:<owner>/<name>:pull_request``: a pull request's plan review. It reads the
  account (ReadOnlyAccess, what a refresh needs), reads its environment's state object and
  takes that state's lock file (a plan locks the state), and no other environment's state.
- apply role ``repo:<owner>/<name>:environment:<env>``: only a job that names the GitHub
  environment, so its protection rules (required reviewers, deployment branches) gate it.
  It deploys the stack: PowerUserAccess (every service but IAM, Organizations and account
  settings), IAM limited to roles and policies named after the environment plus the managed
  policies the stack attaches, and read/write of its own state. Creating roles that Lambda
  or Step Functions assume is what a deploy does, so this role is, in effect, an
  administrator of the environment's account: the GitHub environment's reviewers are its guard.

The bootstrap stack creates this construct only when PIPELINE_GITHUB_REPOSITORY names a
repository (config/deployment.py); unset, the account has no OIDC provider and no CI roles.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
    DataAwsIamPolicyDocumentStatementPrincipals,
)
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition
from cdktf_cdktf_provider_aws.iam_openid_connect_provider import IamOpenidConnectProvider
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from constructs import Construct

from constructs_lib.base.backup_plan import BACKUP_MANAGED_POLICIES
from constructs_lib.pipeline.monitoring import add_outputs
from constructs_lib.specs import GithubRepository

# GitHub's OIDC issuer for Actions, and the audience configure-aws-credentials asks for.
GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
GITHUB_OIDC_AUDIENCE = "sts.amazonaws.com"
# Read access to everything a refresh reads; AWS keeps this list current as services grow.
PLAN_MANAGED_POLICY = "ReadOnlyAccess"
# Every service but IAM, Organizations and account settings; IAM is granted below by name.
APPLY_MANAGED_POLICY = "PowerUserAccess"
# A plan review takes minutes and a full apply about a quarter of an hour: one hour (STS's
# default for web identity) leaves room, and stolen credentials die soon.
ROLE_MAX_SESSION_SECONDS = 3600
# The IAM actions a deploy of a stack's own roles and inline policies needs.
ROLE_MANAGEMENT_ACTIONS = (
    "iam:CreateRole",
    "iam:DeleteRole",
    "iam:GetRole",
    "iam:UpdateRole",
    "iam:UpdateRoleDescription",
    "iam:UpdateAssumeRolePolicy",
    "iam:TagRole",
    "iam:UntagRole",
    "iam:ListRoleTags",
    "iam:PutRolePolicy",
    "iam:GetRolePolicy",
    "iam:DeleteRolePolicy",
    "iam:ListRolePolicies",
    "iam:ListAttachedRolePolicies",
    "iam:ListInstanceProfilesForRole",
    "iam:PassRole",
)
STATE_READ_ACTIONS = ("s3:GetObject",)
STATE_WRITE_ACTIONS = ("s3:GetObject", "s3:PutObject")
LOCK_ACTIONS = ("s3:GetObject", "s3:PutObject", "s3:DeleteObject")
STATE_KEY_ACTIONS = ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey")
# The migration lock table (README: Terraform state), when the backends still lock there.
LOCK_TABLE_ACTIONS = (
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:DeleteItem",
)
# Every object action a managed policy may allow on another environment's state.
OTHER_STATE_DENIED_ACTIONS = ("s3:GetObject*", "s3:PutObject*", "s3:DeleteObject*")


def plan_subject(repository: GithubRepository) -> str:
    """The ``sub`` of a job run for a pull request (GitHub's documented format)."""
    return f"repo:{repository.full_name}:pull_request"


def apply_subject(repository: GithubRepository, environment: str) -> str:
    """The ``sub`` of a job that names the GitHub environment ``environment``."""
    return f"repo:{repository.full_name}:environment:{environment}"


@dataclass(frozen=True, kw_only=True)
class GithubActionsAccessProps:
    repository: GithubRepository
    # Roles are named <project>-<env>-github-plan|apply; the environment's own roles start
    # with <project>-<env>-, which is what the apply role may manage in IAM.
    project: str
    # Environment name -> its state object key in the state bucket (one plan and apply role each).
    state_keys: Mapping[str, str]
    state_bucket: str
    state_key_arn: str
    # Set only while the backends also lock in a DynamoDB table (migration).
    lock_table: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "state_keys", MappingProxyType(dict(self.state_keys)))
        if not self.state_keys:
            raise ValueError("state_keys must name at least one environment")
        keys = list(self.state_keys.values())
        if len(set(keys)) != len(keys):
            raise ValueError("state_keys gives two environments the same state object")
        if not self.project:
            raise ValueError("project must not be empty")
        if not self.state_bucket:
            raise ValueError("state_bucket must not be empty")


class GithubActionsAccess(Construct):
    """The account's GitHub OIDC provider and, per environment, a plan and an apply role."""

    def __init__(
        self, scope: Construct, construct_id: str, *, props: GithubActionsAccessProps
    ) -> None:
        super().__init__(scope, construct_id)
        self._props = props
        self._partition = DataAwsPartition(self, "partition").partition
        self._account_id = DataAwsCallerIdentity(self, "caller").account_id
        # No thumbprint: IAM trusts GitHub's issuer through its own library of root CAs, and
        # the argument has been optional since AWS stopped using it for this provider.
        self.provider = IamOpenidConnectProvider(
            self,
            "provider",
            url=f"https://{GITHUB_OIDC_HOST}",
            client_id_list=[GITHUB_OIDC_AUDIENCE],
        )
        self.plan_roles: dict[str, IamRole] = {}
        self.apply_roles: dict[str, IamRole] = {}
        for environment in props.state_keys:
            self.plan_roles[environment] = self._plan_role(environment)
            self.apply_roles[environment] = self._apply_role(environment)
        # Named like terraform-aws-modules' outputs, without cdktf's path prefix and hash, so
        # `make output ENV=bootstrap` prints what the README copies into repository variables.
        add_outputs(
            self,
            {
                "github_oidc_provider_arn": self.provider.arn,
                "github_plan_role_arns": {n: role.arn for n, role in self.plan_roles.items()},
                "github_apply_role_arns": {n: role.arn for n, role in self.apply_roles.items()},
            },
        )

    # --- trust ---------------------------------------------------------------------------

    def _trust(self, construct_id: str, subject: str) -> DataAwsIamPolicyDocument:
        """Only this provider's tokens for ``sts.amazonaws.com`` with exactly ``subject``."""
        return DataAwsIamPolicyDocument(
            self,
            construct_id,
            statement=[
                DataAwsIamPolicyDocumentStatement(
                    sid="GithubActionsOidc",
                    actions=["sts:AssumeRoleWithWebIdentity"],
                    principals=[
                        DataAwsIamPolicyDocumentStatementPrincipals(
                            type="Federated", identifiers=[self.provider.arn]
                        )
                    ],
                    condition=[
                        DataAwsIamPolicyDocumentStatementCondition(
                            test="StringEquals",
                            variable=f"{GITHUB_OIDC_HOST}:aud",
                            values=[GITHUB_OIDC_AUDIENCE],
                        ),
                        # StringEquals: one exact subject, no wildcard on repository or event.
                        DataAwsIamPolicyDocumentStatementCondition(
                            test="StringEquals",
                            variable=f"{GITHUB_OIDC_HOST}:sub",
                            values=[subject],
                        ),
                    ],
                )
            ],
        )

    # --- roles ---------------------------------------------------------------------------

    def _role(
        self, environment: str, kind: str, subject: str, managed_policy: str, description: str
    ) -> IamRole:
        trust = self._trust(f"{environment}-{kind}-trust", subject)
        role = IamRole(
            self,
            f"{environment}-{kind}-role",
            name=f"{self._props.project}-{environment}-github-{kind}",
            description=description,
            assume_role_policy=trust.json,
            max_session_duration=ROLE_MAX_SESSION_SECONDS,
        )
        IamRolePolicyAttachment(
            self,
            f"{environment}-{kind}-managed",
            role=role.name,
            policy_arn=f"arn:{self._partition}:iam::aws:policy/{managed_policy}",
        )
        return role

    def _plan_role(self, environment: str) -> IamRole:
        role = self._role(
            environment,
            "plan",
            plan_subject(self._props.repository),
            PLAN_MANAGED_POLICY,
            f"GitHub Actions plans {environment} for a pull request (read-only)",
        )
        statements = [
            *self._state_statements(environment, STATE_READ_ACTIONS),
            *self._deny_other_state(environment),
        ]
        self._inline_policy(environment, "plan", role, statements)
        return role

    def _apply_role(self, environment: str) -> IamRole:
        role = self._role(
            environment,
            "apply",
            apply_subject(self._props.repository, environment),
            APPLY_MANAGED_POLICY,
            f"GitHub Actions applies {environment} from its protected GitHub environment",
        )
        iam = f"arn:{self._partition}:iam::{self._account_id}"
        own_names = f"{self._props.project}-{environment}-"
        statements = [
            *self._state_statements(environment, STATE_WRITE_ACTIONS),
            *self._deny_other_state(environment),
            DataAwsIamPolicyDocumentStatement(
                sid="ManageEnvironmentRoles",
                actions=list(ROLE_MANAGEMENT_ACTIONS),
                # The environment's own roles only; never these CI roles (a different suffix
                # would still match, so they are denied below).
                resources=[f"{iam}:role/{own_names}*"],
            ),
            DataAwsIamPolicyDocumentStatement(
                sid="AttachOnlyTheStacksManagedPolicies",
                actions=["iam:AttachRolePolicy", "iam:DetachRolePolicy"],
                resources=[f"{iam}:role/{own_names}*"],
                condition=[
                    DataAwsIamPolicyDocumentStatementCondition(
                        test="ArnEquals",
                        variable="iam:PolicyARN",
                        values=[
                            f"arn:{self._partition}:iam::aws:policy/{policy}"
                            for policy in BACKUP_MANAGED_POLICIES
                        ],
                    )
                ],
            ),
            DataAwsIamPolicyDocumentStatement(
                sid="DenyChangingCiRoles",
                effect="Deny",
                not_actions=["iam:Get*", "iam:List*"],
                resources=[f"{iam}:role/{self._props.project}-*-github-*"],
            ),
        ]
        self._inline_policy(environment, "apply", role, statements)
        return role

    def _inline_policy(
        self,
        environment: str,
        kind: str,
        role: IamRole,
        statements: list[DataAwsIamPolicyDocumentStatement],
    ) -> None:
        document = DataAwsIamPolicyDocument(
            self, f"{environment}-{kind}-permissions", statement=statements
        )
        IamRolePolicy(
            self,
            f"{environment}-{kind}-policy",
            name="terraform-state",
            role=role.id,
            policy=document.json,
        )

    # --- state ---------------------------------------------------------------------------

    def _object_arn(self, key: str) -> str:
        return f"arn:{self._partition}:s3:::{self._props.state_bucket}/{key}"

    def _state_statements(
        self, environment: str, state_actions: tuple[str, ...]
    ) -> list[DataAwsIamPolicyDocumentStatement]:
        key = self._props.state_keys[environment]
        statements = [
            DataAwsIamPolicyDocumentStatement(
                sid="ListStateBucket",
                actions=["s3:ListBucket"],
                resources=[f"arn:{self._partition}:s3:::{self._props.state_bucket}"],
            ),
            DataAwsIamPolicyDocumentStatement(
                sid="ThisEnvironmentsState",
                actions=list(state_actions),
                resources=[self._object_arn(key)],
            ),
            # Terraform's S3 lock file sits beside the state object (use_lockfile).
            DataAwsIamPolicyDocumentStatement(
                sid="ThisEnvironmentsStateLock",
                actions=list(LOCK_ACTIONS),
                resources=[self._object_arn(f"{key}.tflock")],
            ),
            DataAwsIamPolicyDocumentStatement(
                sid="UseTheStateKey",
                actions=list(STATE_KEY_ACTIONS),
                resources=[self._props.state_key_arn],
            ),
        ]
        if self._props.lock_table is not None:
            statements.append(
                DataAwsIamPolicyDocumentStatement(
                    sid="MigrationLockTable",
                    actions=list(LOCK_TABLE_ACTIONS),
                    resources=[
                        f"arn:{self._partition}:dynamodb:*:{self._account_id}:table/"
                        f"{self._props.lock_table}"
                    ],
                )
            )
        return statements

    def _deny_other_state(self, environment: str) -> list[DataAwsIamPolicyDocumentStatement]:
        """The managed policies allow any object; never another environment's state."""
        others = [
            self._object_arn(f"{key}{suffix}")
            for name, key in self._props.state_keys.items()
            if name != environment
            for suffix in ("", ".tflock")
        ]
        if not others:  # a single-environment account has no other state to guard
            return []
        return [
            DataAwsIamPolicyDocumentStatement(
                sid="DenyOtherEnvironmentsState",
                effect="Deny",
                actions=list(OTHER_STATE_DENIED_ACTIONS),
                resources=others,
            )
        ]

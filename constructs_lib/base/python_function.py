"""A Python Lambda function with its own role, log group, tracing and packaged code.

Every apply that changes the code or configuration publishes a version, and the `live` alias
is what every trigger, permission and grant names (``alias_arn``, ``invoke_arn``,
``qualifier``): a rollback is one alias update, and a gradual rollout (CodeDeploy) moves the
alias without Terraform. ``function.arn`` and ``function.invoke_arn`` are the unqualified
$LATEST and are for nobody to invoke.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cdktf import AssetType, Fn, TerraformAsset, TerraformResourceLifecycle
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
)
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition
from cdktf_cdktf_provider_aws.data_aws_region import DataAwsRegion
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.lambda_alias import LambdaAlias
from cdktf_cdktf_provider_aws.lambda_function import (
    LambdaFunction,
    LambdaFunctionDeadLetterConfig,
    LambdaFunctionEnvironment,
    LambdaFunctionTracingConfig,
    LambdaFunctionVpcConfig,
)
from cdktf_cdktf_provider_aws.lambda_provisioned_concurrency_config import (
    LambdaProvisionedConcurrencyConfig,
)
from constructs import Construct

from constructs_lib.base.encryption_key import decrypt_through_services
from constructs_lib.base.log_groups import encrypted_log_group
from constructs_lib.base.policy_statements import service_assume_role
from constructs_lib.checkov_suppression import skip_check
from constructs_lib.code_archive import build_archive
from constructs_lib.specs import check_provisioned_concurrency

# The newest runtime Powertools 3 and our layer are built for.
DEFAULT_RUNTIME = "python3.12"
# Graviton: about 20% cheaper per GB-second than x86 for the same code.
DEFAULT_ARCHITECTURE = "arm64"
# Every function exposes `lambda_handler` from `<package>/handler.py`.
HANDLER_MODULE = "handler"
HANDLER_FUNCTION = "lambda_handler"
# Where function archives are built; the zip root holds the package folder.
ARCHIVE_ROOT = Path(__file__).resolve().parents[2] / "build" / "functions"
# The alias every trigger invokes; it points at the version serving traffic.
LIVE_ALIAS = "live"
# What CodeDeploy changes on the alias while it shifts traffic; Terraform must not undo it.
CODEDEPLOY_MANAGED_ALIAS_ATTRIBUTES = ("function_version", "routing_config")


@dataclass(frozen=True, kw_only=True)
class VpcPlacement:
    subnet_ids: Sequence[str]
    security_group_ids: Sequence[str]
    # Groups the function moves to just before it is deleted, so Lambda's lingering network
    # interfaces do not pin its own group; empty leaves it on its groups until the end.
    replacement_security_group_ids: Sequence[str] = ()


@dataclass(frozen=True, kw_only=True)
class PythonFunctionProps:
    function_name: str
    # A package folder under lambda_functions/, shipped as the zip's only top-level folder.
    source_dir: Path
    description: str
    memory_mb: int
    timeout_seconds: int
    log_retention_days: int
    # Encrypts the log group and the environment variables at rest.
    kms_key_arn: str
    environment: Mapping[str, str] = field(default_factory=dict)
    layer_arns: Sequence[str] = ()
    # Least-privilege statements for what the code calls, scoped to specific ARNs.
    policy_statements: Sequence[DataAwsIamPolicyDocumentStatement] = ()
    # None leaves the function on the account's unreserved concurrency pool.
    reserved_concurrency: int | None = None
    # Initialized environments kept on the `live` alias; None keeps none (cold starts allowed).
    provisioned_concurrency: int | None = None
    # True: a CodeDeploy deployment moves the alias to new versions, and Terraform ignores its
    # version; False: every apply points the alias at the version it published.
    alias_moved_by_codedeploy: bool = False
    active_tracing: bool = True
    dead_letter_queue_arn: str | None = None
    # Required when there is no dead-letter queue: why failed async events may be dropped.
    no_dead_letter_reason: str | None = None
    vpc: VpcPlacement | None = None
    # Required when vpc is None: why the function runs outside a VPC.
    no_vpc_reason: str | None = None

    def __post_init__(self) -> None:
        if not (self.source_dir / f"{HANDLER_MODULE}.py").is_file():
            raise ValueError(
                f"source_dir {self.source_dir} has no {HANDLER_MODULE}.py with {HANDLER_FUNCTION}"
            )
        if not 1 <= len(self.function_name) <= 64:
            raise ValueError(f"function_name must be 1-64 characters, got {self.function_name!r}")
        if (self.dead_letter_queue_arn is None) == (self.no_dead_letter_reason is None):
            raise ValueError("set exactly one of dead_letter_queue_arn and no_dead_letter_reason")
        if (self.vpc is None) == (self.no_vpc_reason is None):
            raise ValueError("set exactly one of vpc and no_vpc_reason")
        if self.reserved_concurrency is not None and self.reserved_concurrency < 1:
            raise ValueError(
                f"reserved_concurrency must be at least 1, got {self.reserved_concurrency}"
            )
        check_provisioned_concurrency(
            self.function_name, self.provisioned_concurrency, self.reserved_concurrency
        )

    @property
    def package_name(self) -> str:
        return self.source_dir.name


def package_function(source_dir: Path) -> Path:
    """Zip a function package so that the archive's root holds ``<package>/``."""
    return build_archive(
        source_dir, ARCHIVE_ROOT / f"{source_dir.name}.zip", prefix=f"{source_dir.name}/"
    )


class PythonFunction(Construct):
    """Lambda function, its execution role and its log group, secure by default."""

    def __init__(self, scope: Construct, construct_id: str, *, props: PythonFunctionProps) -> None:
        super().__init__(scope, construct_id)
        # Known at synth time: alarms and capacity figures are relative to it.
        self.timeout_seconds = props.timeout_seconds
        self.log_group = encrypted_log_group(
            self,
            "logs",
            name=f"/aws/lambda/{props.function_name}",
            retention_days=props.log_retention_days,
            kms_key_arn=props.kms_key_arn,
        )
        self.role = IamRole(
            self,
            "role",
            name=f"{props.function_name}-role",
            assume_role_policy=self._trust_policy().json,
        )
        self.policy_document = self._permissions(props)
        self.role_policy = IamRolePolicy(
            self, "policy", role=self.role.id, policy=self.policy_document.json
        )
        # A FILE asset holding our own zip: see constructs_lib/code_archive.py for why.
        self.asset = TerraformAsset(
            self, "code", path=str(package_function(props.source_dir)), type=AssetType.FILE
        )
        # Moving off our groups before deletion frees them at once; see private_network.
        replacement_groups = list(props.vpc.replacement_security_group_ids) if props.vpc else []
        self.function = LambdaFunction(
            self,
            "function",
            function_name=props.function_name,
            description=props.description,
            role=self.role.arn,
            runtime=DEFAULT_RUNTIME,
            architectures=[DEFAULT_ARCHITECTURE],
            handler=f"{props.package_name}.{HANDLER_MODULE}.{HANDLER_FUNCTION}",
            filename=self.asset.path,
            source_code_hash=Fn.filebase64sha256(self.asset.path),
            memory_size=props.memory_mb,
            timeout=props.timeout_seconds,
            reserved_concurrent_executions=props.reserved_concurrency,
            layers=list(props.layer_arns) or None,
            kms_key_arn=props.kms_key_arn,
            environment=LambdaFunctionEnvironment(variables=dict(props.environment))
            if props.environment
            else None,
            tracing_config=LambdaFunctionTracingConfig(
                mode="Active" if props.active_tracing else "PassThrough"
            ),
            dead_letter_config=LambdaFunctionDeadLetterConfig(
                target_arn=props.dead_letter_queue_arn
            )
            if props.dead_letter_queue_arn
            else None,
            vpc_config=LambdaFunctionVpcConfig(
                subnet_ids=list(props.vpc.subnet_ids),
                security_group_ids=list(props.vpc.security_group_ids),
            )
            if props.vpc
            else None,
            replace_security_groups_on_destroy=True if replacement_groups else None,
            replacement_security_group_ids=replacement_groups or None,
            # Each change becomes an immutable version the alias can point at (and back).
            publish=True,
            # The log group must exist first or Lambda creates one with no retention.
            depends_on=[self.log_group],
        )
        self.alias_moved_by_codedeploy = props.alias_moved_by_codedeploy
        self.alias = LambdaAlias(
            self,
            "alias",
            name=LIVE_ALIAS,
            description="The version serving traffic; every trigger invokes this alias",
            function_name=self.function.function_name,
            # The version this apply published; with CodeDeploy only the first one.
            function_version=self.function.version,
            lifecycle=TerraformResourceLifecycle(
                ignore_changes=list(CODEDEPLOY_MANAGED_ALIAS_ATTRIBUTES)
            )
            if props.alias_moved_by_codedeploy
            else None,
        )
        self.provisioned_concurrency: LambdaProvisionedConcurrencyConfig | None = None
        if props.provisioned_concurrency is not None:
            self.provisioned_concurrency = LambdaProvisionedConcurrencyConfig(
                self,
                "provisioned-concurrency",
                function_name=self.function.function_name,
                qualifier=self.alias.name,
                provisioned_concurrent_executions=props.provisioned_concurrency,
            )
        self._suppress_inapplicable_checks(props)

    @property
    def function_name(self) -> str:
        return self.function.function_name

    @property
    def qualifier(self) -> str:
        """What aws_lambda_permission and event invoke configs name besides the function."""
        return self.alias.name

    @property
    def alias_arn(self) -> str:
        """The ARN triggers invoke and grants name: the `live` alias, never $LATEST."""
        return self.alias.arn

    @property
    def invoke_arn(self) -> str:
        """The alias's API Gateway integration URI."""
        return self.alias.invoke_arn

    def _trust_policy(self) -> DataAwsIamPolicyDocument:
        return DataAwsIamPolicyDocument(
            self,
            "trust",
            statement=[service_assume_role("lambda.amazonaws.com")],
        )

    def _permissions(self, props: PythonFunctionProps) -> DataAwsIamPolicyDocument:
        statements = [
            DataAwsIamPolicyDocumentStatement(
                sid="WriteOwnLogs",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[f"{self.log_group.arn}:*"],
            ),
            DataAwsIamPolicyDocumentStatement(
                sid="DecryptEnvironment",
                actions=["kms:Decrypt"],
                resources=[props.kms_key_arn],
                # Only through Lambda (environment) and the encrypted stores the code reads.
                condition=[decrypt_through_services()],
            ),
            *props.policy_statements,
        ]
        if props.active_tracing:
            statements.append(
                DataAwsIamPolicyDocumentStatement(
                    sid="PublishTraces",
                    actions=["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                    resources=["*"],
                )
            )
        if props.vpc is not None:
            statements += self._network_interface_statements(props.vpc)
        # X-Ray's Put* actions and ec2:DescribeNetworkInterfaces take no resource ARNs; checkov
        # accepts those on "*", so no statement here needs a suppression.
        return DataAwsIamPolicyDocument(self, "permissions", statement=statements)

    def _network_interface_statements(
        self, vpc: VpcPlacement
    ) -> list[DataAwsIamPolicyDocumentStatement]:
        """What Lambda does with the role to attach the function to its subnets, by ARN."""
        partition = DataAwsPartition(self, "partition").partition
        region = DataAwsRegion(self, "region").name
        account = DataAwsCallerIdentity(self, "caller").account_id
        ec2 = f"arn:{partition}:ec2:{region}:{account}"
        interfaces = f"{ec2}:network-interface/*"
        return [
            DataAwsIamPolicyDocumentStatement(
                sid="CreateNetworkInterfacesInOwnSubnets",
                actions=["ec2:CreateNetworkInterface"],
                resources=[
                    interfaces,
                    *(f"{ec2}:subnet/{subnet}" for subnet in vpc.subnet_ids),
                    *(f"{ec2}:security-group/{group}" for group in vpc.security_group_ids),
                ],
            ),
            DataAwsIamPolicyDocumentStatement(
                sid="ManageOwnNetworkInterfaces",
                actions=[
                    "ec2:DeleteNetworkInterface",
                    "ec2:AssignPrivateIpAddresses",
                    "ec2:UnassignPrivateIpAddresses",
                ],
                resources=[interfaces],
            ),
            DataAwsIamPolicyDocumentStatement(
                sid="DescribeNetworkInterfaces",
                actions=["ec2:DescribeNetworkInterfaces"],
                resources=["*"],
            ),
        ]

    def _suppress_inapplicable_checks(self, props: PythonFunctionProps) -> None:
        skip_check(
            self.function,
            "CKV_AWS_272",
            "Code signing needs an AWS Signer profile fed by a release pipeline; the deployed "
            "zip is pinned by source_code_hash to the reviewed asset instead.",
        )
        if props.no_dead_letter_reason is not None:
            skip_check(self.function, "CKV_AWS_116", props.no_dead_letter_reason)
        if props.no_vpc_reason is not None:
            skip_check(self.function, "CKV_AWS_117", props.no_vpc_reason)
        if props.reserved_concurrency is None:
            skip_check(
                self.function,
                "CKV_AWS_115",
                "This environment sizes no reserved concurrency; the function shares the "
                "account's unreserved pool.",
            )

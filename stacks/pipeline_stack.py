"""One environment of the event pipeline: S3 ingest -> processor Lambda -> DynamoDB."""

from __future__ import annotations

from pathlib import Path

from cdktf import TerraformOutput, TerraformStack
from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocumentStatement,
)
from constructs import Construct

from config.deployment import DeploymentTarget
from config.environments import EnvironmentConfig
from constructs_lib.aws_provider import AwsProviderProps, PipelineAwsProvider
from constructs_lib.dependencies_layer import (
    DEFAULT_LAYER_DIR,
    DependenciesLayer,
    DependenciesLayerProps,
)
from constructs_lib.encryption_key import EncryptionKey, EncryptionKeyProps
from constructs_lib.python_function import PythonFunction, PythonFunctionProps
from constructs_lib.records_table import RecordsTable, RecordsTableProps
from constructs_lib.s3_lambda_trigger import S3LambdaTrigger, S3LambdaTriggerProps
from constructs_lib.secure_bucket import SecureBucket, SecureBucketProps
from constructs_lib.state_backend import configure_state_backend

LAMBDA_FUNCTIONS_DIR = Path(__file__).resolve().parent.parent / "lambda_functions"


class PipelineStack(TerraformStack):
    """Everything one environment runs, named from ``config.name_prefix``."""

    def __init__(
        self,
        scope: Construct,
        stack_id: str,
        *,
        config: EnvironmentConfig,
        target: DeploymentTarget,
        layer_dir: Path = DEFAULT_LAYER_DIR,
    ) -> None:
        super().__init__(scope, stack_id)
        self.config = config
        prefix = config.name_prefix
        PipelineAwsProvider(
            self,
            "provider",
            props=AwsProviderProps(
                region=config.region,
                default_tags=config.tags,
                allowed_account_id=config.account_id,
                endpoint_url=target.endpoint_url,
            ),
        )
        configure_state_backend(
            self, settings=target.state, stack_name=stack_id, endpoint_url=target.endpoint_url
        )
        self.key = EncryptionKey(
            self,
            "key",
            props=EncryptionKeyProps(
                name_prefix=prefix,
                region=config.region,
                deletion_window_days=7 if config.name == "dev" else 30,
            ),
        )
        self.access_logs = SecureBucket(
            self,
            "access-logs",
            props=SecureBucketProps(
                bucket_name=f"{prefix}-access-logs-{config.region}",
                kms_key_arn=None,
                sse_s3_reason="S3 server access log delivery supports only SSE-S3 on the target.",
                is_access_log_sink=True,
                # Off only on the emulator: moto cannot evaluate aws:SecureTransport.
                deny_insecure_transport=not target.is_emulator,
                force_destroy=config.force_destroy,
                prevent_destroy=config.deletion_protection,
                noncurrent_version_expiration_days=config.noncurrent_version_expiration_days,
                no_event_notifications_reason="Access logs are read on demand, never processed.",
            ),
        )
        self.ingest = SecureBucket(
            self,
            "ingest",
            props=SecureBucketProps(
                bucket_name=f"{prefix}-ingest-{config.region}",
                kms_key_arn=self.key.key.arn,
                access_logs_sink=self.access_logs,
                deny_insecure_transport=not target.is_emulator,
                force_destroy=config.force_destroy,
                prevent_destroy=config.deletion_protection,
                noncurrent_version_expiration_days=config.noncurrent_version_expiration_days,
            ),
        )
        self.records = RecordsTable(
            self,
            "records",
            props=RecordsTableProps(
                table_name=f"{prefix}-records",
                kms_key_arn=self.key.key.arn,
                billing_mode=config.table.billing_mode,
                read_capacity=config.table.read_capacity,
                write_capacity=config.table.write_capacity,
                deletion_protection=config.deletion_protection,
            ),
        )
        self.layer = DependenciesLayer(
            self,
            "dependencies",
            props=DependenciesLayerProps(layer_name=f"{prefix}-dependencies", layer_dir=layer_dir),
        )
        self.processor = PythonFunction(
            self,
            "processor",
            props=PythonFunctionProps(
                function_name=f"{prefix}-processor",
                source_dir=LAMBDA_FUNCTIONS_DIR / "processor",
                description="Records every object created in the ingest bucket",
                memory_mb=config.processor.memory_mb,
                timeout_seconds=config.processor.timeout_seconds,
                reserved_concurrency=config.processor.reserved_concurrency,
                log_retention_days=config.log_retention_days,
                kms_key_arn=self.key.key.arn,
                layer_arns=[self.layer.layer.arn],
                environment={
                    "TABLE_NAME": self.records.table.name,
                    "RECORD_TTL_DAYS": str(config.record_ttl_days),
                    **self._powertools_environment("processor"),
                },
                policy_statements=[
                    DataAwsIamPolicyDocumentStatement(
                        sid="WriteRecords",
                        actions=["dynamodb:PutItem"],
                        resources=[self.records.table.arn],
                    ),
                ],
                no_dead_letter_reason="Lambda retries failed async events twice before dropping them.",
                no_vpc_reason="VPC isolation is off in this environment's profile.",
            ),
        )
        self.ingest_trigger = S3LambdaTrigger(
            self,
            "ingest-trigger",
            props=S3LambdaTriggerProps(
                bucket_name=self.ingest.bucket.id,
                bucket_arn=self.ingest.bucket.arn,
                function_arn=self.processor.function.arn,
                function_name=self.processor.function.function_name,
            ),
        )
        self._outputs()

    def _powertools_environment(self, service: str) -> dict[str, str]:
        return {
            "POWERTOOLS_SERVICE_NAME": service,
            "POWERTOOLS_METRICS_NAMESPACE": self.config.project,
            "POWERTOOLS_LOG_LEVEL": "DEBUG" if self.config.name == "dev" else "INFO",
        }

    def _outputs(self) -> None:
        outputs = {
            "ingest_bucket_name": self.ingest.bucket.id,
            "ingest_bucket_arn": self.ingest.bucket.arn,
            "records_table_name": self.records.table.name,
            "records_table_arn": self.records.table.arn,
            "records_table_stream_arn": self.records.table.stream_arn,
            "processor_function_name": self.processor.function.function_name,
            "processor_function_arn": self.processor.function.arn,
            "kms_key_arn": self.key.key.arn,
        }
        for name, value in outputs.items():
            TerraformOutput(self, name, value=value)

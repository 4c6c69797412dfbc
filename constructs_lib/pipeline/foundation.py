"""What every other domain of one environment builds on.

The environment's KMS key, the access-log sink, the records table, the dependencies layer,
the failure queue that asynchronous functions hand their failed events to, and (when the
environment asks for it) the private network. ``function()`` builds a Lambda function with
everything functions here share: the name prefix, log retention, the key, the layer,
Powertools settings and the VPC placement, or the reason there is none.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
)
from constructs import Construct
from pipeline_common.environment import (
    POWERTOOLS_LOG_LEVEL,
    POWERTOOLS_METRICS_NAMESPACE,
    POWERTOOLS_SERVICE_NAME,
    REQUEST_LOG_TABLE,
    REQUEST_LOG_TTL_DAYS,
    Assignment,
)

from constructs_lib.aws_limits import require_int
from constructs_lib.base.alarm_topic import CLOUDWATCH_ALARMS_PRINCIPAL
from constructs_lib.base.dead_letter_queue import DeadLetterQueue, DeadLetterQueueProps
from constructs_lib.base.dependencies_layer import (
    DEFAULT_LAYER_DIR,
    DependenciesLayer,
    DependenciesLayerProps,
)
from constructs_lib.base.encryption_key import EncryptionKey, EncryptionKeyProps, KeyServiceGrant
from constructs_lib.base.python_function import PythonFunction, PythonFunctionProps
from constructs_lib.base.records_table import RecordsTable, RecordsTableProps
from constructs_lib.base.request_log_table import RequestLogTable, RequestLogTableProps
from constructs_lib.base.secure_bucket import SecureBucket, access_log_sink
from constructs_lib.patterns.alarms import MetricRef, queue_alarm_specs, table_alarm_specs
from constructs_lib.patterns.dashboard import Graph
from constructs_lib.patterns.private_network import (
    XRAY_ACCESS,
    PrivateNetwork,
    PrivateNetworkProps,
)
from constructs_lib.patterns.s3_queue_trigger import S3_PRINCIPAL
from constructs_lib.patterns.schedule import EVENTBRIDGE_PRINCIPAL
from constructs_lib.patterns.state_machine import LOG_DELIVERY_PRINCIPAL
from constructs_lib.pipeline.monitoring import AlarmGroup, AlarmPolicy, add_outputs
from constructs_lib.pipeline.runtime_services import require_routes
from constructs_lib.specs import FunctionSettings, RolloutSettings, TableSettings

# One package per function: lambda_functions/<name>/handler.py.
LAMBDA_FUNCTIONS_DIR = Path(__file__).resolve().parents[2] / "lambda_functions"


def key_service_grants(prefix: str) -> tuple[KeyServiceGrant, ...]:
    """Which service may use the environment key, and for which of its resources."""
    resource = "arn:${partition}:{service}:${region}:${account}:" + prefix + "-*"
    return (
        # Alarms publish to the encrypted alarm topic; SNS names the topic in the context.
        KeyServiceGrant(
            sid="AlarmsEncryptTopicMessages",
            principals=[CLOUDWATCH_ALARMS_PRINCIPAL],
            condition_variable="kms:EncryptionContext:aws:sns:topicArn",
            arn_patterns=[resource.replace("{service}", "sns")],
        ),
        # EventBridge dead-letters and S3 notifies into encrypted queues; SQS names the queue.
        KeyServiceGrant(
            sid="ServicesEncryptQueueMessages",
            principals=[EVENTBRIDGE_PRINCIPAL, S3_PRINCIPAL],
            condition_variable="kms:EncryptionContext:aws:sqs:arn",
            arn_patterns=[resource.replace("{service}", "sqs")],
        ),
        # Vended log delivery (the workflow's execution logs) acts for this account's logs.
        KeyServiceGrant(
            sid="LogDeliveryEncryption",
            principals=[LOG_DELIVERY_PRINCIPAL],
            condition_variable="aws:SourceArn",
            arn_patterns=["arn:${partition}:logs:${region}:${account}:*"],
        ),
    )


def log_group_prefixes(prefix: str) -> tuple[str, ...]:
    """Every log group name this environment creates starts with one of these."""
    return (
        f"/aws/lambda/{prefix}-",
        f"/aws/apigateway/{prefix}-",
        f"/aws/vendedlogs/states/{prefix}-",
        f"/aws/vpc/{prefix}/",
    )


NO_VPC_REASON = "VPC isolation is off in this environment's profile."
# Seed 002's access logs expired after 90 days; its request rows are kept as long.
DEFAULT_REQUEST_LOG_TTL_DAYS = 90
# The unsharded layout: one partition key per day, as every record before sharding.
DEFAULT_RECORD_WRITE_SHARDS = 1


@dataclass(frozen=True, kw_only=True)
class NetworkLayout:
    """The private VPC every function joins."""

    cidr_block: str
    outbound_internet: bool = False


@dataclass(frozen=True, kw_only=True)
class FoundationProps:
    # <project>-<environment>: the root of every physical name.
    name_prefix: str
    region: str
    # The CloudWatch metrics namespace the functions publish their own metrics to.
    metrics_namespace: str
    key_deletion_window_days: int
    table: TableSettings
    # Partition keys per day of the records table (pipeline_common/records.py); every
    # function that writes or reads records by day is deployed with it.
    record_write_shards: int = DEFAULT_RECORD_WRITE_SHARDS
    # Stateful resources refuse deletion (API flag and Terraform prevent_destroy).
    deletion_protection: bool
    # Lets `terraform destroy` empty buckets; only for throwaway data.
    force_destroy: bool
    noncurrent_version_expiration_days: int
    # Days until a current access-log object expires; None keeps access logs forever.
    access_log_expiration_days: int | None
    log_retention_days: int
    # Powertools' log level in every function.
    log_level: str
    # The TLS-only Deny on buckets; off only where the target cannot evaluate it.
    deny_insecure_transport: bool = True
    # None keeps functions out of any VPC.
    network: NetworkLayout | None = None
    layer_dir: Path = DEFAULT_LAYER_DIR
    # Days until a request log row expires (TTL); 0 keeps rows forever.
    request_log_ttl_days: int = DEFAULT_REQUEST_LOG_TTL_DAYS
    # How new versions reach every function's `live` alias (operations deploys CodeDeploy).
    rollout: RolloutSettings = field(default_factory=RolloutSettings)
    # False drops every function's provisioned concurrency (a target that cannot provide it).
    provisioned_concurrency_enabled: bool = True

    def __post_init__(self) -> None:
        require_int(
            "request_log_ttl_days",
            self.request_log_ttl_days,
            REQUEST_LOG_TTL_DAYS.minimum,
            REQUEST_LOG_TTL_DAYS.maximum,
        )


class Foundation(Construct):
    """Key, access-log sink, records and request-log tables, layer, failure queue, network."""

    def __init__(self, scope: Construct, construct_id: str, *, props: FoundationProps) -> None:
        super().__init__(scope, construct_id)
        self.props = props
        prefix = props.name_prefix
        self.key = EncryptionKey(
            self,
            "key",
            props=EncryptionKeyProps(
                name_prefix=prefix,
                region=props.region,
                deletion_window_days=props.key_deletion_window_days,
                log_group_prefixes=log_group_prefixes(prefix),
                service_grants=key_service_grants(prefix),
                # Protected exactly where the table and buckets it encrypts are.
                prevent_destroy=props.deletion_protection,
            ),
        )
        self.access_logs: SecureBucket = access_log_sink(
            self,
            "access-logs",
            bucket_name=f"{prefix}-access-logs-{props.region}",
            # Every bucket of this environment is named "<prefix>-...".
            source_buckets=(f"{prefix}-*",),
            deny_insecure_transport=props.deny_insecure_transport,
            force_destroy=props.force_destroy,
            prevent_destroy=props.deletion_protection,
            noncurrent_version_expiration_days=props.noncurrent_version_expiration_days,
            expiration_days=props.access_log_expiration_days,
        )
        self.records = RecordsTable(
            self,
            "records",
            props=RecordsTableProps(
                table_name=f"{prefix}-records",
                kms_key_arn=self.key.key.arn,
                billing_mode=props.table.billing_mode,
                read_capacity=props.table.read_capacity,
                write_capacity=props.table.write_capacity,
                index_read_capacity=props.table.index_reads,
                index_write_capacity=props.table.index_writes,
                deletion_protection=props.deletion_protection,
            ),
        )
        # Seed 002's request log: written by the API and maintenance functions (PutItem only).
        self.request_log = RequestLogTable(
            self,
            "request-log",
            props=RequestLogTableProps(
                table_name=f"{prefix}-request-log",
                kms_key_arn=self.key.key.arn,
                deletion_protection=props.deletion_protection,
            ),
        )
        self.layer = DependenciesLayer(
            self,
            "dependencies",
            props=DependenciesLayerProps(
                layer_name=f"{prefix}-dependencies", layer_dir=props.layer_dir
            ),
        )
        self.failure_queue = DeadLetterQueue(
            self,
            "dlq",
            props=DeadLetterQueueProps(queue_name=f"{prefix}-dlq", kms_key_arn=self.key.key.arn),
        )
        self.network: PrivateNetwork | None = None
        if props.network is not None:
            self.network = PrivateNetwork(
                self,
                "network",
                props=PrivateNetworkProps(
                    name_prefix=prefix,
                    cidr_block=props.network.cidr_block,
                    region=props.region,
                    kms_key_arn=self.key.key.arn,
                    flow_log_retention_days=props.log_retention_days,
                    outbound_internet=props.network.outbound_internet,
                    # Every function is traced; X-Ray has no gateway endpoint.
                    interface_endpoints=(XRAY_ACCESS,),
                ),
            )
            self.network.allow_dynamodb([self.records.table.arn, self.request_log.table.arn])
        outputs: dict[str, object] = {
            "kms_key_arn": self.key.key.arn,
            "records_table_name": self.records.table.name,
            "records_table_arn": self.records.table.arn,
            "records_table_stream_arn": self.records.table.stream_arn,
            "request_log_table_name": self.request_log.table.name,
            "request_log_table_arn": self.request_log.table.arn,
            "dlq_queue_url": self.failure_queue.queue.url,
            "dlq_queue_arn": self.failure_queue.queue.arn,
        }
        if self.network is not None:
            outputs |= {
                "vpc_id": self.network.vpc.id,
                "private_subnet_ids": self.network.private_subnet_ids,
                "function_security_group_id": self.network.function_security_group.id,
            }
        self.outputs = add_outputs(self, outputs)

    def function(
        self,
        scope: Construct,
        name: str,
        *,
        description: str,
        sizing: FunctionSettings,
        environment: Mapping[str, str],
        statements: Sequence[DataAwsIamPolicyDocumentStatement],
        no_dead_letter_reason: str,
    ) -> PythonFunction:
        """The function in lambda_functions/<name>, named <prefix>-<name>, under ``scope``.

        In the VPC, every service the function calls (runtime_services.FUNCTION_SERVICES) must
        already have an endpoint, or the NAT gateway must be on: ValueError otherwise.
        """
        props = self.props
        if self.network is not None:
            require_routes(
                name,
                endpoints=self.network.routed_services,
                outbound_internet=self.network.outbound_internet,
            )
        return PythonFunction(
            scope,
            name,
            props=PythonFunctionProps(
                function_name=f"{props.name_prefix}-{name}",
                source_dir=LAMBDA_FUNCTIONS_DIR / name,
                description=description,
                memory_mb=sizing.memory_mb,
                timeout_seconds=sizing.timeout_seconds,
                reserved_concurrency=sizing.reserved_concurrency,
                provisioned_concurrency=sizing.provisioned_concurrency
                if props.provisioned_concurrency_enabled
                else None,
                alias_moved_by_codedeploy=props.rollout.gradual,
                log_retention_days=props.log_retention_days,
                kms_key_arn=self.key.key.arn,
                layer_arns=[self.layer.layer.arn],
                environment={
                    **environment,
                    POWERTOOLS_SERVICE_NAME: name,
                    POWERTOOLS_METRICS_NAMESPACE: props.metrics_namespace,
                    POWERTOOLS_LOG_LEVEL: props.log_level,
                },
                policy_statements=statements,
                no_dead_letter_reason=no_dead_letter_reason,
                vpc=self.network.function_placement if self.network is not None else None,
                no_vpc_reason=None if self.network is not None else NO_VPC_REASON,
            ),
        )

    def request_log_environment(self) -> tuple[Assignment, Assignment]:
        """The variables a request log writer reads (pipeline_common.request_log)."""
        return (
            REQUEST_LOG_TABLE.set(self.request_log.table.name),
            REQUEST_LOG_TTL_DAYS.set(self.props.request_log_ttl_days),
        )

    def request_log_statements(self) -> list[DataAwsIamPolicyDocumentStatement]:
        """A writer's grant: PutItem on the request log, nothing else (no reads, no updates)."""
        return [
            DataAwsIamPolicyDocumentStatement(
                sid="WriteRequestLog",
                actions=["dynamodb:PutItem"],
                resources=[self.request_log.table.arn],
            )
        ]

    def failure_destination_statements(self) -> list[DataAwsIamPolicyDocumentStatement]:
        """What a function's role needs to hand its failed async events to the failure queue."""
        return [
            DataAwsIamPolicyDocumentStatement(
                sid="SendFailedEventsToDlq",
                actions=["sqs:SendMessage"],
                resources=[self.failure_queue.queue.arn],
            ),
            # The queue is SSE-KMS: each send needs a data key (kms:Decrypt is granted already).
            DataAwsIamPolicyDocumentStatement(
                sid="EncryptFailedEvents",
                actions=["kms:GenerateDataKey"],
                resources=[self.key.key.arn],
                condition=[
                    DataAwsIamPolicyDocumentStatementCondition(
                        test="StringEquals",
                        variable="kms:EncryptionContext:aws:sqs:arn",
                        values=[self.failure_queue.queue.arn],
                    )
                ],
            ),
        ]

    @property
    def functions(self) -> Sequence[PythonFunction]:
        return ()

    def alarm_groups(self, policy: AlarmPolicy) -> list[AlarmGroup]:
        thresholds = policy.thresholds
        return [
            AlarmGroup(
                title="Records table",
                specs=table_alarm_specs(
                    label="records-table",
                    table_name=self.records.table.name,
                    throttled_requests=thresholds.dynamodb_throttled_requests,
                    system_errors=thresholds.dynamodb_system_errors,
                    window=policy.window,
                ),
            ),
            AlarmGroup(
                title="Failed events",
                specs=queue_alarm_specs(
                    label="dlq",
                    queue_name=self.failure_queue.queue.name,
                    visible_messages=thresholds.dlq_visible_messages,
                    window=policy.window,
                ),
            ),
        ]

    def traffic_graphs(self) -> list[Graph]:
        return [
            Graph(
                title="Records table capacity",
                metrics=[
                    MetricRef(
                        namespace="AWS/DynamoDB",
                        metric_name=f"Consumed{kind}CapacityUnits",
                        dimensions={"TableName": self.records.table.name},
                        statistic="Sum",
                        label=f"{kind.lower()} units",
                    )
                    for kind in ("Read", "Write")
                ],
            )
        ]

"""One environment of the event pipeline: S3 ingest -> processor Lambda -> DynamoDB."""

from __future__ import annotations

from pathlib import Path

from cdktf import TerraformOutput, TerraformStack
from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocumentStatement,
)
from cdktf_cdktf_provider_aws.sfn_state_machine import SfnStateMachine
from constructs import Construct

from config.deployment import DeploymentTarget
from config.environments import EnvironmentConfig, FunctionSettings
from config.operations import MAINTENANCE_MEMORY_MB, MAINTENANCE_TIMEOUT_SECONDS
from constructs_lib.alarm_topic import CLOUDWATCH_ALARMS_PRINCIPAL, AlarmTopic, AlarmTopicProps
from constructs_lib.async_invocation import AsyncInvocation, AsyncInvocationProps
from constructs_lib.aws_provider import AwsProviderProps, PipelineAwsProvider
from constructs_lib.dead_letter_queue import DeadLetterQueue, DeadLetterQueueProps
from constructs_lib.dependencies_layer import (
    DEFAULT_LAYER_DIR,
    DependenciesLayer,
    DependenciesLayerProps,
)
from constructs_lib.encryption_key import EncryptionKey, EncryptionKeyProps
from constructs_lib.http_api import HttpApi, HttpApiProps
from constructs_lib.notification_topic import NotificationTopic, NotificationTopicProps
from constructs_lib.pipeline_alarms import (
    AlarmSpec,
    AlarmWindow,
    MetricRef,
    PipelineAlarms,
    PipelineAlarmsProps,
    api_alarm_specs,
    function_alarm_specs,
    queue_alarm_specs,
    schedule_alarm_specs,
    state_machine_alarm_specs,
    table_alarm_specs,
)
from constructs_lib.pipeline_dashboard import (
    DashboardSection,
    Graph,
    PipelineDashboard,
    PipelineDashboardProps,
    graph_for_alarm,
)
from constructs_lib.private_network import (
    InterfaceEndpointAccess,
    PrivateNetwork,
    PrivateNetworkProps,
)
from constructs_lib.python_function import PythonFunction, PythonFunctionProps, VpcPlacement
from constructs_lib.records_table import RecordsTable, RecordsTableProps
from constructs_lib.rest_api import RestApi, RestApiProps
from constructs_lib.s3_lambda_trigger import S3LambdaTrigger, S3LambdaTriggerProps
from constructs_lib.schedule import EVENTBRIDGE_PRINCIPAL, Schedule, ScheduleProps
from constructs_lib.secure_bucket import SecureBucket, SecureBucketProps
from constructs_lib.state_backend import configure_state_backend
from constructs_lib.workflow import LOG_DELIVERY_PRINCIPAL, RetryPolicy, Workflow, WorkflowProps

LAMBDA_FUNCTIONS_DIR = Path(__file__).resolve().parent.parent / "lambda_functions"
# Why functions fed asynchronously carry no dead_letter_config (checkov CKV_AWS_116).
FAILURE_DESTINATION_REASON = (
    "Failed async events go to the on-failure destination, the pipeline DLQ, with the "
    "error and the original event; a dead_letter_config on the same queue would deliver "
    "every failure twice."
)
# moto cannot create aws_sfn_state_machine: the provider first calls
# ValidateStateMachineDefinition, which moto's server lacks. Emulator runs skip that one
# resource; its role, log group and functions are still deployed.
EMULATOR_STATE_MACHINE_SKIP_REASON = (
    "moto cannot create aws_sfn_state_machine (it lacks ValidateStateMachineDefinition)"
)
# Step Functions invokes these synchronously and retries them; nothing is queued or dropped.
WORKFLOW_TASK_NO_DLQ_REASON = (
    "Invoked synchronously by Step Functions, which retries and then fails the execution "
    "into a named Fail state; no event is ever queued or dropped."
)


def _timeout_seconds(function: PythonFunction) -> int:
    """The timeout a PythonFunction was created with (its duration alarm is relative to it)."""
    timeout = function.function.timeout_input
    if not isinstance(timeout, int | float):
        raise ValueError(f"function {function.node.path} has no timeout to alarm against")
    return int(timeout)


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
                # Alarms publish to the encrypted topic; EventBridge dead-letters to SQS;
                # log delivery decrypts the workflow's execution data into its log group.
                service_principals=(
                    CLOUDWATCH_ALARMS_PRINCIPAL,
                    EVENTBRIDGE_PRINCIPAL,
                    LOG_DELIVERY_PRINCIPAL,
                ),
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
        self._build_operations_prerequisites()
        # Before any function: each one is attached to the VPC when the profile has one.
        self._build_network(target)
        self.processor = self._python_function(
            "processor",
            description="Records every object created in the ingest bucket",
            sizing=config.processor,
            environment={
                "TABLE_NAME": self.records.table.name,
                "RECORD_TTL_DAYS": str(config.record_ttl_days),
            },
            statements=[
                DataAwsIamPolicyDocumentStatement(
                    sid="WriteRecords",
                    actions=["dynamodb:PutItem"],
                    resources=[self.records.table.arn],
                ),
                *self._failure_destination_statements(),
            ],
            no_dead_letter_reason=FAILURE_DESTINATION_REASON,
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
        self._build_api()
        self._build_workflow(target)
        # Last: alarms and the dashboard cover whatever the steps above built.
        self._build_operations()
        self._outputs()

    def _build_api(self) -> None:
        """The records API function and the REST and/or HTTP API in front of it."""
        config, prefix = self.config, self.config.name_prefix
        settings = config.api
        self.api_function = self._python_function(
            "api",
            description="Serves the records API behind API Gateway",
            sizing=settings.function,
            environment={
                "TABLE_NAME": self.records.table.name,
                "CORS_ALLOWED_ORIGINS": ",".join(settings.cors_allowed_origins),
                "MAX_PAGE_SIZE": str(settings.max_page_size),
                # Records created through the API expire like those the processor writes.
                "RECORD_TTL_DAYS": str(config.record_ttl_days),
            },
            statements=[
                DataAwsIamPolicyDocumentStatement(
                    sid="ReadRecords",
                    # Scan serves GET /records without a date filter.
                    actions=["dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan"],
                    resources=[self.records.table.arn],
                ),
                DataAwsIamPolicyDocumentStatement(
                    sid="WriteRecords",
                    actions=["dynamodb:PutItem"],
                    resources=[self.records.table.arn],
                ),
            ],
            no_dead_letter_reason=(
                "API Gateway invokes the function synchronously; a failure returns to the "
                "caller, so no event is ever queued or dropped."
            ),
        )
        function = self.api_function.function
        self.rest_api: RestApi | None = None
        self.http_api: HttpApi | None = None
        self.api_outputs: dict[str, str] = {
            "api_function_name": function.function_name,
            "api_function_arn": function.arn,
        }
        if settings.deploys_rest:
            self.rest_api = RestApi(
                self,
                "rest-api",
                props=RestApiProps(
                    name=f"{prefix}-rest-api",
                    stage_name=config.name,
                    function_name=function.function_name,
                    function_invoke_arn=function.invoke_arn,
                    auth=settings.auth,
                    throttle=settings.throttle,
                    quota=settings.quota if settings.auth == "api_key" else None,
                    open_read_access=settings.open_read_access,
                    log_retention_days=config.log_retention_days,
                    kms_key_arn=self.key.key.arn,
                    manage_account_cloudwatch_role=settings.manage_account_cloudwatch_role,
                    no_web_acl_reason=(
                        "No WAF web ACL yet: every route needs an API key or SigV4 and is "
                        "throttled per stage and per key; set web_acl_arn once the account "
                        "has a shared ACL."
                    ),
                ),
            )
            self.api_outputs["rest_api_id"] = self.rest_api.api.id
            self.api_outputs["rest_api_url"] = self.rest_api.url
            if self.rest_api.api_key is not None:
                self.api_outputs["rest_api_key_id"] = self.rest_api.api_key.id
        if settings.deploys_http:
            self.http_api = HttpApi(
                self,
                "http-api",
                props=HttpApiProps(
                    name=f"{prefix}-http-api",
                    function_name=function.function_name,
                    function_invoke_arn=function.invoke_arn,
                    cors_allowed_origins=settings.cors_allowed_origins,
                    throttle=settings.throttle,
                    jwt_issuer=settings.jwt_issuer,
                    jwt_audience=settings.jwt_audience,
                    open_read_access=settings.open_read_access,
                    log_retention_days=config.log_retention_days,
                    kms_key_arn=self.key.key.arn,
                ),
            )
            self.api_outputs["http_api_id"] = self.http_api.api.id
            self.api_outputs["http_api_url"] = self.http_api.url

    def _build_operations_prerequisites(self) -> None:
        """The pipeline DLQ and the alarm topic; functions need the DLQ's ARN when created."""
        config, prefix = self.config, self.config.name_prefix
        self.dead_letter_queue = DeadLetterQueue(
            self,
            "dlq",
            props=DeadLetterQueueProps(queue_name=f"{prefix}-dlq", kms_key_arn=self.key.key.arn),
        )
        email = config.operations.alarm_email
        self.alarm_topic = AlarmTopic(
            self,
            "alarm-topic",
            props=AlarmTopicProps(
                topic_name=f"{prefix}-alarms",
                kms_key_arn=self.key.key.arn,
                region=config.region,
                alarm_name_prefix=f"{prefix}-",
                email_subscribers=(email,) if email else (),
            ),
        )

    def _failure_destination_statements(self) -> list[DataAwsIamPolicyDocumentStatement]:
        """What a function's role needs to hand its failed async events to the pipeline DLQ."""
        return [
            DataAwsIamPolicyDocumentStatement(
                sid="SendFailedEventsToDlq",
                actions=["sqs:SendMessage"],
                resources=[self.dead_letter_queue.queue.arn],
            ),
            # The DLQ is SSE-KMS: each send needs a data key (kms:Decrypt is granted already).
            DataAwsIamPolicyDocumentStatement(
                sid="EncryptFailedEvents",
                actions=["kms:GenerateDataKey"],
                resources=[self.key.key.arn],
            ),
        ]

    def _build_operations(self) -> None:
        """Async failure handling, the maintenance schedule, alarms and the dashboard."""
        config, prefix = self.config, self.config.name_prefix
        operations = config.operations
        self.maintenance = self._python_function(
            "maintenance",
            description="Scheduled: counts the records written the day before",
            sizing=FunctionSettings(
                memory_mb=MAINTENANCE_MEMORY_MB,
                timeout_seconds=MAINTENANCE_TIMEOUT_SECONDS,
                # One run a day needs one execution; it can never crowd out the processor.
                reserved_concurrency=1,
            ),
            environment={"TABLE_NAME": self.records.table.name},
            statements=[
                DataAwsIamPolicyDocumentStatement(
                    sid="CountRecords",
                    actions=["dynamodb:Query"],
                    resources=[self.records.table.arn],
                ),
                *self._failure_destination_statements(),
            ],
            no_dead_letter_reason=FAILURE_DESTINATION_REASON,
        )
        self.async_invocations = {
            function.node.id: AsyncInvocation(
                self,
                f"{function.node.id}-async",
                props=AsyncInvocationProps(
                    function_name=function.function.function_name,
                    maximum_retry_attempts=operations.async_retry_attempts,
                    maximum_event_age_seconds=operations.max_event_age_seconds,
                    on_failure_destination_arn=self.dead_letter_queue.queue.arn,
                    wait_for=[function.role_policy],
                ),
            )
            for function in (self.processor, self.maintenance)
        }
        self.schedule = Schedule(
            self,
            "schedule",
            props=ScheduleProps(
                rule_name=f"{prefix}-maintenance",
                description="Runs the maintenance function (daily record count)",
                schedule_expression=operations.schedule_expression,
                enabled=operations.schedule_enabled,
                function_arn=self.maintenance.function.arn,
                function_name=self.maintenance.function.function_name,
                kms_key_arn=self.key.key.arn,
                dead_letter_queue_name=f"{prefix}-schedule-dlq",
            ),
        )
        groups = self._alarm_groups()
        self.alarms = PipelineAlarms(
            self,
            "alarms",
            props=PipelineAlarmsProps(
                name_prefix=prefix,
                topic_arn=self.alarm_topic.topic.arn,
                specs=[spec for _, specs in groups for spec in specs],
                notifications_off_reason=None
                if operations.alarm_actions_enabled
                else (
                    "This environment's profile keeps alarms silent (alarm_actions_enabled is "
                    "off); their states still show in the CloudWatch console."
                ),
            ),
        )
        self.dashboard: PipelineDashboard | None = None
        if operations.dashboard_enabled:
            self.dashboard = PipelineDashboard(
                self,
                "dashboard",
                props=PipelineDashboardProps(
                    dashboard_name=f"{prefix}-pipeline",
                    region=config.region,
                    header_markdown=(
                        f"# {prefix} event pipeline\n"
                        "S3 ingest → processor → DynamoDB, the records API and the workflow. "
                        f"Alarms notify SNS topic `{prefix}-alarms`; failed events wait in "
                        f"SQS `{prefix}-dlq`."
                    ),
                    alarm_arns=[alarm.arn for alarm in self.alarms.alarms.values()],
                    sections=[
                        DashboardSection(title="Traffic", graphs=self._traffic_graphs()),
                        *(
                            DashboardSection(
                                title=title, graphs=[graph_for_alarm(spec) for spec in specs]
                            )
                            for title, specs in groups
                        ),
                    ],
                ),
            )
        self.operations_outputs: dict[str, str] = {
            "dlq_queue_url": self.dead_letter_queue.queue.url,
            "dlq_queue_arn": self.dead_letter_queue.queue.arn,
            "schedule_dlq_queue_url": self.schedule.dead_letter_queue.queue.url,
            "schedule_rule_arn": self.schedule.rule.arn,
            "maintenance_function_name": self.maintenance.function.function_name,
            "alarm_topic_arn": self.alarm_topic.topic.arn,
        }
        if self.dashboard is not None:
            self.operations_outputs["dashboard_name"] = self.dashboard.dashboard.dashboard_name

    def _functions(self) -> list[PythonFunction]:
        """Every function in the stack, wherever another part of the stack created it."""
        return [node for node in self.node.find_all() if isinstance(node, PythonFunction)]

    def _state_machine(self) -> SfnStateMachine | None:
        machine = getattr(getattr(self, "workflow", None), "state_machine", None)
        return machine if isinstance(machine, SfnStateMachine) else None

    def _api_stages(self) -> list[tuple[str, dict[str, str], str, str]]:
        """(label, metric dimensions, 5xx metric, 4xx metric) for each deployed API stage."""
        stages = []
        rest_api = getattr(self, "rest_api", None)
        if isinstance(rest_api, RestApi):
            dimensions = {"ApiName": rest_api.api.name, "Stage": rest_api.stage.stage_name}
            stages.append(("rest-api", dimensions, "5XXError", "4XXError"))
        http_api = getattr(self, "http_api", None)
        if isinstance(http_api, HttpApi):
            dimensions = {"ApiId": http_api.api.id, "Stage": http_api.stage.name}
            stages.append(("http-api", dimensions, "5xx", "4xx"))
        return stages

    def _alarm_groups(self) -> list[tuple[str, list[AlarmSpec]]]:
        """Alarm specs per part of the pipeline, titled as the dashboard shows them."""
        thresholds = self.config.operations.thresholds
        window = AlarmWindow(
            period_seconds=thresholds.period_seconds,
            evaluation_periods=thresholds.evaluation_periods,
        )
        groups: list[tuple[str, list[AlarmSpec]]] = []
        for function in self._functions():
            label = function.node.path.split("/", 1)[1].replace("/", "-")
            specs = function_alarm_specs(
                label=label,
                function_name=function.function.function_name,
                timeout_seconds=_timeout_seconds(function),
                errors=thresholds.lambda_errors,
                throttles=thresholds.lambda_throttles,
                duration_p99_timeout_ratio=thresholds.lambda_duration_p99_timeout_ratio,
                window=window,
            )
            groups.append((f"Function {label}", specs))
        for label, dimensions, server_errors, client_errors in self._api_stages():
            specs = api_alarm_specs(
                label=label,
                dimensions=dimensions,
                server_error_metric=server_errors,
                client_error_metric=client_errors,
                server_error_rate=thresholds.api_5xx_rate,
                client_error_rate=thresholds.api_4xx_rate,
                latency_p99_ms=thresholds.api_latency_p99_ms,
                window=window,
            )
            groups.append((label.replace("-", " ").upper(), specs))
        table_specs = table_alarm_specs(
            label="records-table",
            table_name=self.records.table.name,
            throttled_requests=thresholds.dynamodb_throttled_requests,
            system_errors=thresholds.dynamodb_system_errors,
            window=window,
        )
        groups.append(("Records table", table_specs))
        failure_specs = [
            *queue_alarm_specs(
                label="dlq",
                queue_name=self.dead_letter_queue.queue.name,
                visible_messages=thresholds.dlq_visible_messages,
                window=window,
            ),
            *queue_alarm_specs(
                label="schedule-dlq",
                queue_name=self.schedule.dead_letter_queue.queue.name,
                visible_messages=thresholds.dlq_visible_messages,
                window=window,
            ),
            *schedule_alarm_specs(
                label="schedule", rule_name=self.schedule.rule.name, window=window
            ),
        ]
        groups.append(("Failed events and schedule", failure_specs))
        machine = self._state_machine()
        if machine is not None:
            workflow_specs = state_machine_alarm_specs(
                label="workflow",
                state_machine_arn=machine.arn,
                failed_executions=thresholds.workflow_failed_executions,
                timed_out_executions=thresholds.workflow_timed_out_executions,
                window=window,
            )
            groups.append(("Workflow", workflow_specs))
        return groups

    def _traffic_graphs(self) -> list[Graph]:
        """Volume at a glance: invocations, requests, table capacity, records per day."""
        graphs = [
            Graph(
                title="Function invocations",
                metrics=[
                    MetricRef(
                        namespace="AWS/Lambda",
                        metric_name="Invocations",
                        dimensions={"FunctionName": function.function.function_name},
                        statistic="Sum",
                        label=function.node.id,
                    )
                    for function in self._functions()
                ],
            ),
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
            ),
            Graph(
                title="Records per day (maintenance)",
                metrics=[
                    MetricRef(
                        namespace=self.config.project,
                        metric_name="RecordsPerDay",
                        dimensions={"service": "maintenance"},
                        statistic="Maximum",
                        label="records",
                    )
                ],
                period_seconds=86_400,
            ),
        ]
        stages = self._api_stages()
        if stages:
            graphs.append(
                Graph(
                    title="API requests",
                    metrics=[
                        MetricRef(
                            namespace="AWS/ApiGateway",
                            metric_name="Count",
                            dimensions=dimensions,
                            statistic="Sum",
                            label=label,
                        )
                        for label, dimensions, _, _ in stages
                    ],
                )
            )
        machine = self._state_machine()
        if machine is not None:
            graphs.append(
                Graph(
                    title="Workflow executions",
                    metrics=[
                        MetricRef(
                            namespace="AWS/States",
                            metric_name=f"Executions{outcome}",
                            dimensions={"StateMachineArn": machine.arn},
                            statistic="Sum",
                            label=outcome.lower(),
                        )
                        for outcome in ("Started", "Succeeded", "Failed")
                    ],
                )
            )
        return graphs

    def _build_network(self, target: DeploymentTarget) -> None:
        """The private VPC every function joins when the profile, or PIPELINE_FORCE_VPC, asks."""
        config, settings = self.config, self.config.network
        self.network: PrivateNetwork | None = None
        # Exactly one of these two reaches every PythonFunction.
        self.vpc_placement: VpcPlacement | None = None
        self.no_vpc_reason: str | None = "VPC isolation is off in this environment's profile."
        self.network_outputs: dict[str, object] = {}
        if not (settings.enabled or target.force_vpc):
            return
        self.network = PrivateNetwork(
            self,
            "network",
            props=PrivateNetworkProps(
                name_prefix=config.name_prefix,
                cidr_block=settings.cidr,
                region=config.region,
                kms_key_arn=self.key.key.arn,
                flow_log_retention_days=config.log_retention_days,
                s3_bucket_arns=[self.ingest.bucket.arn],
                dynamodb_table_arns=[self.records.table.arn],
                outbound_internet=settings.outbound_internet,
            ),
        )
        self.vpc_placement = self.network.function_placement
        self.no_vpc_reason = None
        self.network_outputs = {
            "vpc_id": self.network.vpc.id,
            "private_subnet_ids": self.network.private_subnet_ids,
            "function_security_group_id": self.network.function_security_group.id,
        }

    def _build_workflow(self, target: DeploymentTarget) -> None:
        """validate -> choice -> process -> notify as a Step Functions state machine."""
        config, settings = self.config, self.config.workflow
        prefix = config.name_prefix
        self.workflow: Workflow | None = None
        self.notifications: NotificationTopic | None = None
        self.validate_function: PythonFunction | None = None
        self.notify_function: PythonFunction | None = None
        self.workflow_outputs: dict[str, object] = {}
        if not settings.enabled:
            return
        self.notifications = NotificationTopic(
            self,
            "notifications",
            props=NotificationTopicProps(
                topic_name=f"{prefix}-notifications", kms_key_arn=self.key.key.arn
            ),
        )
        topic_arn = self.notifications.topic.arn
        if self.network is not None:
            # SNS has no gateway endpoint; without one, notify could not leave the VPC.
            self.network.add_interface_endpoint(
                InterfaceEndpointAccess(
                    service="sns", actions=["sns:Publish"], resources=[topic_arn]
                )
            )

        validate = self._python_function(
            "validate",
            description="Checks an ingested object before the workflow records it",
            sizing=settings.function,
            environment={"MAX_OBJECT_BYTES": str(settings.max_object_bytes)},
            statements=[],
            no_dead_letter_reason=WORKFLOW_TASK_NO_DLQ_REASON,
        )
        notify = self._python_function(
            "notify",
            description="Publishes the workflow's outcome for one object to SNS",
            sizing=settings.function,
            environment={"TOPIC_ARN": topic_arn},
            no_dead_letter_reason=WORKFLOW_TASK_NO_DLQ_REASON,
            statements=[
                DataAwsIamPolicyDocumentStatement(
                    sid="PublishNotifications", actions=["sns:Publish"], resources=[topic_arn]
                ),
                # The topic is SSE-KMS: publishing needs a data key from the stack key.
                DataAwsIamPolicyDocumentStatement(
                    sid="EncryptNotifications",
                    actions=["kms:GenerateDataKey*", "kms:Decrypt"],
                    resources=[self.key.key.arn],
                ),
            ],
        )
        self.validate_function, self.notify_function = validate, notify
        self.workflow = Workflow(
            self,
            "workflow",
            props=WorkflowProps(
                state_machine_name=f"{prefix}-ingest-workflow",
                validate_function_arn=validate.function.arn,
                process_function_arn=self.processor.function.arn,
                notify_function_arn=notify.function.arn,
                region=config.region,
                kms_key_arn=self.key.key.arn,
                log_retention_days=config.log_retention_days,
                retry=RetryPolicy(
                    max_attempts=settings.retry_max_attempts,
                    interval_seconds=settings.retry_interval_seconds,
                    backoff_rate=settings.retry_backoff_rate,
                    max_delay_seconds=settings.retry_max_delay_seconds,
                    task_error_max_attempts=settings.task_error_max_attempts,
                ),
                skip_state_machine_reason=(
                    EMULATOR_STATE_MACHINE_SKIP_REASON if target.is_emulator else None
                ),
            ),
        )
        self.workflow_outputs = {
            "validate_function_name": validate.function.function_name,
            "notify_function_name": notify.function.function_name,
            "notifications_topic_arn": topic_arn,
            "state_machine_role_arn": self.workflow.role.arn,
            "state_machine_log_group_name": self.workflow.log_group.name,
        }
        if self.workflow.state_machine is not None:
            self.workflow_outputs["state_machine_arn"] = self.workflow.state_machine.arn
        else:
            self.workflow_outputs["state_machine_skipped_reason"] = (
                EMULATOR_STATE_MACHINE_SKIP_REASON
            )

    def _python_function(
        self,
        name: str,
        *,
        description: str,
        sizing: FunctionSettings,
        environment: dict[str, str],
        statements: list[DataAwsIamPolicyDocumentStatement],
        no_dead_letter_reason: str,
    ) -> PythonFunction:
        """A function from lambda_functions/<name>, with what every function here shares:
        the name prefix, log retention, the stack key, the layer, Powertools settings and the
        VPC placement (or the reason there is none)."""
        return PythonFunction(
            self,
            name,
            props=PythonFunctionProps(
                function_name=f"{self.config.name_prefix}-{name}",
                source_dir=LAMBDA_FUNCTIONS_DIR / name,
                description=description,
                memory_mb=sizing.memory_mb,
                timeout_seconds=sizing.timeout_seconds,
                reserved_concurrency=sizing.reserved_concurrency,
                log_retention_days=self.config.log_retention_days,
                kms_key_arn=self.key.key.arn,
                layer_arns=[self.layer.layer.arn],
                environment={**environment, **self._powertools_environment(name)},
                policy_statements=statements,
                no_dead_letter_reason=no_dead_letter_reason,
                vpc=self.vpc_placement,
                no_vpc_reason=self.no_vpc_reason,
            ),
        )

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
            **self.api_outputs,
            **self.operations_outputs,
            **self.network_outputs,
            **self.workflow_outputs,
        }
        for name, value in outputs.items():
            TerraformOutput(self, name, value=value)

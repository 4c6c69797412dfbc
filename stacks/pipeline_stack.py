"""One environment of the event pipeline, wired from its domain constructs.

foundation (key, access logs, records table, layer, failure queue, network)
  -> ingest (bucket, processor, notifications, the queue or EventBridge delivery)
  -> api (REST and/or HTTP API)
  -> workflow (rule -> validate -> process -> notify; only where ingest_path is "workflow")
  -> backfill (a Distributed Map that reprocesses the objects under a prefix)
  -> operations (schedule, alarms, dashboard)

The stack only maps the environment's settings onto each domain's props; every resource,
environment variable, policy, alarm and output belongs to a domain construct.
"""

from __future__ import annotations

from pathlib import Path

from constructs import Construct

from config.deployment import DeploymentTarget, account_variable
from config.environments import EnvironmentConfig
from constructs_lib.addresses import AddressPinningStack, forget_resources, keep_addresses
from constructs_lib.base.aws_provider import AwsProviderProps, PipelineAwsProvider
from constructs_lib.base.backup_plan import LockedBackup, LockedBackupProps
from constructs_lib.base.dependencies_layer import DEFAULT_LAYER_DIR
from constructs_lib.base.state_backend import StateBackendProps, configure_state_backend
from constructs_lib.pipeline.address_history import (
    ACCOUNT_SETTINGS_MOVED_TO_BOOTSTRAP,
    DOMAIN_REDESIGN_MOVES,
    PINNED_ADDRESSES,
)
from constructs_lib.pipeline.backfill import Backfill, BackfillProps
from constructs_lib.pipeline.foundation import Foundation, FoundationProps, NetworkLayout
from constructs_lib.pipeline.ingest import Ingest, IngestProps, QueueReading
from constructs_lib.pipeline.ingest_workflow import IngestWorkflow, IngestWorkflowProps
from constructs_lib.pipeline.monitoring import Monitored
from constructs_lib.pipeline.operations import Operations, OperationsProps
from constructs_lib.pipeline.records_api import RecordsApi, RecordsApiProps
from constructs_lib.pipeline.workflow_definition import RetryPolicy
from constructs_lib.specs import RolloutSettings


class PipelineStack(AddressPinningStack):
    """Everything one environment runs, named from ``config.name_prefix``."""

    # Constructs that moved in the tree keep their Terraform addresses.
    pinned_paths = PINNED_ADDRESSES

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
        intent = target.intent
        PipelineAwsProvider(
            self,
            "provider",
            props=AwsProviderProps(
                region=config.region,
                default_tags=config.tags,
                allowed_account_id=config.account_id,
                require_account_variable=account_variable(config.name)
                if config.requires_account_pin and intent.require_account_pin
                else None,
                endpoint=intent.endpoint,
            ),
        )
        configure_state_backend(
            self,
            props=StateBackendProps(
                kind=target.state.kind,
                bucket=target.state.bucket,
                key=target.state.state_key(stack_id),
                lock_table=target.state.lock_table,
                region=target.state.region,
                kms_key_id=target.state.kms_key_alias,
                endpoint=intent.endpoint,
            ),
        )
        network = config.network
        self.foundation = Foundation(
            self,
            "foundation",
            props=FoundationProps(
                name_prefix=config.name_prefix,
                region=config.region,
                metrics_namespace=config.project,
                key_deletion_window_days=config.key_deletion_window_days,
                table=config.table,
                record_write_shards=config.record_write_shards,
                deletion_protection=config.deletion_protection,
                force_destroy=config.force_destroy,
                noncurrent_version_expiration_days=config.noncurrent_version_expiration_days,
                access_log_expiration_days=config.access_log_expiration_days,
                log_retention_days=config.log_retention_days,
                log_level=config.log_level,
                deny_insecure_transport=intent.deny_insecure_transport,
                network=NetworkLayout(
                    cidr_block=network.cidr, outbound_internet=network.outbound_internet
                )
                if network.enabled or target.force_vpc
                else None,
                layer_dir=layer_dir,
                request_log_ttl_days=config.request_log_ttl_days,
                rollout=config.rollout if intent.gradual_rollout else RolloutSettings(),
                provisioned_concurrency_enabled=intent.provisioned_concurrency,
            ),
        )
        operations = config.operations
        self.ingest = Ingest(
            self,
            "ingest",
            props=IngestProps(
                foundation=self.foundation,
                processor=config.functions.processor,
                record_ttl_days=config.record_ttl_days,
                async_retry_attempts=operations.async_retry_attempts,
                max_event_age_seconds=operations.max_event_age_seconds,
                path=config.ingest_path,
                queue=QueueReading(
                    batch_size=config.ingest_queue.batch_size,
                    batching_window_seconds=config.ingest_queue.batching_window_seconds,
                    max_receive_count=config.ingest_queue.max_receive_count,
                )
                if config.ingest_path == "queue"
                else None,
            ),
        )
        api = config.api
        self.api = RecordsApi(
            self,
            "api",
            props=RecordsApiProps(
                foundation=self.foundation,
                function=config.functions.api,
                stage_name=config.name,
                deploy_rest=api.deploys_rest,
                deploy_http=api.deploys_http,
                cors_allowed_origins=api.cors_allowed_origins,
                auth=api.auth,
                throttle=api.throttle,
                quota=api.quota,
                open_read_access=api.open_read_access,
                max_page_size=api.max_page_size,
                record_ttl_days=config.record_ttl_days,
                jwt_issuer=api.jwt_issuer,
                jwt_audience=api.jwt_audience,
                web_acl_rate_limit=api.web_acl_rate_limit,
                no_web_acl_reason=api.no_web_acl_reason,
            ),
        )
        if self.api.rest_api is not None:
            # API Gateway names the execution log group after the API's id, known only now.
            # The id, not the group's ARN: the group is encrypted with this very key.
            execution_logs = self.foundation.key.log_group_arn(
                f"API-Gateway-Execution-Logs_{self.api.rest_api.api.id}/*"
            )
            self.foundation.key.allow_log_groups([execution_logs])
        monitored: list[Monitored] = [self.foundation, self.ingest, self.api]
        workflow = config.workflow
        self.workflow: IngestWorkflow | None = None
        if config.ingest_path == "workflow":
            self.workflow = IngestWorkflow(
                self,
                "workflow",
                props=IngestWorkflowProps(
                    foundation=self.foundation,
                    ingest=self.ingest,
                    validate=config.functions.validate,
                    notify=config.functions.notify,
                    retry=RetryPolicy(
                        max_attempts=workflow.retry_max_attempts,
                        interval_seconds=workflow.retry_interval_seconds,
                        backoff_rate=workflow.retry_backoff_rate,
                        max_delay_seconds=workflow.retry_max_delay_seconds,
                        task_error_max_attempts=workflow.task_error_max_attempts,
                    ),
                    max_object_bytes=workflow.max_object_bytes,
                ),
            )
            monitored.append(self.workflow)
        backfill = config.backfill
        self.backfill = Backfill(
            self,
            "backfill",
            props=BackfillProps(
                foundation=self.foundation,
                ingest=self.ingest,
                batch_size=backfill.batch_size,
                max_concurrency=backfill.max_concurrency,
                tolerated_failure_percentage=backfill.tolerated_failure_percentage,
                results_prefix=backfill.results_prefix,
            ),
        )
        monitored.append(self.backfill)
        self.operations = Operations(
            self,
            "operations",
            props=OperationsProps(
                foundation=self.foundation,
                monitored=monitored,
                maintenance=config.functions.maintenance,
                schedule_expression=operations.schedule_expression,
                schedule_enabled=operations.schedule_enabled,
                async_retry_attempts=operations.async_retry_attempts,
                max_event_age_seconds=operations.max_event_age_seconds,
                thresholds=operations.thresholds,
                alarm_actions_enabled=operations.alarm_actions_enabled,
                alarm_subscribers=operations.alarm_subscribers,
                require_alarm_subscriber=intent.require_alarm_subscriber,
                dashboard_enabled=operations.dashboard_enabled,
            ),
        )
        if config.backup.enabled:
            backup = config.backup
            self.backup: LockedBackup | None = LockedBackup(
                self,
                "backup",
                props=LockedBackupProps(
                    name_prefix=config.name_prefix,
                    region=config.region,
                    resources=[self.foundation.records.table.arn, self.ingest.bucket.bucket.arn],
                    retention_days=backup.retention_days,
                    schedule_expression=backup.schedule_expression,
                    lock_grace_days=backup.lock_grace_days,
                    max_retention_days=backup.max_retention_days,
                ),
            )
        else:
            self.backup = None
        # Environments deployed before the domain constructs keep every resource where it is.
        keep_addresses(self, DOMAIN_REDESIGN_MOVES)
        # The account-wide API Gateway role moved to the bootstrap stack: forgotten, not
        # destroyed, so the role other environments still log through stays (README: Accounts).
        forget_resources(self, ACCOUNT_SETTINGS_MOVED_TO_BOOTSTRAP)

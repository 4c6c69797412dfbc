"""Typed, frozen settings for each deployment environment.

Every value a stack needs to differ between dev, staging and prod lives here, so a
reviewer can compare environments in one file. Each settings class validates itself in
``__post_init__`` and raises ``ValueError`` naming the offending field, so a bad value
fails at synth time instead of half-way through ``terraform apply``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from pipeline_common.environment import (
    RECORD_TTL_DAYS,
    RECORD_WRITE_SHARDS,
    REQUEST_LOG_TTL_DAYS,
)

from config.api import PROD_QUOTA, PROD_THROTTLE, ApiSettings
from config.backfill import BackfillSettings
from config.backup import BackupSettings
from config.functions import FunctionSizes
from config.ingest import DEFAULT_INGEST_PATH, INGEST_PATHS, IngestPath, IngestQueueSettings
from config.network import NetworkSettings
from config.operations import OperationsSettings
from config.workflow import WorkflowSettings
from constructs_lib.aws_limits import (
    KMS_DELETION_WINDOW_DAYS_RANGE,
    LAMBDA_ACCOUNT_CONCURRENCY,
    LAMBDA_UNRESERVED_CONCURRENCY_MIN,
    TAGS_PER_RESOURCE_MAX,
    check_log_retention,
    check_region,
    check_tags,
    require_int,
    require_one_of,
)
from constructs_lib.specs import (
    AlarmThresholds,
    FunctionSettings,
    QuotaSettings,
    RolloutSettings,
    TableSettings,
    ThrottleSettings,
)

DEFAULT_REGION = "us-west-2"
# Short enough that "<project>-<env>-<purpose>-<account>-<region>" fits S3's 63 characters.
DEFAULT_PROJECT = "evpipe"
DEFAULT_OWNER = "platform-team"
# The longest waiting period KMS allows: a key deleted by mistake can be recovered for a month.
DEFAULT_KEY_DELETION_WINDOW_DAYS = 30
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
LOG_LEVELS: tuple[LogLevel, ...] = ("DEBUG", "INFO", "WARNING", "ERROR")
# Structured INFO lines are what on-call reads; DEBUG adds payload detail and cost.
DEFAULT_LOG_LEVEL: LogLevel = "INFO"
# One partition key per day (the unsharded layout): enough below 1,000 records per second.
DEFAULT_RECORD_WRITE_SHARDS = 1

# Seed 002 expires access-log objects after 90 days: long enough to investigate an incident a
# quarter back, and logs of every request are not kept (and paid for) forever.
DEFAULT_ACCESS_LOG_EXPIRATION_DAYS = 90
# The production seed tagged every resource team-number=2 for its cost reports. Its other tag,
# project, is our built-in Project tag (the project's name): IAM compares tag keys without case,
# so a second "project" key would fail on every role.
SEED_TAGS: Mapping[str, str] = MappingProxyType({"team-number": "2"})
# Tags the constructs set on single resources (Name, Tier); environment tags must not collide.
RESOURCE_TAG_KEYS = ("Name", "Tier")

_PROJECT_PATTERN = re.compile(r"^[a-z][a-z0-9-]{1,14}[a-z0-9]$")
_ACCOUNT_PATTERN = re.compile(r"^\d{12}$")

EnvironmentName = Literal["dev", "staging", "prod"]
ENVIRONMENT_NAMES: tuple[EnvironmentName, ...] = ("dev", "staging", "prod")


@dataclass(frozen=True, kw_only=True)
class EnvironmentConfig:
    """Everything that differs between environments.

    ``name_prefix`` (``<project>-<env>``) is the single root of every physical name.
    """

    name: EnvironmentName
    region: str = DEFAULT_REGION
    project: str = DEFAULT_PROJECT
    owner: str = DEFAULT_OWNER
    # When set, the provider refuses to touch any other account (PIPELINE_ACCOUNT_ID_<ENV>).
    account_id: str | None = None
    # A plan or deploy against AWS refuses until account_id is set; off only for a throwaway
    # environment that may go to whichever account the caller's credentials reach.
    requires_account_pin: bool = True
    log_retention_days: int
    # Level of the functions' own log lines (Powertools' POWERTOOLS_LOG_LEVEL).
    log_level: LogLevel = DEFAULT_LOG_LEVEL
    functions: FunctionSizes
    # How a new function version reaches the `live` alias: at once, or through CodeDeploy.
    rollout: RolloutSettings = field(default_factory=RolloutSettings)
    table: TableSettings = field(default_factory=TableSettings)
    # Days until a record expires through the table's TTL; 0 keeps records forever.
    record_ttl_days: int = 0
    # Days until a request log row (seed 002) expires through TTL; 0 keeps rows forever.
    # Seed 002 expired its access logs after 90 days; its request rows go as soon.
    request_log_ttl_days: int = 90
    # Partition keys per day's records (pipeline_common/records.py): each takes about 1,000
    # writes per second; a day's listing reads them all. Change it only with the ingest
    # queue drained (a redelivery across the change is recorded twice).
    record_write_shards: int = DEFAULT_RECORD_WRITE_SHARDS
    # Stateful resources refuse deletion (API flag plus Terraform prevent_destroy).
    deletion_protection: bool
    # Days KMS waits before deleting the environment key once deletion is scheduled.
    key_deletion_window_days: int = DEFAULT_KEY_DELETION_WINDOW_DAYS
    # Lets `terraform destroy` empty buckets; only acceptable for throwaway data.
    force_destroy: bool = False
    # Noncurrent object versions are kept this long for recovery, then expire.
    noncurrent_version_expiration_days: int = 30
    api: ApiSettings = field(default_factory=ApiSettings)
    # Added to the built-in tags (see ``tags``) on every resource through default_tags.
    extra_tags: Mapping[str, str] = field(default_factory=lambda: SEED_TAGS)
    # Days until a current access-log object expires (its noncurrent version follows after
    # noncurrent_version_expiration_days).
    access_log_expiration_days: int = DEFAULT_ACCESS_LOG_EXPIRATION_DAYS
    operations: OperationsSettings = field(default_factory=OperationsSettings)
    network: NetworkSettings = field(default_factory=NetworkSettings)
    workflow: WorkflowSettings = field(default_factory=WorkflowSettings)
    # How created objects reach the processor: one path per environment (config/ingest.py).
    # "workflow" deploys the state machine and its EventBridge trigger; "queue" deploys the
    # ingest queue and leaves the workflow out.
    ingest_path: IngestPath = DEFAULT_INGEST_PATH
    ingest_queue: IngestQueueSettings = field(default_factory=IngestQueueSettings)
    # A locked AWS Backup copy of the records table and the ingest bucket.
    backup: BackupSettings = field(default_factory=BackupSettings)
    # How the backfill workflow reprocesses objects already in the ingest bucket.
    backfill: BackfillSettings = field(default_factory=BackfillSettings)

    def __post_init__(self) -> None:
        require_one_of("name", self.name, ENVIRONMENT_NAMES)
        check_region("region", self.region)
        if not _PROJECT_PATTERN.match(self.project):
            raise ValueError(
                f"project {self.project!r} must be 3-16 lowercase letters, digits or hyphens, "
                "starting with a letter"
            )
        if self.account_id is not None and not _ACCOUNT_PATTERN.match(self.account_id):
            raise ValueError(f"account_id must be 12 digits, got {self.account_id!r}")
        check_log_retention("log_retention_days", self.log_retention_days)
        require_one_of("log_level", self.log_level, LOG_LEVELS)
        self.functions.check("functions")
        self.rollout.validate("rollout")
        self.table.validate("table")
        self.operations.validate("operations")
        self.network.validate("network")
        self.workflow.validate("workflow")
        require_one_of("ingest_path", self.ingest_path, INGEST_PATHS)
        self.ingest_queue.validate("ingest_queue")
        self.backup.validate("backup")
        self.backfill.validate("backfill")
        self.api.validate("api", environment=self.name)
        require_int(
            "record_ttl_days",
            self.record_ttl_days,
            RECORD_TTL_DAYS.minimum,
            RECORD_TTL_DAYS.maximum,
        )
        require_int(
            "request_log_ttl_days",
            self.request_log_ttl_days,
            REQUEST_LOG_TTL_DAYS.minimum,
            REQUEST_LOG_TTL_DAYS.maximum,
        )
        require_int(
            "record_write_shards",
            self.record_write_shards,
            RECORD_WRITE_SHARDS.minimum,
            RECORD_WRITE_SHARDS.maximum,
        )
        require_int(
            "noncurrent_version_expiration_days", self.noncurrent_version_expiration_days, 1, 3650
        )
        require_int("access_log_expiration_days", self.access_log_expiration_days, 1, 3650)
        built_in = tuple(self._built_in_tags) + RESOURCE_TAG_KEYS
        check_tags(
            "extra_tags",
            self.extra_tags,
            reserved_keys=built_in,
            max_count=TAGS_PER_RESOURCE_MAX - len(built_in),
        )
        self._check_reserved_concurrency()
        require_int(
            "key_deletion_window_days",
            self.key_deletion_window_days,
            *KMS_DELETION_WINDOW_DAYS_RANGE,
        )
        if self.force_destroy and self.name != "dev":
            raise ValueError(f"force_destroy is only allowed in dev, not in {self.name}")
        if self.name != "dev" and not self.deletion_protection:
            raise ValueError(f"deletion_protection must stay on in {self.name}")

    def _check_reserved_concurrency(self) -> None:
        # Every function counts, deployed or not: switching the ingest path must not be what
        # pushes the account over.
        sizes = self.functions
        reserved = {
            name: sizing.reserved_concurrency
            for name in ("processor", "api", "validate", "notify", "maintenance")
            if (sizing := getattr(sizes, name)).reserved_concurrency is not None
        }
        allowed = LAMBDA_ACCOUNT_CONCURRENCY - LAMBDA_UNRESERVED_CONCURRENCY_MIN
        if sum(reserved.values()) > allowed:
            listed = ", ".join(f"{name} {count}" for name, count in reserved.items())
            raise ValueError(
                f"functions reserve {sum(reserved.values())} concurrent executions ({listed}); "
                f"Lambda lets an account of {LAMBDA_ACCOUNT_CONCURRENCY:,} reserve at most "
                f"{allowed}, keeping {LAMBDA_UNRESERVED_CONCURRENCY_MIN} unreserved"
            )

    @property
    def name_prefix(self) -> str:
        return f"{self.project}-{self.name}"

    @property
    def _built_in_tags(self) -> dict[str, str]:
        return {
            "Environment": self.name,
            "Project": self.project,
            "Owner": self.owner,
            "ManagedBy": "cdktf",
        }

    @property
    def tags(self) -> dict[str, str]:
        """Tags applied to every resource through the provider's default_tags."""
        return {**self.extra_tags, **self._built_in_tags}


def build_environments(
    *, region: str = DEFAULT_REGION, project: str = DEFAULT_PROJECT
) -> Mapping[str, EnvironmentConfig]:
    """The three environment profiles, in promotion order."""
    return MappingProxyType(
        {
            "dev": EnvironmentConfig(
                name="dev",
                region=region,
                project=project,
                log_retention_days=14,
                # Any sandbox account the developer's credentials reach.
                requires_account_pin=False,
                # Payload detail while developing; a short key wait, since dev data is throwaway.
                log_level="DEBUG",
                key_deletion_window_days=7,
                functions=FunctionSizes(
                    processor=FunctionSettings(memory_mb=256, timeout_seconds=30)
                ),
                record_ttl_days=30,
                deletion_protection=False,
                force_destroy=True,
                noncurrent_version_expiration_days=7,
                # No VPC: fast iterations, and destroys never wait on Lambda's network interfaces.
                network=NetworkSettings(enabled=False, cidr="10.30.0.0/16"),
                workflow=WorkflowSettings(retry_max_attempts=2),
                # Every object is a workflow execution to read; dev never sees a burst.
                ingest_path="workflow",
                # Fail fast and quietly: no retries, no pages, no daily run, no dashboard.
                operations=OperationsSettings(
                    async_retry_attempts=0,
                    max_event_age_seconds=3600,
                    schedule_enabled=False,
                    alarm_actions_enabled=False,
                    dashboard_enabled=False,
                    thresholds=AlarmThresholds(
                        lambda_errors=5,
                        lambda_throttles=5,
                        lambda_duration_p99_timeout_ratio=0.9,
                        api_5xx_rate=0.05,
                        api_4xx_rate=0.25,
                        api_latency_p99_ms=3000,
                        dynamodb_throttled_requests=5,
                        dynamodb_system_errors=5,
                    ),
                ),
                api=ApiSettings(
                    variants="both",
                    # The local gateway enforces API keys but not SigV4; dev holds test data.
                    auth="api_key",
                    web_acl_rate_limit=None,
                    no_web_acl_reason=(
                        "dev holds throwaway test data behind an API key and per-key quota; the "
                        "web ACL (rate limit, AWS managed rules) guards staging and prod."
                    ),
                    cors_allowed_origins=("http://localhost:3000", "http://127.0.0.1:3000"),
                    throttle=ThrottleSettings(rate_limit=10, burst_limit=20),
                    quota=QuotaSettings(limit=10_000, period="DAY"),
                ),
            ),
            "staging": EnvironmentConfig(
                name="staging",
                region=region,
                project=project,
                log_retention_days=90,
                functions=FunctionSizes(
                    processor=FunctionSettings(
                        memory_mb=512, timeout_seconds=30, reserved_concurrency=20
                    )
                ),
                record_ttl_days=90,
                # Sharded like prod (fewer keys), so the merged day listing is rehearsed.
                record_write_shards=4,
                deletion_protection=True,
                noncurrent_version_expiration_days=30,
                # Same isolation as prod, so a missing endpoint or route fails here first.
                network=NetworkSettings(enabled=True, cidr="10.20.0.0/16"),
                workflow=WorkflowSettings(),
                # Prod's ingest path, so the queue and batching are rehearsed before prod.
                ingest_path="queue",
                # Test data is recreated, not restored; turn on to rehearse prod's backups.
                backup=BackupSettings(enabled=False),
                # Production's failure handling; testers' bad requests make 4xx noisier.
                operations=OperationsSettings(
                    thresholds=AlarmThresholds(api_4xx_rate=0.10, api_latency_p99_ms=2000),
                ),
                api=ApiSettings(
                    cors_allowed_origins=("https://staging.app.example.com",),
                    throttle=ThrottleSettings(rate_limit=50, burst_limit=100),
                    quota=QuotaSettings(limit=100_000, period="DAY"),
                ),
            ),
            "prod": EnvironmentConfig(
                name="prod",
                region=region,
                project=project,
                log_retention_days=365,
                functions=FunctionSizes(
                    processor=FunctionSettings(
                        memory_mb=1024, timeout_seconds=60, reserved_concurrency=100
                    ),
                    # The stage's 10,000 requests/s at about 50 ms each (tools/capacity.py).
                    api=FunctionSettings(
                        memory_mb=512, timeout_seconds=10, reserved_concurrency=500
                    ),
                ),
                # A new version takes 10% of traffic for 5 minutes, and rolls back on errors.
                rollout=RolloutSettings(gradual=True),
                table=TableSettings(
                    billing_mode="PROVISIONED", read_capacity=20, write_capacity=20
                ),
                # 16 x 1,000 writes/s per key: the 10,000 objects/s target with the headroom
                # hashing needs (each key gets 625/s on average at the target).
                record_write_shards=16,
                deletion_protection=True,
                noncurrent_version_expiration_days=90,
                # Every dependency has a VPC endpoint, so no NAT: no path to the internet at all.
                network=NetworkSettings(enabled=True, cidr="10.10.0.0/16"),
                workflow=WorkflowSettings(retry_max_attempts=6, retry_max_delay_seconds=60),
                # 10,000 objects/s is far beyond what per-object Standard workflows start.
                ingest_path="queue",
                backup=BackupSettings(enabled=True, retention_days=35),
                operations=OperationsSettings(),
                api=ApiSettings(
                    cors_allowed_origins=("https://app.example.com",),
                    # The production seed's stage throttle and monthly usage-plan quota.
                    throttle=PROD_THROTTLE,
                    quota=PROD_QUOTA,
                ),
            ),
        }
    )

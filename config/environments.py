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

from config.api import ApiSettings, QuotaSettings, ThrottleSettings
from config.network import NetworkSettings
from config.operations import AlarmThresholds, OperationsSettings
from config.workflow import WorkflowSettings

DEFAULT_REGION = "us-west-2"
# Short enough that "<project>-<env>-<purpose>-<account>-<region>" fits S3's 63 characters.
DEFAULT_PROJECT = "evpipe"
DEFAULT_OWNER = "platform-team"

# The retention values CloudWatch Logs accepts; anything else is rejected by the API at apply time.
LOG_RETENTION_DAYS_ALLOWED = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
     3288, 3653}
)  # fmt: skip
# Lambda's documented memory and timeout bounds.
LAMBDA_MEMORY_MB_RANGE = (128, 10_240)
LAMBDA_TIMEOUT_SECONDS_RANGE = (1, 900)

_REGION_PATTERN = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
_PROJECT_PATTERN = re.compile(r"^[a-z][a-z0-9-]{1,14}[a-z0-9]$")
_ACCOUNT_PATTERN = re.compile(r"^\d{12}$")

EnvironmentName = Literal["dev", "staging", "prod"]
ENVIRONMENT_NAMES: tuple[EnvironmentName, ...] = ("dev", "staging", "prod")
BillingMode = Literal["PAY_PER_REQUEST", "PROVISIONED"]


def _require_range(field_name: str, value: int, bounds: tuple[int, int]) -> None:
    low, high = bounds
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{field_name} must be an integer from {low} to {high}, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class FunctionSettings:
    """Sizing for one Lambda function."""

    memory_mb: int
    timeout_seconds: int
    # None leaves the function on the account's unreserved pool.
    reserved_concurrency: int | None = None

    def validate(self, prefix: str) -> None:
        _require_range(f"{prefix}.memory_mb", self.memory_mb, LAMBDA_MEMORY_MB_RANGE)
        _require_range(
            f"{prefix}.timeout_seconds", self.timeout_seconds, LAMBDA_TIMEOUT_SECONDS_RANGE
        )
        if self.reserved_concurrency is not None:
            _require_range(f"{prefix}.reserved_concurrency", self.reserved_concurrency, (1, 1000))


@dataclass(frozen=True, kw_only=True)
class TableSettings:
    """Capacity for the records table."""

    billing_mode: BillingMode = "PAY_PER_REQUEST"
    read_capacity: int | None = None
    write_capacity: int | None = None

    def validate(self, prefix: str) -> None:
        if self.billing_mode not in ("PAY_PER_REQUEST", "PROVISIONED"):
            raise ValueError(
                f"{prefix}.billing_mode must be PAY_PER_REQUEST or PROVISIONED, "
                f"got {self.billing_mode!r}"
            )
        capacities = {"read_capacity": self.read_capacity, "write_capacity": self.write_capacity}
        for name, value in capacities.items():
            if self.billing_mode == "PROVISIONED":
                if value is None:
                    raise ValueError(
                        f"{prefix}.{name} is required when billing_mode is PROVISIONED"
                    )
                _require_range(f"{prefix}.{name}", value, (1, 40_000))
            elif value is not None:
                raise ValueError(
                    f"{prefix}.{name} must be unset when billing_mode is PAY_PER_REQUEST"
                )


@dataclass(frozen=True, kw_only=True)
class EnvironmentConfig:
    """Everything that differs between environments.

    ``name_prefix`` (``<project>-<env>``) is the single root of every physical name.
    """

    name: EnvironmentName
    region: str = DEFAULT_REGION
    project: str = DEFAULT_PROJECT
    owner: str = DEFAULT_OWNER
    # Optional guard: when set, the provider refuses to touch any other account.
    account_id: str | None = None
    log_retention_days: int
    processor: FunctionSettings
    table: TableSettings = field(default_factory=TableSettings)
    # Days until a record expires through the table's TTL; 0 keeps records forever.
    record_ttl_days: int = 0
    # Stateful resources refuse deletion (API flag plus Terraform prevent_destroy).
    deletion_protection: bool
    # Lets `terraform destroy` empty buckets; only acceptable for throwaway data.
    force_destroy: bool = False
    # Noncurrent object versions are kept this long for recovery, then expire.
    noncurrent_version_expiration_days: int = 30
    api: ApiSettings = field(default_factory=ApiSettings)
    extra_tags: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    operations: OperationsSettings = field(default_factory=OperationsSettings)
    network: NetworkSettings = field(default_factory=NetworkSettings)
    workflow: WorkflowSettings = field(default_factory=WorkflowSettings)

    def __post_init__(self) -> None:
        if self.name not in ENVIRONMENT_NAMES:
            raise ValueError(
                f"name must be one of {', '.join(ENVIRONMENT_NAMES)}, got {self.name!r}"
            )
        if not _REGION_PATTERN.match(self.region):
            raise ValueError(f"region {self.region!r} is not an AWS region name like 'us-west-2'")
        if not _PROJECT_PATTERN.match(self.project):
            raise ValueError(
                f"project {self.project!r} must be 3-16 lowercase letters, digits or hyphens, "
                "starting with a letter"
            )
        if self.account_id is not None and not _ACCOUNT_PATTERN.match(self.account_id):
            raise ValueError(f"account_id must be 12 digits, got {self.account_id!r}")
        if self.log_retention_days not in LOG_RETENTION_DAYS_ALLOWED:
            raise ValueError(
                f"log_retention_days {self.log_retention_days!r} is not a CloudWatch Logs "
                f"retention value ({', '.join(map(str, sorted(LOG_RETENTION_DAYS_ALLOWED)))})"
            )
        self.processor.validate("processor")
        self.table.validate("table")
        self.operations.validate("operations")
        self.network.validate("network")
        self.workflow.validate("workflow")
        self.api.validate("api", environment=self.name)
        _require_range("record_ttl_days", self.record_ttl_days, (0, 3650))
        _require_range(
            "noncurrent_version_expiration_days", self.noncurrent_version_expiration_days, (1, 3650)
        )
        if self.force_destroy and self.name != "dev":
            raise ValueError(f"force_destroy is only allowed in dev, not in {self.name}")
        if self.name != "dev" and not self.deletion_protection:
            raise ValueError(f"deletion_protection must stay on in {self.name}")

    @property
    def name_prefix(self) -> str:
        return f"{self.project}-{self.name}"

    @property
    def tags(self) -> dict[str, str]:
        """Tags applied to every resource through the provider's default_tags."""
        return {
            **self.extra_tags,
            "Environment": self.name,
            "Project": self.project,
            "Owner": self.owner,
            "ManagedBy": "cdktf",
        }


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
                processor=FunctionSettings(memory_mb=256, timeout_seconds=30),
                record_ttl_days=30,
                deletion_protection=False,
                force_destroy=True,
                noncurrent_version_expiration_days=7,
                # No VPC: fast iterations, and destroys never wait on Lambda's network interfaces.
                network=NetworkSettings(enabled=False, cidr="10.30.0.0/16"),
                workflow=WorkflowSettings(retry_max_attempts=2),
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
                processor=FunctionSettings(
                    memory_mb=512, timeout_seconds=30, reserved_concurrency=20
                ),
                record_ttl_days=90,
                deletion_protection=True,
                noncurrent_version_expiration_days=30,
                # Same isolation as prod, so a missing endpoint or route fails here first.
                network=NetworkSettings(enabled=True, cidr="10.20.0.0/16"),
                workflow=WorkflowSettings(),
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
                processor=FunctionSettings(
                    memory_mb=1024, timeout_seconds=60, reserved_concurrency=100
                ),
                table=TableSettings(
                    billing_mode="PROVISIONED", read_capacity=20, write_capacity=20
                ),
                deletion_protection=True,
                noncurrent_version_expiration_days=90,
                # Every dependency has a VPC endpoint, so no NAT: no path to the internet at all.
                network=NetworkSettings(enabled=True, cidr="10.10.0.0/16"),
                workflow=WorkflowSettings(retry_max_attempts=6, retry_max_delay_seconds=60),
                operations=OperationsSettings(),
                api=ApiSettings(
                    cors_allowed_origins=("https://app.example.com",),
                    throttle=ThrottleSettings(rate_limit=200, burst_limit=400),
                    quota=QuotaSettings(limit=1_000_000, period="DAY"),
                    function=FunctionSettings(
                        memory_mb=512, timeout_seconds=10, reserved_concurrency=50
                    ),
                ),
            ),
        }
    )

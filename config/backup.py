"""AWS Backup settings for one environment: a second, locked copy of its data.

Point-in-time recovery and object versions live in the same account and die with it or with
an administrator's mistake; a Backup vault with a lock keeps recovery points that nobody,
including the account's administrators, can delete before ``retention_days``.
"""

from __future__ import annotations

from dataclasses import dataclass

from constructs_lib.aws_limits import check_schedule_expression, require_bool, require_int

# Five weeks: a monthly problem is still recoverable from the week before it started.
DEFAULT_RETENTION_DAYS = 35
# Once a day at 05:00 UTC, after the nightly maintenance run.
DEFAULT_SCHEDULE = "cron(0 5 * * ? *)"
# AWS Backup's minimum cooling-off period before a compliance-mode lock becomes immutable;
# three days to undo a wrong retention before it is permanent.
DEFAULT_LOCK_GRACE_DAYS = 3
# The vault refuses recovery points kept longer than this (cost guard); 10 years.
DEFAULT_MAX_RETENTION_DAYS = 3650


@dataclass(frozen=True, kw_only=True)
class BackupSettings:
    """Whether the records table and the ingest bucket are backed up, and for how long."""

    enabled: bool = False
    retention_days: int = DEFAULT_RETENTION_DAYS
    schedule_expression: str = DEFAULT_SCHEDULE
    lock_grace_days: int = DEFAULT_LOCK_GRACE_DAYS
    max_retention_days: int = DEFAULT_MAX_RETENTION_DAYS

    def validate(self, prefix: str) -> None:
        require_bool(f"{prefix}.enabled", self.enabled)
        # AWS Backup vault lock: minimum retention 1 day, and at most 36,500.
        require_int(f"{prefix}.retention_days", self.retention_days, 1, 36_500)
        require_int(f"{prefix}.max_retention_days", self.max_retention_days, 1, 36_500)
        if self.max_retention_days < self.retention_days:
            raise ValueError(
                f"{prefix}.max_retention_days ({self.max_retention_days}) must be at least "
                f"{prefix}.retention_days ({self.retention_days})"
            )
        # ChangeableForDays: at least 3 (AWS Backup's minimum cooling-off period).
        require_int(f"{prefix}.lock_grace_days", self.lock_grace_days, 3, 36_500)
        check_schedule_expression(f"{prefix}.schedule_expression", self.schedule_expression)

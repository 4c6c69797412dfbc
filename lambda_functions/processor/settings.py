"""The processor's environment, parsed once per container (contract: PROCESSOR_ENVIRONMENT)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pipeline_common.environment import (
    NOTICE_TOPIC_ARN,
    RECORD_TTL_DAYS,
    RECORD_WRITE_SHARDS,
    TABLE_NAME,
)


@dataclass(frozen=True, kw_only=True)
class ProcessorSettings:
    table_name: str
    # 0 keeps records forever; otherwise DynamoDB TTL deletes them this many days later.
    record_ttl_days: int
    # Partition keys per day (pipeline_common/records.py); 1 is the unsharded layout.
    write_shards: int
    # Where objects read from the ingest queue get their notice; None where the workflow's
    # notify step publishes instead (the processor then reads no queue).
    notice_topic_arn: str | None


def load_settings(environ: Mapping[str, str]) -> ProcessorSettings:
    return ProcessorSettings(
        table_name=TABLE_NAME.read(environ),
        record_ttl_days=RECORD_TTL_DAYS.read(environ),
        write_shards=RECORD_WRITE_SHARDS.read(environ),
        notice_topic_arn=NOTICE_TOPIC_ARN.read(environ) or None,
    )

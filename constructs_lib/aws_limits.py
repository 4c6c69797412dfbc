"""AWS's documented limits, and the checks that hold a value to them.

Every bound a construct or an environment profile is checked against lives here once, with
the service documentation it comes from, so that a bad value fails at synth time with a
message naming the field instead of half-way through ``terraform apply``. The module imports
nothing from cdktf: ``config/`` uses these checks without starting the jsii kernel.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Mapping, Sequence

# --- Lambda (Lambda Developer Guide, "Lambda quotas") ---------------------------------------
LAMBDA_MEMORY_MB_RANGE = (128, 10_240)
LAMBDA_TIMEOUT_SECONDS_RANGE = (1, 900)
# Reserved concurrency cannot exceed the account's default 1,000 concurrent executions.
LAMBDA_RESERVED_CONCURRENCY_RANGE = (1, 1000)
LAMBDA_FUNCTION_NAME_MAX = 64
# Asynchronous invocation: "Configuring error handling for asynchronous invocation".
LAMBDA_ASYNC_RETRY_ATTEMPTS_RANGE = (0, 2)
LAMBDA_ASYNC_EVENT_AGE_SECONDS_RANGE = (60, 21_600)

# --- API Gateway ("Amazon API Gateway quotas") ---------------------------------------------
# A REST API stops waiting for its integration after 29 s; a longer Lambda timeout is wasted.
API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS = 29
# The account-level throttle per region, across all APIs: 10,000 requests per second with a
# token bucket of 5,000 (a soft limit). A stage above it is throttled by the account anyway.
API_GATEWAY_ACCOUNT_RATE_LIMIT = 10_000
API_GATEWAY_ACCOUNT_BURST_LIMIT = 5_000
# A WAFv2 rate-based rule counts requests over a 5-minute window.
WAF_RATE_WINDOW_SECONDS = 300

# --- CloudWatch Logs (PutRetentionPolicy API reference) -------------------------------------
LOG_RETENTION_DAYS_ALLOWED = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
     3288, 3653}
)  # fmt: skip

# --- CloudWatch alarms (PutMetricAlarm API reference) ---------------------------------------
# Standard-resolution alarms evaluate whole minutes, over at most one day.
ALARM_PERIOD_SECONDS_RANGE = (60, 86_400)

# --- EventBridge (PutTargets API reference, RetryPolicy) ------------------------------------
EVENTBRIDGE_TARGET_RETRY_ATTEMPTS_RANGE = (0, 185)
EVENTBRIDGE_TARGET_EVENT_AGE_SECONDS_RANGE = (60, 86_400)

# --- Step Functions ("Step Functions service quotas", API action and state throttling) -------
# Standard workflows in us-east-1, us-east-2, us-west-2, eu-west-1 (other regions: 800 / 150):
# StartExecution is a token bucket of 1,300 that refills 300 per second, per account and region.
SFN_STANDARD_START_EXECUTION_BURST = 1_300
SFN_STANDARD_START_EXECUTION_REFILL_PER_SECOND = 300
# State transitions of Standard workflows: bucket 5,000, refilled 5,000 per second (same regions).
SFN_STANDARD_STATE_TRANSITIONS_PER_SECOND = 5_000
# AWS Step Functions pricing, Standard workflows: USD 0.025 per 1,000 state transitions.
SFN_STANDARD_USD_PER_STATE_TRANSITION = 0.025 / 1_000

# --- Lambda event source mappings for SQS ("Using Lambda with Amazon SQS") ------------------
# A standard queue's batch size; above 10 the mapping needs a batching window of at least 1 s.
LAMBDA_SQS_BATCH_SIZE_RANGE = (1, 10_000)
LAMBDA_SQS_BATCH_SIZE_WITHOUT_WINDOW_MAX = 10
LAMBDA_SQS_BATCHING_WINDOW_SECONDS_RANGE = (0, 300)
# ScalingConfig.MaximumConcurrency: how many concurrent invocations the mapping may start.
LAMBDA_SQS_MAXIMUM_CONCURRENCY_RANGE = (2, 1_000)
# AWS recommends a queue visibility timeout of at least six times the function's timeout.
LAMBDA_SQS_VISIBILITY_TIMEOUT_PER_FUNCTION_TIMEOUT = 6
# Without MaximumConcurrency, a standard queue's pollers scale to at most 1,250 concurrent
# invocations ("Scaling and processing" in "Using Lambda with Amazon SQS").
LAMBDA_SQS_DEFAULT_MAX_CONCURRENCY = 1_250
# Concurrent executions per account and region by default ("Lambda quotas"): what functions
# without reserved concurrency share.
LAMBDA_ACCOUNT_CONCURRENCY = 1_000
# Lambda keeps this much of the account's concurrency unreserved ("Configuring reserved
# concurrency"): reservations beyond LAMBDA_ACCOUNT_CONCURRENCY minus this are refused.
LAMBDA_UNRESERVED_CONCURRENCY_MIN = 100

# --- S3 ("Bucket naming rules"; "Amazon S3 objects overview") -------------------------------
S3_BUCKET_NAME_LENGTH_RANGE = (3, 63)
S3_MAX_OBJECT_BYTES = 5 * 1024**4

# --- SQS ("Amazon SQS quotas") --------------------------------------------------------------
SQS_QUEUE_NAME_MAX = 80
SQS_MESSAGE_RETENTION_SECONDS_RANGE = (60, 1_209_600)
SQS_VISIBILITY_TIMEOUT_SECONDS_RANGE = (0, 43_200)
# RedrivePolicy.maxReceiveCount: receives before SQS moves a message to its dead-letter queue.
SQS_MAX_RECEIVE_COUNT_RANGE = (1, 1_000)
# MessageRetentionPeriod when unset (CreateQueue API reference): 4 days.
SQS_DEFAULT_MESSAGE_RETENTION_SECONDS = 345_600

# --- SNS ("Amazon SNS endpoints and quotas", Publish API transactions per second) -----------
# Per account and region; soft limits that a quota increase can raise.
SNS_PUBLISH_PER_SECOND_BY_REGION = {"us-east-1": 30_000, "us-west-2": 9_000, "eu-west-1": 9_000}
SNS_PUBLISH_PER_SECOND_OTHER_REGIONS = 1_500

# --- DynamoDB ("Service, account, and table quotas") ----------------------------------------
# Provisioned capacity units per table per dimension under the default account quota.
DYNAMODB_TABLE_CAPACITY_UNITS_RANGE = (1, 40_000)
# On-demand tables: the same default per-table quota, in request units per second.
DYNAMODB_ON_DEMAND_TABLE_WRITE_UNITS_PER_SECOND = 40_000
DYNAMODB_ON_DEMAND_TABLE_READ_UNITS_PER_SECOND = 40_000
# One partition serves at most 1,000 write and 3,000 read units per second, and all items of
# one partition-key value share a partition ("Partitions and data distribution"; "Best
# practices for designing and using partition keys effectively").
DYNAMODB_PARTITION_WRITE_UNITS_PER_SECOND = 1_000
DYNAMODB_PARTITION_READ_UNITS_PER_SECOND = 3_000
# A standard write of an item up to 1 KB consumes one write unit ("Read/write capacity mode").
DYNAMODB_WRITE_UNIT_ITEM_BYTES = 1_024

# --- KMS (ScheduleKeyDeletion API reference) ------------------------------------------------
KMS_DELETION_WINDOW_DAYS_RANGE = (7, 30)

# --- Tags ("Tagging AWS resources": tag naming limits and requirements) ---------------------
TAG_KEY_LENGTH_RANGE = (1, 128)
TAG_VALUE_LENGTH_MAX = 256
TAGS_PER_RESOURCE_MAX = 50
# Letters, digits and spaces in any script, and _ . : / = + - @ (the set every service accepts).
_TAG_TEXT_PATTERN = re.compile(r"[\w .:/=+\-@]*")
# Keys starting with aws: are AWS's own and cannot be set.
TAG_RESERVED_KEY_PREFIX = "aws:"

# --- VPC ("Amazon VPC quotas"; VPC CIDR blocks) ---------------------------------------------
# AWS accepts /16 to /28; /24 is the smallest that still gives each of four subnets 59 IPs.
VPC_PREFIX_LENGTH_RANGE = (16, 24)

_RATE_PATTERN = re.compile(r"rate\((?P<value>\d+) (?P<unit>minutes?|hours?|days?)\)")
_CRON_PATTERN = re.compile(r"cron\((?P<fields>[^()]+)\)")
_CRON_FIELD_PATTERN = re.compile(r"[0-9A-Za-z*?,/#\-]+")
_REGION_PATTERN = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")


def require_bool(field_name: str, value: object) -> None:
    if not isinstance(value, bool):
        raise ValueError(f"{field_name} must be true or false, got {value!r}")


def require_int(field_name: str, value: object, low: int, high: int | None = None) -> None:
    """An integer (never a bool) from ``low`` to ``high``, or at least ``low`` without a high."""
    in_range = (
        isinstance(value, int)
        and not isinstance(value, bool)
        and low <= value
        and (high is None or value <= high)
    )
    if not in_range:
        bounds = f"from {low} to {high}" if high is not None else f"of at least {low}"
        raise ValueError(f"{field_name} must be an integer {bounds}, got {value!r}")


# WAFv2's bounds for a rate-based rule's limit, in requests per client IP per 5 minutes.
WAF_RATE_LIMIT_RANGE = (10, 2_000_000_000)


def require_int_range(field_name: str, value: object, bounds: tuple[int, int]) -> None:
    require_int(field_name, value, *bounds)


def require_number(field_name: str, value: object, low: float, high: float) -> None:
    """A finite number (int or float, never a bool) from ``low`` to ``high``."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not low <= value <= high
    ):
        raise ValueError(f"{field_name} must be a number from {low} to {high}, got {value!r}")


def require_positive_number(field_name: str, value: object) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValueError(f"{field_name} must be a number greater than 0, got {value!r}")


def require_fraction(field_name: str, value: object) -> None:
    """A share above 0 and at most 1, such as an error rate."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        raise ValueError(f"{field_name} must be a fraction above 0 and at most 1, got {value!r}")


def require_one_of(field_name: str, value: object, allowed: Sequence[object]) -> None:
    if value not in allowed:
        raise ValueError(
            f"{field_name} must be one of {', '.join(map(repr, allowed))}, got {value!r}"
        )


# Region prefixes of the partitions other than "aws" (GovCloud, China, the ISO regions).
# ARNs are built from data.aws_partition, but service principals, the workflow's
# arn:aws:states:::lambda:invoke and the managed WAF rules were never checked there.
NON_COMMERCIAL_REGION_PREFIXES = ("us-gov-", "cn-", "us-iso-", "us-isob-", "eu-isoe-", "us-isof-")


def check_region(field_name: str, region: str) -> None:
    if not isinstance(region, str) or not _REGION_PATTERN.match(region):
        raise ValueError(f"{field_name} {region!r} is not an AWS region name like 'us-west-2'")
    if region.startswith(NON_COMMERCIAL_REGION_PREFIXES):
        raise ValueError(
            f"{field_name} {region!r} is outside the commercial AWS partition; this project "
            "deploys only to commercial regions like 'us-west-2'"
        )


def check_log_retention(field_name: str, days: object) -> None:
    if days not in LOG_RETENTION_DAYS_ALLOWED:
        raise ValueError(
            f"{field_name} {days!r} is not a CloudWatch Logs retention value "
            f"({', '.join(map(str, sorted(LOG_RETENTION_DAYS_ALLOWED)))})"
        )


def check_schedule_expression(field_name: str, expression: str) -> None:
    """Raise ValueError naming ``field_name`` unless EventBridge accepts ``expression``.

    rate(): a positive whole number with a singular unit for 1 and a plural unit otherwise.
    cron(): six fields, and exactly one of day-of-month and day-of-week is '?'.
    """
    rate = _RATE_PATTERN.fullmatch(expression)
    if rate is not None:
        value, unit = int(rate["value"]), rate["unit"]
        if value < 1:
            raise ValueError(f"{field_name} {expression!r}: the rate must be at least 1")
        if (value == 1) == unit.endswith("s"):
            expected = unit.rstrip("s") if value == 1 else f"{unit}s"
            raise ValueError(
                f"{field_name} {expression!r}: EventBridge needs rate({value} {expected})"
            )
        return
    cron = _CRON_PATTERN.fullmatch(expression)
    if cron is not None:
        fields = cron["fields"].split()
        if len(fields) != 6 or not all(_CRON_FIELD_PATTERN.fullmatch(part) for part in fields):
            raise ValueError(
                f"{field_name} {expression!r}: cron() takes six fields: "
                "minutes hours day-of-month month day-of-week year"
            )
        if (fields[2] == "?") == (fields[4] == "?"):
            raise ValueError(
                f"{field_name} {expression!r}: exactly one of day-of-month and day-of-week "
                "must be '?'"
            )
        return
    raise ValueError(
        f"{field_name} must be rate(<n> <unit>) or cron(<six fields>), got {expression!r}"
    )


def check_vpc_cidr(field_name: str, cidr: str) -> ipaddress.IPv4Network:
    """Parse a VPC range; raise ValueError naming ``field_name`` when AWS would refuse it."""
    try:
        network = ipaddress.ip_network(cidr, strict=True)
    except (TypeError, ValueError):
        raise ValueError(
            f"{field_name} {cidr!r} is not a network address like 10.0.0.0/16 "
            "(host bits must be zero)"
        ) from None
    low, high = VPC_PREFIX_LENGTH_RANGE
    if not isinstance(network, ipaddress.IPv4Network) or not network.is_private:
        raise ValueError(f"{field_name} {cidr!r} must be a private IPv4 range (RFC 1918)")
    if not low <= network.prefixlen <= high:
        raise ValueError(
            f"{field_name} {cidr!r} must have a prefix length from /{low} to /{high}, "
            f"got /{network.prefixlen}"
        )
    return network


def check_tags(
    field_name: str,
    tags: Mapping[str, str],
    *,
    reserved_keys: Sequence[str] = (),
    max_count: int = TAGS_PER_RESOURCE_MAX,
) -> None:
    """Raise ValueError naming ``field_name`` unless every AWS service accepts these tags.

    Keys are compared case-insensitively, with each other and with ``reserved_keys`` (tags
    set elsewhere on the same resources): IAM treats ``Project`` and ``project`` as one key
    and refuses a role that carries both.
    """
    if isinstance(tags, str) or not isinstance(tags, Mapping):
        raise ValueError(f"{field_name} must map tag keys to values, got {tags!r}")
    if len(tags) > max_count:
        raise ValueError(f"{field_name} has {len(tags)} tags; at most {max_count} fit")
    seen = {key.lower(): key for key in reserved_keys}
    low, high = TAG_KEY_LENGTH_RANGE
    for key, value in tags.items():
        if not isinstance(key, str) or not low <= len(key) <= high:
            raise ValueError(f"{field_name} key {key!r} must be {low}-{high} characters")
        if not isinstance(value, str) or len(value) > TAG_VALUE_LENGTH_MAX:
            raise ValueError(
                f"{field_name}[{key!r}] must be text of at most {TAG_VALUE_LENGTH_MAX} "
                f"characters, got {value!r}"
            )
        for kind, text in (("key", key), ("value", value)):
            if not _TAG_TEXT_PATTERN.fullmatch(text):
                raise ValueError(
                    f"{field_name} {kind} {text!r} may hold only letters, digits, spaces and "
                    "_ . : / = + - @"
                )
        if key.lower().startswith(TAG_RESERVED_KEY_PREFIX):
            raise ValueError(
                f"{field_name} key {key!r} starts with {TAG_RESERVED_KEY_PREFIX!r}, which AWS "
                "reserves for its own tags"
            )
        if key.lower() in seen:
            raise ValueError(
                f"{field_name} key {key!r} collides with {seen[key.lower()]!r}: AWS (IAM) "
                "compares tag keys without case"
            )
        seen[key.lower()] = key

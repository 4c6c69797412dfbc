"""Plain, validated settings that constructs take: sizing, throttles, capacity, thresholds.

These are the values an environment profile chooses and a construct consumes, so both sides
share one definition. ``validate(prefix)`` names the field in every error, with whatever
prefix the caller gives (``processor.memory_mb``, ``throttle.rate_limit``). Nothing here
imports cdktf, so ``config/`` builds and checks them without starting the jsii kernel.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from constructs_lib.aws_limits import (
    ALARM_PERIOD_SECONDS_RANGE,
    DYNAMODB_TABLE_CAPACITY_UNITS_RANGE,
    LAMBDA_MEMORY_MB_RANGE,
    LAMBDA_RESERVED_CONCURRENCY_RANGE,
    LAMBDA_TIMEOUT_SECONDS_RANGE,
    require_fraction,
    require_int,
    require_int_range,
    require_one_of,
    require_positive_number,
)

BillingMode = Literal["PAY_PER_REQUEST", "PROVISIONED"]
BILLING_MODES: tuple[BillingMode, ...] = ("PAY_PER_REQUEST", "PROVISIONED")
# Provisioned capacity autoscales up to this multiple of the configured baseline (the table
# construct deploys it; tools/capacity.py models it).
AUTOSCALING_MAX_MULTIPLIER = 10
QuotaPeriod = Literal["DAY", "WEEK", "MONTH"]
QUOTA_PERIODS: tuple[QuotaPeriod, ...] = ("DAY", "WEEK", "MONTH")

# Steady requests per second and burst per stage (and per API key), sized for a small team.
DEFAULT_THROTTLE_RATE_LIMIT = 10.0
DEFAULT_THROTTLE_BURST_LIMIT = 20
# Requests per API key per period; a runaway client stops here instead of at the bill.
DEFAULT_QUOTA_LIMIT = 10_000
DEFAULT_QUOTA_PERIOD: QuotaPeriod = "DAY"

# Production alarm baselines; looser environments raise them.
# A single failed or throttled invocation in a period is already worth a look.
DEFAULT_LAMBDA_ERRORS = 1
DEFAULT_LAMBDA_THROTTLES = 1
# p99 at 80% of the timeout leaves room to act before invocations start timing out.
DEFAULT_LAMBDA_DURATION_P99_TIMEOUT_RATIO = 0.8
# Shares of all requests: 1% server errors, 5% client errors.
DEFAULT_API_5XX_RATE = 0.01
DEFAULT_API_4XX_RATE = 0.05
# One second at p99 is slow for a single-item read or a short page.
DEFAULT_API_LATENCY_P99_MS = 1_000
# Any throttled request or DynamoDB-side error means lost or delayed writes.
DEFAULT_DYNAMODB_THROTTLED_REQUESTS = 1
DEFAULT_DYNAMODB_SYSTEM_ERRORS = 1
# One message in a dead-letter queue is one event that needs a human.
DEFAULT_DLQ_VISIBLE_MESSAGES = 1
DEFAULT_WORKFLOW_FAILED_EXECUTIONS = 1
DEFAULT_WORKFLOW_TIMED_OUT_EXECUTIONS = 1
# Five minutes smooths single-request blips without delaying a page by much.
DEFAULT_ALARM_PERIOD_SECONDS = 300
DEFAULT_ALARM_EVALUATION_PERIODS = 1


@dataclass(frozen=True, kw_only=True)
class FunctionSettings:
    """Sizing for one Lambda function; every function of the pipeline is sized with one."""

    memory_mb: int
    timeout_seconds: int
    # None leaves the function on the account's unreserved pool.
    reserved_concurrency: int | None = None
    # Environments kept initialized on the `live` alias. None by default: they are billed every
    # hour whether used or not, and these functions tolerate a cold start (queues, workflow
    # steps, an API whose p99 alarm sits at a second).
    provisioned_concurrency: int | None = None

    def validate(self, prefix: str) -> None:
        require_int_range(f"{prefix}.memory_mb", self.memory_mb, LAMBDA_MEMORY_MB_RANGE)
        require_int_range(
            f"{prefix}.timeout_seconds", self.timeout_seconds, LAMBDA_TIMEOUT_SECONDS_RANGE
        )
        if self.reserved_concurrency is not None:
            require_int_range(
                f"{prefix}.reserved_concurrency",
                self.reserved_concurrency,
                LAMBDA_RESERVED_CONCURRENCY_RANGE,
            )
        check_provisioned_concurrency(
            prefix, self.provisioned_concurrency, self.reserved_concurrency
        )


def check_provisioned_concurrency(
    prefix: str, provisioned: int | None, reserved: int | None
) -> None:
    """Provisioned environments come out of the reserved ones, so never more than those."""
    if provisioned is None:
        return
    require_int_range(
        f"{prefix}.provisioned_concurrency", provisioned, LAMBDA_RESERVED_CONCURRENCY_RANGE
    )
    if reserved is not None and provisioned > reserved:
        raise ValueError(
            f"{prefix}.provisioned_concurrency ({provisioned}) must not exceed "
            f"{prefix}.reserved_concurrency ({reserved}): Lambda refuses provisioned "
            "environments the function may never run"
        )


# CodeDeploy's predefined Lambda deployment configurations: how traffic moves to a new version.
LAMBDA_DEPLOYMENT_CONFIGS = (
    "CodeDeployDefault.LambdaAllAtOnce",
    "CodeDeployDefault.LambdaCanary10Percent5Minutes",
    "CodeDeployDefault.LambdaCanary10Percent10Minutes",
    "CodeDeployDefault.LambdaCanary10Percent15Minutes",
    "CodeDeployDefault.LambdaCanary10Percent30Minutes",
    "CodeDeployDefault.LambdaLinear10PercentEvery1Minute",
    "CodeDeployDefault.LambdaLinear10PercentEvery2Minutes",
    "CodeDeployDefault.LambdaLinear10PercentEvery3Minutes",
    "CodeDeployDefault.LambdaLinear10PercentEvery10Minutes",
)
# A tenth of the traffic for five minutes: an error alarm over one 5-minute period can fire
# before the other 90% move, and a rollback touches few requests.
DEFAULT_DEPLOYMENT_CONFIG = "CodeDeployDefault.LambdaCanary10Percent5Minutes"


@dataclass(frozen=True, kw_only=True)
class RolloutSettings:
    """How a new function version reaches the `live` alias every trigger invokes.

    Off (the default): each ``terraform apply`` that publishes a version points the alias at
    it at once. On: Terraform leaves the alias alone and a CodeDeploy deployment shifts it
    gradually, rolling back when the function's error alarm fires.
    """

    gradual: bool = False
    deployment_config: str = DEFAULT_DEPLOYMENT_CONFIG
    # Roll back when the error alarm fires mid-deployment. Required: a gradual rollout that
    # watches nothing only delays a bad version.
    rollback_on_error_alarm: bool = True

    def validate(self, prefix: str) -> None:
        require_one_of(
            f"{prefix}.deployment_config", self.deployment_config, LAMBDA_DEPLOYMENT_CONFIGS
        )
        if self.gradual and not self.rollback_on_error_alarm:
            raise ValueError(
                f"{prefix}.rollback_on_error_alarm must stay on when gradual is on: CodeDeploy "
                "without an alarm to stop on cannot roll a bad version back"
            )


@dataclass(frozen=True, kw_only=True)
class ThrottleSettings:
    """Token bucket for an API stage or an API key: steady rate plus short bursts."""

    rate_limit: float = DEFAULT_THROTTLE_RATE_LIMIT
    burst_limit: int = DEFAULT_THROTTLE_BURST_LIMIT

    def validate(self, prefix: str) -> None:
        try:
            require_positive_number(f"{prefix}.rate_limit", self.rate_limit)
        except ValueError:
            raise ValueError(
                f"{prefix}.rate_limit must be a number of requests per second greater than 0, "
                f"got {self.rate_limit!r}"
            ) from None
        require_int(f"{prefix}.burst_limit", self.burst_limit, 1)


@dataclass(frozen=True, kw_only=True)
class QuotaSettings:
    """How many requests one API key may make per period."""

    limit: int = DEFAULT_QUOTA_LIMIT
    period: QuotaPeriod = DEFAULT_QUOTA_PERIOD

    def validate(self, prefix: str) -> None:
        require_int(f"{prefix}.limit", self.limit, 1)
        require_one_of(f"{prefix}.period", self.period, QUOTA_PERIODS)


@dataclass(frozen=True, kw_only=True)
class TableSettings:
    """Capacity for a DynamoDB table and its index: on demand, or units to autoscale from."""

    billing_mode: BillingMode = "PAY_PER_REQUEST"
    read_capacity: int | None = None
    write_capacity: int | None = None
    # The index's own provisioned units; None gives it the table's. Every table write also
    # writes the index, and a throttled index throttles the table's writes.
    index_read_capacity: int | None = None
    index_write_capacity: int | None = None

    def validate(self, prefix: str) -> None:
        require_one_of(f"{prefix}.billing_mode", self.billing_mode, BILLING_MODES)
        capacities = {"read_capacity": self.read_capacity, "write_capacity": self.write_capacity}
        for name, value in capacities.items():
            if self.billing_mode == "PROVISIONED":
                if value is None:
                    raise ValueError(
                        f"{prefix}.{name} is required when billing_mode is PROVISIONED"
                    )
                require_int_range(f"{prefix}.{name}", value, DYNAMODB_TABLE_CAPACITY_UNITS_RANGE)
            elif value is not None:
                raise ValueError(
                    f"{prefix}.{name} must be unset when billing_mode is PAY_PER_REQUEST"
                )
        index = {
            "index_read_capacity": self.index_read_capacity,
            "index_write_capacity": self.index_write_capacity,
        }
        for name, value in index.items():
            if value is None:
                continue
            if not self.provisioned:
                raise ValueError(
                    f"{prefix}.{name} must be unset when billing_mode is PAY_PER_REQUEST"
                )
            require_int_range(f"{prefix}.{name}", value, DYNAMODB_TABLE_CAPACITY_UNITS_RANGE)
        if (
            self.index_write_capacity is not None
            and self.write_capacity is not None
            and self.index_write_capacity < self.write_capacity
        ):
            raise ValueError(
                f"{prefix}.index_write_capacity ({self.index_write_capacity}) must be at least "
                f"{prefix}.write_capacity ({self.write_capacity}): every record also writes "
                "the index, and a throttled index throttles the table's writes"
            )

    @property
    def provisioned(self) -> bool:
        return self.billing_mode == "PROVISIONED"

    @property
    def index_reads(self) -> int | None:
        """The index's provisioned read units (the table's unless set); None on demand."""
        return (self.index_read_capacity or self.read_capacity) if self.provisioned else None

    @property
    def index_writes(self) -> int | None:
        """The index's provisioned write units (the table's unless set); None on demand."""
        return (self.index_write_capacity or self.write_capacity) if self.provisioned else None


@dataclass(frozen=True, kw_only=True)
class AlarmThresholds:
    """When each pipeline alarm fires; counts are per period unless named a rate."""

    lambda_errors: int = DEFAULT_LAMBDA_ERRORS
    lambda_throttles: int = DEFAULT_LAMBDA_THROTTLES
    # Alarm when p99 duration exceeds this share of the function's own timeout.
    lambda_duration_p99_timeout_ratio: float = DEFAULT_LAMBDA_DURATION_P99_TIMEOUT_RATIO
    api_5xx_rate: float = DEFAULT_API_5XX_RATE
    api_4xx_rate: float = DEFAULT_API_4XX_RATE
    api_latency_p99_ms: int = DEFAULT_API_LATENCY_P99_MS
    dynamodb_throttled_requests: int = DEFAULT_DYNAMODB_THROTTLED_REQUESTS
    dynamodb_system_errors: int = DEFAULT_DYNAMODB_SYSTEM_ERRORS
    dlq_visible_messages: int = DEFAULT_DLQ_VISIBLE_MESSAGES
    workflow_failed_executions: int = DEFAULT_WORKFLOW_FAILED_EXECUTIONS
    workflow_timed_out_executions: int = DEFAULT_WORKFLOW_TIMED_OUT_EXECUTIONS
    period_seconds: int = DEFAULT_ALARM_PERIOD_SECONDS
    # Consecutive breaching periods before the alarm fires.
    evaluation_periods: int = DEFAULT_ALARM_EVALUATION_PERIODS

    def validate(self, prefix: str) -> None:
        counts = {
            "lambda_errors": self.lambda_errors,
            "lambda_throttles": self.lambda_throttles,
            "api_latency_p99_ms": self.api_latency_p99_ms,
            "dynamodb_throttled_requests": self.dynamodb_throttled_requests,
            "dynamodb_system_errors": self.dynamodb_system_errors,
            "dlq_visible_messages": self.dlq_visible_messages,
            "workflow_failed_executions": self.workflow_failed_executions,
            "workflow_timed_out_executions": self.workflow_timed_out_executions,
        }
        for name, value in counts.items():
            require_int(f"{prefix}.{name}", value, 1)
        fractions = {
            "lambda_duration_p99_timeout_ratio": self.lambda_duration_p99_timeout_ratio,
            "api_5xx_rate": self.api_5xx_rate,
            "api_4xx_rate": self.api_4xx_rate,
        }
        for name, fraction in fractions.items():
            require_fraction(f"{prefix}.{name}", fraction)
        low, high = ALARM_PERIOD_SECONDS_RANGE
        require_int(f"{prefix}.period_seconds", self.period_seconds, low, high)
        if self.period_seconds % 60:
            raise ValueError(
                f"{prefix}.period_seconds must be a whole number of minutes, "
                f"got {self.period_seconds}"
            )
        require_int(
            f"{prefix}.evaluation_periods", self.evaluation_periods, 1, high // self.period_seconds
        )


@dataclass(frozen=True, kw_only=True)
class EndpointOverride:
    """Send every AWS call of a provider or backend to one endpoint with fixed credentials.

    What a local emulator needs; real AWS deployments pass None instead of one of these.
    """

    url: str
    access_key: str
    secret_key: str

    def __post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise ValueError(f"url must be an http(s) URL, got {self.url!r}")


# Synth-time variables that add alarm subscribers to every synthesized environment; each holds
# a comma-separated list.
ALARM_EMAIL_VARIABLE = "PIPELINE_ALARM_EMAIL"
ALARM_HTTPS_VARIABLE = "PIPELINE_ALARM_HTTPS_URL"
ALARM_TOPIC_VARIABLE = "PIPELINE_ALARM_TOPIC_ARN"
# A CloudWatch alarm takes at most five actions per state; the environment's topic is one.
MAX_EXTRA_ALARM_TOPICS = 4
_EMAIL = re.compile(r"[^@\s,]+@[^@\s,]+\.[^@\s,]+")
_HTTPS_URL = re.compile(r"https://[^\s/,?#]+(?:/[^\s,]*)?")
_TOPIC_ARN = re.compile(r"arn:aws:sns:[a-z]{2}(?:-[a-z]+)+-\d:\d{12}:[A-Za-z0-9_-]{1,256}")


@dataclass(frozen=True, kw_only=True)
class AlarmSubscribers:
    """Who hears the alarms: e-mail addresses and HTTPS endpoints subscribed to the alarm
    topic, and existing topics (an on-call tool's, a chat integration's) that every alarm
    also publishes to. E-mail and HTTPS subscribers must confirm before they receive anything.
    """

    emails: tuple[str, ...] = ()
    https_urls: tuple[str, ...] = ()
    topic_arns: tuple[str, ...] = ()

    @property
    def any(self) -> bool:
        return bool(self.emails or self.https_urls or self.topic_arns)

    def merged(self, other: AlarmSubscribers) -> AlarmSubscribers:
        """These subscribers and ``other``'s, each listed once."""
        return AlarmSubscribers(
            emails=tuple(dict.fromkeys((*self.emails, *other.emails))),
            https_urls=tuple(dict.fromkeys((*self.https_urls, *other.https_urls))),
            topic_arns=tuple(dict.fromkeys((*self.topic_arns, *other.topic_arns))),
        )

    def validate(self, prefix: str) -> None:
        for name, values, pattern, example in (
            ("emails", self.emails, _EMAIL, "ops@example.com"),
            ("https_urls", self.https_urls, _HTTPS_URL, "https://hooks.example.com/alarms"),
            (
                "topic_arns",
                self.topic_arns,
                _TOPIC_ARN,
                "arn:aws:sns:us-west-2:123456789012:oncall",
            ),
        ):
            if isinstance(values, str):
                raise ValueError(f"{prefix}.{name} must be a tuple, not a string")
            bad = [value for value in values if not pattern.fullmatch(value)]
            if bad:
                raise ValueError(
                    f"{prefix}.{name} has {', '.join(map(repr, bad))}; expected values like "
                    f"{example}"
                )
            if len(set(values)) != len(values):
                raise ValueError(f"{prefix}.{name} lists a value more than once")
        if len(self.topic_arns) > MAX_EXTRA_ALARM_TOPICS:
            raise ValueError(
                f"{prefix}.topic_arns may name at most {MAX_EXTRA_ALARM_TOPICS} topics "
                "(an alarm takes five actions, one of them the environment's own topic)"
            )

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> AlarmSubscribers:
        """The subscribers the synth-time variables name; ValueError naming a bad variable."""
        values = {
            variable: tuple(
                item.strip() for item in environ.get(variable, "").split(",") if item.strip()
            )
            for variable in (ALARM_EMAIL_VARIABLE, ALARM_HTTPS_VARIABLE, ALARM_TOPIC_VARIABLE)
        }
        subscribers = cls(
            emails=values[ALARM_EMAIL_VARIABLE],
            https_urls=values[ALARM_HTTPS_VARIABLE],
            topic_arns=values[ALARM_TOPIC_VARIABLE],
        )
        for variable, field in (
            (ALARM_EMAIL_VARIABLE, "emails"),
            (ALARM_HTTPS_VARIABLE, "https_urls"),
            (ALARM_TOPIC_VARIABLE, "topic_arns"),
        ):
            try:
                cls(**{field: getattr(subscribers, field)}).validate("")
            except ValueError as error:
                detail = str(error).split(" ", 1)[1]
                raise ValueError(f"{variable} {detail}") from None
        return subscribers


# The synth-time variable naming the GitHub repository whose workflows may plan and apply.
GITHUB_REPOSITORY_VARIABLE = "PIPELINE_GITHUB_REPOSITORY"
# GitHub's rules: an owner is 1-39 letters, digits and single inner hyphens; a repository
# name is 1-100 letters, digits, ".", "_" and "-" (and never "." or "..").
_GITHUB_OWNER = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}")
_GITHUB_REPO = re.compile(r"[A-Za-z0-9._-]{1,100}")


@dataclass(frozen=True, kw_only=True)
class GithubRepository:
    """One GitHub repository, spelled exactly as its OIDC token's ``sub`` claim spells it."""

    owner: str
    name: str

    def __post_init__(self) -> None:
        if not _GITHUB_OWNER.fullmatch(self.owner):
            raise ValueError(
                f"github repository owner {self.owner!r} is not a GitHub user or organization "
                "name (1-39 letters, digits and single inner hyphens)"
            )
        if not _GITHUB_REPO.fullmatch(self.name) or self.name in (".", ".."):
            raise ValueError(
                f"github repository name {self.name!r} is not a GitHub repository name "
                "(1-100 letters, digits, '.', '_' and '-'; no wildcards)"
            )

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    @classmethod
    def parse(cls, text: str) -> GithubRepository:
        """``owner/name`` as GitHub shows it; ValueError naming what is wrong."""
        owner, slash, name = text.strip().partition("/")
        if not slash:
            raise ValueError(f"github repository {text!r} must be written owner/name")
        return cls(owner=owner, name=name)

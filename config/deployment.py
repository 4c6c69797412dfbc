"""Where and how the app is deployed, read once from the process environment at synth time.

Environment settings (config/environments.py) say *what* each environment looks like;
this module says *where* it goes: real AWS or a local emulator, and which Terraform
state backend each stack uses. ``DeploymentTarget.from_environ`` is the only place the
app reads environment variables, so every switch is listed here:

PIPELINE_ENVIRONMENTS    comma-separated subset of dev,staging,prod to synthesize (default: all)
PIPELINE_REGION          AWS region for every stack (default: us-west-2)
PIPELINE_PROJECT         project name, the root of every physical name (default: evpipe)
PIPELINE_STATE_BACKEND   "s3" (default) or "local" for offline runs without a state bucket
PIPELINE_STATE_BUCKET    state bucket created by the bootstrap stack (3-51 lowercase letters,
                         digits and hyphens: "-access-logs" is appended for its log bucket)
PIPELINE_STATE_LOCK_TABLE  migration only: an existing DynamoDB lock table the backends keep
                         locking in, beside the S3 lock file, while older checkouts still use it
                         (README: Terraform state); unset (default) means S3 lock files only
PIPELINE_ACCOUNT_ID_DEV, PIPELINE_ACCOUNT_ID_STAGING, PIPELINE_ACCOUNT_ID_PROD
                         the 12-digit AWS account each environment deploys to; the provider then
                         refuses any other account. Staging and prod must name one before a plan
                         or deploy against AWS (not for synth, tests or the emulator)
PIPELINE_FORCE_VPC       "1" attaches every function to the private VPC even where the profile
                         leaves it off (dev), e.g. to rehearse prod's network on an emulator
PIPELINE_INGEST_PATH     "workflow" or "queue" overrides every synthesized environment's
                         ingest_path (config/ingest.py); unset keeps each profile's choice
PIPELINE_ALARM_EMAIL, PIPELINE_ALARM_HTTPS_URL, PIPELINE_ALARM_TOPIC_ARN
                         comma-separated alarm subscribers added to every synthesized
                         environment (constructs_lib.specs.AlarmSubscribers)
PIPELINE_GITHUB_REPOSITORY  owner/name of the GitHub repository whose Actions workflows may plan
                         (pull requests) and apply (GitHub environments) through OIDC roles the
                         bootstrap creates; unset (default) creates no OIDC provider and no roles
AWS_ENDPOINT_URL         when set, every AWS call (provider and backend) goes to this emulator
"""

from __future__ import annotations

import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal
from urllib.parse import urlsplit

from config.emulator import AWS_INTENT, DeploymentIntent, EmulatorProfile
from config.environments import DEFAULT_PROJECT, DEFAULT_REGION, ENVIRONMENT_NAMES
from config.ingest import INGEST_PATH_VARIABLE, IngestPath, parse_ingest_path
from constructs_lib.specs import GITHUB_REPOSITORY_VARIABLE, AlarmSubscribers, GithubRepository

StateBackendKind = Literal["s3", "local"]

# How long synth waits for an emulator before reporting it unreachable.
EMULATOR_PROBE_TIMEOUT_SECONDS = 2.0
# S3 allows 63 characters; the bootstrap adds "-access-logs" (12) for the state's log bucket.
STATE_BUCKET_NAME_MAX = 63 - len("-access-logs")
# S3's rules without dots: a dotted name breaks TLS on virtual-hosted-style requests.
_BUCKET_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]*[a-z0-9]$")
# DynamoDB table names: 3-255 of letters, digits, "_", "-" and ".".
_TABLE_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")
_ACCOUNT_PATTERN = re.compile(r"^\d{12}$")


def account_variable(environment: str) -> str:
    """The synth-time variable naming ``environment``'s AWS account."""
    return f"PIPELINE_ACCOUNT_ID_{environment.upper()}"


class ConfigError(ValueError):
    """A setting from the environment is invalid; the message names the variable."""


@dataclass(frozen=True, kw_only=True)
class StateBackendSettings:
    """The remote state location shared by all environment stacks (one key each)."""

    kind: StateBackendKind = "s3"
    bucket: str
    # An existing DynamoDB lock table to keep locking in while migrating to S3 lock files.
    lock_table: str | None = None
    region: str
    # The bootstrap's state key, by alias: environment stacks cannot read its ARN at synth time.
    kms_key_alias: str = f"alias/{DEFAULT_PROJECT}-state"

    def state_key(self, stack_name: str) -> str:
        return f"{stack_name}/terraform.tfstate"


@dataclass(frozen=True, kw_only=True)
class DeploymentTarget:
    """Synth-time switches that are not part of an environment's design."""

    environments: tuple[str, ...] = ENVIRONMENT_NAMES
    region: str = DEFAULT_REGION
    project: str = DEFAULT_PROJECT
    state: StateBackendSettings
    # A local emulator such as moto server on http://127.0.0.1:4566; None means real AWS.
    emulator: EmulatorProfile | None = None
    # Turns network isolation on in every synthesized environment (PIPELINE_FORCE_VPC=1).
    force_vpc: bool = False
    # Replaces every environment's ingest_path (PIPELINE_INGEST_PATH); None keeps the profile's.
    ingest_path: IngestPath | None = None
    # Added to every environment's alarm subscribers (PIPELINE_ALARM_*).
    alarm_subscribers: AlarmSubscribers = field(default_factory=AlarmSubscribers)
    # Environment name -> AWS account ID from PIPELINE_ACCOUNT_ID_<ENV>; overrides the profile's.
    account_ids: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    # The repository whose workflows get OIDC plan and apply roles; None creates none.
    github_repository: GithubRepository | None = None

    @property
    def bootstrap_account_id(self) -> str | None:
        """The account the bootstrap pins: the one every selected environment names, if any."""
        named = {self.account_ids.get(name) for name in self.environments}
        if len(named) == 1:
            return next(iter(named))
        return None

    @property
    def is_emulator(self) -> bool:
        return self.emulator is not None

    @property
    def endpoint_url(self) -> str | None:
        return self.emulator.endpoint_url if self.emulator is not None else None

    @property
    def intent(self) -> DeploymentIntent:
        """What the stacks build differently here: secure defaults or the emulator's relaxations."""
        return self.emulator.intent() if self.emulator is not None else AWS_INTENT

    @classmethod
    def from_environ(cls, environ: Mapping[str, str], *, probe: bool = True) -> DeploymentTarget:
        """Parse and check every PIPELINE_* switch; raise ConfigError naming the bad one."""
        region = environ.get("PIPELINE_REGION", DEFAULT_REGION)
        project = environ.get("PIPELINE_PROJECT", DEFAULT_PROJECT)
        environments = _parse_environments(environ.get("PIPELINE_ENVIRONMENTS", ""))
        backend = environ.get("PIPELINE_STATE_BACKEND", "s3")
        if backend not in ("s3", "local"):
            raise ConfigError(f"PIPELINE_STATE_BACKEND must be 's3' or 'local', got {backend!r}")
        endpoint_url = environ.get("AWS_ENDPOINT_URL") or None
        if endpoint_url is not None:
            _check_endpoint(endpoint_url, probe=probe)
        state = StateBackendSettings(
            kind=backend,  # type: ignore[arg-type]  # checked just above
            # The default follows the project, which the environments check and name.
            bucket=_parse_state_bucket(environ["PIPELINE_STATE_BUCKET"])
            if "PIPELINE_STATE_BUCKET" in environ
            else f"{project}-terraform-state",
            lock_table=_parse_lock_table(environ.get("PIPELINE_STATE_LOCK_TABLE")),
            region=region,
            kms_key_alias=state_key_alias(project),
        )
        account_ids = _parse_accounts(environ)
        force_vpc = environ.get("PIPELINE_FORCE_VPC") or "0"
        if force_vpc not in ("0", "1"):
            raise ConfigError(f"PIPELINE_FORCE_VPC must be '0' or '1', got {force_vpc!r}")
        try:
            ingest_path = parse_ingest_path(environ.get(INGEST_PATH_VARIABLE, ""))
            alarm_subscribers = AlarmSubscribers.from_environ(environ)
        except ValueError as error:
            raise ConfigError(str(error)) from None
        github_repository = _parse_github_repository(environ.get(GITHUB_REPOSITORY_VARIABLE))
        return cls(
            environments=environments,
            region=region,
            project=project,
            state=state,
            emulator=EmulatorProfile(endpoint_url=endpoint_url) if endpoint_url else None,
            force_vpc=force_vpc == "1",
            ingest_path=ingest_path,
            alarm_subscribers=alarm_subscribers,
            account_ids=MappingProxyType(account_ids),
            github_repository=github_repository,
        )


def state_key_alias(project: str) -> str:
    """The alias of the bootstrap's state key, known before the key exists."""
    return f"alias/{project}-state"


def _parse_environments(raw: str) -> tuple[str, ...]:
    if not raw.strip():
        return ENVIRONMENT_NAMES
    allowed = f"expected a comma-separated subset of {', '.join(ENVIRONMENT_NAMES)}"
    names = tuple(name.strip() for name in raw.split(","))
    if not all(names):
        raise ConfigError(f"PIPELINE_ENVIRONMENTS {raw!r} has an empty name; {allowed}")
    unknown = [name for name in names if name not in ENVIRONMENT_NAMES]
    if unknown:
        raise ConfigError(
            f"PIPELINE_ENVIRONMENTS names unknown environment(s) {', '.join(unknown)}; {allowed}"
        )
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ConfigError(
            f"PIPELINE_ENVIRONMENTS names {', '.join(repeated)} more than once; "
            f"{allowed}, each at most once"
        )
    return names


def _parse_state_bucket(name: str) -> str:
    if (
        not 3 <= len(name) <= STATE_BUCKET_NAME_MAX
        or not _BUCKET_PATTERN.match(name)
        or "--" in name
        or name.startswith(("xn--", "sthree-"))
    ):
        raise ConfigError(
            f"PIPELINE_STATE_BUCKET {name!r} is not a usable bucket name; use 3-"
            f"{STATE_BUCKET_NAME_MAX} lowercase letters, digits and single hyphens, starting "
            "and ending with a letter or digit"
        )
    return name


def _parse_lock_table(name: str | None) -> str | None:
    if name is None or name == "":
        return None
    if not _TABLE_PATTERN.match(name):
        raise ConfigError(
            f"PIPELINE_STATE_LOCK_TABLE {name!r} is not a DynamoDB table name; use 3-255 "
            "letters, digits, '_', '-' or '.', or leave it unset to lock with S3 lock files only"
        )
    return name


def _parse_github_repository(raw: str | None) -> GithubRepository | None:
    if raw is None or not raw.strip():
        return None
    try:
        return GithubRepository.parse(raw)
    except ValueError as error:
        raise ConfigError(
            f"{GITHUB_REPOSITORY_VARIABLE}: {error}, e.g. my-org/event-pipeline"
        ) from None


def _parse_accounts(environ: Mapping[str, str]) -> dict[str, str]:
    accounts: dict[str, str] = {}
    for environment in ENVIRONMENT_NAMES:
        variable = account_variable(environment)
        value = environ.get(variable, "")
        if not value:
            continue
        if not _ACCOUNT_PATTERN.match(value):
            raise ConfigError(f"{variable} must be a 12-digit AWS account ID, got {value!r}")
        accounts[environment] = value
    return accounts


def _check_endpoint(endpoint_url: str, *, probe: bool) -> None:
    parts = urlsplit(endpoint_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"AWS_ENDPOINT_URL {endpoint_url!r} is not an http(s) URL like http://127.0.0.1:4566"
        )
    if not probe:
        return
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname, port), EMULATOR_PROBE_TIMEOUT_SECONDS):
            pass
    except OSError as error:
        raise ConfigError(
            f"AWS_ENDPOINT_URL {endpoint_url} is unreachable ({error.strerror or error}); "
            "start the emulator (make emulator) or unset AWS_ENDPOINT_URL for real AWS"
        ) from None

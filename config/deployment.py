"""Where and how the app is deployed, read once from the process environment at synth time.

Environment settings (config/environments.py) say *what* each environment looks like;
this module says *where* it goes: real AWS or a local emulator, and which Terraform
state backend each stack uses. ``DeploymentTarget.from_environ`` is the only place the
app reads environment variables, so every switch is listed here:

PIPELINE_ENVIRONMENTS    comma-separated subset of dev,staging,prod to synthesize (default: all)
PIPELINE_REGION          AWS region for every stack (default: us-west-2)
PIPELINE_PROJECT         project name, the root of every physical name (default: evpipe)
PIPELINE_STATE_BACKEND   "s3" (default) or "local" for offline runs without a state bucket
PIPELINE_STATE_BUCKET    state bucket created by the bootstrap stack
PIPELINE_STATE_LOCK_TABLE  DynamoDB table holding state locks
PIPELINE_FORCE_VPC       "1" attaches every function to the private VPC even where the profile
                         leaves it off (dev), e.g. to rehearse prod's network on an emulator
PIPELINE_INGEST_PATH     "workflow" or "queue" overrides every synthesized environment's
                         ingest_path (config/ingest.py); unset keeps each profile's choice
PIPELINE_ALARM_EMAIL, PIPELINE_ALARM_HTTPS_URL, PIPELINE_ALARM_TOPIC_ARN
                         comma-separated alarm subscribers added to every synthesized
                         environment (constructs_lib.specs.AlarmSubscribers)
AWS_ENDPOINT_URL         when set, every AWS call (provider and backend) goes to this emulator
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from config.emulator import AWS_INTENT, DeploymentIntent, EmulatorProfile
from config.environments import DEFAULT_PROJECT, DEFAULT_REGION, ENVIRONMENT_NAMES
from config.ingest import INGEST_PATH_VARIABLE, IngestPath, parse_ingest_path
from constructs_lib.specs import AlarmSubscribers

StateBackendKind = Literal["s3", "local"]

# How long synth waits for an emulator before reporting it unreachable.
EMULATOR_PROBE_TIMEOUT_SECONDS = 2.0


class ConfigError(ValueError):
    """A setting from the environment is invalid; the message names the variable."""


@dataclass(frozen=True, kw_only=True)
class StateBackendSettings:
    """The remote state location shared by all environment stacks (one key each)."""

    kind: StateBackendKind = "s3"
    bucket: str
    lock_table: str
    region: str

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
            bucket=environ.get("PIPELINE_STATE_BUCKET", f"{project}-terraform-state"),
            lock_table=environ.get("PIPELINE_STATE_LOCK_TABLE", f"{project}-terraform-locks"),
            region=region,
        )
        force_vpc = environ.get("PIPELINE_FORCE_VPC") or "0"
        if force_vpc not in ("0", "1"):
            raise ConfigError(f"PIPELINE_FORCE_VPC must be '0' or '1', got {force_vpc!r}")
        try:
            ingest_path = parse_ingest_path(environ.get(INGEST_PATH_VARIABLE, ""))
            alarm_subscribers = AlarmSubscribers.from_environ(environ)
        except ValueError as error:
            raise ConfigError(str(error)) from None
        return cls(
            environments=environments,
            region=region,
            project=project,
            state=state,
            emulator=EmulatorProfile(endpoint_url=endpoint_url) if endpoint_url else None,
            force_vpc=force_vpc == "1",
            ingest_path=ingest_path,
            alarm_subscribers=alarm_subscribers,
        )


def _parse_environments(raw: str) -> tuple[str, ...]:
    if not raw.strip():
        return ENVIRONMENT_NAMES
    names = tuple(name.strip() for name in raw.split(",") if name.strip())
    unknown = [name for name in names if name not in ENVIRONMENT_NAMES]
    if unknown:
        raise ConfigError(
            f"PIPELINE_ENVIRONMENTS names unknown environment(s) {', '.join(unknown)}; "
            f"expected a comma-separated subset of {', '.join(ENVIRONMENT_NAMES)}"
        )
    return names


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

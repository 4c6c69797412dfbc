from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import pytest

from config.deployment import ConfigError, DeploymentTarget
from config.environments import build_environments
from config.network import NetworkSettings
from constructs_lib.aws_limits import check_vpc_cidr


def test_default_is_off_with_a_valid_private_range() -> None:
    # Given the defaults / When validated / Then nothing is raised and the VPC is off
    settings = NetworkSettings()
    settings.validate("network")
    assert (settings.enabled, settings.outbound_internet) == (False, False)
    assert check_vpc_cidr("network.cidr", settings.cidr).prefixlen == 16


def test_profiles_isolate_prod_and_staging_but_not_dev() -> None:
    # Given the shipped profiles
    envs = build_environments()
    # Then the VPC is on where real data lives and off in dev, never with a NAT gateway
    assert {name: env.network.enabled for name, env in envs.items()} == {
        "dev": False, "staging": True, "prod": True,
    }  # fmt: skip
    assert not any(env.network.outbound_internet for env in envs.values())
    # And the ranges are distinct, so the environments could be peered later
    assert len({env.network.cidr for env in envs.values()}) == 3


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"cidr": "not-a-cidr"},
            "network.cidr 'not-a-cidr' is not a network address like 10.0.0.0/16 "
            "(host bits must be zero)",
        ),
        (
            {"cidr": "10.0.0.1/16"},
            "network.cidr '10.0.0.1/16' is not a network address like 10.0.0.0/16 "
            "(host bits must be zero)",
        ),
        ({"cidr": "8.8.0.0/16"}, "network.cidr '8.8.0.0/16' must be a private IPv4 range"),
        ({"cidr": "fd00::/56"}, "network.cidr 'fd00::/56' must be a private IPv4 range"),
        (
            {"cidr": "10.0.0.0/8"},
            "network.cidr '10.0.0.0/8' must have a prefix length from /16 to /24, got /8",
        ),
        (
            {"cidr": "10.0.0.0/26"},
            "network.cidr '10.0.0.0/26' must have a prefix length from /16 to /24, got /26",
        ),
        (
            {"outbound_internet": True},
            "network.outbound_internet needs network.enabled: a NAT gateway only serves "
            "functions inside the VPC",
        ),
        ({"enabled": "yes"}, "network.enabled must be true or false, got 'yes'"),
        ({"enabled": True, "outbound_internet": 1}, "network.outbound_internet must be true or"),
    ],
)
def test_invalid_settings_name_the_field(overrides: dict[str, Any], message: str) -> None:
    # Given settings with one bad value
    settings = NetworkSettings(**overrides)
    # When validated / Then the error names the field
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        settings.validate("network")


def test_environment_config_validates_its_network() -> None:
    # Given dev with NAT asked for while the VPC stays off
    dev = build_environments()["dev"]
    # When the profile is built / Then it is refused with the field's full name
    with pytest.raises(ValueError, match=r"^network\.outbound_internet needs network\.enabled"):
        replace(dev, network=NetworkSettings(outbound_internet=True))


def test_nat_is_accepted_when_the_vpc_is_on() -> None:
    # Given a profile asking for outbound internet inside the VPC / Then it validates
    NetworkSettings(enabled=True, outbound_internet=True, cidr="10.40.0.0/24").validate("net")


@pytest.mark.parametrize(
    ("raw", "expected"), [(None, False), ("", False), ("0", False), ("1", True)]
)
def test_force_vpc_switch_is_read_from_the_environment(raw: str | None, expected: bool) -> None:
    # Given PIPELINE_FORCE_VPC set (or not)
    environ = {} if raw is None else {"PIPELINE_FORCE_VPC": raw}
    # When the deployment target is parsed / Then the switch follows it
    assert DeploymentTarget.from_environ(environ, probe=False).force_vpc is expected


def test_force_vpc_switch_rejects_other_values() -> None:
    # Given a value that is neither 0 nor 1 / Then the variable is named in the error
    with pytest.raises(ConfigError, match=r"^PIPELINE_FORCE_VPC must be '0' or '1', got 'yes'$"):
        DeploymentTarget.from_environ({"PIPELINE_FORCE_VPC": "yes"}, probe=False)

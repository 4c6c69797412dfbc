"""VPC isolation settings for one environment.

When ``enabled``, every Lambda function runs in two private subnets (two Availability
Zones) and reaches S3 and DynamoDB through gateway endpoints; nothing leaves the VPC for
the internet unless ``outbound_internet`` adds a NAT gateway.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

# Two AZs keep the functions running through one zone's outage; Lambda wants at least two.
AVAILABILITY_ZONE_COUNT = 2
# A private range with room for /18 subnets; environments use distinct ranges so they can peer.
DEFAULT_VPC_CIDR = "10.0.0.0/16"
# AWS accepts VPCs from /16 to /28; /24 is the smallest that still gives each subnet 59 usable IPs.
VPC_PREFIX_LENGTH_RANGE = (16, 24)


@dataclass(frozen=True, kw_only=True)
class NetworkSettings:
    """Whether functions run inside a private VPC, and how that VPC is laid out."""

    enabled: bool = False
    cidr: str = DEFAULT_VPC_CIDR
    # Adds a public subnet, an internet gateway and one NAT gateway (about 32 USD a month plus
    # data processing); leave off while every dependency has a VPC endpoint.
    outbound_internet: bool = False

    def validate(self, prefix: str) -> None:
        if not isinstance(self.enabled, bool):
            raise ValueError(f"{prefix}.enabled must be true or false, got {self.enabled!r}")
        if not isinstance(self.outbound_internet, bool):
            raise ValueError(
                f"{prefix}.outbound_internet must be true or false, got {self.outbound_internet!r}"
            )
        check_vpc_cidr(f"{prefix}.cidr", self.cidr)
        if self.outbound_internet and not self.enabled:
            raise ValueError(
                f"{prefix}.outbound_internet needs {prefix}.enabled: a NAT gateway only serves "
                "functions inside the VPC"
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

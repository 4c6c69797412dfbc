"""VPC isolation settings for one environment.

When ``enabled``, every Lambda function runs in two private subnets (two Availability
Zones) and reaches AWS services through VPC endpoints; nothing leaves the VPC for the
internet unless ``outbound_internet`` adds a NAT gateway.
"""

from __future__ import annotations

from dataclasses import dataclass

from constructs_lib.aws_limits import check_vpc_cidr, require_bool

# A private range with room for /18 subnets; environments use distinct ranges so they can peer.
DEFAULT_VPC_CIDR = "10.0.0.0/16"


@dataclass(frozen=True, kw_only=True)
class NetworkSettings:
    """Whether functions run inside a private VPC, and how that VPC is laid out."""

    enabled: bool = False
    cidr: str = DEFAULT_VPC_CIDR
    # Adds a public subnet, an internet gateway and one NAT gateway (about 32 USD a month plus
    # data processing); leave off while every dependency has a VPC endpoint.
    outbound_internet: bool = False

    def validate(self, prefix: str) -> None:
        require_bool(f"{prefix}.enabled", self.enabled)
        require_bool(f"{prefix}.outbound_internet", self.outbound_internet)
        check_vpc_cidr(f"{prefix}.cidr", self.cidr)
        if self.outbound_internet and not self.enabled:
            raise ValueError(
                f"{prefix}.outbound_internet needs {prefix}.enabled: a NAT gateway only serves "
                "functions inside the VPC"
            )

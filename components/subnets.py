"""Subnet layout: carve public, private and isolated subnets for each AZ out of the VPC CIDR.

A pure function so that settings can reject a layout before any resource exists, and the Network
component builds exactly what was validated. Blocks are allocated largest first (private), so every
subnet stays aligned and the layout never overlaps; the order of AZs never changes an existing
subnet's CIDR as long as `az_count` only grows (new AZs take the next free block of each tier).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

TIERS = ("public", "private", "isolated")
MAX_SUBNET_PREFIX = 28  # AWS: a subnet CIDR is /16 to /28 (a VPC is at most /16, so only /28 can be broken)
MAX_AZS = 6


@dataclass(frozen=True)
class SubnetPlan:
    """CIDR blocks by tier, one per AZ, in AZ order."""

    public: tuple[str, ...]
    private: tuple[str, ...]
    isolated: tuple[str, ...]

    def all_blocks(self) -> list[str]:
        return [*self.public, *self.private, *self.isolated]


class SubnetLayoutError(ValueError):
    pass


def plan_subnets(vpc_cidr: str, az_count: int, bits: dict[str, int]) -> SubnetPlan:
    """Split `vpc_cidr` into `az_count` subnets per tier; `bits[tier]` is added to the VPC prefix.

    Each tier reserves room for MAX_AZS subnets so that adding an AZ later never moves a subnet.
    Raises SubnetLayoutError with a sentence naming the tier that does not fit.
    """
    vpc = ipaddress.ip_network(vpc_cidr, strict=True)
    if not 1 <= az_count <= MAX_AZS:
        raise SubnetLayoutError(f"az_count must be 1 to {MAX_AZS}")
    free = [vpc]
    blocks: dict[str, list[str]] = {}
    # Largest subnets first: allocating in descending size keeps each block aligned.
    for tier in sorted(TIERS, key=lambda t: bits[t]):
        prefix = vpc.prefixlen + bits[tier]
        if prefix > MAX_SUBNET_PREFIX:
            raise SubnetLayoutError(
                f"{tier} subnets would be /{prefix}, smaller than the AWS minimum /{MAX_SUBNET_PREFIX}"
            )
        tier_blocks = []
        for _ in range(MAX_AZS):
            block = _take(free, prefix)
            if block is None:
                raise SubnetLayoutError(
                    f"{vpc} has no room for {MAX_AZS} {tier} subnets of /{prefix} "
                    "(room for up to 6 AZs is reserved per tier)"
                )
            tier_blocks.append(str(block))
        blocks[tier] = tier_blocks[:az_count]
    return SubnetPlan(
        public=tuple(blocks["public"]),
        private=tuple(blocks["private"]),
        isolated=tuple(blocks["isolated"]),
    )


def _take(free: list, prefix: int):
    """Remove and return the lowest free block of size /prefix, splitting a larger one if needed."""
    free.sort(key=lambda n: (n.network_address, n.prefixlen))
    for i, candidate in enumerate(free):
        if candidate.prefixlen > prefix:
            continue
        del free[i]
        block = next(candidate.subnets(new_prefix=prefix))
        free.extend(candidate.address_exclude(block))
        return block
    return None

"""What every component needs to know about the stack it is part of."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.naming import Namer


@dataclass(frozen=True)
class StackContext:
    """Naming, environment profile and the few platform-wide values every component uses."""

    namer: Namer
    production_like: bool
    log_retention_days: int
    region: str
    account_id: str
    permissions_boundary: str  # ARN of the policy every IAM role of the stack carries (components/iam.py)

    def stateful(self, opts: pulumi.ResourceOptions | None = None) -> pulumi.ResourceOptions:
        """Options for data that must outlive a mistaken `pulumi destroy` in production."""
        keep = pulumi.ResourceOptions(protect=self.production_like, retain_on_delete=self.production_like)
        return pulumi.ResourceOptions.merge(keep, opts)

    def arn(self, service: str, resource: str) -> str:
        """An ARN in this account and region, for policies scoped to resources not created here."""
        return f"arn:aws:{service}:{self.region}:{self.account_id}:{resource}"

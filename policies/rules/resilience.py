"""Data protection in production environments: Multi-AZ, deletion protection, backups, failover.

These rules apply only when the stack's environment (config `environment`, else derived from the stack
name) is one of `productionEnvironments` (default: prod); elsewhere they are silent.
"""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import EnforcementLevel

from .core import (
    ENVIRONMENT_SCHEMA,
    ENVIRONMENTS_SCHEMA,
    PRODUCTION_SCHEMA,
    Context,
    Resource,
    Rule,
    has_value,
    is_unknown,
    lb_types,
    number,
    truthy,
)

PRODUCTION_CONFIG = {"environment": ENVIRONMENT_SCHEMA, "environments": ENVIRONMENTS_SCHEMA,
                     "productionEnvironments": PRODUCTION_SCHEMA}


def _rds(resource: Resource, ctx: Context) -> Iterator[str]:
    if not ctx.production:
        return
    is_instance = resource.type == "aws:rds/instance:Instance"
    if is_instance and not has_value(resource.get("replicateSourceDb")) and truthy(resource.get("multiAz")) is False:
        yield f"{resource.name!r} is single-AZ; set multiAz: true."
    if truthy(resource.get("deletionProtection")) is False:
        yield f"{resource.name!r} has no deletion protection; set deletionProtection: true."
    minimum = float(ctx.config.get("minimumBackupDays") or 7)
    retention = resource.get("backupRetentionPeriod")
    if is_unknown(retention) or (is_instance and has_value(resource.get("replicateSourceDb"))):
        return
    days = number(retention)
    if days is None:
        days = 1.0  # the AWS default when unset (or not a number)
    if days < minimum:
        yield f"{resource.name!r} keeps backups {days:g} days; set backupRetentionPeriod >= {minimum:g}."


def _redis(resource: Resource, ctx: Context) -> Iterator[str]:
    if not ctx.production:
        return
    if truthy(resource.get("automaticFailoverEnabled")) is False:
        yield f"{resource.name!r} has no automatic failover; set automaticFailoverEnabled: true (2+ nodes)."
    if truthy(resource.get("multiAzEnabled")) is False:
        yield f"{resource.name!r} is not Multi-AZ; set multiAzEnabled: true."


def _alb(resource: Resource, ctx: Context) -> Iterator[str]:
    if ctx.production and truthy(resource.get("enableDeletionProtection")) is False:
        yield f"load balancer {resource.name!r} has no deletion protection; set enableDeletionProtection: true."


RULES = [
    Rule("rds-production-resilience", "resilience", "In production: RDS Multi-AZ, deletion protection and "
         "backups kept at least 7 days.", EnforcementLevel.MANDATORY,
         "set multiAz: true, deletionProtection: true and backupRetentionPeriod >= 7.",
         ("aws:rds/instance:Instance", "aws:rds/cluster:Cluster"), _rds,
         config={**PRODUCTION_CONFIG, "minimumBackupDays": {"type": "integer", "minimum": 1, "maximum": 35,
                                                            "default": 7, "description": "Least backup retention."}}),
    Rule("redis-production-failover", "resilience", "In production: Redis replication groups fail over "
         "automatically across AZs.", EnforcementLevel.MANDATORY,
         "set automaticFailoverEnabled: true and multiAzEnabled: true with at least 2 cache clusters.",
         ("aws:elasticache/replicationGroup:ReplicationGroup",), _redis, config=PRODUCTION_CONFIG),
    Rule("alb-production-deletion-protection", "resilience", "In production: load balancers have deletion "
         "protection.", EnforcementLevel.MANDATORY, "set enableDeletionProtection: true.",
         lb_types("loadBalancer:LoadBalancer"), _alb, config=PRODUCTION_CONFIG),
]

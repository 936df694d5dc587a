"""The cache: an ElastiCache Redis OSS (or Valkey) replication group in the isolated subnets.

- Reachable only from the web and batch task security groups, on port 6379.
- Encrypted at rest with the data key and in transit (TLS), with an AUTH token generated once and kept
  in Secrets Manager. Both encryption settings are fixed at creation: the provider replaces the group
  to change them (hashicorp/terraform-provider-aws #30700, #33403), and AUTH needs TLS, so they are
  always on rather than options.
- Production-like stacks: at least two nodes, automatic failover and Multi-AZ, daily snapshots kept
  `snapshot_retention_days`, a final snapshot on deletion; settings refuse anything less there.
- Slow-log entries go, as JSON, to an encrypted log group with the platform's retention.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.context import StackContext
from components.data_access import clients_only_security_group
from components.generated_secret import generated_secret
from components.logs import encrypted_log_group
from components.settings import CacheSettings

PORT = 6379


def parameter_group_family(settings: CacheSettings) -> str:
    """redis7 for Redis OSS 7.x, valkey7 for Valkey 7.2, valkey8 for Valkey 8.x."""
    return f"{settings.engine}{settings.version.split('.')[0]}"


@dataclass
class CacheArgs:
    ctx: StackContext
    settings: CacheSettings
    vpc_id: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]  # the isolated subnets
    clients: Mapping[str, pulumi.Input[str]]  # purpose -> security group id admitted on port 6379
    key_arn: pulumi.Input[str]  # data at rest: the nodes' storage and snapshots, the AUTH token secret
    log_key_arn: pulumi.Input[str]  # telemetry: the slow-log group


class Cache(pulumi.ComponentResource):
    replication_group: aws.elasticache.ReplicationGroup

    def __init__(self, name: str, args: CacheArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("django-platform:cache:Cache", name, None, opts)
        ctx, settings = args.ctx, args.settings
        namer = ctx.namer
        child = pulumi.ResourceOptions(parent=self)
        group = clients_only_security_group(ctx, "cache", settings.engine, PORT, args.vpc_id, args.clients, self)

        subnet_group_name = namer.name("cache", "subnetgroup")
        subnet_group = aws.elasticache.SubnetGroup(subnet_group_name, name=subnet_group_name,
                                                   subnet_ids=args.subnet_ids,
                                                   description="Isolated subnets (no route to the internet)",
                                                   opts=child)
        family = parameter_group_family(settings)
        pg_name = namer.name("cache", "pg", family)  # the family in the name: an upgrade creates the new group first
        parameter_group = aws.elasticache.ParameterGroup(pg_name, name=pg_name, family=family,
                                                         description=f"{family} for the Django cache", opts=child)

        token = generated_secret(ctx, "cache", "auth-token", f"{settings.engine} AUTH token",
                                           args.key_arn, self)
        slow_log = encrypted_log_group(namer.name("cache", "log", "slow"), namer.path("cache", "slow-log"), ctx,
                                       args.log_key_arn, self)

        # The replication group id is the kind "redis" for both engines: one ElastiCache name limit (40).
        self.replication_group_id = namer.name("cache", "redis")
        failover = settings.automatic_failover
        self.replication_group = aws.elasticache.ReplicationGroup(
            self.replication_group_id,
            replication_group_id=self.replication_group_id,
            description=f"{ctx.namer.prefix} Django cache ({settings.engine} {settings.version})",
            engine=settings.engine,
            engine_version=settings.version,
            node_type=settings.node_type,
            num_cache_clusters=settings.nodes,
            port=PORT,
            parameter_group_name=parameter_group.name,
            subnet_group_name=subnet_group.name,
            security_group_ids=[group.id],
            at_rest_encryption_enabled=True,
            kms_key_id=args.key_arn,
            transit_encryption_enabled=True,
            auth_token=token.value,
            automatic_failover_enabled=failover,
            multi_az_enabled=failover,  # Multi-AZ needs automatic failover; settings refuse it without a replica
            snapshot_retention_limit=settings.snapshot_retention_days,
            snapshot_window=settings.snapshot_window,
            maintenance_window=settings.maintenance_window,
            final_snapshot_identifier=namer.name("cache", "redis", "final") if ctx.production_like else None,
            auto_minor_version_upgrade=True,
            apply_immediately=not ctx.production_like,
            log_delivery_configurations=[aws.elasticache.ReplicationGroupLogDeliveryConfigurationArgs(
                destination=slow_log.name, destination_type="cloudwatch-logs", log_format="json",
                log_type="slow-log")],
            tags={"Name": self.replication_group_id},
            # The token is the one stored in the secret version (generated once, kept by ignore_changes);
            # ignore_changes here too, so a deliberate rotation outside Pulumi is not undone. Rotate
            # deliberately: see docs/data.md.
            opts=ctx.stateful(pulumi.ResourceOptions(parent=self, ignore_changes=["authToken"])),
        )

        self.primary_endpoint_address = self.replication_group.primary_endpoint_address
        self.reader_endpoint_address = self.replication_group.reader_endpoint_address
        self.member_clusters = self.replication_group.member_clusters
        self.port = PORT
        self.security_group_id = group.id
        self.auth_token_secret_arn = token.arn
        self.register_outputs({
            "replication_group_id": self.replication_group_id,
            "member_clusters": self.member_clusters,
            "primary_endpoint_address": self.primary_endpoint_address,
            "reader_endpoint_address": self.reader_endpoint_address,
            "auth_token_secret_arn": self.auth_token_secret_arn,
            "security_group_id": self.security_group_id,
        })

"""The database: RDS PostgreSQL (or MySQL) in the isolated subnets, TLS-only, encrypted, RDS-managed password.

- Reachable only from the web and batch task security groups, on the engine's port.
- The parameter group forces TLS (`rds.force_ssl` / `require_secure_transport`); its name carries the
  family, so a major upgrade creates the new group before the old one is deleted. In production-like
  stacks the upgrade waits for the maintenance window and the old group stays attached until then, so
  Pulumi forgets the old group instead of deleting it (RDS refuses to delete a group in use).
- Storage, Performance Insights and the master password secret are encrypted with the data key. The
  master password is created and kept by RDS in Secrets Manager (`manage_master_user_password`): it
  is never in config or in Pulumi state; tasks read it through the secret's `username`/`password` keys.
- Engine logs go to log groups created here first (encrypted, with retention), which RDS then uses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.context import StackContext
from components.data_access import clients_only_security_group
from components.logs import encrypted_log_group
from components.settings import DatabaseSettings


@dataclass(frozen=True)
class Engine:
    port: int
    family_prefix: str  # parameter group family = prefix + major version: postgres16, mysql8.4
    tls_parameter: str  # the parameter that refuses unencrypted connections
    tls_apply_method: str  # RDS refuses "immediate" for a static parameter (InvalidParameterCombination)
    log_exports: tuple[str, ...]  # CloudWatch Logs exports RDS offers for the engine


ENGINES = {
    # rds.force_ssl defaults to 1 only from PostgreSQL 15; set it for every version. RDS for PostgreSQL
    # treats it as static ("cannot use immediate apply method for static parameter"); pending-reboot is
    # accepted for static and dynamic parameters alike. The group is attached when the instance is
    # created (or upgraded, which restarts it), so the value is in force from the start.
    "postgres": Engine(5432, "postgres", "rds.force_ssl", "pending-reboot", ("postgresql", "upgrade")),
    # require_secure_transport is OFF by default up to MySQL 8.4; it is dynamic (no reboot).
    "mysql": Engine(3306, "mysql", "require_secure_transport", "immediate", ("error", "slowquery")),
}
PERFORMANCE_INSIGHTS_DAYS = 7  # the free retention tier


def parameter_group_family(settings: DatabaseSettings) -> str:
    return ENGINES[settings.engine].family_prefix + settings.major_version


@dataclass
class DatabaseArgs:
    ctx: StackContext
    settings: DatabaseSettings
    vpc_id: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]  # the isolated subnets
    clients: Mapping[str, pulumi.Input[str]]  # purpose -> security group id admitted on the engine port
    key_arn: pulumi.Input[str]  # data at rest: storage, master secret, Performance Insights
    log_key_arn: pulumi.Input[str]  # telemetry: the engine log groups


class Database(pulumi.ComponentResource):
    instance: aws.rds.Instance

    def __init__(self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("django-platform:database:Database", name, None, opts)
        ctx, settings = args.ctx, args.settings
        engine = ENGINES[settings.engine]
        namer = ctx.namer
        child = pulumi.ResourceOptions(parent=self)
        group = clients_only_security_group(ctx, "db", settings.engine, engine.port, args.vpc_id, args.clients, self)

        subnet_group_name = namer.name("db", "subnetgroup")
        subnet_group = aws.rds.SubnetGroup(subnet_group_name, name=subnet_group_name, subnet_ids=args.subnet_ids,
                                           description="Isolated subnets (no route to the internet)", opts=child)

        family = parameter_group_family(settings)
        pg_name = namer.name("db", "pg", family.replace(".", ""))
        parameter_group = aws.rds.ParameterGroup(
            pg_name, name=pg_name, family=family, description=f"{family}: TLS required",
            parameters=[aws.rds.ParameterGroupParameterArgs(name=engine.tls_parameter, value="1",
                                                            apply_method=engine.tls_apply_method)],
            # prod: a major upgrade waits for the maintenance window, the old group stays in use until then
            opts=pulumi.ResourceOptions(parent=self, retain_on_delete=ctx.production_like))

        self.instance_identifier = namer.name("db", "rds")
        # RDS writes each export to /aws/rds/instance/<id>/<export>; created here first, it is encrypted.
        log_groups = [
            encrypted_log_group(namer.name("db", "log", export),
                                f"/aws/rds/instance/{self.instance_identifier}/{export}", ctx, args.log_key_arn, self)
            for export in engine.log_exports
        ]

        # Not tied to deletion protection alone: deleting needs deletion_protection off, and the final
        # snapshot must survive that switch in production-like stacks.
        final_snapshot = ctx.production_like or settings.deletion_protection
        self.instance = aws.rds.Instance(
            self.instance_identifier,
            identifier=self.instance_identifier,
            engine=settings.engine,
            engine_version=settings.major_version,  # a major version: RDS picks and upgrades the minor
            allow_major_version_upgrade=True,  # engine_version only ever changes by an explicit config edit
            auto_minor_version_upgrade=True,
            instance_class=settings.instance_class,
            db_name=settings.name,
            username=settings.username,
            manage_master_user_password=True,
            master_user_secret_kms_key_id=args.key_arn,
            iam_database_authentication_enabled=settings.iam_authentication,
            port=engine.port,
            db_subnet_group_name=subnet_group.name,
            vpc_security_group_ids=[group.id],
            parameter_group_name=parameter_group.name,
            publicly_accessible=False,
            multi_az=settings.multi_az,
            storage_type="gp3",
            allocated_storage=settings.allocated_storage,
            max_allocated_storage=settings.max_allocated_storage,
            storage_encrypted=True,
            kms_key_id=args.key_arn,
            backup_retention_period=settings.backup_retention_days,
            backup_window=settings.backup_window,
            maintenance_window=settings.maintenance_window,
            copy_tags_to_snapshot=True,
            delete_automated_backups=not ctx.production_like,
            deletion_protection=settings.deletion_protection,
            skip_final_snapshot=not final_snapshot,
            final_snapshot_identifier=namer.name("db", "rds", "final") if final_snapshot else None,
            apply_immediately=not ctx.production_like,  # prod: changes wait for the maintenance window
            performance_insights_enabled=settings.performance_insights,
            performance_insights_kms_key_id=args.key_arn if settings.performance_insights else None,
            performance_insights_retention_period=PERFORMANCE_INSIGHTS_DAYS if settings.performance_insights else None,
            enabled_cloudwatch_logs_exports=list(engine.log_exports),
            tags={"Name": self.instance_identifier},
            opts=ctx.stateful(pulumi.ResourceOptions(parent=self, depends_on=log_groups)),
        )

        self.instance_id = self.instance.id
        self.address = self.instance.address
        self.port = self.instance.port
        self.engine = settings.engine
        self.db_name = settings.name
        self.security_group_id = group.id
        # RDS creates the master secret; its ARN is the first (only) entry of master_user_secrets.
        self.master_user_secret_arn: pulumi.Output[str] = self.instance.master_user_secrets.apply(_first_secret_arn)
        self.register_outputs({
            "instance_identifier": self.instance_identifier,
            "instance_id": self.instance_id,
            "address": self.address,
            "port": self.port,
            "master_user_secret_arn": self.master_user_secret_arn,
            "security_group_id": self.security_group_id,
        })


def _first_secret_arn(secrets: Sequence[aws.rds.outputs.InstanceMasterUserSecret]) -> str:
    if not secrets or not secrets[0].secret_arn:
        raise ValueError("RDS reported no master user secret although manage_master_user_password is set")
    return secrets[0].secret_arn

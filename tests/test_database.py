"""Database: RDS in the isolated subnets, reachable only from the web and batch tasks, TLS-only, encrypted,
with the password managed by RDS and the production protections on in prod."""

from __future__ import annotations

import pytest

from tests.harness import Graph, Resource, run_stack, settings_error

INSTANCE = "aws:rds/instance:Instance"
PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"


def instance(graph: Graph) -> Resource:
    return graph.one(INSTANCE)


def key_arn(graph: Graph, purpose: str) -> str:
    return graph.one("aws:kms/key:Key", f"*-platform-{purpose}-kms").outputs["arn"]


def group_id(graph: Graph, name_glob: str) -> str:
    return graph.one(SECURITY_GROUP, name_glob).outputs["id"]


def rules_of(graph: Graph, type_: str, group: str) -> list[Resource]:
    return [r for r in graph.of_type(type_) if r.inputs["securityGroupId"] == group]


@pytest.fixture(scope="module")
def mysql() -> Graph:
    return run_stack("dev", overrides={"database.engine": "mysql", "database.iam_authentication": "true"})


def test_storage_master_secret_and_insights_are_encrypted_with_the_data_key(prod: Graph):
    db = instance(prod).inputs
    data_key = key_arn(prod, "data")
    assert db["storageEncrypted"] is True and db["kmsKeyId"] == data_key
    assert db["manageMasterUserPassword"] is True and db["masterUserSecretKmsKeyId"] == data_key
    assert db["performanceInsightsEnabled"] is True and db["performanceInsightsKmsKeyId"] == data_key
    assert "password" not in db and "passwordWo" not in db  # RDS owns the password; Pulumi never sees it


def test_database_lives_in_the_isolated_subnets_and_is_private(stack_graph: Graph):
    isolated = {s.outputs["id"] for s in stack_graph.of_type("aws:ec2/subnet:Subnet")
                if s.inputs["tags"]["tier"] == "isolated"}
    subnet_group = stack_graph.one("aws:rds/subnetGroup:SubnetGroup")
    assert set(subnet_group.inputs["subnetIds"]) == isolated and len(isolated) >= 2
    db = instance(stack_graph).inputs
    assert db["dbSubnetGroupName"] == subnet_group.outputs["name"]
    assert db["publiclyAccessible"] is False


def test_only_the_web_and_batch_groups_reach_the_engine_port(stack_graph: Graph):
    db_group = group_id(stack_graph, "*-db-sg")
    assert instance(stack_graph).inputs["vpcSecurityGroupIds"] == [db_group]
    rules = rules_of(stack_graph, INGRESS, db_group)
    admitted = {r.inputs["referencedSecurityGroupId"] for r in rules}
    assert admitted == {group_id(stack_graph, "*-web-sg"), group_id(stack_graph, "*-batch-sg")}
    for rule in rules:
        assert (rule.inputs["ipProtocol"], rule.inputs["fromPort"], rule.inputs["toPort"]) == ("tcp", 5432, 5432)
        assert "cidrIpv4" not in rule.inputs and "cidrIpv6" not in rule.inputs
    assert rules_of(stack_graph, EGRESS, db_group) == []
    assert "ingress" not in stack_graph.one(SECURITY_GROUP, "*-db-sg").inputs  # no inline rules either


def test_parameter_group_forces_tls_for_postgres(dev: Graph):
    group = dev.one(PARAMETER_GROUP)
    assert group.inputs["family"] == "postgres16"
    # rds.force_ssl is static: RDS refuses the "immediate" apply method for it (InvalidParameterCombination)
    assert group.inputs["parameters"] == [{"name": "rds.force_ssl", "value": "1", "applyMethod": "pending-reboot"}]
    assert group.retain_on_delete is False
    db = instance(dev).inputs
    assert db["parameterGroupName"] == group.outputs["name"]
    assert (db["engine"], db["engineVersion"], db["port"]) == ("postgres", "16", 5432)


def test_mysql_uses_its_family_port_and_tls_parameter(mysql: Graph):
    group = mysql.one(PARAMETER_GROUP)
    assert group.inputs["family"] == "mysql8.4" and group.inputs["name"].endswith("-db-mysql84-pg")
    # require_secure_transport is dynamic: in force at once, no reboot
    assert group.inputs["parameters"] == [{"name": "require_secure_transport", "value": "1",
                                           "applyMethod": "immediate"}]
    db = instance(mysql).inputs
    assert (db["engine"], db["engineVersion"], db["port"]) == ("mysql", "8.4", 3306)
    assert db["enabledCloudwatchLogsExports"] == ["error", "slowquery"]
    ports = {(r.inputs["fromPort"], r.inputs["toPort"]) for r in rules_of(mysql, INGRESS, group_id(mysql, "*-db-sg"))}
    assert ports == {(3306, 3306)}


def test_iam_authentication_is_optional(dev: Graph, mysql: Graph):
    assert instance(dev).inputs["iamDatabaseAuthenticationEnabled"] is False
    assert instance(mysql).inputs["iamDatabaseAuthenticationEnabled"] is True


def test_backups_and_maintenance_follow_the_seed_windows(stack_graph: Graph):
    db = instance(stack_graph).inputs
    assert (db["backupWindow"], db["maintenanceWindow"]) == ("09:10-09:40", "mon:10:10-mon:10:40")
    assert db["autoMinorVersionUpgrade"] is True and db["copyTagsToSnapshot"] is True
    assert db["storageType"] == "gp3" and db["maxAllocatedStorage"] >= db["allocatedStorage"]


def test_dev_is_cheap_and_disposable(dev: Graph):
    db = instance(dev)
    i = db.inputs
    assert i["backupRetentionPeriod"] == 1
    assert (i["multiAz"], i["deletionProtection"], i["skipFinalSnapshot"]) == (False, False, True)
    assert "finalSnapshotIdentifier" not in i and i["applyImmediately"] is True
    assert i["performanceInsightsEnabled"] is False and "performanceInsightsKmsKeyId" not in i
    assert (db.protect, db.retain_on_delete) == (False, False)


def test_prod_is_protected(prod: Graph):
    db = instance(prod)
    i = db.inputs
    assert i["backupRetentionPeriod"] == 7
    assert (i["multiAz"], i["deletionProtection"], i["skipFinalSnapshot"]) == (True, True, False)
    assert i["finalSnapshotIdentifier"] == "django-prod-db-final-rds"
    assert i["applyImmediately"] is False and i["deleteAutomatedBackups"] is False
    assert i["performanceInsightsRetentionPeriod"] == 7
    assert (db.protect, db.retain_on_delete) == (True, True)
    # A major upgrade waits for the maintenance window; the old parameter group stays attached until then
    # and RDS refuses to delete it, so Pulumi forgets it instead (not protected: it must be replaceable).
    group = prod.one(PARAMETER_GROUP)
    assert (group.protect, group.retain_on_delete) == (False, True)


def test_engine_logs_go_to_encrypted_log_groups_created_first(prod: Graph):
    db = instance(prod)
    telemetry = key_arn(prod, "telemetry")
    exports = db.inputs["enabledCloudwatchLogsExports"]
    assert exports == ["postgresql", "upgrade"]
    for export in exports:
        group = prod.one(LOG_GROUP, f"*-db-{export}-log")
        assert group.inputs["name"] == f"/aws/rds/instance/django-prod-db-rds/{export}"
        assert group.inputs["kmsKeyId"] == telemetry and group.inputs["retentionInDays"] == 365
        assert group.urn in db.dependencies


def test_a_retention_of_seven_days_or_more_passes_in_prod():
    graph = run_stack("prod", overrides={"database.backup_retention_days": "35",
                                         "database.deletion_protection": "false"})
    i = instance(graph).inputs
    assert i["backupRetentionPeriod"] == 35
    # Turning deletion protection off (the first step of a deletion) keeps the final snapshot in prod.
    assert (i["deletionProtection"], i["skipFinalSnapshot"]) == (False, False)
    assert i["finalSnapshotIdentifier"] == "django-prod-db-final-rds"


@pytest.mark.parametrize(("stack", "overrides", "key", "allowed"), [
    ("dev", {"database.engine": "oracle"}, "database.engine", "postgres, mysql"),
    ("dev", {"database.engine": "mysql", "database.engine_version": "16"}, "database.engine_version", "8.0, 8.4"),
    ("dev", {"database.engine_version": "8.4"}, "database.engine_version", "13, 14, 15, 16, 17"),
    ("dev", {"database.backup_retention_days": "0"}, "database.backup_retention_days", "from 1 to 35"),
    ("dev", {"database.backup_retention_days": "36"}, "database.backup_retention_days", "from 1 to 35"),
    ("prod", {"database.backup_retention_days": "6"}, "database.backup_retention_days", "at least 7 in prod"),
    ("dev", {"database.maintenance_window": "mon:09:00-mon:09:30"}, "database.maintenance_window",
     "does not overlap database.backup_window"),
    ("dev", {"database.backup_window": "09:10-09:30"}, "database.backup_window", "at least 30 minutes"),
    ("dev", {"database.maintenance_window": "sun:23:50-mon:00:10"}, "database.maintenance_window",
     "at least 30 minutes"),
    ("dev", {"database.engine": "mysql", "database.performance_insights": "true"}, "database.performance_insights",
     "false for mysql on db.t4g.micro"),
    ("dev", {"database.instance_class": "m7g.large"}, "database.instance_class", "db.t4g.micro"),
])
def test_bad_database_settings_fail_before_any_resource(stack: str, overrides: dict[str, str], key: str,
                                                         allowed: str):
    error, graph = settings_error(stack, overrides=overrides)
    assert [p.key for p in error.problems] == [key]
    assert allowed in str(error)
    assert graph.resources == []


def test_a_mysql_class_with_insights_support_passes():
    graph = run_stack("dev", overrides={"database.engine": "mysql", "database.performance_insights": "true",
                                        "database.instance_class": "db.m7g.large", "database.engine_version": "8.0"})
    db = instance(graph).inputs
    assert db["performanceInsightsEnabled"] is True and db["engineVersion"] == "8.0"
    assert graph.one(PARAMETER_GROUP).inputs["family"] == "mysql8.0"

"""Cache: an ElastiCache replication group in the isolated subnets, reachable only from the web and batch
tasks, encrypted at rest and in transit with a generated AUTH token, highly available in prod."""

from __future__ import annotations

import pytest
from pulumi.runtime.rpc import is_rpc_secret, unwrap_rpc_secret

from tests.harness import SECRET_PLACEHOLDER, Graph, Resource, run_stack, settings_error

GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"


def group(graph: Graph) -> Resource:
    return graph.one(GROUP)


def data_key(graph: Graph) -> str:
    return graph.one("aws:kms/key:Key", "*-platform-data-kms").outputs["arn"]


@pytest.fixture(scope="module")
def valkey() -> Graph:
    return run_stack("dev", overrides={"cache.engine": "valkey"})


def test_encrypted_at_rest_with_the_data_key_and_in_transit(stack_graph: Graph):
    rg = group(stack_graph).inputs
    assert rg["atRestEncryptionEnabled"] is True and rg["kmsKeyId"] == data_key(stack_graph)
    assert rg["transitEncryptionEnabled"] is True


def test_auth_token_is_generated_secret_and_the_same_one_is_stored_in_secrets_manager(stack_graph: Graph):
    rg = group(stack_graph)
    token = rg.inputs["authToken"]
    assert is_rpc_secret(token) and unwrap_rpc_secret(token).startswith(SECRET_PLACEHOLDER)
    secret = stack_graph.one("aws:secretsmanager/secret:Secret", "*-cache-auth-token-secret")
    assert secret.inputs["kmsKeyId"] == data_key(stack_graph)
    version = stack_graph.one("aws:secretsmanager/secretVersion:SecretVersion", "*-cache-auth-token-secret")
    assert version.inputs["secretId"] == secret.outputs["id"] and version.parent == secret.urn
    assert version.inputs["secretString"] == token  # the same value, still wrapped as a secret
    # A new random value on every run must not rotate the token by accident.
    assert "authToken" in rg.ignore_changes and "secretString" in version.ignore_changes
    # The group takes the token the secret version holds, not a fresh invoke result: when the group is
    # created on a later run (its first creation failed), it still gets the value the tasks will read.
    assert version.urn in rg.dependencies
    assert token == version.outputs["secretString"]


def test_cache_lives_in_the_isolated_subnets(stack_graph: Graph):
    isolated = {s.outputs["id"] for s in stack_graph.of_type("aws:ec2/subnet:Subnet")
                if s.inputs["tags"]["tier"] == "isolated"}
    subnet_group = stack_graph.one("aws:elasticache/subnetGroup:SubnetGroup")
    assert set(subnet_group.inputs["subnetIds"]) == isolated
    assert group(stack_graph).inputs["subnetGroupName"] == subnet_group.outputs["name"]


def test_only_the_web_and_batch_groups_reach_port_6379(stack_graph: Graph):
    cache_group = stack_graph.one(SECURITY_GROUP, "*-cache-sg").outputs["id"]
    assert group(stack_graph).inputs["securityGroupIds"] == [cache_group]
    rules = [r for r in stack_graph.of_type(INGRESS) if r.inputs["securityGroupId"] == cache_group]
    assert {r.inputs["referencedSecurityGroupId"] for r in rules} == {
        stack_graph.one(SECURITY_GROUP, "*-web-sg").outputs["id"],
        stack_graph.one(SECURITY_GROUP, "*-batch-sg").outputs["id"]}
    assert all((r.inputs["fromPort"], r.inputs["toPort"], r.inputs["ipProtocol"]) == (6379, 6379, "tcp")
               for r in rules)
    assert not any("cidrIpv4" in r.inputs for r in rules)
    egress = stack_graph.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
    assert not [r for r in egress if r.inputs["securityGroupId"] == cache_group]


def test_parameter_group_matches_the_engine_family(dev: Graph, valkey: Graph):
    for graph, engine, version, family in ((dev, "redis", "7.1", "redis7"), (valkey, "valkey", "8.0", "valkey8")):
        parameters = graph.one("aws:elasticache/parameterGroup:ParameterGroup")
        assert parameters.inputs["family"] == family
        rg = group(graph).inputs
        assert (rg["engine"], rg["engineVersion"], rg["parameterGroupName"]) == \
            (engine, version, parameters.outputs["name"])


def test_switching_redis_to_valkey_keeps_the_security_group(dev: Graph, valkey: Graph):
    # redis -> valkey is an in-place upgrade of the replication group; the group's description cannot be
    # updated (a change replaces it, and a replacement under the same fixed name fails in AWS)
    before, after = (graph.one(SECURITY_GROUP, "*-cache-sg").inputs for graph in (dev, valkey))
    assert (after["name"], after["description"]) == (before["name"], before["description"])


def test_dev_has_one_node_and_no_failover(dev: Graph):
    rg = group(dev)
    i = rg.inputs
    assert (i["numCacheClusters"], i["automaticFailoverEnabled"], i["multiAzEnabled"]) == (1, False, False)
    assert i["snapshotRetentionLimit"] == 0 and "finalSnapshotIdentifier" not in i
    assert i["applyImmediately"] is True and (rg.protect, rg.retain_on_delete) == (False, False)


def test_prod_fails_over_across_zones_and_keeps_snapshots(prod: Graph):
    rg = group(prod)
    i = rg.inputs
    assert i["numCacheClusters"] >= 2 and i["automaticFailoverEnabled"] is True and i["multiAzEnabled"] is True
    assert (i["snapshotRetentionLimit"], i["snapshotWindow"]) == (7, "15:00-16:00")
    assert i["maintenanceWindow"] == "mon:10:40-mon:11:40"
    assert i["finalSnapshotIdentifier"] == "django-prod-cache-final-redis"
    assert i["applyImmediately"] is False and i["autoMinorVersionUpgrade"] is True
    assert (rg.protect, rg.retain_on_delete) == (True, True)


def test_slow_log_is_delivered_to_an_encrypted_log_group(stack_graph: Graph):
    log_group = stack_graph.one("aws:cloudwatch/logGroup:LogGroup", "*-cache-slow-log")
    telemetry = stack_graph.one("aws:kms/key:Key", "*-platform-telemetry-kms").outputs["arn"]
    assert log_group.inputs["kmsKeyId"] == telemetry and log_group.inputs["retentionInDays"] > 0
    assert group(stack_graph).inputs["logDeliveryConfigurations"] == [{
        "destination": log_group.outputs["name"], "destinationType": "cloudwatch-logs", "logFormat": "json",
        "logType": "slow-log"}]


def test_names_fit_elasticache_limits(stack_graph: Graph):
    rg = group(stack_graph).inputs["replicationGroupId"]
    assert len(rg) <= 40 and rg[0].isalpha() and "--" not in rg and not rg.endswith("-")


def test_three_nodes_and_a_custom_window_pass_in_prod():
    graph = run_stack("prod", overrides={"cache.nodes": "3", "cache.snapshot_window": "09:10-10:10"})
    i = group(graph).inputs
    assert (i["numCacheClusters"], i["snapshotWindow"]) == (3, "09:10-10:10")


@pytest.mark.parametrize(("stack", "overrides", "key", "allowed"), [
    ("dev", {"cache.engine": "memcached"}, "cache.engine", "redis, valkey"),
    ("dev", {"cache.engine": "valkey", "cache.engine_version": "7.1"}, "cache.engine_version", "7.2, 8.0"),
    ("dev", {"cache.engine_version": "8.0"}, "cache.engine_version", "7.0, 7.1"),
    ("dev", {"cache.automatic_failover": "true"}, "cache.automatic_failover", "failover needs a replica"),
    ("prod", {"cache.nodes": "1"}, "cache.nodes", "at least 2 in prod"),
    ("prod", {"cache.automatic_failover": "false"}, "cache.automatic_failover", "true in prod"),
    ("dev", {"cache.snapshot_window": "15:00-15:30"}, "cache.snapshot_window", "at least 60 minutes"),
    ("dev", {"cache.maintenance_window": "mon:15:30-mon:16:30"}, "cache.maintenance_window",
     "does not overlap cache.snapshot_window"),
    ("dev", {"cache.snapshot_retention_days": "36"}, "cache.snapshot_retention_days", "from 0 to 35"),
    ("dev", {"cache.node_type": "t4g.micro"}, "cache.node_type", "cache.t4g.micro"),
])
def test_bad_cache_settings_fail_before_any_resource(stack: str, overrides: dict[str, str], key: str, allowed: str):
    error, graph = settings_error(stack, overrides=overrides)
    assert [p.key for p in error.problems] == [key]
    assert allowed in str(error)
    assert graph.resources == []

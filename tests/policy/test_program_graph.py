"""The whole program (dev and prod, as the harness records it) through the pack, and targeted mutations."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable

import pytest

from tests.harness import Graph
from tools.analyzer import Diagnostic, WireResource, wire_resource


def stack_config(env: str) -> dict:
    return {"pack-settings": {"environment": env}}


def preview(pack, graph: Graph, env: str, mutate: Callable[[list[WireResource]], None] | None = None,
            ) -> list[Diagnostic]:
    """Analyze each resource's inputs, then AnalyzeStack over the outputs, as the engine does."""
    inputs = [wire_resource(r, stack=env) for r in graph.resources]
    outputs = [wire_resource(r, state="outputs", stack=env) for r in graph.resources]
    if mutate is not None:
        mutate(inputs)
        mutate(outputs)
    pack.configure(stack_config(env))
    return pack.process.analyze_many(inputs) + pack.process.analyze_stack(outputs)


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_program_passes_with_no_violation(pack, dev: Graph, prod: Graph, env: str) -> None:
    found = preview(pack, {"dev": dev, "prod": prod}[env], env)
    assert [d for d in found if d.mandatory] == [], "\n".join(f"{d.policy} {d.urn}: {d.message}" for d in found)
    # not even an advisory (nothing exempted, nothing undecidable) but, in dev, that production rules are off
    expected = [] if env == "prod" else ["production rules are inactive"]
    assert [d.message.split("\n", 1)[1].removeprefix("[pack-settings] ")[:29] for d in found] == expected


def first(resources: list[WireResource], type_: str) -> WireResource:
    found = [r for r in resources if r.type == type_]
    assert found, f"the program registers no {type_}"
    return found[0]


def set_props(type_: str, **props) -> Callable[[list[WireResource]], None]:
    def mutate(resources: list[WireResource]) -> None:
        target = first(resources, type_)
        for key, value in props.items():
            if value is None:
                target.props.pop(key, None)
            else:
                target.props[key] = value
    return mutate


def task_env(resources: list[WireResource]) -> None:
    task = first(resources, "aws:ecs/taskDefinition:TaskDefinition")
    containers = json.loads(task.props["containerDefinitions"])
    containers[0].setdefault("environment", []).append({"name": "DATABASE_PASSWORD", "value": "hunter2"})
    task.props["containerDefinitions"] = json.dumps(containers)


def task_command(resources: list[WireResource]) -> None:
    task = first(resources, "aws:ecs/taskDefinition:TaskDefinition")
    containers = json.loads(task.props["containerDefinitions"])
    containers[0]["command"] = ["python", "manage.py", "createsuperuser", "--password=hunter2"]
    task.props["containerDefinitions"] = json.dumps(containers)


def drop(type_: str) -> Callable[[list[WireResource]], None]:
    def mutate(resources: list[WireResource]) -> None:
        resources[:] = [r for r in resources if r.type != type_]
    return mutate


def https_listener(resources: list[WireResource]) -> None:
    listener = next(r for r in resources if r.type == "aws:lb/listener:Listener" and r.props.get("protocol") == "HTTPS")
    listener.props["sslPolicy"] = "ELBSecurityPolicy-2016-08"


def http_forward(resources: list[WireResource]) -> None:
    listener = next(r for r in resources if r.type == "aws:lb/listener:Listener" and r.props.get("protocol") == "HTTP")
    listener.props["defaultActions"] = [{"type": "forward", "targetGroupArn": "arn:aws:elasticloadbalancing:x"}]


def open_ssh(resources: list[WireResource]) -> None:
    rule = next(r for r in resources if r.type == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    rule.props.update({"cidrIpv4": "0.0.0.0/0", "fromPort": 22.0, "toPort": 22.0, "ipProtocol": "tcp"})
    rule.props.pop("referencedSecurityGroupId", None)


MUTATIONS = {
    "rds unencrypted": (set_props("aws:rds/instance:Instance", storageEncrypted=False), "rds-storage-encrypted"),
    "rds public": (set_props("aws:rds/instance:Instance", publiclyAccessible=True), "rds-not-public"),
    "alb name 33": (set_props("aws:lb/loadBalancer:LoadBalancer", name="django-dev-web-public-frontend-alb"),
                    "naming-aws-limits"),
    "alb name env": (set_props("aws:lb/loadBalancer:LoadBalancer", name="django-stg-web-alb"), "naming-convention"),
    "weak tls": (https_listener, "alb-https-tls-policy"),
    "http forwards": (http_forward, "alb-http-redirects-to-https"),
    "secret in task env": (task_env, "ecs-task-no-plaintext-secrets"),
    "secret in task command": (task_command, "ecs-task-no-plaintext-secrets"),
    "rds default parameter group": (set_props("aws:rds/instance:Instance", parameterGroupName="default.postgres14",
                                              engineVersion="14.12"), "rds-custom-parameter-group"),
    "log group unencrypted": (set_props("aws:cloudwatch/logGroup:LogGroup", kmsKeyId=None), "log-group-kms-encrypted"),
    "log group forever": (set_props("aws:cloudwatch/logGroup:LogGroup", retentionInDays=None), "log-group-retention"),
    "redis plaintext": (set_props("aws:elasticache/replicationGroup:ReplicationGroup",
                                  transitEncryptionEnabled=False), "elasticache-encrypted"),
    "bucket sse dropped": (drop("aws:s3/bucketServerSideEncryptionConfiguration:"
                                "BucketServerSideEncryptionConfiguration"), "s3-bucket-encrypted"),
    "bucket pab dropped": (drop("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"), "s3-public-access-blocked"),
    "ecr mutable": (set_props("aws:ecr/repository:Repository", imageTagMutability="MUTABLE"), "ecr-immutable-scanned"),
    "kms no rotation": (set_props("aws:kms/key:Key", enableKeyRotation=False), "kms-key-rotation"),
    "sns plaintext": (set_props("aws:sns/topic:Topic", kmsMasterKeyId=None), "messaging-encrypted"),
    "secret aws key": (set_props("aws:secretsmanager/secret:Secret", kmsKeyId=None), "secret-customer-managed-key"),
    "ssh open": (open_ssh, "security-group-no-public-ingress"),
    "pg no tls": (set_props("aws:rds/parameterGroup:ParameterGroup", parameters=[]), "rds-parameter-group-forces-tls"),
    "service public ip": (lambda rs: first(rs, "aws:ecs/service:Service").props["networkConfiguration"].update(
        assignPublicIp=True), "ecs-no-public-ip"),
}
PROD_MUTATIONS = {
    "rds single az": (set_props("aws:rds/instance:Instance", multiAz=False), "rds-production-resilience"),
    "redis no failover": (set_props("aws:elasticache/replicationGroup:ReplicationGroup",
                                    automaticFailoverEnabled=False), "redis-production-failover"),
    "alb unprotected": (set_props("aws:lb/loadBalancer:LoadBalancer", enableDeletionProtection=False),
                        "alb-production-deletion-protection"),
}


@pytest.mark.parametrize("name", list(MUTATIONS))
def test_mutation_of_dev_raises_the_right_violation(pack, dev: Graph, name: str) -> None:
    mutate, rule = MUTATIONS[name]
    found = preview(pack, dev, "dev", mutate)
    assert {d.policy for d in found if d.mandatory} == {rule}, [d.message for d in found]


@pytest.mark.parametrize("name", list(PROD_MUTATIONS))
def test_mutation_of_prod_raises_the_right_violation(pack, prod: Graph, name: str) -> None:
    mutate, rule = PROD_MUTATIONS[name]
    found = preview(pack, prod, "prod", mutate)
    assert {d.policy for d in found if d.mandatory} == {rule}, [d.message for d in found]


def test_mutations_do_not_touch_the_recorded_graph(dev: Graph) -> None:
    before = copy.deepcopy([r.inputs for r in dev.resources if r.type == "aws:rds/instance:Instance"])
    set_props("aws:rds/instance:Instance", storageEncrypted=False)([wire_resource(r) for r in dev.resources])
    assert [r.inputs for r in dev.resources if r.type == "aws:rds/instance:Instance"] == before

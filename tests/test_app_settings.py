"""Application settings and secrets: SSM connection settings under one path, a generated Django key, and the
tasks' ECS `secrets` wired to exactly those ARNs; no generated secret anywhere in plain text."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from pulumi.runtime.rpc import is_rpc_secret, unwrap_rpc_secret

from components.app_settings import CONNECTION_SETTINGS, CREDENTIALS, RESERVED_ENV_NAMES
from tests.harness import SECRET_PLACEHOLDER, Graph, Resource, stack_config, statements

PARAMETER = "aws:ssm/parameter:Parameter"
SECRET = "aws:secretsmanager/secret:Secret"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"


def key_arn(graph: Graph, purpose: str = "data") -> str:
    return graph.one("aws:kms/key:Key", f"*-platform-{purpose}-kms").outputs["arn"]


def parameters(graph: Graph) -> dict[str, Resource]:
    """SSM parameters of the app settings, by the variable they fill."""
    found = {r.inputs["name"].rsplit("/", 1)[-1]: r for r in graph.of_type(PARAMETER)
             if r.inputs["name"].startswith(f"/django/{env(graph)}/app/")}
    return {name.upper().replace("-", "_"): r for name, r in found.items()}


def env(graph: Graph) -> str:
    return graph.outputs["app_settings_path"]["value"].split("/")[2]


def master_secret_arn(graph: Graph) -> str:
    return graph.one("aws:rds/instance:Instance").outputs["masterUserSecrets"][0]["secretArn"]


def expected_value_from(graph: Graph) -> dict[str, str]:
    """Every variable the data tier hands the tasks, and where ECS must read it."""
    master = master_secret_arn(graph)
    wanted = {name: p.outputs["arn"] for name, p in parameters(graph).items()}
    wanted.update({
        "DATABASE_USER": f"{master}:username::",
        "DATABASE_PASSWORD": f"{master}:password::",
        "REDIS_AUTH_TOKEN": graph.one(SECRET, "*-cache-auth-token-secret").outputs["arn"],
        "DJANGO_SECRET_KEY": django_key_stack(graph).outputs["outputs"]["SecretArn"],
    })
    return wanted


def test_connection_settings_are_parameters_under_one_path(stack_graph: Graph):
    path = stack_graph.outputs["app_settings_path"]
    assert path == {"value": f"/django/{env(stack_graph)}/app", "secret": False}
    found = parameters(stack_graph)
    assert set(found) == set(CONNECTION_SETTINGS)
    for parameter in found.values():
        assert parameter.inputs["type"] == "SecureString" and parameter.inputs["keyId"] == key_arn(stack_graph)
    db = stack_graph.one("aws:rds/instance:Instance").outputs
    cache = stack_graph.one("aws:elasticache/replicationGroup:ReplicationGroup").outputs
    # pulumi-aws marks every parameter value secret (it may be a SecureString); these are plain settings
    values = {name: unwrap_rpc_secret(p.inputs["value"]) for name, p in found.items()}
    assert values == {"DATABASE_ENGINE": "postgres", "DATABASE_HOST": db["address"], "DATABASE_PORT": "5432",
                      "DATABASE_NAME": "app", "DATABASE_TLS": "true", "REDIS_HOST": cache["primaryEndpointAddress"],
                      "REDIS_PORT": "6379",
                      "REDIS_TLS": "true"}


def django_key_stack(graph: Graph) -> Resource:
    return graph.one("aws:cloudformation/stack:Stack", "*-app-django-key-cfn")


def test_django_secret_key_is_generated_by_secrets_manager_inside_aws(stack_graph: Graph):
    """The value never passes through Pulumi: no invoke, no secret version, only a template without it."""
    stack = django_key_stack(stack_graph)
    template = json.loads(stack.inputs["templateBody"])
    (secret,) = template["Resources"].values()
    production = env(stack_graph) == "prod"
    keep = "Retain" if production else "Delete"
    assert (secret["Type"], secret["DeletionPolicy"], secret["UpdateReplacePolicy"]) == (
        "AWS::SecretsManager::Secret", keep, keep)
    name = f"django-{env(stack_graph)}-app-django-key-secret"
    assert secret["Properties"]["Name"] == name and secret["Properties"]["KmsKeyId"] == key_arn(stack_graph)
    assert secret["Properties"]["GenerateSecretString"] == {
        "PasswordLength": 64, "ExcludePunctuation": True, "IncludeSpace": False, "RequireEachIncludedType": True}
    assert "SecretString" not in secret["Properties"]
    assert template["Outputs"]["SecretArn"]["Value"] == {"Ref": "Secret"}
    assert stack.protect == production
    assert not [r for r in stack_graph.resources if "django-key" in r.name and r is not stack]
    # One generated value is left in the program: the cache's AUTH token (an input of the replication group).
    assert [t for t, _ in stack_graph.invokes].count("aws:secretsmanager/getRandomPassword:getRandomPassword") == 1


def test_stack_outputs_name_the_endpoints(stack_graph: Graph):
    outputs = stack_graph.outputs
    db = stack_graph.one("aws:rds/instance:Instance").outputs
    assert outputs["db_endpoint"]["value"] == db["address"] and outputs["db_port"]["value"] == 5432
    redis = stack_graph.one("aws:elasticache/replicationGroup:ReplicationGroup").outputs["primaryEndpointAddress"]
    assert outputs["redis_primary_endpoint"]["value"] == redis


# --- no generated secret in plain text, anywhere -------------------------------------------------------


def occurrences(value: Any, path: str = "", secret: bool = False) -> Iterator[tuple[str, bool]]:
    """(property path, inside a secret?) of every string carrying a generated placeholder."""
    if is_rpc_secret(value):
        yield from occurrences(unwrap_rpc_secret(value), path, True)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from occurrences(item, f"{path}.{key}" if path else key, secret)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from occurrences(item, f"{path}[{index}]", secret)
    elif isinstance(value, str) and SECRET_PLACEHOLDER in value:
        yield path, secret


def generated_values(value: Any) -> set[str]:
    if is_rpc_secret(value):
        return generated_values(unwrap_rpc_secret(value))
    if isinstance(value, dict):
        return set().union(*(generated_values(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(generated_values(v) for v in value)) if value else set()
    return {value} if isinstance(value, str) and SECRET_PLACEHOLDER in value else set()


def test_generated_secrets_appear_only_as_secrets_in_the_secret_versions_and_the_auth_token(stack_graph: Graph):
    found = {(r.type, r.name, side, path, secret)
             for r in stack_graph.resources
             for side, props in (("inputs", r.inputs), ("outputs", r.outputs))
             for path, secret in occurrences(props)}
    assert found, "the scan must see the generated values (or it proves nothing)"
    assert {(t, path) for t, _, _, path, _ in found} == {
        ("aws:secretsmanager/secretVersion:SecretVersion", "secretString"),
        ("aws:elasticache/replicationGroup:ReplicationGroup", "authToken"),
    }
    assert all(secret for *_, secret in found), [f for f in found if not f[-1]]
    # One value: the AUTH token (in its secret version and on the group); AWS generates the Django key.
    everything = set().union(*(generated_values(r.inputs) | generated_values(r.outputs) for r in stack_graph.resources))
    assert len(everything) == 1
    assert list(occurrences(stack_graph.outputs)) == []
    config = stack_config(env(stack_graph))
    assert not [k for k, v in config.items() if SECRET_PLACEHOLDER in v]


# --- the tasks receive the secrets and may read exactly them -------------------------------------------


def django_containers(graph: Graph) -> list[tuple[Resource, dict[str, Any]]]:
    found = []
    for task in graph.of_type(TASK_DEFINITION):
        definitions = task.inputs["containerDefinitions"]
        for container in json.loads(definitions) if isinstance(definitions, str) else definitions:
            found.append((task, container))
    return found


def test_every_task_gets_the_data_tier_secrets_and_no_plain_value(stack_graph: Graph):
    containers = django_containers(stack_graph)
    assert containers, "the web service and the jobs have task definitions"
    wanted = expected_value_from(stack_graph)
    for task, container in containers:
        given = {s["name"]: s["valueFrom"] for s in container.get("secrets", [])}
        assert {name: given.get(name) for name in wanted} == wanted, task.name
        plain = {e["name"]: e["value"] for e in container.get("environment", [])}
        assert not set(plain) & set(RESERVED_ENV_NAMES), task.name
        assert not [v for v in plain.values() if SECRET_PLACEHOLDER in str(v)], task.name


def test_every_execution_role_reads_exactly_those_secrets_and_decrypts_with_the_data_key(stack_graph: Graph):
    tasks = stack_graph.of_type(TASK_DEFINITION)
    assert tasks, "the web service and the jobs have task definitions"
    readable = {arn.removesuffix(":username::").removesuffix(":password::")
                for arn in expected_value_from(stack_graph).values()}
    assert len(readable) == len(CONNECTION_SETTINGS) + len(CREDENTIALS) - 1  # user and password: one secret
    for task in tasks:
        role = next(r for r in stack_graph.of_type("aws:iam/role:Role")
                    if r.outputs["arn"] == task.inputs["executionRoleArn"])
        policies = [p for p in stack_graph.of_type("aws:iam/rolePolicy:RolePolicy")
                    if p.inputs["role"] in (role.outputs["id"], role.outputs["name"])]
        by_sid = {s.get("Sid"): s for p in policies for s in statements(p)}
        read = by_sid["ReadTheTasksSecrets"]
        assert set(read["Resource"]) == readable, task.name
        assert by_sid["DecryptTheTasksSecrets"]["Resource"] == [key_arn(stack_graph)], task.name
        granted = {a for p in policies for s in statements(p)
                   for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
        assert "secretsmanager:*" not in granted and "kms:*" not in granted

"""The app contract (components/app_contract.py) in the task definitions of both stacks, its validation and its docs.

Every variable is checked in every Django container (the web service and each job; the migration runs a
revision of the web service's task definition with only its command overridden, see
tests/test_delivery_pipeline.py), delivered the declared way. tests/contract/ runs a real Django app with them.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from components import app_contract
from components import settings as s
from tests.harness import Graph, Resource, settings_error
from tools import app_contract_reference
from tools.doc_sections import section

TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"


def django_containers(graph: Graph) -> list[tuple[Resource, dict[str, Any]]]:
    found = []
    for task in graph.of_type(TASK_DEFINITION):
        definitions = task.inputs["containerDefinitions"]
        found += [(task, c) for c in (json.loads(definitions) if isinstance(definitions, str) else definitions)]
    return found


def stack_settings(stack: str) -> s.StackSettings:
    from tests.harness import stack_config

    config = stack_config(stack)
    return s.load({k.split(":", 1)[1]: v for k, v in config.items() if k.startswith(f"{s.PROJECT}:")}, stack)


@pytest.mark.parametrize("variable", app_contract.VARIABLES, ids=lambda v: v.name)
def test_every_django_container_gets_the_variable_the_declared_way(variable: app_contract.Variable,
                                                                   stack_graph: Graph):
    env = stack_graph.outputs["app_settings_path"]["value"].split("/")[2]
    containers = django_containers(stack_graph)
    worker = f"django-{env}-worker-default-task"
    assert {task.inputs["family"] for task, _ in containers} == {f"django-{env}-web-task",
                                                                 f"django-{env}-job-clearsessions-task", worker}
    expected_value = app_contract.environment(stack_settings(env)).get(variable.name)
    for task, container in containers:
        plain = {e["name"]: e["value"] for e in container["environment"]}
        secrets = {e["name"]: e["valueFrom"] for e in container["secrets"]}
        if variable.delivery in (app_contract.RESOURCE, app_contract.WORKER):  # both stacks have media and a worker
            present = variable.delivery == app_contract.RESOURCE or task.inputs["family"] == worker
            assert (variable.name in plain) is present and variable.name not in secrets, task.name
        elif variable.delivery == app_contract.ENVIRONMENT:
            assert plain.get(variable.name) == expected_value and variable.name not in secrets, task.name
        elif variable.delivery == app_contract.PARAMETER:
            assert secrets.get(variable.name) == (f"arn:aws:ssm:us-east-1:123456789012:parameter/django/{env}/app/"
                                                  f"{variable.name.lower().replace('_', '-')}"), task.name
            assert variable.name not in plain
        else:
            assert secrets.get(variable.name, "").startswith("arn:aws:secretsmanager:"), task.name
            assert variable.name not in plain


def test_environment_values_follow_the_stack_config(dev: Graph, prod: Graph):
    def web_environment(graph: Graph) -> dict[str, str]:
        (container,) = [c for t, c in django_containers(graph) if t.inputs["family"].endswith("-web-task")]
        return {e["name"]: e["value"] for e in container["environment"]}

    found = web_environment(prod)
    assert {k for k in found if k.startswith(("MEDIA_", "CELERY_"))} == set(
        app_contract.names(app_contract.RESOURCE))  # tests/test_workers_and_media.py checks their values
    assert {k: v for k, v in found.items() if not k.startswith(("MEDIA_", "CELERY_"))} == {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_STATIC_URL": "https://static.example.com/static/",
        "DJANGO_ENVIRONMENT": "prod",
        "DJANGO_ALLOWED_HOSTS": "www.example.com,example.com",
        "DJANGO_CSRF_TRUSTED_ORIGINS": "https://www.example.com,https://example.com",
        "DJANGO_FORWARDED_PROTO_HEADER": "X-Forwarded-Proto",
        "DJANGO_HEALTH_CHECK_PATH": "/healthz/",
    }
    dev_env = web_environment(dev)
    assert (dev_env["DJANGO_ENVIRONMENT"], dev_env["DJANGO_ALLOWED_HOSTS"], dev_env["DJANGO_CSRF_TRUSTED_ORIGINS"]) == (
        "dev", "dev.example.com", "https://dev.example.com")


def _settings(**dns: Any) -> s.StackSettings:
    return s.load({"repository": "o/r", "dns": {"domain": "app.example.com", "zone_name": "example.com", **dns}},
                  "dev")


def test_wildcard_names_become_django_subdomain_hosts_and_wildcard_origins():
    env = app_contract.environment(_settings(alternative_names=["*.app.example.com", "example.com",
                                                                "app.example.com"]))
    assert env["DJANGO_ALLOWED_HOSTS"] == "app.example.com,.app.example.com,example.com"
    assert env["DJANGO_CSRF_TRUSTED_ORIGINS"] == ("https://app.example.com,https://*.app.example.com,"
                                                  "https://example.com")


def test_health_check_path_is_handed_over_without_its_query():
    settings = s.load({"repository": "o/r", "dns": {"domain": "app.example.com", "zone_name": "example.com"},
                       "load_balancer": {"health_check_path": "/ping/?deep=0"}}, "dev")
    assert app_contract.environment(settings)["DJANGO_HEALTH_CHECK_PATH"] == "/ping/"


def test_a_value_the_app_could_not_parse_names_the_config_key_it_came_from():
    good = _settings(alternative_names=["www.app.example.com"])
    assert app_contract.problems(good) == []
    bad = dataclasses.replace(good, dns=dataclasses.replace(good.dns, alternative_names=["www.app.example.com",
                                                                                          " api.app.example.com"]))
    found = app_contract.problems(bad)
    assert [(key, given) for key, given, _ in found] == [("dns.alternative_names", " api.app.example.com")] * 2
    assert "DJANGO_ALLOWED_HOSTS a comma-separated list of host names, no spaces" in found[0][2]
    bad_env = dataclasses.replace(good, environment="Prod Env")
    assert [key for key, _, _ in app_contract.problems(bad_env)] == ["environment"]


@pytest.mark.parametrize(("overrides", "key"), [
    ({"dns.alternative_names": '["example.com", " www.example.com"]'}, "dns.alternative_names"),
    ({"dns.alternative_names": "example.com, www.example.com"}, "dns.alternative_names"),
    ({"service.environment": "{'DJANGO_ALLOWED_HOSTS': 'dev.example.com, www.example.com'}"}, "service.environment"),
    ({"service.secrets": "{'REDIS_AUTH_TOKEN': '/team/redis'}"}, "service.secrets"),
])
def test_contract_breaking_config_fails_before_any_resource(overrides: dict[str, str], key: str):
    error, graph = settings_error("dev", overrides)
    assert f"django-platform:{key}:" in str(error)
    assert graph.resources == []


def test_the_contract_table_in_the_docs_is_fresh():
    rendered = app_contract_reference.render()
    assert section(app_contract_reference.DOC, app_contract_reference.SECTION) == rendered, "stale: run `make docs`"
    for variable in app_contract.VARIABLES:
        assert f"| `{variable.name}` |" in rendered

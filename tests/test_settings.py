"""Stack settings: per-environment defaults, and every kind of bad input rejected before any resource."""

from __future__ import annotations

import pytest

from components import settings as s
from tests.harness import settings_error, stack_config

BASE = {"repository": "example-org/django-app", "dns": {"domain": "app.example.com", "zone_name": "example.com"},
        "monitoring": {"alarm_emails": ["ops@example.com"]}}  # production-like stacks need a subscriber


def load(stack: str = "dev", **overrides: object) -> s.StackSettings:
    return s.load({**BASE, **overrides}, stack)


def problems(stack: str = "dev", **overrides: object) -> list[s.Problem]:
    with pytest.raises(s.SettingsError) as caught:
        load(stack, **overrides)
    return caught.value.problems


# --- defaults ---------------------------------------------------------------------------------------


def test_dev_defaults_are_cheap():
    dev = load("dev")
    assert dev.environment == "dev" and not dev.production_like
    assert (dev.network.az_count, dev.network.nat, dev.network.endpoints) == (2, "single", ["s3"])
    assert (dev.service.cpu, dev.service.memory, dev.service.spot, dev.service.desired_count) == (256, 512, True, 1)
    assert (dev.database.multi_az, dev.database.deletion_protection, dev.database.backup_retention_days) == \
        (False, False, 1)
    assert (dev.cache.nodes, dev.cache.automatic_failover) == (1, False)
    assert dev.load_balancer.waf is False and dev.pipeline.manual_approval is False
    assert dev.log_retention_days == 30 and dev.keys.deletion_window_days == 7


@pytest.mark.parametrize("stack", ["prod", "stg"])
def test_production_like_defaults_are_highly_available(stack: str):
    prod = load(stack)
    assert prod.environment == stack and prod.production_like
    assert (prod.network.az_count, prod.network.nat) == (3, "one-per-az")
    assert {"s3", "ecr", "logs", "secretsmanager", "ssm"} == set(prod.network.endpoints)
    assert (prod.service.spot, prod.service.exec, prod.service.desired_count) == (False, False, 2)
    assert (prod.database.multi_az, prod.database.deletion_protection, prod.database.backup_retention_days) == \
        (True, True, 7)
    assert (prod.cache.nodes, prod.cache.automatic_failover, prod.cache.snapshot_retention_days) == (2, True, 7)
    assert prod.load_balancer.waf and prod.load_balancer.deletion_protection and prod.pipeline.manual_approval
    assert prod.log_retention_days == 365 and prod.keys.deletion_window_days == 30


def test_environment_key_overrides_the_stack_name():
    assert load("feature-x", environment="dev").environment == "dev"
    assert load("staging", environment="prod").production_like


def test_structured_values_arrive_as_json_strings_from_the_cli():
    loaded = s.load({**BASE, "network": '{"cidr": "10.30.0.0/16", "az_count": "3"}', "dns": BASE["dns"]}, "dev")
    assert (loaded.network.cidr, loaded.network.az_count) == ("10.30.0.0/16", 3)


def test_every_problem_is_reported_at_once():
    found = problems("dev", system="Bad_Name", network={"nat": "many", "az_count": 9})
    assert {p.key for p in found} == {"system", "network.nat", "network.az_count"}


def test_error_message_names_key_value_and_what_is_allowed():
    (problem,) = problems("dev", network={"nat": "many"})
    assert str(problem) == ('django-platform:network.nat: got "many"; '
                            "expected one of single, one-per-az, none")


def test_a_refused_map_is_echoed_without_its_values():
    (problem,) = problems("dev", service={"environment": {"DB_PASSWORD": "hunter2", "DEBUG": "0"}})
    assert problem.key == "service.environment" and "hunter2" not in str(problem)
    assert problem.given == ["DB_PASSWORD", "DEBUG"] and "DB_PASSWORD" in problem.allowed


def test_secret_keys_are_declared_in_the_schema():
    assert all(key in {k for k, _, _ in s.walk(s.StackSettings)} for key in s.secret_keys())


# --- bad input: (overrides of Pulumi.dev.yaml, the key the error must name) ---------------------------

BAD_INPUTS = [
    ({"environment": "qa"}, "environment"),
    ({"system": "Django"}, "system"),
    ({"system": "a-very-long-system-name"}, "system"),
    ({"repository": "not a repo"}, "repository"),
    ({"log_retention_days": "45"}, "log_retention_days"),
    ({"surprise": "1"}, "surprise"),
    ({"network.cidr": "10.0.0.0/8"}, "network.cidr"),
    ({"network.cidr": "8.8.0.0/16"}, "network.cidr"),
    ({"network.cidr": "10.0.0.1/16"}, "network.cidr"),
    ({"network.cidr": "10.0.0.0/24"}, "network.cidr"),  # too small for the subnet layout
    ({"network.az_count": "1"}, "network.az_count"),
    ({"network.az_count": "two"}, "network.az_count"),
    ({"network.nat": "gateway"}, "network.nat"),
    ({"network.nat": "none"}, "network.endpoints"),  # no NAT and no endpoints: tasks cannot pull images
    ({"network.endpoints": "[s3, dynamodb]"}, "network.endpoints"),
    ({"network.private_subnet_bits": "13"}, "network.private_subnet_bits"),
    ({"network.flow_logs": "maybe"}, "network.flow_logs"),
    ({"keys.deletion_window_days": "3"}, "keys.deletion_window_days"),
    ({"dns.domain": "Not_A_Domain"}, "dns.domain"),
    ({"dns.domain": "app.other.org"}, "dns.domain"),  # outside the hosted zone
    ({"dns.zone_id": "Z123ABC"}, "dns.zone_name"),  # zone_name and zone_id together
    ({"dns.alternative_names": '["*.*.example.com"]'}, "dns.alternative_names"),
    ({"load_balancer.ssl_policy": "ELBSecurityPolicy-2016-08"}, "load_balancer.ssl_policy"),
    ({"load_balancer.idle_timeout": "0"}, "load_balancer.idle_timeout"),
    ({"service.cpu": "300"}, "service.cpu"),
    ({"service.memory": "4096"}, "service.memory"),  # not a Fargate pair with 256 CPU
    ({"service.min_count": "5", "service.max_count": "2"}, "service.min_count"),
    ({"service.desired_count": "9"}, "service.desired_count"),
    ({"service.environment": "{DATABASE_PASSWORD: hunter2}"}, "service.environment"),
    ({"service.user": "root"}, "service.user"),
    ({"database.engine": "oracle"}, "database.engine"),
    ({"database.engine_version": "8.0"}, "database.engine_version"),  # a MySQL version for postgres
    ({"database.backup_window": "25:00-26:00"}, "database.backup_window"),
    ({"database.max_allocated_storage": "10"}, "database.max_allocated_storage"),
    ({"cache.nodes": "7"}, "cache.nodes"),
    ({"cache.automatic_failover": "true"}, "cache.automatic_failover"),  # with one node in dev
    ({"cache.engine_version": "6.2"}, "cache.engine_version"),
    ({"jobs": "[{name: Bad Name, schedule: 'rate(1 day)', command: [x]}]"}, "jobs[0].name"),
    ({"jobs": "[{name: tick, schedule: every minute, command: [x]}]"}, "jobs[0].schedule"),
    ({"jobs": "[{name: a, schedule: 'rate(1 day)', command: [x]}, {name: a, schedule: 'rate(2 days)', "
              "command: [y]}]"}, "jobs"),
    ({"pipeline.connection_arn": "arn:aws:s3:::bucket"}, "pipeline.connection_arn"),
    ({"monitoring.alarm_emails": "[ops-at-example.com]"}, "monitoring.alarm_emails"),
    ({"pipeline.enabled": "false"}, "service.pipeline_owns_deployments"),
    ({"monitoring.alarm_emails": "[ops@example.com, ops@example.com]"}, "monitoring.alarm_emails"),
    ({"network.endpoints": "[s3, s3]"}, "network.endpoints"),
    # a Secrets Manager ARN without its random suffix matches no secret in the execution role's policy
    ({"service.secrets": "{API_KEY: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:vendor-api'}"},
     "service.secrets"),  # nothing would deploy new images
]


@pytest.mark.parametrize(("overrides", "key"), BAD_INPUTS, ids=[key for _, key in BAD_INPUTS])
def test_bad_input_names_the_key_and_registers_nothing(overrides: dict[str, str], key: str):
    error, graph = settings_error("dev", overrides=overrides)
    assert key in {p.key for p in error.problems}, str(error)
    assert f"django-platform:{key}:" in str(error)
    assert graph.resources == []


def test_production_backup_retention_floor():
    error, graph = settings_error("prod", overrides={"database.backup_retention_days": "3"})
    assert [p.key for p in error.problems] == ["database.backup_retention_days"]
    assert graph.resources == []


def test_missing_required_keys_are_named():
    config = stack_config("dev")
    del config["django-platform:repository"], config["django-platform:dns"]
    error, graph = settings_error("dev", config=config)
    assert {"repository", "dns.domain"} <= {p.key for p in error.problems}
    assert graph.resources == []


def test_a_valid_override_is_accepted():
    loaded = load("dev", service={"cpu": "512", "memory": "1024"}, network={"nat": "none",
                                                                            "endpoints": ["s3", "ecr", "logs"]})
    assert (loaded.service.cpu, loaded.service.memory, loaded.network.nat) == (512, 1024, "none")


def test_a_repeated_secret_webhook_is_refused_without_printing_it():
    url = "https://hooks.example.com/services/T0/B0/token123"
    (problem,) = problems("dev", monitoring={"webhooks": [url, url]})
    assert problem.key == "monitoring.webhooks" and "without repeated items" in problem.allowed
    assert "token123" not in str(problem)

"""WebService: cluster, Fargate task definition, roles, service in private subnets and autoscaling."""

from __future__ import annotations

import json

import pytest

from components import app_contract
from components import settings as s
from components.settings import SECRET_NAME
from components.web_service import WebService, WebServiceArgs, readable_secret_arn
from tests.harness import SECRET_PLACEHOLDER, Graph, run_stack, settings_error, statements
from tests.isolated import arn, context, output, run_component

CLUSTER = "aws:ecs/cluster:Cluster"
TASK = "aws:ecs/taskDefinition:TaskDefinition"
SERVICE = "aws:ecs/service:Service"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
SCALING_TARGET = "aws:appautoscaling/target:Target"
SCALING_POLICY = "aws:appautoscaling/policy:Policy"
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:vendor-api-AbCdEf"
OPTIONS = {
    "service.pipeline_owns_deployments": "false",
    "service.spot": "false",
    "service.exec": "false",
    "service.readonly_root_filesystem": "false",
    "service.cpu": "512",
    "service.memory": "1024",
    "service.health_check_grace_seconds": "300",
    "service.min_healthy_percent": "50",
    "service.max_percent": "150",
    "service.image_tag": "v1.2.3",
    "service.port": "8080",
    "service.command": "['gunicorn', 'config.wsgi', '--bind', '0.0.0.0:8080']",
    "service.user": "app",
    "service.environment": "{'DJANGO_SETTINGS_MODULE': 'config.settings.prod', 'FEATURE_X': 'on'}",
    "service.secrets": f"{{'VENDOR_API_KEY': '{SECRET_ARN}:api_key::', 'SENTRY_DSN': '/vendor/sentry-dsn'}}",
    "service.min_count": "2",
    "service.desired_count": "3",
    "service.max_count": "6",
    "service.cpu_target": "50",
    "service.memory_target": "80",
    "service.requests_per_target": "250",
}


@pytest.fixture(scope="module")
def options() -> Graph:
    """dev with every service option turned away from its default."""
    return run_stack("dev", OPTIONS)


def container(graph: Graph) -> dict:
    (definition,) = json.loads(graph.one(TASK, "*-web-task").inputs["containerDefinitions"])
    return definition


def role_statements(graph: Graph, purpose: str) -> list[dict]:
    return statements(graph.one(ROLE_POLICY, f"*-web-{purpose}-role"))


def test_cluster_has_container_insights_and_both_fargate_capacity_providers(stack_graph: Graph):
    cluster = stack_graph.one(CLUSTER)
    assert {"name": "containerInsights", "value": "enabled"} in cluster.inputs["settings"]
    providers = stack_graph.one("aws:ecs/clusterCapacityProviders:ClusterCapacityProviders")
    assert providers.inputs["capacityProviders"] == ["FARGATE", "FARGATE_SPOT"]


def test_task_definition_is_a_legal_fargate_size_per_environment(dev: Graph, prod: Graph, options: Graph):
    tasks = [g.one(TASK, "*-web-task") for g in (dev, prod, options)]
    sizes = [(t.inputs["cpu"], t.inputs["memory"]) for t in tasks]
    assert sizes == [("256", "512"), ("1024", "2048"), ("512", "1024")]
    task = dev.one(TASK, "*-web-task")
    assert task.inputs["requiresCompatibilities"] == ["FARGATE"] and task.inputs["networkMode"] == "awsvpc"


def test_container_runs_the_registry_image_as_non_root_with_a_read_only_root(stack_graph: Graph):
    definition = container(stack_graph)  # dev's repository in both stacks: prod promotes dev's images
    assert definition["image"] == f"{stack_graph.outputs['repository_url']['value']}:bootstrap"
    assert definition["user"] == "1000:1000" and definition["readonlyRootFilesystem"] is True
    assert definition["portMappings"] == [{"containerPort": 8000, "protocol": "tcp", "name": "http"}]
    mounts = {m["containerPath"]: m["sourceVolume"] for m in definition["mountPoints"]}
    assert mounts["/tmp"] == "tmp"
    volumes = {v["name"] for v in stack_graph.one(TASK, "*-web-task").inputs["volumes"]}
    assert set(mounts.values()) == volumes


def test_ecs_exec_gets_writable_agent_directories_only_when_on(dev: Graph, prod: Graph):
    def paths(graph: Graph) -> set[str]:
        return {m["containerPath"] for m in container(graph)["mountPoints"]}

    # exec on in dev: the three paths the root-run agent writes (containers-roadmap #1359)
    assert paths(dev) == {"/tmp", "/managed-agents", "/var/lib/amazon/ssm", "/var/log/amazon/ssm"}
    assert paths(prod) == {"/tmp"}


def test_logs_go_to_an_encrypted_log_group_with_retention(stack_graph: Graph):
    log_group = stack_graph.one("aws:cloudwatch/logGroup:LogGroup", "*-web-log")
    telemetry = stack_graph.one("aws:kms/key:Key", "*-telemetry-kms")
    assert log_group.inputs["kmsKeyId"] == telemetry.outputs["arn"]
    assert log_group.inputs["retentionInDays"] in (30, 365)
    options = container(stack_graph)["logConfiguration"]
    assert options["logDriver"] == "awslogs"
    assert options["options"]["awslogs-group"] == log_group.inputs["name"]
    assert options["options"]["awslogs-region"] == "us-east-1"


def test_task_definition_holds_no_secret_in_its_environment(stack_graph: Graph):
    definition = container(stack_graph)
    assert not [e["name"] for e in definition["environment"] if SECRET_NAME.search(e["name"])]
    assert SECRET_PLACEHOLDER not in stack_graph.one(TASK, "*-web-task").inputs["containerDefinitions"]
    secrets = {s["name"]: s["valueFrom"] for s in definition["secrets"]}
    assert {"DATABASE_PASSWORD", "DJANGO_SECRET_KEY", "REDIS_AUTH_TOKEN"} <= set(secrets)
    assert secrets["DATABASE_PASSWORD"].endswith(":password::")  # the JSON key, not the whole secret
    assert all(v.startswith("arn:aws:") for v in secrets.values())


def test_execution_role_reads_exactly_the_task_secrets_this_repository_and_these_logs(stack_graph: Graph):
    found = {s["Sid"]: s for s in role_statements(stack_graph, "execution")}
    repository_arn = "arn:aws:ecr:us-east-1:123456789012:repository/django-dev-app-ecr"  # prod promotes dev's images
    log_group = stack_graph.one("aws:cloudwatch/logGroup:LogGroup", "*-web-log")
    assert found["PullTheAppImage"]["Resource"] == repository_arn
    assert found["WriteThisLogGroup"]["Resource"] == [log_group.outputs["arn"], log_group.outputs["arn"] + ":*"]
    wildcards = [s["Action"] for s in found.values() if "*" in json.dumps(s.get("Resource"))
                 and s["Sid"] != "WriteThisLogGroup"]
    assert wildcards == ["ecr:GetAuthorizationToken", "kms:Decrypt"]  # AWS does not scope the first
    # The image's key: any key of the repository's account, but only through ECR and only for its layers.
    assert found["DecryptTheAppImageThroughEcr"]["Condition"] == {"StringEquals": {
        "kms:ViaService": "ecr.us-east-1.amazonaws.com", "kms:EncryptionContext:aws:ecr:arn": repository_arn}}
    value_froms = {s["valueFrom"] for s in container(stack_graph)["secrets"]}
    readable = set(found["ReadTheTasksSecrets"]["Resource"])
    assert readable == {readable_secret_arn(None, v) for v in value_froms}  # type: ignore[arg-type]
    assert found["DecryptTheTasksSecrets"]["Resource"] == [stack_graph.one("aws:kms/key:Key", "*-data-kms")
                                                          .outputs["arn"]]


def test_roles_trust_only_ecs_tasks_of_this_account(stack_graph: Graph):
    for purpose in ("execution", "task"):
        role = stack_graph.one("aws:iam/role:Role", f"*-web-{purpose}-role")
        (trust,) = statements(role, "assumeRolePolicy")
        assert trust["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
        assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}


def test_task_role_has_only_ecs_exec_permissions_when_exec_is_on(dev: Graph, prod: Graph):
    found = {s["Sid"]: s for s in role_statements(dev, "task")}
    exec_logs = dev.one("aws:cloudwatch/logGroup:LogGroup", "*-web-exec-log")
    assert found["EcsExecWritesSessionLogs"]["Resource"] == [exec_logs.outputs["arn"],
                                                             exec_logs.outputs["arn"] + ":*"]
    assert found["EcsExecDecryptsTheSessionChannel"]["Resource"] == \
        dev.one("aws:kms/key:Key", "*-telemetry-kms").outputs["arn"]
    unscoped = {s["Sid"] for s in found.values() if s["Resource"] == "*"}
    assert unscoped == {"EcsExecSessionChannels", "EcsExecFindsItsLogGroup"}  # no resource-level permissions
    # prod (no ECS Exec): only the app's own grants (media and worker queues, tests/test_workers_and_media.py)
    prod_sids = {s["Sid"] for s in role_statements(prod, "task")}
    assert prod_sids and not {sid for sid in prod_sids if sid.startswith("EcsExec")}


def test_ecs_exec_session_logs_are_encrypted(dev: Graph, prod: Graph):
    config = dev.one(CLUSTER).inputs["configuration"]["executeCommandConfiguration"]
    assert config["kmsKeyId"] == dev.one("aws:kms/key:Key", "*-telemetry-kms").outputs["arn"]
    assert config["logConfiguration"] == {"cloudWatchEncryptionEnabled": True,
                                          "cloudWatchLogGroupName": "/django/dev/ecs/exec"}
    assert dev.one(SERVICE, "*-web-svc").inputs["enableExecuteCommand"] is True
    assert prod.one(SERVICE, "*-web-svc").inputs["enableExecuteCommand"] is False
    assert "configuration" not in prod.one(CLUSTER).inputs


def test_service_runs_in_private_subnets_without_public_ip_behind_the_alb(stack_graph: Graph):
    service = stack_graph.one(SERVICE, "*-web-svc")
    private = [s.outputs["id"] for s in stack_graph.of_type("aws:ec2/subnet:Subnet")
               if s.inputs["tags"]["tier"] == "private"]
    network = service.inputs["networkConfiguration"]
    assert sorted(network["subnets"]) == sorted(private) and network["assignPublicIp"] is False
    assert network["securityGroups"] == [stack_graph.one("aws:ec2/securityGroup:SecurityGroup",
                                                         "*-web-sg").outputs["id"]]
    assert service.inputs["loadBalancers"] == [{"targetGroupArn": stack_graph.one(
        "aws:lb/targetGroup:TargetGroup").outputs["arn"], "containerName": "django", "containerPort": 8000}]
    # ECS rejects a target group no listener forwards to yet: the service waits for the listener.
    assert stack_graph.one("aws:lb/listener:Listener", "*-https-listener").urn in service.dependencies
    # Tasks must not start before their roles' inline policies exist (image pull, secrets, Exec channels).
    policies = {p.urn for p in stack_graph.of_type(ROLE_POLICY) if "-web-" in p.name}
    assert policies and policies <= set(service.dependencies)


def test_service_deploys_safely_by_default(stack_graph: Graph):
    service = stack_graph.one(SERVICE, "*-web-svc")
    assert service.inputs["healthCheckGracePeriodSeconds"] == 120
    assert service.inputs["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    assert (service.inputs["deploymentMinimumHealthyPercent"], service.inputs["deploymentMaximumPercent"]) == \
        (100, 200)
    assert service.inputs["taskDefinition"] == stack_graph.one(TASK, "*-web-task").outputs["arn"]
    # Without it the provider replaces the service when service.spot flips the capacity provider, and the
    # replacement collides with the fixed service name (terraform-provider-aws capacityProviderStrategyCustomizeDiff).
    assert service.inputs["forceNewDeployment"] is True
    assert service.ignore_changes == ["desiredCount"]  # autoscaling owns it; the image is the released tag
    # The monitoring tier passes alarm names as plain strings (the alarms are created later): each must name
    # a real alarm of this stack, or ECS would silently watch nothing.
    alarms = service.inputs["alarms"]
    # Watching from the first released image on (tests/test_deploy_safety.py); nothing is released here.
    assert (alarms["enable"], alarms["rollback"]) == (False, True) and alarms["alarmNames"]
    assert set(alarms["alarmNames"]) <= {a.inputs["name"] for a in stack_graph.of_type(
        "aws:cloudwatch/metricAlarm:MetricAlarm")}


def test_fargate_spot_in_dev_and_on_demand_in_prod(dev: Graph, prod: Graph):
    assert dev.one(SERVICE, "*-web-svc").inputs["capacityProviderStrategies"] == [
        {"capacityProvider": "FARGATE_SPOT", "weight": 1}]
    assert prod.one(SERVICE, "*-web-svc").inputs["capacityProviderStrategies"] == [
        {"capacityProvider": "FARGATE", "weight": 1}]


def test_autoscaling_tracks_cpu_memory_and_requests_per_target(stack_graph: Graph):
    target = stack_graph.one(SCALING_TARGET, "*-web-scaling")
    service = stack_graph.one(SERVICE, "*-web-svc")
    assert target.inputs["resourceId"] == f"service/{stack_graph.one(CLUSTER).outputs['name']}/" \
                                          f"{service.outputs['name']}"
    assert (target.inputs["minCapacity"], target.inputs["maxCapacity"]) in ((1, 2), (2, 10))
    policies = {p.inputs["targetTrackingScalingPolicyConfiguration"]["predefinedMetricSpecification"][
        "predefinedMetricType"]: p.inputs["targetTrackingScalingPolicyConfiguration"]
        for p in stack_graph.of_type(SCALING_POLICY) if p.parent == target.urn}
    assert {k: v["targetValue"] for k, v in policies.items()} == {
        "ECSServiceAverageCPUUtilization": 60, "ECSServiceAverageMemoryUtilization": 75,
        "ALBRequestCountPerTarget": 1000}
    alb = stack_graph.one("aws:lb/loadBalancer:LoadBalancer").outputs["arnSuffix"]
    tg = stack_graph.one("aws:lb/targetGroup:TargetGroup").outputs["arnSuffix"]
    assert policies["ALBRequestCountPerTarget"]["predefinedMetricSpecification"]["resourceLabel"] == f"{alb}/{tg}"


def test_service_options_follow_settings(options: Graph):
    service, definition = options.one(SERVICE, "*-web-svc"), container(options)
    assert service.ignore_changes == ["desiredCount"]
    assert service.inputs["capacityProviderStrategies"] == [{"capacityProvider": "FARGATE", "weight": 1}]
    assert service.inputs["enableExecuteCommand"] is False
    assert (service.inputs["healthCheckGracePeriodSeconds"], service.inputs["deploymentMinimumHealthyPercent"],
            service.inputs["deploymentMaximumPercent"], service.inputs["desiredCount"]) == (300, 50, 150, 3)
    assert service.inputs["loadBalancers"][0]["containerPort"] == 8080
    assert definition["image"].endswith(":v1.2.3") and definition["user"] == "app"
    assert definition["command"] == ["gunicorn", "config.wsgi", "--bind", "0.0.0.0:8080"]
    assert definition["readonlyRootFilesystem"] is False and definition["mountPoints"] == []
    assert definition["portMappings"][0]["containerPort"] == 8080
    tg = options.one("aws:lb/targetGroup:TargetGroup")
    # port is create-only: the replacement is created first, so its name must differ from the old one's
    assert (tg.inputs["port"], tg.inputs["name"], tg.name) == (8080, "django-dev-web-8080-tg", "django-dev-web-tg")
    environment = {e["name"]: e["value"] for e in definition["environment"]}
    assert environment == {"DJANGO_SETTINGS_MODULE": "config.settings.prod", "FEATURE_X": "on",
                           **{k: environment[k] for k in app_contract.names(app_contract.ENVIRONMENT)},
                           **{k: environment[k] for k in app_contract.names(app_contract.RESOURCE)}}
    target = options.one(SCALING_TARGET, "*-web-scaling")
    assert (target.inputs["minCapacity"], target.inputs["maxCapacity"]) == (2, 6)
    targets = sorted(p.inputs["targetTrackingScalingPolicyConfiguration"]["targetValue"]
                     for p in options.of_type(SCALING_POLICY) if p.parent == target.urn)
    assert targets == [50, 80, 250]


def test_configured_secrets_are_injected_and_readable_exactly(options: Graph):
    secrets = {s["name"]: s["valueFrom"] for s in container(options)["secrets"]}
    assert secrets["VENDOR_API_KEY"] == f"{SECRET_ARN}:api_key::"
    assert secrets["SENTRY_DSN"] == "arn:aws:ssm:us-east-1:123456789012:parameter/vendor/sentry-dsn"
    readable = {s["Sid"]: s for s in role_statements(options, "execution")}["ReadTheTasksSecrets"]["Resource"]
    assert SECRET_ARN in readable and f"{SECRET_ARN}:api_key::" not in readable  # IAM knows no JSON key
    assert "arn:aws:ssm:us-east-1:123456789012:parameter/vendor/sentry-dsn" in readable


def test_stack_exports_repository_cluster_and_service_names(dev: Graph):
    assert dev.outputs["cluster_name"]["value"] == "django-dev-app-ecs"
    assert dev.outputs["service_name"]["value"] == "django-dev-web-svc"
    assert dev.outputs["repository_url"]["value"].endswith("/django-dev-app-ecr")


@pytest.mark.parametrize(("key", "name"), [("service.environment", "DATABASE_HOST"),
                                         ("service.environment", "DJANGO_ALLOWED_HOSTS"),
                                         ("service.secrets", "DATABASE_PASSWORD")])
def test_a_variable_the_platform_sets_cannot_be_set_again(key: str, name: str):
    value = "/team/db-password" if key == "service.secrets" else "a.example.com, b.example.com"
    error, graph = settings_error("dev", {key: f"{{'{name}': '{value}'}}"})
    assert f'django-platform:{key}: got ["{name}"]; expected names the platform does not set itself' in str(error)
    assert graph.resources == []


@pytest.mark.parametrize(("overrides", "message"), [
    ({"service.cpu": "256", "service.memory": "4096"}, "memory for cpu 256 must be 512, 1024, 2048 MiB"),
    ({"service.cpu": "300"}, "django-platform:service.cpu: got 300"),
    ({"service.min_count": "5", "service.max_count": "3"}, "at most service.max_count (3)"),
    ({"service.desired_count": "9"}, "between service.min_count (1) and service.max_count (2)"),
    ({"service.health_check_grace_seconds": "5000"}, "service.health_check_grace_seconds: got 5000"),
    ({"service.user": "0"}, "a non-root uid[:gid] or user name"),
    ({"service.environment": "{'DB_PASSWORD': 'hunter2'}"}, "move ['DB_PASSWORD'] to service.secrets"),
    ({"service.secrets": "{'API_KEY': 'https://vault.example.com/key'}"}, "an SSM parameter name or ARN"),
    ({"service.max_percent": "90"}, "service.max_percent: got 90"),
    ({"service.spot": "sometimes"}, "service.spot: got \"sometimes\"; expected true or false"),
])
def test_bad_service_settings_fail_before_any_resource(overrides: dict[str, str], message: str):
    error, graph = settings_error("dev", overrides)
    assert message in str(error)
    assert graph.resources == []


def _isolated_service(alarm_names: tuple[str, ...]) -> Graph:
    service_settings = s.load({"repository": "o/r", "dns": {"domain": "app.example.com", "zone_name": "example.com"}},
                              "dev").service
    return run_component(lambda: WebService("web", WebServiceArgs(
        ctx=context("dev"), settings=service_settings, repository_url=output("123456789012.dkr.ecr/app"),
        repository_arn=arn("ecr", "repository/app"), image_tag="bootstrap", subnet_ids=["subnet-a", "subnet-b"],
        security_group_id="sg-web", target_group_arn=arn("elasticloadbalancing", "targetgroup/tg/1"),
        request_count_resource_label="app/alb/1/targetgroup/tg/1", log_key_arn=arn("kms", "key/telemetry"),
        secrets_key_arn=arn("kms", "key/data"), deployment_alarm_names=alarm_names)))


def test_deployment_alarms_roll_back_a_deployment_when_given():
    with_alarms = _isolated_service(("django-dev-web-5xx-alarm", "django-dev-web-latency-alarm"))
    assert with_alarms.one(SERVICE, "*-web-svc").inputs["alarms"] == {
        "alarmNames": ["django-dev-web-5xx-alarm", "django-dev-web-latency-alarm"], "enable": True, "rollback": True}
    assert "alarms" not in _isolated_service(()).one(SERVICE, "*-web-svc").inputs

"""ScheduledTask: EventBridge Scheduler -> Fargate RunTask, least-privilege roles, DLQ, retry, failure alert."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.scheduled_task import ScheduledTask, ScheduledTaskArgs
from components.settings import JobSettings, load
from components.workloads import ContainerSecret, ContainerSecrets
from tests.harness import Graph, Resource, run_stack, settings_error, statements
from tests.isolated import arn, context, output, run_component

SCHEDULE = "aws:scheduler/schedule:Schedule"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
QUEUE = "aws:sqs/queue:Queue"
RULE = "aws:cloudwatch/eventRule:EventRule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"

CLUSTER = arn("ecs", "cluster/django-dev-ecs")
TELEMETRY_KEY = arn("kms", "key/telemetry")
DATA_KEY = arn("kms", "key/data")
REPOSITORY = arn("ecr", "repository/django-dev-app-ecr")
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/django-dev-app-ecr:bootstrap"
TOPIC = arn("sns", "django-dev-alarms-sns")
SECRET = arn("secretsmanager", "secret:django-dev-app-django-secret-key-AbCdEf")
FAMILY = "django-dev-job-report-task"


def job(**overrides: Any) -> JobSettings:
    raw = {"name": "report", "schedule": "cron(30 2 * * ? *)", "timezone": "Asia/Tokyo",
           "command": ["python", "manage.py", "send_report"], **overrides}
    settings = load({"repository": "o/r", "dns": {"domain": "dev.example.com", "zone_name": "example.com"},
                     "jobs": [raw]}, "dev")
    return settings.jobs[0]


def build(alarm_topic_arn: str | None = TOPIC, **job_overrides: Any) -> Graph:
    def program() -> ScheduledTask:
        return ScheduledTask("job-report", ScheduledTaskArgs(
            ctx=context(), job=job(**job_overrides), image=output(IMAGE), repository_arn=output(REPOSITORY),
            cluster_arn=output(CLUSTER), subnet_ids=[output("subnet-private-a"), output("subnet-private-b")],
            security_group_id=output("sg-batch"), telemetry_key_arn=output(TELEMETRY_KEY),
            environment={"DJANGO_SETTINGS_MODULE": "config.settings"},
            secrets=ContainerSecrets((ContainerSecret("DJANGO_SECRET_KEY", SECRET, SECRET, DATA_KEY),)),
            alarm_topic_arn=output(alarm_topic_arn) if alarm_topic_arn else None))

    return run_component(program)


@pytest.fixture(scope="module")
def graph() -> Graph:
    return build()


def policy_of(graph: Graph, role_purpose: str) -> list[dict[str, Any]]:
    return statements(graph.one(ROLE_POLICY, f"*-{role_purpose}-role"))


def by_sid(found: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in found}


def container(graph: Graph, family_glob: str = "*-job-*-task") -> dict[str, Any]:
    (only,) = json.loads(graph.one(TASK_DEFINITION, family_glob).inputs["containerDefinitions"])
    return only


# --- the schedule ------------------------------------------------------------------------------------


def test_schedule_runs_the_jobs_family_on_fargate_in_private_subnets_without_public_ip(graph: Graph):
    schedule = graph.one(SCHEDULE).inputs
    assert schedule["scheduleExpression"] == "cron(30 2 * * ? *)"
    assert schedule["scheduleExpressionTimezone"] == "Asia/Tokyo"
    assert schedule["state"] == "ENABLED"
    assert schedule["flexibleTimeWindow"] == {"mode": "OFF"}
    assert schedule["kmsKeyArn"] == TELEMETRY_KEY
    target = schedule["target"]
    assert target["arn"] == CLUSTER
    ecs = target["ecsParameters"]
    # No revision: the latest ACTIVE one, so revisions the pipeline registers with a new image are used.
    assert ecs["taskDefinitionArn"] == arn("ecs", f"task-definition/{FAMILY}")
    assert ecs["launchType"] == "FARGATE" and ecs["taskCount"] == 1
    assert ecs["networkConfiguration"] == {"subnets": ["subnet-private-a", "subnet-private-b"],
                                           "securityGroups": ["sg-batch"], "assignPublicIp": False}
    assert ecs["propagateTags"] == "TASK_DEFINITION"


def test_retry_policy_and_encrypted_dead_letter_queue(graph: Graph):
    target = graph.one(SCHEDULE).inputs["target"]
    queue = graph.one(QUEUE)
    assert target["retryPolicy"] == {"maximumRetryAttempts": 3, "maximumEventAgeInSeconds": 3600}
    assert target["deadLetterConfig"] == {"arn": queue.outputs["arn"]}
    assert queue.inputs["kmsMasterKeyId"] == TELEMETRY_KEY
    assert queue.inputs["messageRetentionSeconds"] == 14 * 24 * 3600
    assert queue.inputs["name"] == "django-dev-job-report-dlq-sqs"


def test_schedule_description_names_the_command_within_schedulers_512_characters(graph: Graph):
    assert graph.one(SCHEDULE).inputs["description"] == "python manage.py send_report (cron(30 2 * * ? *) Asia/Tokyo)"
    long_command = ["sh", "-c", "python manage.py report && " * 30]
    description = build(command=long_command).one(SCHEDULE).inputs["description"]
    assert len(description) == 512
    assert description.startswith("sh -c python manage.py report") and description.endswith(
        "... (cron(30 2 * * ? *) Asia/Tokyo)")


def test_retry_settings_and_pause_come_from_the_job():
    schedule = build(retry_attempts=0, max_event_age_seconds=600, enabled=False, schedule="rate(2 minutes)",
                     timezone="UTC").one(SCHEDULE).inputs
    assert schedule["target"]["retryPolicy"] == {"maximumRetryAttempts": 0, "maximumEventAgeInSeconds": 600}
    assert schedule["state"] == "DISABLED"
    assert schedule["scheduleExpression"] == "rate(2 minutes)"


# --- least privilege -----------------------------------------------------------------------------------


def test_scheduler_role_runs_only_this_family_and_passes_exactly_the_two_task_roles(graph: Graph):
    found = by_sid(policy_of(graph, "scheduler"))
    assert found["RunThisJobsTaskDefinitionOnThisCluster"] == {
        "Sid": "RunThisJobsTaskDefinitionOnThisCluster", "Effect": "Allow", "Action": "ecs:RunTask",
        "Resource": arn("ecs", f"task-definition/{FAMILY}:*"), "Condition": {"ArnEquals": {"ecs:cluster": CLUSTER}}}
    exec_role, task_role = graph.one(ROLE, "*-exec-role"), graph.one(ROLE, "*-task-role")
    passing = found["PassExactlyTheJobsTwoRoles"]
    assert passing["Action"] == "iam:PassRole"
    assert sorted(passing["Resource"]) == sorted([exec_role.outputs["arn"], task_role.outputs["arn"]])
    assert passing["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}
    tagging = found["TagTheTasksItStarts"]
    assert tagging["Resource"] == arn("ecs", "task/django-dev-ecs/*")
    assert tagging["Condition"] == {"StringEquals": {"ecs:CreateAction": "RunTask"}}
    assert found["DeadLetterFailedInvocations"]["Resource"] == graph.one(QUEUE).outputs["arn"]
    assert found["UseTheTelemetryKey"]["Resource"] == TELEMETRY_KEY
    assert set(found) == {"RunThisJobsTaskDefinitionOnThisCluster", "TagTheTasksItStarts",
                          "PassExactlyTheJobsTwoRoles", "DeadLetterFailedInvocations", "UseTheTelemetryKey"}
    assert all(s["Resource"] != "*" for s in found.values())


def test_scheduler_role_is_assumable_only_from_the_jobs_own_schedule_group(graph: Graph):
    # Scheduler sets aws:SourceArn to the schedule *group* ARN ("Confused deputy prevention in EventBridge
    # Scheduler": do not scope it to a schedule), so the job's schedule sits alone in a group of its own.
    (trust,) = statements(graph.one(ROLE, "*-scheduler-role"), "assumeRolePolicy")
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    group = graph.one("aws:scheduler/scheduleGroup:ScheduleGroup")
    assert group.inputs["name"] == "django-dev-job-report-schedulegroup"
    assert trust["Condition"]["ArnEquals"] == {
        "aws:SourceArn": arn("scheduler", "schedule-group/django-dev-job-report-schedulegroup")}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}
    schedule = graph.one(SCHEDULE)
    assert schedule.inputs["groupName"] == group.outputs["name"]
    assert schedule.inputs["target"]["roleArn"] == graph.one(ROLE, "*-scheduler-role").outputs["arn"]
    # The schedule may fire as soon as it exists: it waits for the role's permissions, not just the role.
    assert graph.one(ROLE_POLICY, "*-scheduler-role").urn in schedule.dependencies


def test_execution_role_pulls_from_the_repository_writes_its_log_group_and_reads_its_secrets(graph: Graph):
    found = by_sid(policy_of(graph, "exec"))
    assert found["PullTheAppImage"]["Resource"] == REPOSITORY
    log_group = graph.one("aws:cloudwatch/logGroup:LogGroup")
    assert found["WriteTheJobsLogs"]["Resource"] == log_group.outputs["arn"] + ":log-stream:*"
    assert found["ReadTheTasksSecrets"]["Resource"] == [SECRET]
    assert found["DecryptTheTasksSecrets"]["Resource"] == [DATA_KEY]
    # The task role starts empty: no inline policy at all.
    assert sorted(r.name for r in graph.of_type(ROLE_POLICY)) == ["django-dev-job-report-exec-role",
                                                                  "django-dev-job-report-scheduler-role"]


# --- the task ----------------------------------------------------------------------------------------------


def test_task_definition_runs_the_jobs_command_in_the_web_image_with_secrets_not_env(graph: Graph):
    task = graph.one(TASK_DEFINITION).inputs
    assert task["family"] == FAMILY
    assert (task["cpu"], task["memory"], task["networkMode"]) == ("256", "512", "awsvpc")
    assert task["requiresCompatibilities"] == ["FARGATE"]
    found = container(graph)
    assert found["image"] == IMAGE
    assert found["command"] == ["python", "manage.py", "send_report"]
    assert found["secrets"] == [{"name": "DJANGO_SECRET_KEY", "valueFrom": SECRET}]
    assert found["environment"] == [{"name": "DJANGO_SETTINGS_MODULE", "value": "config.settings"}]
    assert found["user"] == "1000:1000" and found["readonlyRootFilesystem"] is True
    assert found["mountPoints"] == [{"sourceVolume": "tmp", "containerPath": "/tmp", "readOnly": False}]
    assert task["volumes"] == [{"name": "tmp"}]


def test_logs_go_to_an_encrypted_log_group_with_retention(graph: Graph):
    log_group = graph.one("aws:cloudwatch/logGroup:LogGroup").inputs
    assert log_group["name"] == "/django/dev/jobs/report"
    assert log_group["kmsKeyId"] == TELEMETRY_KEY and log_group["retentionInDays"] == 30
    assert container(graph)["logConfiguration"] == {"logDriver": "awslogs", "options": {
        "awslogs-group": "/django/dev/jobs/report", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "job"}}


# --- failure notification ------------------------------------------------------------------------------------


def test_failure_rule_matches_this_familys_runs_that_exit_non_zero_or_never_start(graph: Graph):
    rule = graph.one(RULE)
    pattern = json.loads(rule.inputs["eventPattern"])
    assert pattern["source"] == ["aws.ecs"] and pattern["detail-type"] == ["ECS Task State Change"]
    detail = pattern["detail"]
    assert detail["clusterArn"] == [CLUSTER]
    assert detail["lastStatus"] == ["STOPPED"]
    assert detail["taskDefinitionArn"] == [{"prefix": arn("ecs", f"task-definition/{FAMILY}:")}]
    assert detail["$or"] == [{"containers": {"exitCode": [{"anything-but": 0}]}},
                             {"stopCode": ["TaskFailedToStart"]}]
    assert rule.inputs["name"] == "django-dev-job-report-failed-rule"


def test_failed_runs_are_published_to_the_alarm_topic_with_the_queue_behind(graph: Graph):
    target = graph.one(TARGET).inputs
    rule, queue = graph.one(RULE), graph.one(QUEUE)
    assert target["arn"] == TOPIC and target["rule"] == rule.outputs["name"]
    assert target["deadLetterConfig"] == {"arn": queue.outputs["arn"]}
    assert target["retryPolicy"]["maximumRetryAttempts"] > 0
    template = target["inputTransformer"]["inputTemplate"]
    assert template.startswith('"Scheduled job report failed') and "<exit>" in template
    assert "/django/dev/jobs/report" in template
    (allow,) = statements(graph.one("aws:sqs/queuePolicy:QueuePolicy"))
    assert allow["Principal"] == {"Service": "events.amazonaws.com"} and allow["Action"] == "sqs:SendMessage"
    assert allow["Condition"] == {"ArnEquals": {"aws:SourceArn": rule.outputs["arn"]}}


def test_without_an_alarm_topic_the_rule_exists_but_notifies_nobody():
    graph = build(alarm_topic_arn=None)
    assert graph.one(RULE)  # the monitoring alarms count its matches
    assert graph.of_type(TARGET) == [] and graph.of_type("aws:sqs/queuePolicy:QueuePolicy") == []


def test_outputs_name_the_rule_and_queue_for_alarms(graph: Graph):
    component: Resource = graph.one("django-platform:scheduled_task:ScheduledTask")
    assert component.name == "job-report"
    assert {r.parent for r in graph.custom() if r.type in (RULE, QUEUE, SCHEDULE)} == {component.urn}


# --- settings --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("overrides", "key", "allowed"), [
    ({"jobs": '[{"name": "a", "schedule": "every 2 minutes", "command": ["x"]}]'}, "jobs[0].schedule",
     "rate(N minutes|hours|days) or cron("),
    ({"jobs": '[{"name": "a", "schedule": "cron(0 3 * * * *)", "command": ["x"]}]'}, "jobs[0].schedule",
     "exactly one of day-of-month and day-of-week"),
    ({"jobs": '[{"name": "a", "schedule": "rate(1 day)", "timezone": "Tokyo", "command": ["x"]}]'},
     "jobs[0].timezone", "IANA time zone"),
    ({"jobs": '[{"name": "a", "schedule": "rate(1 day)", "retry_attempts": 186, "command": ["x"]}]'},
     "jobs[0].retry_attempts", "from 0 to 185"),
    ({"jobs": '[{"name": "a", "schedule": "rate(1 day)", "max_event_age_seconds": 59, "command": ["x"]}]'},
     "jobs[0].max_event_age_seconds", "from 60 to 86400"),
    ({"jobs": '[{"name": "a", "schedule": "rate(1 day)", "enabled": "sometimes", "command": ["x"]}]'},
     "jobs[0].enabled", "true or false"),
    ({"jobs": '[{"name": "a", "schedule": "rate(1 day)", "command": []}]'}, "jobs[0].command", "non-empty"),
    ({"jobs": '[{"name": "Nightly", "schedule": "rate(1 day)", "command": ["x"]}]'}, "jobs[0].name", "lowercase"),
    ({"jobs": '[{"name": "a", "schedule": "rate(1 day)", "command": ["x"]},'
              ' {"name": "a", "schedule": "rate(2 days)", "command": ["y"]}]'}, "jobs", "unique job names"),
])
def test_bad_job_settings_fail_before_any_resource(overrides: dict[str, str], key: str, allowed: str):
    error, graph = settings_error("dev", overrides)
    (problem,) = [p for p in error.problems if p.key == key]
    assert allowed in problem.allowed
    assert graph.resources == []


def test_several_jobs_with_every_option_load():
    settings = load({"repository": "o/r", "dns": {"domain": "dev.example.com", "zone_name": "example.com"},
                     "jobs": json.dumps([
                         {"name": "clearsessions", "schedule": "rate(1 day)", "command": ["python", "manage.py",
                                                                                          "clearsessions"]},
                         {"name": "report", "schedule": "cron(0 9 ? * MON *)", "timezone": "Europe/Paris",
                          "command": ["python", "manage.py", "report"], "cpu": 512, "memory": 1024,
                          "enabled": "false", "retry_attempts": 0, "max_event_age_seconds": 60}])}, "dev")
    report = settings.jobs[1]
    assert (report.timezone, report.enabled, report.retry_attempts, report.max_event_age_seconds) == \
        ("Europe/Paris", False, 0, 60)
    assert settings.jobs[0].timezone == "UTC" and settings.jobs[0].retry_attempts == 3


# --- wired into the stacks ------------------------------------------------------------------------------------


def test_stack_jobs_run_the_web_image_on_the_web_cluster_in_private_subnets_with_the_batch_group(
        stack_graph: Graph):
    schedule = stack_graph.one(SCHEDULE, "*-job-clearsessions-schedule").inputs
    cluster = stack_graph.one("aws:ecs/cluster:Cluster")
    assert schedule["target"]["arn"] == cluster.outputs["arn"]
    network = schedule["target"]["ecsParameters"]["networkConfiguration"]
    private = [s.outputs["id"] for s in stack_graph.of_type("aws:ec2/subnet:Subnet") if "-private-" in s.name]
    assert sorted(network["subnets"]) == sorted(private) and network["assignPublicIp"] is False
    (batch_group,) = [g for g in stack_graph.of_type("aws:ec2/securityGroup:SecurityGroup")
                      if g.inputs.get("name", "").endswith("-batch-sg")]
    assert network["securityGroups"] == [batch_group.outputs["id"]]
    found = container(stack_graph, "*-job-clearsessions-task")
    assert found["image"] == f"{stack_graph.outputs['repository_url']['value']}:bootstrap"  # the web service's
    assert found["command"] == ["python", "manage.py", "clearsessions"]
    # The same data-tier secrets as the web service, as ECS secrets only.
    assert {"DATABASE_PASSWORD", "DJANGO_SECRET_KEY", "REDIS_AUTH_TOKEN"} <= {s["name"] for s in found["secrets"]}
    assert not {e["name"] for e in found["environment"]} & {s["name"] for s in found["secrets"]}


def test_stack_job_failures_go_to_the_platform_alarm_topic(stack_graph: Graph):
    target = stack_graph.one(TARGET, "*-job-clearsessions-failed-rule").inputs
    topic = stack_graph.one("aws:sns/topic:Topic")
    assert target["arn"] == topic.outputs["arn"]
    # The topic's policy admits this stack's rules, and its key admits EventBridge (keys.py).
    rule_name = stack_graph.one(RULE, "*-job-clearsessions-failed-rule").inputs["name"]
    key = stack_graph.one("aws:kms/key:Key", "*-telemetry-kms")
    (events,) = [s for s in statements(key) if "events.amazonaws.com" in str(s["Principal"])]
    assert {"kms:Decrypt", "kms:GenerateDataKey*"} <= set(events["Action"])
    assert "Condition" not in events  # EventBridge's KMS requests carry no aws:Source* keys (SNS guide)
    (publish,) = [s for s in statements(stack_graph.one("aws:sns/topicPolicy:TopicPolicy"))
                  if s["Principal"] == {"Service": "events.amazonaws.com"}]
    pattern = publish["Condition"]["ArnLike"]["aws:SourceArn"]
    assert rule_name.startswith(pattern.split("rule/")[1].rstrip("*"))


def test_several_jobs_from_config_each_get_their_schedule():
    graph = run_stack_with_jobs([
        {"name": "clearsessions", "schedule": "rate(1 day)", "command": ["python", "manage.py", "clearsessions"]},
        {"name": "report", "schedule": "cron(0 9 ? * MON *)", "timezone": "Europe/Paris",
         "command": ["python", "manage.py", "report"], "cpu": 512, "memory": 1024}])
    schedules = {s.inputs["name"]: s.inputs for s in graph.of_type(SCHEDULE)}
    assert set(schedules) == {"django-dev-job-clearsessions-schedule", "django-dev-job-report-schedule"}
    assert schedules["django-dev-job-report-schedule"]["scheduleExpressionTimezone"] == "Europe/Paris"
    report = graph.one(TASK_DEFINITION, "*-job-report-task").inputs
    assert (report["cpu"], report["memory"]) == ("512", "1024")


def run_stack_with_jobs(jobs: list[dict[str, Any]]) -> Graph:
    return run_stack("dev", {"jobs": json.dumps(jobs)})

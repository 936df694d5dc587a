"""Monitoring: the alarm topic, one alarm per catalog entry and subject, pipeline failure events, the dashboard.

Expected alarms are derived from the real resources of the graph (the ALB's arnSuffix, the RDS
identifier, the replication group's member clusters, ...), so a dimension that points anywhere else fails.
"""

from __future__ import annotations

import fnmatch
import json
from typing import Any

import pytest

from components import alarms as catalog
from components.monitoring import (
    AlarmTopic,
    AlarmTopicArgs,
    DatabaseTargets,
    JobTargets,
    Monitoring,
    MonitoringArgs,
    PipelineTargets,
    alarm_name,
    deployment_alarm_names,
)
from components.naming import Namer
from components.settings import MonitoringSettings, SettingsError, load
from tests.harness import ACCOUNT_ID, Graph, Resource, run_stack, settings_error, stack_config, statements
from tests.isolated import context, output, run_component
from tools import alarms_reference
from tools.doc_sections import section

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
TOPIC = "aws:sns/topic:Topic"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
RULE = "aws:cloudwatch/eventRule:EventRule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"


def env_of(graph: Graph) -> str:
    return graph.one(TOPIC).inputs["name"].split("-")[1]


SCALING_TARGET = "aws:appautoscaling/target:Target"


def alarms_by_name(graph: Graph) -> dict[str, Resource]:
    """The monitoring alarms (a worker's wake-up alarm belongs to its scaling target: it scales, never pages)."""
    return {r.inputs["name"]: r for r in graph.of_type(ALARM) if r.parent_type != SCALING_TARGET}


def web_services(graph: Graph) -> list[Resource]:
    return [s for s in graph.of_type("aws:ecs/service:Service") if s.name.endswith("-web-svc")]


Subject = tuple[str | None, dict[str, str], dict[str, str]]  # suffix, dimension values, URN behind each dimension


def subjects(graph: Graph) -> dict[str, list[Subject]]:
    """Per tier: (alarm name suffix, dimension values, the resource URN each value comes from)."""
    found: dict[str, list[Subject]] = {t: [] for t in catalog.TIERS}
    lbs = graph.of_type("aws:lb/loadBalancer:LoadBalancer")
    if lbs:
        (lb,) = lbs
        tg = graph.one("aws:lb/targetGroup:TargetGroup")
        found["load_balancer"].append((None, {"LoadBalancer": lb.outputs["arnSuffix"],
                                              "TargetGroup": tg.outputs["arnSuffix"]},
                                       {"LoadBalancer": lb.urn, "TargetGroup": tg.urn}))
    for service in web_services(graph):
        cluster = graph.one("aws:ecs/cluster:Cluster")
        found["service"].append((None, {"ClusterName": cluster.outputs["name"], "ServiceName": service.outputs["name"]},
                                 {"ClusterName": cluster.urn, "ServiceName": service.urn}))
    for db in graph.of_type("aws:rds/instance:Instance"):
        found["database"].append((None, {"DBInstanceIdentifier": db.outputs["identifier"]},
                                  {"DBInstanceIdentifier": db.urn}))
    for group in graph.of_type("aws:elasticache/replicationGroup:ReplicationGroup"):
        for i, member in enumerate(sorted(group.outputs["memberClusters"])):
            found["cache_node"].append((f"{i + 1:03d}", {"CacheClusterId": member}, {"CacheClusterId": group.urn}))
    for rule in graph.of_type(RULE):
        if rule.parent_type.endswith("ScheduledTask"):
            queue = next(q for q in graph.of_type("aws:sqs/queue:Queue") if q.parent == rule.parent)
            job = graph.by_urn(rule.parent).name.removeprefix("job-")  # __main__ names them job-<name>
            found["job"].append((job, {"RuleName": rule.outputs["name"], "QueueName": queue.outputs["name"]},
                                 {"RuleName": rule.urn, "QueueName": queue.urn}))
    for queue in graph.of_type("aws:sqs/queue:Queue"):
        if queue.parent_type.endswith("WorkerQueue"):  # __main__ names them worker-<name>-queue
            worker = graph.by_urn(queue.parent).name.removeprefix("worker-").removesuffix("-queue")
            tier = "worker_dlq" if queue.name.endswith("-dlq-sqs") else "worker_queue"
            found[tier].append((worker, {"QueueName": queue.outputs["name"]}, {"QueueName": queue.urn}))
    return found


def expected_alarms(graph: Graph) -> dict[str, tuple[catalog.AlarmSpec, dict[str, str], dict[str, str]]]:
    namer = Namer("django", env_of(graph))
    expected = {}
    tiers = subjects(graph)
    for spec in catalog.ALARMS:
        if len(tiers[spec.tier]) < spec.min_subjects:
            continue
        for suffix, dims, urns in tiers[spec.tier]:
            expected[alarm_name(namer, spec.key, suffix)] = (spec, dims, urns)
    return expected


def metric_of(alarm: Resource, metric: catalog.Metric) -> dict[str, Any]:
    """The metric of a single-metric alarm, or the matching query of a metric-math alarm."""
    if "metricQueries" not in alarm.inputs:
        stat = alarm.inputs.get("extendedStatistic") or alarm.inputs["statistic"]
        return {"namespace": alarm.inputs["namespace"], "metricName": alarm.inputs["metricName"], "stat": stat,
                "dimensions": alarm.inputs["dimensions"], "period": alarm.inputs["period"]}
    (query,) = [q for q in alarm.inputs["metricQueries"] if q["id"] == metric.id]
    assert query["returnData"] is False
    return query["metric"]


# --- the alarms, for dev and prod ------------------------------------------------------------------------------


def test_every_tier_present_in_the_stack_is_watched(stack_graph: Graph):
    tiers = subjects(stack_graph)
    for tier in ("load_balancer", "database", "cache_node", "worker_queue", "worker_dlq"):
        assert tiers[tier], f"{tier} missing from the graph"
    assert set(alarms_by_name(stack_graph)) == set(expected_alarms(stack_graph))


def test_every_alarm_has_the_right_metric_dimensions_threshold_and_actions(stack_graph: Graph):
    production_like = env_of(stack_graph) == "prod"
    topic_arn = stack_graph.one(TOPIC).outputs["arn"]
    alarms = alarms_by_name(stack_graph)
    for name, (spec, dims, urns) in expected_alarms(stack_graph).items():
        alarm = alarms[name]
        periods = int(spec.evaluation_periods.pick(production_like))
        assert alarm.inputs["threshold"] == spec.threshold.pick(production_like) * spec.scale, name
        assert alarm.inputs["comparisonOperator"] == catalog.COMPARISONS[spec.comparison], name
        assert alarm.inputs["evaluationPeriods"] == periods == alarm.inputs["datapointsToAlarm"], name
        assert alarm.inputs["treatMissingData"] == spec.missing, name
        assert alarm.inputs["alarmActions"] == [topic_arn] == alarm.inputs["okActions"], name
        for metric in spec.metrics:
            found = metric_of(alarm, metric)
            assert (found["namespace"], found["metricName"], found["stat"]) == (
                metric.namespace, metric.name, metric.stat), name
            assert found["dimensions"] == {d: dims[d] for d in metric.dimensions}, name
            assert found["period"] == spec.period, name
        if spec.expression:
            (result,) = [q for q in alarm.inputs["metricQueries"] if q.get("returnData")]
            assert result["expression"] == spec.expression
        for dimension in {d for m in spec.metrics for d in m.dimensions}:  # values are the resources' outputs
            assert urns[dimension] in alarm.dependencies, (name, dimension)


def test_percentile_alarms_ignore_low_sample_counts(dev: Graph):
    alarm = alarms_by_name(dev)["django-dev-monitoring-response-time-p99-alarm"]
    assert alarm.inputs["extendedStatistic"] == "p99" and "statistic" not in alarm.inputs
    assert alarm.inputs["evaluateLowSampleCountPercentiles"] == "ignore"


def test_thresholds_differ_per_environment(dev: Graph, prod: Graph):
    name = "django-{}-monitoring-alb-5xx-rate-alarm"
    assert alarms_by_name(dev)[name.format("dev")].inputs["threshold"] == 10
    assert alarms_by_name(prod)[name.format("prod")].inputs["threshold"] == 5
    storage = "django-{}-monitoring-db-free-storage-alarm"
    assert alarms_by_name(prod)[storage.format("prod")].inputs["threshold"] == 5 * 1024**3  # GiB in bytes


def test_replication_lag_only_with_replicas(dev: Graph, prod: Graph):
    assert not [n for n in alarms_by_name(dev) if "replication-lag" in n]  # dev: one cache node
    lag = sorted(n for n in alarms_by_name(prod) if "cache-replication-lag" in n)
    assert lag == ["django-prod-monitoring-cache-replication-lag-001-alarm",
                   "django-prod-monitoring-cache-replication-lag-002-alarm"]


def test_deployment_alarms_are_the_load_balancer_5xx_and_unhealthy_host_alarms(stack_graph: Graph):
    env = env_of(stack_graph)
    names = deployment_alarm_names(Namer("django", env), monitoring_settings(env))
    assert names == [f"django-{env}-monitoring-{k}-alarm" for k in ("alb-5xx-rate", "target-5xx-rate",
                                                                     "unhealthy-hosts")]
    assert set(names) <= set(alarms_by_name(stack_graph))
    for service in web_services(stack_graph):
        # Enabled once the pipeline released an image (tests/test_deploy_safety.py); nothing is released here.
        assert service.inputs["alarms"] == {"alarmNames": names, "enable": False, "rollback": True}


# --- the topic --------------------------------------------------------------------------------------------------


def test_topic_is_encrypted_with_the_telemetry_key_whose_policy_admits_alarms_and_rules(stack_graph: Graph):
    topic = stack_graph.one(TOPIC)
    key = stack_graph.one("aws:kms/key:Key", "*telemetry*")
    assert topic.inputs["kmsMasterKeyId"] == key.outputs["arn"]
    assert key.urn in topic.dependencies
    grants = {s["Principal"]["Service"]: s for s in statements(key) if "Service" in s["Principal"]}
    for publisher in ("cloudwatch.amazonaws.com", "events.amazonaws.com"):
        assert {"kms:Decrypt", "kms:GenerateDataKey*"} <= set(grants[publisher]["Action"])
    # The alarm ARNs match the CloudWatch grant's condition; EventBridge's grant may carry no aws:Source*
    # condition (its KMS requests for an encrypted topic have none: every rule notification would be dropped).
    pattern = grants["cloudwatch.amazonaws.com"]["Condition"]["ArnLike"]["aws:SourceArn"]
    assert all(fnmatch.fnmatchcase(a.outputs["arn"], pattern) for a in stack_graph.of_type(ALARM))
    assert "Condition" not in grants["events.amazonaws.com"]


def test_topic_policy_lets_only_this_stacks_alarms_and_rules_publish_over_tls(stack_graph: Graph):
    env = env_of(stack_graph)
    topic = stack_graph.one(TOPIC)
    policy = stack_graph.one("aws:sns/topicPolicy:TopicPolicy")
    assert policy.inputs["arn"] == topic.outputs["arn"]
    allow = {s["Principal"]["Service"]: s for s in statements(policy) if s["Effect"] == "Allow"}
    assert set(allow) == {"events.amazonaws.com", "cloudwatch.amazonaws.com"}
    for service, source in (("events", f"rule/django-{env}-*"), ("cloudwatch", f"alarm:django-{env}-*")):
        statement = allow[f"{service}.amazonaws.com"]
        assert statement["Action"] == "sns:Publish" and statement["Resource"] == topic.outputs["arn"]
        assert statement["Condition"] == {
            "StringEquals": {"aws:SourceAccount": ACCOUNT_ID},
            "ArnLike": {"aws:SourceArn": f"arn:aws:{service}:us-east-1:{ACCOUNT_ID}:{source}"}}
    (deny,) = [s for s in statements(policy) if s["Effect"] == "Deny"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    # every alarm's ARN matches the condition the policy sets for CloudWatch
    assert all(a.outputs["arn"].startswith(f"arn:aws:cloudwatch:us-east-1:{ACCOUNT_ID}:alarm:django-{env}-")
               for a in stack_graph.of_type(ALARM))


def test_failed_pipeline_executions_are_published_to_the_topic(stack_graph: Graph):
    pipeline = stack_graph.one("aws:codepipeline/pipeline:Pipeline")
    rule = stack_graph.one(RULE, "*-monitoring-pipeline-failed-rule")
    pattern = json.loads(rule.inputs["eventPattern"])
    assert pattern["detail"] == {"state": ["FAILED"], "pipeline": [pipeline.outputs["name"]]}
    assert pipeline.urn in rule.dependencies
    target = stack_graph.one(TARGET, "*-monitoring-pipeline-failed-rule")
    assert target.inputs["arn"] == stack_graph.one(TOPIC).outputs["arn"]
    assert target.inputs["rule"] == rule.outputs["name"]


def test_no_subscriptions_by_default_in_dev_and_the_placeholder_address_in_prod(dev: Graph, prod: Graph):
    assert dev.of_type(SUBSCRIPTION) == []
    (email,) = prod.of_type(SUBSCRIPTION)  # Pulumi.prod.yaml: production-like stacks need a subscriber
    assert email.inputs["protocol"] == "email" and email.inputs["endpoint"] == "oncall@example.com"


# --- options ---------------------------------------------------------------------------------------------------

OPTIONS = {
    "monitoring.alarm_emails": '["ops@example.com", "oncall@example.com"]',
    "monitoring.webhooks": '["https://hooks.example.com/services/T0/B0/abc"]',
    "monitoring.thresholds": '{"alb_5xx_rate": 2.5, "db_free_storage": "4"}',
    "monitoring.evaluation_periods": '{"db_cpu": 6}',
    "monitoring.disabled_alarms": '["cache_evictions", "unhealthy_hosts"]',
    "pipeline.enabled": "false",
    "service.pipeline_owns_deployments": "false",
}


@pytest.fixture(scope="module")
def tuned() -> Graph:
    return run_stack("dev", overrides=OPTIONS)


def test_email_and_webhook_subscriptions_with_the_webhook_kept_secret(tuned: Graph):
    topic_arn = tuned.one(TOPIC).outputs["arn"]
    subscriptions = tuned.of_type(SUBSCRIPTION)
    assert all(s.inputs["topic"] == topic_arn for s in subscriptions)
    emails = sorted(s.inputs["endpoint"] for s in subscriptions if s.inputs["protocol"] == "email")
    assert emails == ["oncall@example.com", "ops@example.com"]
    (hook,) = [s for s in subscriptions if s.inputs["protocol"] == "https"]
    assert hook.inputs["endpoint"]["value"] == "https://hooks.example.com/services/T0/B0/abc"
    assert hook.inputs["endpoint"]["4dabf18193072939515e22adb298388d"] == "1b47061264138c4ac30d75fd1eb44270"
    # An endpoint that never confirms fails `pulumi up` rather than leaving a pending subscription behind.
    assert hook.inputs["endpointAutoConfirms"] is True and hook.inputs["confirmationTimeoutInMinutes"] == 2
    assert all("endpointAutoConfirms" not in s.inputs for s in subscriptions if s.inputs["protocol"] == "email")
    assert not any("hooks.example.com" in r.name or "ops@" in r.name for r in tuned.resources)


def test_threshold_and_period_overrides_reach_the_alarms(tuned: Graph):
    alarms = alarms_by_name(tuned)
    assert alarms["django-dev-monitoring-alb-5xx-rate-alarm"].inputs["threshold"] == 2.5
    assert alarms["django-dev-monitoring-db-free-storage-alarm"].inputs["threshold"] == 4 * 1024**3
    cpu = alarms["django-dev-monitoring-db-cpu-alarm"]
    assert cpu.inputs["evaluationPeriods"] == 6 == cpu.inputs["datapointsToAlarm"]
    assert "6 x 300 s" in cpu.inputs["alarmDescription"]


def test_without_a_pipeline_there_is_no_pipeline_rule(tuned: Graph):
    assert tuned.of_type("aws:codepipeline/pipeline:Pipeline") == []
    assert [r for r in tuned.of_type(RULE) if r.parent_type.endswith("Monitoring")] == []


def test_disabled_alarms_are_neither_created_nor_deployment_alarms(tuned: Graph):
    names = set(alarms_by_name(tuned))
    assert not [n for n in names if "cache-evictions" in n or "unhealthy-hosts" in n]
    assert "django-dev-monitoring-cache-cpu-001-alarm" in names
    settings = monitoring_settings("dev", {"disabled_alarms": ["unhealthy_hosts"]})
    assert deployment_alarm_names(Namer("django", "dev"), settings) == [
        "django-dev-monitoring-alb-5xx-rate-alarm", "django-dev-monitoring-target-5xx-rate-alarm"]
    for service in web_services(tuned):
        assert "django-dev-monitoring-unhealthy-hosts-alarm" not in service.inputs["alarms"]["alarmNames"]


# --- bad settings ------------------------------------------------------------------------------------------------


def _raw(stack: str) -> dict[str, str]:
    prefix = "django-platform:"
    return {k[len(prefix):]: v for k, v in stack_config(stack).items() if k.startswith(prefix)}


def monitoring_settings(stack: str, monitoring: dict[str, Any] | None = None) -> MonitoringSettings:
    # stg/prod refuse a topic without subscribers: the address stands in for the one Pulumi.prod.yaml sets.
    return load({**_raw(stack), "monitoring": monitoring or {"alarm_emails": ["ops@example.com"]}}, stack).monitoring


def _problems(monitoring: dict[str, Any], stack: str = "dev") -> list[str]:
    try:
        load({**_raw(stack), "monitoring": monitoring}, stack)
    except SettingsError as error:
        return [str(p) for p in error.problems]
    return []


@pytest.mark.parametrize("monitoring", [
    {"alarm_emails": ["ops@example.com"]},
    {"webhooks": ["https://hooks.example.com/x?token=1", "https://example.com:8443/hook"]},
    {"thresholds": {"db_cpu": 95, "response_time_p99": "0.5", "db_freeable_memory": 128.0}},
    {"evaluation_periods": {"db_cpu": "288", "running_tasks": 1440}},
    {"disabled_alarms": ["job_dead_letters"]},
])
def test_good_monitoring_settings(monitoring: dict[str, Any]):
    assert _problems(monitoring) == []


@pytest.mark.parametrize(("monitoring", "key", "allowed"), [
    ({"alarm_emails": ["not-an-address"]}, "monitoring.alarm_emails", "an e-mail address"),
    ({"webhooks": ["http://hooks.example.com/x"]}, "monitoring.webhooks", "an https:// URL"),
    ({"thresholds": {"db_cpu": 120}}, "monitoring.thresholds.db_cpu", "a number from 0 to 100 (%)"),
    ({"thresholds": {"db_free_storage": "lots"}}, "monitoring.thresholds.db_free_storage", "(GiB)"),
    ({"thresholds": {"response_time_p95": -1}}, "monitoring.thresholds.response_time_p95", "from 0.01 to 3600"),
    ({"thresholds": {"db_cpus": 90}}, "monitoring.thresholds.db_cpus", "an alarm key: alb_5xx_rate"),
    ({"evaluation_periods": {"db_cpu": 289}}, "monitoring.evaluation_periods.db_cpu", "an integer from 1 to 288"),
    ({"evaluation_periods": {"alb_5xx_rate": "0"}}, "monitoring.evaluation_periods.alb_5xx_rate", "from 1 to 1440"),
    ({"evaluation_periods": {"x": 1}}, "monitoring.evaluation_periods.x", "an alarm key"),
    ({"disabled_alarms": ["db_cpu", "nope"]}, "monitoring.disabled_alarms", "one of alb_5xx_rate"),
    ({"thresholds": ["db_cpu"]}, "monitoring.thresholds", "a map of names to strings"),
])
def test_bad_monitoring_settings_name_the_key_and_what_is_allowed(monitoring: dict[str, Any], key: str, allowed: str):
    (problem,) = _problems(monitoring)
    assert problem.startswith(f"django-platform:{key}: ") and allowed in problem, problem


def test_a_bad_webhook_is_reported_without_its_token():
    # monitoring.webhooks is a secret key: the error (printed by the CLI, kept in CI logs) must not echo it.
    for given in (["http://hooks.example.com/services/T0/B0/SECRETTOKEN"], "https://hooks.example.com/SECRETTOKEN"):
        (problem,) = _problems({"webhooks": given})
        assert problem.startswith("django-platform:monitoring.webhooks: ") and "SECRETTOKEN" not in problem, problem
        assert "[secret]" in problem


def test_a_bad_threshold_stops_the_program_before_any_resource():
    error, graph = settings_error("prod", overrides={"monitoring.thresholds": '{"cache_memory": 150}'})
    assert "monitoring.thresholds.cache_memory" in str(error)
    assert graph.resources == []


# --- the dashboard -------------------------------------------------------------------------------------------------


def known_identifiers(graph: Graph) -> set[str]:
    values = {v for _, dims, _ in [s for tier in subjects(graph).values() for s in tier] for v in dims.values()}
    values |= {r.outputs["name"] for r in graph.of_type(RULE)}
    return values


def test_dashboard_is_valid_json_referencing_existing_resources(stack_graph: Graph):
    env = env_of(stack_graph)
    dashboard = stack_graph.one(DASHBOARD)
    assert dashboard.inputs["dashboardName"] == f"django-{env}-monitoring-dashboard"
    body = json.loads(dashboard.inputs["dashboardBody"])
    widgets = body["widgets"]
    (status,) = [w for w in widgets if w["type"] == "alarm"]
    monitoring_alarms = alarms_by_name(stack_graph).values()
    assert sorted(status["properties"]["alarms"]) == sorted(a.outputs["arn"] for a in monitoring_alarms)
    graphs = [w for w in widgets if w["type"] == "metric"]
    identifiers = known_identifiers(stack_graph)
    namespaces = set()
    for widget in widgets:
        assert widget["x"] >= 0 and widget["x"] + widget["width"] <= 24 and widget["height"] > 0
    for widget in graphs:
        assert widget["properties"]["region"] == "us-east-1" and widget["properties"]["metrics"]
        for line in widget["properties"]["metrics"]:
            namespace, _metric, *dims, options = line
            namespaces.add(namespace)
            assert set(options) == {"stat", "label"} and len(dims) % 2 == 0 and dims
            for value in dims[1::2]:
                assert value in identifiers, (widget["properties"]["title"], value)
    assert {"AWS/ApplicationELB", "AWS/RDS", "AWS/ElastiCache"} <= namespaces
    positions = [(w["x"], w["y"]) for w in widgets]
    assert len(positions) == len(set(positions))


# --- tiers not (yet) in the stack, with hand-made inputs -----------------------------------------------------------


def test_pipeline_failures_and_jobs_and_replicas_with_hand_made_inputs():
    def build() -> Monitoring:
        ctx = context("prod")
        settings = monitoring_settings("prod")
        topic = AlarmTopic("alarm-topic", AlarmTopicArgs(ctx=ctx, settings=settings, key_arn=output("key-arn")))
        return Monitoring("monitoring", MonitoringArgs(
            ctx=ctx, settings=settings, topic_arn=topic.topic_arn,
            database=DatabaseTargets(output("db-1"), replica_identifiers=[output("db-1-replica")]),
            jobs=[JobTargets("clearsessions", output("failed-rule"), output("dlq"))],
            pipeline=PipelineTargets(output("the-pipeline")),
        ))

    graph = run_component(build, "prod")
    topic_arn = graph.one(TOPIC).outputs["arn"]
    alarms = alarms_by_name(graph)
    assert sorted(alarms) == sorted([
        "django-prod-monitoring-db-cpu-alarm", "django-prod-monitoring-db-free-storage-alarm",
        "django-prod-monitoring-db-freeable-memory-alarm", "django-prod-monitoring-db-connections-alarm",
        "django-prod-monitoring-db-replica-lag-replica1-alarm",
        "django-prod-monitoring-job-failed-clearsessions-alarm",
        "django-prod-monitoring-job-dead-letters-clearsessions-alarm"])
    assert alarms["django-prod-monitoring-db-replica-lag-replica1-alarm"].inputs["dimensions"] == {
        "DBInstanceIdentifier": "db-1-replica"}
    failed = alarms["django-prod-monitoring-job-failed-clearsessions-alarm"].inputs
    assert (failed["namespace"], failed["metricName"], failed["dimensions"]) == (
        "AWS/Events", "TriggeredRules", {"RuleName": "failed-rule"})
    dead = alarms["django-prod-monitoring-job-dead-letters-clearsessions-alarm"].inputs
    assert (dead["namespace"], dead["dimensions"]) == ("AWS/SQS", {"QueueName": "dlq"})

    rule = graph.one(RULE)
    assert rule.inputs["name"] == "django-prod-monitoring-pipeline-failed-rule"
    assert json.loads(rule.inputs["eventPattern"]) == {
        "source": ["aws.codepipeline"], "detail-type": ["CodePipeline Pipeline Execution State Change"],
        "detail": {"state": ["FAILED"], "pipeline": ["the-pipeline"]}}
    target = graph.one(TARGET)
    assert target.inputs["rule"] == rule.outputs["name"] and target.inputs["arn"] == topic_arn
    transformer = target.inputs["inputTransformer"]
    assert transformer["inputPaths"]["execution"] == "$.detail.execution-id"
    assert json.loads(transformer["inputTemplate"].replace("<", "").replace(">", "")).startswith("Pipeline ")

    body = json.loads(graph.one(DASHBOARD).inputs["dashboardBody"])
    lines = [line for w in body["widgets"] if w["type"] == "metric" for line in w["properties"]["metrics"]]
    assert ["AWS/Events", "TriggeredRules", "RuleName", rule.outputs["name"]] in [line[:4] for line in lines]
    assert ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", "dlq"] in [line[:4] for line in lines]


def test_no_tiers_means_no_alarms_and_an_empty_dashboard():
    def build() -> Monitoring:
        ctx = context("dev")
        return Monitoring("monitoring", MonitoringArgs(ctx=ctx, settings=monitoring_settings("dev"),
                                                       topic_arn=output("topic")))

    graph = run_component(build)
    assert graph.of_type(ALARM) == [] and graph.of_type(RULE) == []
    assert json.loads(graph.one(DASHBOARD).inputs["dashboardBody"]) == {"widgets": []}


# --- docs -------------------------------------------------------------------------------------------------------------


def test_alarms_table_is_fresh():
    assert section(alarms_reference.DOC, alarms_reference.SECTION) == alarms_reference.render(), "run `make docs`"


def test_alarms_table_has_one_row_per_alarm_with_both_thresholds():
    rows = [line for line in alarms_reference.render().splitlines() if line.startswith("| `")]
    assert [row.split("`")[1] for row in rows] == [spec.key for spec in catalog.ALARMS]
    (row,) = [r for r in rows if r.startswith("| `db_free_storage`")]
    assert "< 2 / 5 GiB" in row and "breaching" in row
    assert sum("(rollback)" in r for r in rows) == 3

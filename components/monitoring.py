"""Operations: the alarm topic, CloudWatch alarms for every tier, pipeline failure events and a dashboard.

Two components, because the topic is needed early (scheduled jobs send their failure events to it) and
the alarms late (they need every tier's identifiers):

- `AlarmTopic`: an SNS topic encrypted with the telemetry key, its policy (EventBridge and CloudWatch of
  this account may publish, TLS only) and the e-mail / HTTPS subscriptions from `monitoring` settings.
- `Monitoring`: one `MetricAlarm` per entry of `components.alarms.ALARMS` and per subject of its tier
  (tiers that are absent, e.g. no pipeline, are skipped), an EventBridge rule that publishes failed
  CodePipeline executions to the topic, and one CloudWatch dashboard with the golden signals of every tier.

Alarm names are computed from the namer alone (`alarm_name`), so the web service can be given its ECS
deployment alarms (`deployment_alarm_names`) before the alarms, which need the service's name, exist.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.alarms import COMPARISONS, TIERS, AlarmSpec, Metric
from components.context import StackContext
from components.naming import Namer
from components.settings import MonitoringSettings

COMPONENT = "monitoring"
WEBHOOK_CONFIRMATION_MINUTES = 2  # how long `pulumi up` waits for an HTTPS endpoint to confirm its subscription


# --- names, computable before any resource exists --------------------------------------------------------


def alarm_name(namer: Namer, key: str, suffix: str | None = None) -> str:
    """`{system}-{env}-monitoring-{key}[-{suffix}]-alarm`."""
    return namer.name(COMPONENT, "alarm", f"{key}-{suffix}" if suffix else key)


def deployment_alarm_names(namer: Namer, settings: MonitoringSettings) -> list[str]:
    """The alarms that roll back a failing ECS deployment: load balancer 5xx and unhealthy hosts."""
    return [alarm_name(namer, spec.key) for spec in settings.enabled() if spec.deployment]


# --- the topic ----------------------------------------------------------------------------------------------


@dataclass
class AlarmTopicArgs:
    ctx: StackContext
    settings: MonitoringSettings
    key_arn: pulumi.Input[str]  # the telemetry key (its policy admits CloudWatch and EventBridge)


def topic_policy(ctx: StackContext, topic_arn: pulumi.Input[str]) -> pulumi.Output[str]:
    """Only this account's alarms and rules (named with the stack prefix) may publish; TLS only."""
    prefix = ctx.namer.prefix

    def publisher(sid: str, service: str, source_arn: str) -> dict[str, Any]:
        return {
            "Sid": sid,
            "Effect": "Allow",
            "Principal": {"Service": service},
            "Action": "sns:Publish",
            "Resource": topic_arn,
            "Condition": {"StringEquals": {"aws:SourceAccount": ctx.account_id},
                          "ArnLike": {"aws:SourceArn": source_arn}},
        }

    return pulumi.Output.json_dumps({
        "Version": "2012-10-17",
        "Statement": [
            publisher("EventBridgeRulesOfThisStackPublish", "events.amazonaws.com",
                      ctx.arn("events", f"rule/{prefix}-*")),
            publisher("CloudWatchAlarmsOfThisStackPublish", "cloudwatch.amazonaws.com",
                      ctx.arn("cloudwatch", f"alarm:{prefix}-*")),
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": ["sns:Publish", "sns:Subscribe"],  # sns:Receive is no IAM action (tests/test_iam_lint.py)
                "Resource": topic_arn,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
        ],
    })


def _digest(value: str) -> str:
    """A stable, non-revealing suffix for a subscription's logical name (order changes replace nothing)."""
    return hashlib.sha256(value.encode()).hexdigest()[:8]


class AlarmTopic(pulumi.ComponentResource):
    """The encrypted SNS topic every alarm and failure event notifies, with its subscriptions."""

    topic: aws.sns.Topic
    topic_arn: pulumi.Output[str]

    def __init__(self, name: str, args: AlarmTopicArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("django-platform:monitoring:AlarmTopic", name, None, opts)
        ctx, settings = args.ctx, args.settings
        child = pulumi.ResourceOptions(parent=self)
        topic_name = ctx.namer.name(COMPONENT, "sns", "alarms")
        self.topic = aws.sns.Topic(
            topic_name,
            name=topic_name,
            display_name=f"{ctx.namer.prefix} alarms",
            kms_master_key_id=args.key_arn,
            opts=child,
        )
        self.topic_arn = self.topic.arn
        self.topic_name = self.topic.name
        self.policy = aws.sns.TopicPolicy(topic_name, arn=self.topic.arn,
                                          policy=topic_policy(ctx, self.topic.arn), opts=child)
        self.subscriptions: list[aws.sns.TopicSubscription] = []
        for email in settings.alarm_emails:
            self.subscriptions.append(aws.sns.TopicSubscription(
                f"{name}-email-{_digest(email)}", topic=self.topic.arn, protocol="email", endpoint=email,
                opts=child))
        for url in settings.webhooks:
            # The URL usually carries a token: keep it a secret in state and out of the logical name.
            # SNS delivers nothing until the endpoint confirms (it must visit the SubscribeURL it is sent);
            # endpoint_auto_confirms makes the provider wait for that and fail `pulumi up` when it does not
            # happen (a chat incoming-webhook URL, say) instead of leaving a silent, undeletable pending one.
            self.subscriptions.append(aws.sns.TopicSubscription(
                f"{name}-webhook-{_digest(url)}", topic=self.topic.arn, protocol="https",
                endpoint=pulumi.Output.secret(url), endpoint_auto_confirms=True,
                confirmation_timeout_in_minutes=WEBHOOK_CONFIRMATION_MINUTES, opts=child))
        self.register_outputs({"topic_arn": self.topic_arn})


# --- what the alarms watch ---------------------------------------------------------------------------------


@dataclass
class LoadBalancerTargets:
    load_balancer_arn_suffix: pulumi.Input[str]  # app/<name>/<id>: the LoadBalancer dimension
    target_group_arn_suffix: pulumi.Input[str]  # targetgroup/<name>/<id>: the TargetGroup dimension


@dataclass
class ServiceTargets:
    cluster_name: pulumi.Input[str]
    service_name: pulumi.Input[str]


@dataclass
class DatabaseTargets:
    instance_identifier: pulumi.Input[str]
    replica_identifiers: Sequence[pulumi.Input[str]] = ()  # read replicas, if any: one lag alarm each


@dataclass
class CacheTargets:
    replication_group_id: pulumi.Input[str]
    member_cluster_ids: Sequence[pulumi.Input[str]]  # one per node: the CacheClusterId dimension


def member_cluster_ids(member_clusters: pulumi.Output[list[str]], nodes: int) -> list[pulumi.Output[str]]:
    """One id per cache node, in name order (<group>-001, -002, ...): the count is known from settings
    while the ids are still unknown in a preview."""
    def nth(index: int) -> pulumi.Output[str]:
        return member_clusters.apply(lambda ids: sorted(ids)[index])

    return [nth(index) for index in range(nodes)]


@dataclass
class JobTargets:
    name: str  # the job's name in settings (alarm name suffix)
    failure_rule_name: pulumi.Input[str]  # EventBridge rule matching runs that exited non-zero or never started
    dead_letter_queue_name: pulumi.Input[str]  # where EventBridge Scheduler puts runs it could not start


@dataclass
class WorkerTargets:
    name: str  # the worker's name in settings (alarm name suffix)
    queue_name: pulumi.Input[str]
    dead_letter_queue_name: pulumi.Input[str]


@dataclass
class PipelineTargets:
    pipeline_name: pulumi.Input[str]


@dataclass(frozen=True)
class Subject:
    """One watched thing of a tier: the alarm name suffix and its dimension values by name."""

    suffix: str | None
    dimensions: Mapping[str, pulumi.Input[str]]


@dataclass
class MonitoringArgs:
    ctx: StackContext
    settings: MonitoringSettings
    topic_arn: pulumi.Input[str]
    load_balancer: LoadBalancerTargets | None = None
    service: ServiceTargets | None = None
    database: DatabaseTargets | None = None
    cache: CacheTargets | None = None
    jobs: Sequence[JobTargets] = field(default_factory=tuple)
    pipeline: PipelineTargets | None = None
    workers: Sequence[WorkerTargets] = field(default_factory=tuple)

    def subjects(self) -> dict[str, list[Subject]]:
        """Every tier's subjects (an absent tier has none)."""
        found: dict[str, list[Subject]] = {tier: [] for tier in TIERS}
        if self.load_balancer:
            found["load_balancer"].append(Subject(None, {
                "LoadBalancer": self.load_balancer.load_balancer_arn_suffix,
                "TargetGroup": self.load_balancer.target_group_arn_suffix}))
        if self.service:
            found["service"].append(Subject(None, {"ClusterName": self.service.cluster_name,
                                                   "ServiceName": self.service.service_name}))
        if self.database:
            found["database"].append(Subject(None, {"DBInstanceIdentifier": self.database.instance_identifier}))
            found["database_replica"] = [Subject(f"replica{i + 1}", {"DBInstanceIdentifier": ident})
                                         for i, ident in enumerate(self.database.replica_identifiers)]
        if self.cache:
            found["cache_node"] = [Subject(f"{i + 1:03d}", {"CacheClusterId": member})
                                   for i, member in enumerate(self.cache.member_cluster_ids)]
        found["job"] = [Subject(job.name, {"RuleName": job.failure_rule_name,
                                           "QueueName": job.dead_letter_queue_name}) for job in self.jobs]
        found["worker_queue"] = [Subject(w.name, {"QueueName": w.queue_name}) for w in self.workers]
        found["worker_dlq"] = [Subject(w.name, {"QueueName": w.dead_letter_queue_name}) for w in self.workers]
        return found


# --- the alarms -------------------------------------------------------------------------------------------------


def _dimensions(metric: Metric, subject: Subject) -> dict[str, pulumi.Input[str]]:
    return {name: subject.dimensions[name] for name in metric.dimensions}


def alarm_inputs(spec: AlarmSpec, subject: Subject, threshold: float, periods: int) -> dict[str, Any]:
    """MetricAlarm arguments (without name, description and actions) for one spec and subject."""
    common: dict[str, Any] = {
        "comparison_operator": COMPARISONS[spec.comparison],
        "threshold": spec.metric_threshold(threshold),
        "evaluation_periods": periods,
        "datapoints_to_alarm": periods,  # every period must breach: no flapping on one bad minute
        "treat_missing_data": spec.missing,
    }
    if spec.expression is None:
        (metric,) = spec.metrics
        stat = {"extended_statistic": metric.stat} if metric.percentile else {"statistic": metric.stat}
        low_samples = {"evaluate_low_sample_count_percentiles": "ignore"} if metric.percentile else {}
        return {**common, **stat, **low_samples, "namespace": metric.namespace, "metric_name": metric.name,
                "dimensions": _dimensions(metric, subject), "period": spec.period}
    queries = [
        aws.cloudwatch.MetricAlarmMetricQueryArgs(
            id=metric.id, return_data=False,
            metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                namespace=metric.namespace, metric_name=metric.name, stat=metric.stat, period=spec.period,
                dimensions=_dimensions(metric, subject)))
        for metric in spec.metrics
    ]
    queries.append(aws.cloudwatch.MetricAlarmMetricQueryArgs(
        id="result", expression=spec.expression, label=spec.key, return_data=True))
    return {**common, "metric_queries": queries}


def describe(spec: AlarmSpec, threshold: float, periods: int) -> str:
    return (f"{spec.summary} ALARM when {spec.comparison} {threshold:g} {spec.unit} for {periods} x {spec.period} s "
            f"(missing data: {spec.missing}). Alarm key {spec.key} (monitoring.thresholds.{spec.key}).")


# --- the dashboard --------------------------------------------------------------------------------------------

# Golden signals per tier: (title, [(namespace, metric, stat, dimension names)]), one line per subject.
_ALB, _ECS, _CI, _RDS, _EC = "AWS/ApplicationELB", "AWS/ECS", "ECS/ContainerInsights", "AWS/RDS", "AWS/ElastiCache"
_LB_TG = ("LoadBalancer", "TargetGroup")
_SVC = ("ClusterName", "ServiceName")
_DB = ("DBInstanceIdentifier",)
_NODE = ("CacheClusterId",)
DASHBOARD: dict[str, list[tuple[str, list[tuple[str, str, str, tuple[str, ...]]]]]] = {
    "load_balancer": [
        ("Traffic and errors (per minute)", [(_ALB, "RequestCount", "Sum", _LB_TG),
                                             (_ALB, "HTTPCode_Target_5XX_Count", "Sum", _LB_TG),
                                             (_ALB, "HTTPCode_Target_4XX_Count", "Sum", _LB_TG),
                                             (_ALB, "HTTPCode_ELB_5XX_Count", "Sum", ("LoadBalancer",))]),
        ("Latency (s)", [(_ALB, "TargetResponseTime", "p50", _LB_TG), (_ALB, "TargetResponseTime", "p95", _LB_TG),
                         (_ALB, "TargetResponseTime", "p99", _LB_TG)]),
        ("Targets", [(_ALB, "HealthyHostCount", "Minimum", _LB_TG), (_ALB, "UnHealthyHostCount", "Maximum", _LB_TG)]),
    ],
    "service": [
        ("Web tasks: CPU and memory (%)", [(_ECS, "CPUUtilization", "Average", _SVC),
                                           (_ECS, "MemoryUtilization", "Average", _SVC)]),
        ("Web tasks: running vs desired", [(_CI, "RunningTaskCount", "Average", _SVC),
                                           (_CI, "DesiredTaskCount", "Average", _SVC)]),
    ],
    "database": [
        ("Database: CPU (%) and connections", [(_RDS, "CPUUtilization", "Average", _DB),
                                               (_RDS, "DatabaseConnections", "Maximum", _DB)]),
        ("Database: free storage and memory (bytes)", [(_RDS, "FreeStorageSpace", "Minimum", _DB),
                                                       (_RDS, "FreeableMemory", "Minimum", _DB)]),
        ("Database: latency (s)", [(_RDS, "ReadLatency", "Average", _DB), (_RDS, "WriteLatency", "Average", _DB)]),
    ],
    "database_replica": [
        ("Database: replica lag (s)", [(_RDS, "ReplicaLag", "Maximum", _DB)]),
    ],
    "cache_node": [
        ("Cache: CPU and engine CPU (%)", [(_EC, "CPUUtilization", "Average", _NODE),
                                           (_EC, "EngineCPUUtilization", "Average", _NODE)]),
        ("Cache: memory (%) and hit rate (%)", [(_EC, "DatabaseMemoryUsagePercentage", "Average", _NODE),
                                                (_EC, "CacheHitRate", "Average", _NODE)]),
        ("Cache: evictions and connections", [(_EC, "Evictions", "Sum", _NODE),
                                              (_EC, "CurrConnections", "Maximum", _NODE)]),
    ],
    "job": [
        ("Jobs: failed runs, undelivered alerts, runs never started",
         [("AWS/Events", "TriggeredRules", "Sum", ("RuleName",)),
          ("AWS/Events", "FailedInvocations", "Sum", ("RuleName",)),
          ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum", ("QueueName",))]),
    ],
    "worker_queue": [
        ("Workers: messages waiting and age of the oldest (s)",
         [("AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum", ("QueueName",)),
          ("AWS/SQS", "ApproximateAgeOfOldestMessage", "Maximum", ("QueueName",))]),
    ],
    "worker_dlq": [
        ("Workers: dead letters", [("AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum", ("QueueName",))]),
    ],
}
WIDGET_WIDTH, WIDGET_HEIGHT = 12, 6  # two graphs per row of the 24-column grid


def _metric_line(namespace: str, metric: str, stat: str, dims: tuple[str, ...], subject: Subject) -> list[Any]:
    line: list[Any] = [namespace, metric]
    for name in dims:
        line += [name, subject.dimensions[name]]
    label = f"{metric} {stat}" + (f" {subject.suffix}" if subject.suffix else "")
    return [*line, {"stat": stat, "label": label}]


def dashboard_body(region: str, subjects: Mapping[str, Sequence[Subject]], alarm_arns: Sequence[pulumi.Input[str]],
                   extra: Sequence[tuple[str, list[list[Any]]]] = ()) -> dict[str, Any]:
    """CloudWatch dashboard body (Dashboard Body Structure): alarm status first, then one graph per signal."""
    widgets: list[dict[str, Any]] = []
    rows = (len(alarm_arns) + 3) // 4  # the alarm status widget shows four alarms per row
    if alarm_arns:
        widgets.append({"type": "alarm", "x": 0, "y": 0, "width": 24, "height": 1 + rows,
                        "properties": {"title": "Alarms", "alarms": list(alarm_arns),
                                       "sortBy": "stateUpdatedTimestamp"}})
    graphs: list[tuple[str, list[list[Any]]]] = []
    for tier, panels in DASHBOARD.items():
        if not subjects.get(tier):
            continue
        for title, metrics in panels:
            lines = [_metric_line(ns, name, stat, dims, subject)
                     for subject in subjects[tier] for ns, name, stat, dims in metrics]
            graphs.append((title, lines))
    graphs.extend(extra)
    top = 1 + rows if alarm_arns else 0
    for index, (title, lines) in enumerate(graphs):
        widgets.append({
            "type": "metric",
            "x": (index % 2) * WIDGET_WIDTH, "y": top + (index // 2) * WIDGET_HEIGHT,
            "width": WIDGET_WIDTH, "height": WIDGET_HEIGHT,
            "properties": {"title": title, "region": region, "view": "timeSeries", "stacked": False,
                           "period": 60, "metrics": lines},
        })
    return {"widgets": widgets}


# --- the component --------------------------------------------------------------------------------------------------


class Monitoring(pulumi.ComponentResource):
    """Alarms for every tier that exists, pipeline failure notifications and the stack's dashboard."""

    alarms: dict[str, aws.cloudwatch.MetricAlarm]
    dashboard: aws.cloudwatch.Dashboard

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("django-platform:monitoring:Monitoring", name, None, opts)
        ctx, settings = args.ctx, args.settings
        child = pulumi.ResourceOptions(parent=self)
        actions = [args.topic_arn]
        subjects = args.subjects()

        self.alarms = {}
        for spec in settings.enabled():
            tier_subjects = subjects[spec.tier]
            if len(tier_subjects) < spec.min_subjects:
                continue
            threshold = settings.threshold(spec, ctx.production_like)
            periods = settings.periods(spec, ctx.production_like)
            for subject in tier_subjects:
                alarm = alarm_name(ctx.namer, spec.key, subject.suffix)
                self.alarms[alarm] = aws.cloudwatch.MetricAlarm(
                    alarm,
                    name=alarm,
                    alarm_description=describe(spec, threshold, periods),
                    alarm_actions=actions,
                    ok_actions=actions,
                    **alarm_inputs(spec, subject, threshold, periods),
                    opts=child,
                )
        self.alarm_names = list(self.alarms)

        extra: list[tuple[str, list[list[Any]]]] = []
        self.pipeline_rule: aws.cloudwatch.EventRule | None = None
        if args.pipeline:
            self.pipeline_rule = self._pipeline_failures(ctx, args.pipeline, args.topic_arn, child)
            extra.append(("Pipeline: failed executions notified", [
                ["AWS/Events", "TriggeredRules", "RuleName", self.pipeline_rule.name,
                 {"stat": "Sum", "label": "failed executions"}],
                ["AWS/Events", "FailedInvocations", "RuleName", self.pipeline_rule.name,
                 {"stat": "Sum", "label": "notifications not delivered"}]]))

        dashboard_name = ctx.namer.name(COMPONENT, "dashboard")
        body = dashboard_body(ctx.region, subjects, [a.arn for a in self.alarms.values()], extra)
        self.dashboard = aws.cloudwatch.Dashboard(dashboard_name, dashboard_name=dashboard_name,
                                                  dashboard_body=pulumi.Output.json_dumps(body), opts=child)
        self.dashboard_name = self.dashboard.dashboard_name
        self.register_outputs({"alarm_names": self.alarm_names, "dashboard_name": self.dashboard_name})

    def _pipeline_failures(self, ctx: StackContext, pipeline: PipelineTargets, topic_arn: pulumi.Input[str],
                           child: pulumi.ResourceOptions) -> aws.cloudwatch.EventRule:
        """CodePipeline publishes execution state changes to EventBridge; FAILED ones go to the topic."""
        rule_name = ctx.namer.name(COMPONENT, "rule", "pipeline-failed")
        rule = aws.cloudwatch.EventRule(
            rule_name,
            name=rule_name,
            description="Failed executions of the delivery pipeline, to the alarm topic",
            event_pattern=pulumi.Output.json_dumps({
                "source": ["aws.codepipeline"],
                "detail-type": ["CodePipeline Pipeline Execution State Change"],
                "detail": {"state": ["FAILED"], "pipeline": [pipeline.pipeline_name]},
            }),
            opts=child,
        )
        console = ("https://<region>.console.aws.amazon.com/codesuite/codepipeline/pipelines/<pipeline>"
                   "/executions/<execution>/timeline")
        aws.cloudwatch.EventTarget(
            rule_name,
            rule=rule.name,
            arn=topic_arn,
            input_transformer=aws.cloudwatch.EventTargetInputTransformerArgs(
                input_paths={"pipeline": "$.detail.pipeline", "execution": "$.detail.execution-id",
                             "region": "$.region"},
                input_template=f'"Pipeline <pipeline> execution <execution> FAILED: {console}"',
            ),
            opts=child,
        )
        return rule

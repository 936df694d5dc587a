"""The alarm catalog: every CloudWatch alarm the platform creates, declared once as data.

`components/monitoring.py` turns each entry into `aws.cloudwatch.MetricAlarm`s, `components/settings.py`
checks `monitoring.thresholds` / `monitoring.evaluation_periods` / `monitoring.disabled_alarms` against
it, and `tools/alarms_reference.py` renders docs/monitoring.md's alarms table from it, so the three cannot drift.
This module is pure data (no Pulumi import) so that settings can use it.

Metric names, statistics and dimensions follow the AWS references: AWS/ApplicationELB ("CloudWatch
metrics for your Application Load Balancer"), AWS/ECS and ECS/ContainerInsights, AWS/RDS,
AWS/ElastiCache ("Which metrics should I monitor?"), AWS/Events and AWS/SQS.
"""

from __future__ import annotations

from dataclasses import dataclass

GIB = 1024**3
MIB = 1024**2

# Where an alarm's dimensions come from: one "subject" per tier instance (the ALB and its target group,
# the web service, the primary DB instance, each read replica, each cache node, each scheduled job, each
# worker's queue and its dead-letter queue).
TIERS = ("load_balancer", "service", "database", "database_replica", "cache_node", "job", "worker_queue", "worker_dlq")

COMPARISONS = {
    ">": "GreaterThanThreshold",
    ">=": "GreaterThanOrEqualToThreshold",
    "<": "LessThanThreshold",
    "<=": "LessThanOrEqualToThreshold",
}

@dataclass(frozen=True)
class Env:
    """A value that differs between dev and the production-like environments (stg, prod)."""

    dev: float
    prod: float

    def pick(self, production_like: bool) -> float:
        return self.prod if production_like else self.dev


@dataclass(frozen=True)
class Metric:
    """One CloudWatch metric; `dimensions` are names, their values come from the alarm's subject."""

    id: str
    namespace: str
    name: str
    stat: str  # Sum / Average / Minimum / Maximum, or a percentile such as p95
    dimensions: tuple[str, ...]

    @property
    def percentile(self) -> bool:
        return self.stat.startswith("p")


@dataclass(frozen=True)
class AlarmSpec:
    key: str  # config key in monitoring.thresholds etc. and the alarm name's purpose
    tier: str  # one of TIERS
    summary: str  # what ALARM means, for the description, notifications and docs/monitoring.md
    metrics: tuple[Metric, ...]
    comparison: str  # a key of COMPARISONS
    threshold: Env  # in `unit`
    unit: str  # unit of the threshold as configured and documented
    limits: tuple[float, float]  # allowed configured thresholds (inclusive)
    evaluation_periods: Env
    missing: str  # treat_missing_data
    missing_reason: str
    period: int = 60
    expression: str | None = None  # metric math over `metrics` when set
    scale: float = 1  # configured threshold x scale = threshold in the metric's own unit
    deployment: bool = False  # an ECS deployment alarm: rolls a failing deployment back
    min_subjects: int = 1  # only when the tier has at least this many subjects (replication lag needs 2)

    @property
    def max_evaluation_periods(self) -> int:
        return 86_400 // self.period  # CloudWatch: periods x period at most one day

    def metric_threshold(self, configured: float) -> float:
        return configured * self.scale


def _alb(id_: str, name: str, stat: str, target_group: bool = True) -> Metric:
    dims = ("LoadBalancer", "TargetGroup") if target_group else ("LoadBalancer",)
    return Metric(id_, "AWS/ApplicationELB", name, stat, dims)


_SERVICE = ("ClusterName", "ServiceName")
_PERCENT = (0.0, 100.0)
_NO_TRAFFIC = "no requests, no data: nothing is failing"
_SILENT_INSTANCE = "an instance always reports: silence is an outage"

ALARMS: tuple[AlarmSpec, ...] = (
    # --- edge: the load balancer and its target group -------------------------------------------------
    AlarmSpec(
        key="alb_5xx_rate", tier="load_balancer",
        summary="Share of requests answered 5xx by the load balancer itself (no healthy target, timeouts).",
        metrics=(_alb("errors", "HTTPCode_ELB_5XX_Count", "Sum", target_group=False),
                 _alb("requests", "RequestCount", "Sum", target_group=False)),
        # ELB 5xx without a chosen target are not in RequestCount, so with no traffic the rate is the count.
        expression="100 * FILL(errors, 0) / FILL(requests, 1)",
        comparison=">", threshold=Env(10, 5), unit="%", limits=_PERCENT,
        evaluation_periods=Env(5, 3), missing="notBreaching", missing_reason=_NO_TRAFFIC, deployment=True,
    ),
    AlarmSpec(
        key="target_5xx_rate", tier="load_balancer",
        summary="Share of requests the Django tasks answered with a 5xx.",
        metrics=(_alb("errors", "HTTPCode_Target_5XX_Count", "Sum"), _alb("requests", "RequestCount", "Sum")),
        expression="100 * FILL(errors, 0) / FILL(requests, 1)",
        comparison=">", threshold=Env(10, 5), unit="%", limits=_PERCENT,
        evaluation_periods=Env(5, 3), missing="notBreaching", missing_reason=_NO_TRAFFIC, deployment=True,
    ),
    AlarmSpec(
        key="unhealthy_hosts", tier="load_balancer",
        summary="Tasks failing the target group health check.",
        metrics=(_alb("unhealthy", "UnHealthyHostCount", "Maximum"),),
        comparison=">", threshold=Env(0, 0), unit="tasks", limits=(0, 1000),
        evaluation_periods=Env(5, 3), missing="notBreaching",
        missing_reason="no registered targets: running_tasks reports missing tasks", deployment=True,
    ),
    AlarmSpec(
        key="response_time_p95", tier="load_balancer",
        summary="95th percentile of the time the tasks take to answer.",
        metrics=(_alb("latency", "TargetResponseTime", "p95"),),
        comparison=">", threshold=Env(2, 1), unit="s", limits=(0.01, 3600),
        evaluation_periods=Env(5, 5), missing="notBreaching", missing_reason=_NO_TRAFFIC,
    ),
    AlarmSpec(
        key="response_time_p99", tier="load_balancer",
        summary="99th percentile of the time the tasks take to answer.",
        metrics=(_alb("latency", "TargetResponseTime", "p99"),),
        comparison=">", threshold=Env(5, 3), unit="s", limits=(0.01, 3600),
        evaluation_periods=Env(5, 5), missing="notBreaching", missing_reason=_NO_TRAFFIC,
    ),
    # --- the web service on Fargate -------------------------------------------------------------------
    AlarmSpec(
        key="service_cpu", tier="service",
        summary="Average CPU of the web tasks, above the autoscaling target: scaling is not keeping up.",
        metrics=(Metric("cpu", "AWS/ECS", "CPUUtilization", "Average", _SERVICE),),
        comparison=">", threshold=Env(90, 80), unit="%", limits=_PERCENT,
        evaluation_periods=Env(10, 5), missing="notBreaching",
        missing_reason="no running task reports nothing: running_tasks covers it",
    ),
    AlarmSpec(
        key="service_memory", tier="service",
        summary="Average memory of the web tasks (out-of-memory kills follow).",
        metrics=(Metric("memory", "AWS/ECS", "MemoryUtilization", "Average", _SERVICE),),
        comparison=">", threshold=Env(90, 85), unit="%", limits=_PERCENT,
        evaluation_periods=Env(10, 5), missing="notBreaching",
        missing_reason="no running task reports nothing: running_tasks covers it",
    ),
    AlarmSpec(
        key="running_tasks", tier="service",
        summary="Tasks the service wants but does not run (crash loop, capacity, image pull).",
        metrics=(Metric("desired", "ECS/ContainerInsights", "DesiredTaskCount", "Average", _SERVICE),
                 Metric("running", "ECS/ContainerInsights", "RunningTaskCount", "Average", _SERVICE)),
        expression="FILL(desired, 0) - FILL(running, 0)",
        comparison=">", threshold=Env(0, 0), unit="tasks", limits=(0, 1000),
        evaluation_periods=Env(10, 5), missing="breaching",
        missing_reason="Container Insights silent: the service (or its cluster) is gone",
    ),
    # --- the database ---------------------------------------------------------------------------------
    AlarmSpec(
        key="db_cpu", tier="database",
        summary="Database CPU.",
        metrics=(Metric("cpu", "AWS/RDS", "CPUUtilization", "Average", ("DBInstanceIdentifier",)),),
        comparison=">", threshold=Env(90, 80), unit="%", limits=_PERCENT, period=300,
        evaluation_periods=Env(3, 3), missing="breaching", missing_reason=_SILENT_INSTANCE,
    ),
    AlarmSpec(
        key="db_free_storage", tier="database",
        summary="Free storage left on the database (storage autoscaling stops at its ceiling).",
        metrics=(Metric("storage", "AWS/RDS", "FreeStorageSpace", "Minimum", ("DBInstanceIdentifier",)),),
        comparison="<", threshold=Env(2, 5), unit="GiB", scale=GIB, limits=(0.1, 65536), period=300,
        evaluation_periods=Env(1, 1), missing="breaching", missing_reason=_SILENT_INSTANCE,
    ),
    AlarmSpec(
        key="db_freeable_memory", tier="database",
        summary="Memory left on the database host (swapping follows).",
        metrics=(Metric("memory", "AWS/RDS", "FreeableMemory", "Minimum", ("DBInstanceIdentifier",)),),
        comparison="<", threshold=Env(64, 256), unit="MiB", scale=MIB, limits=(1, 4_194_304), period=300,
        evaluation_periods=Env(3, 2), missing="breaching", missing_reason=_SILENT_INSTANCE,
    ),
    AlarmSpec(
        key="db_connections", tier="database",
        summary="Open database connections, close to the instance class's max_connections.",
        metrics=(Metric("connections", "AWS/RDS", "DatabaseConnections", "Maximum", ("DBInstanceIdentifier",)),),
        comparison=">", threshold=Env(80, 600), unit="connections", limits=(1, 100_000), period=300,
        evaluation_periods=Env(2, 2), missing="notBreaching",
        missing_reason="db_cpu and db_free_storage already breach on silence",
    ),
    AlarmSpec(
        key="db_replica_lag", tier="database_replica",
        summary="How far a read replica is behind its source (only when the database has read replicas).",
        metrics=(Metric("lag", "AWS/RDS", "ReplicaLag", "Maximum", ("DBInstanceIdentifier",)),),
        comparison=">", threshold=Env(300, 60), unit="s", limits=(1, 86_400),
        evaluation_periods=Env(5, 5), missing="breaching", missing_reason="a replica that stops reporting is broken",
    ),
    # --- the cache, one alarm per node (a failover swaps primary and replica) -------------------------
    AlarmSpec(
        key="cache_cpu", tier="cache_node",
        summary="Host CPU of a cache node (the metric AWS recommends for nodes with 2 vCPUs or fewer).",
        metrics=(Metric("cpu", "AWS/ElastiCache", "CPUUtilization", "Average", ("CacheClusterId",)),),
        comparison=">", threshold=Env(80, 60), unit="%", limits=_PERCENT, period=300,
        evaluation_periods=Env(3, 2), missing="breaching", missing_reason="a node always reports: silence is an outage",
    ),
    AlarmSpec(
        key="cache_engine_cpu", tier="cache_node",
        summary="CPU of the single-threaded engine on a cache node.",
        metrics=(Metric("cpu", "AWS/ElastiCache", "EngineCPUUtilization", "Average", ("CacheClusterId",)),),
        comparison=">", threshold=Env(90, 80), unit="%", limits=_PERCENT, period=300,
        evaluation_periods=Env(3, 2), missing="notBreaching", missing_reason="cache_cpu already breaches on silence",
    ),
    AlarmSpec(
        key="cache_memory", tier="cache_node",
        summary="Share of the node's memory for data in use (evictions follow).",
        metrics=(Metric("memory", "AWS/ElastiCache", "DatabaseMemoryUsagePercentage", "Average",
                        ("CacheClusterId",)),),
        comparison=">", threshold=Env(90, 80), unit="%", limits=_PERCENT, period=300,
        evaluation_periods=Env(3, 2), missing="notBreaching", missing_reason="cache_cpu already breaches on silence",
    ),
    AlarmSpec(
        key="cache_evictions", tier="cache_node",
        summary="Keys evicted for lack of memory per 5 minutes.",
        metrics=(Metric("evictions", "AWS/ElastiCache", "Evictions", "Sum", ("CacheClusterId",)),),
        comparison=">", threshold=Env(1000, 100), unit="keys", limits=(0, 1e9), period=300,
        evaluation_periods=Env(2, 2), missing="notBreaching", missing_reason="no evictions reported is none",
    ),
    AlarmSpec(
        key="cache_replication_lag", tier="cache_node", min_subjects=2,
        summary="How far a replica node is behind the primary (only with replicas).",
        metrics=(Metric("lag", "AWS/ElastiCache", "ReplicationLag", "Maximum", ("CacheClusterId",)),),
        comparison=">", threshold=Env(30, 10), unit="s", limits=(1, 86_400),
        evaluation_periods=Env(5, 5), missing="notBreaching", missing_reason="only replicas report it, not the primary",
    ),
    # --- scheduled jobs, one alarm per job ------------------------------------------------------------
    AlarmSpec(
        key="job_failed", tier="job",
        summary="A run of the job stopped with a non-zero exit code or failed to start (its failure rule matched).",
        metrics=(Metric("failures", "AWS/Events", "TriggeredRules", "Sum", ("RuleName",)),),
        comparison=">", threshold=Env(0, 0), unit="runs", limits=(0, 1000),
        evaluation_periods=Env(1, 1), missing="notBreaching",
        missing_reason="a rule that matched nothing reports nothing",
    ),
    AlarmSpec(
        key="job_dead_letters", tier="job",
        summary="Scheduled runs EventBridge could not start after its retries (in the job's dead-letter queue).",
        metrics=(Metric("dead", "AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum", ("QueueName",)),),
        comparison=">", threshold=Env(0, 0), unit="messages", limits=(0, 1e6), period=300,
        evaluation_periods=Env(1, 1), missing="notBreaching",
        missing_reason="SQS stops reporting an empty, idle queue after 6 hours",
    ),
    # --- queue workers, one alarm per worker's queue and dead-letter queue ------------------------------
    AlarmSpec(
        key="worker_queue_age", tier="worker_queue",
        summary="Age of the oldest message waiting for a worker: the workers are not keeping up (or not running).",
        metrics=(Metric("age", "AWS/SQS", "ApproximateAgeOfOldestMessage", "Maximum", ("QueueName",)),),
        comparison=">", threshold=Env(1800, 600), unit="s", limits=(60, 1_209_600),
        evaluation_periods=Env(5, 5), missing="notBreaching",
        missing_reason="SQS stops reporting an empty, idle queue after 6 hours",
    ),
    AlarmSpec(
        key="worker_dead_letters", tier="worker_dlq",
        summary="Messages a worker failed max_receive_count times, now in its dead-letter queue.",
        metrics=(Metric("dead", "AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum", ("QueueName",)),),
        comparison=">", threshold=Env(0, 0), unit="messages", limits=(0, 1e6), period=300,
        evaluation_periods=Env(1, 1), missing="notBreaching",
        missing_reason="SQS stops reporting an empty, idle queue after 6 hours",
    ),
)

BY_KEY = {spec.key: spec for spec in ALARMS}


def parse_threshold(spec: AlarmSpec, raw: str) -> float | None:
    """The configured threshold as a number, or None when it is not a number within the spec's limits."""
    try:
        value = float(raw)
    except ValueError:
        return None
    low, high = spec.limits
    return value if low <= value <= high else None


def describe_limits(spec: AlarmSpec) -> str:
    low, high = spec.limits
    return f"a number from {low:g} to {high:g} ({spec.unit})"

"""Queue workers: an SQS queue per worker and a Fargate service without a load balancer that consumes it.

The shape of CDK's QueueProcessingFargateService and Copilot's worker service, for Celery's SQS broker:
- `WorkerQueue` (created before the web service, whose tasks send to it): a queue encrypted with the
  data key (task payloads are app data), long polling, a visibility timeout above the worker's
  `task_time_limit` (a message still being worked on never reappears to another worker), and a
  dead-letter queue after `max_receive_count` deliveries, whose retention is longer than the queue's
  (a message's age counts from its first enqueue: SQS developer guide, "Using dead-letter queues").
  Both queues refuse requests without TLS; the dead-letter queue accepts redrives from its queue only.
- `WorkerService`: the web image and contract (same environment and secrets as the web tasks, plus the
  queue's name and limits), its own roles through components/iam.py, private subnets with the batch
  security group (admitted by the database and cache), the deployment circuit breaker with rollback,
  and `stop_timeout` between ECS's SIGTERM and SIGKILL so Celery's warm shutdown finishes the message
  in hand (Fargate allows 120 s at most: ECS task definition parameters, `stopTimeout`).
- Scaling on backlog per task, AWS's documented metric math for SQS workers: visible messages divided
  by running tasks, held at `messages_per_task` by target tracking (Application Auto Scaling user guide,
  "Create a target tracking scaling policy using metric math", example "Amazon SQS queue backlog per
  task"). With no task running the division has no data, and target tracking does not act on missing
  data (ECS developer guide, "Use a target metric to scale"), so a service allowed to scale to zero also
  gets a step policy that starts one task when messages wait and none runs.

SQS with SSE-KMS: producers need kms:GenerateDataKey and kms:Decrypt, consumers kms:Decrypt (SQS
developer guide, "Configuring KMS permissions"); both are granted only through SQS (kms:ViaService).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.context import StackContext
from components.iam import ecr_pull_statements, log_stream_arns, service_role
from components.logs import encrypted_log_group
from components.settings import WorkerSettings
from components.workloads import ContainerSecrets

# Target tracking metric math queries (pulumi-aws's names for PutScalingPolicy's TargetTrackingMetricDataQuery).
_CUSTOM = "PolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecificationMetric"
TrackingQuery = getattr(aws.appautoscaling, f"{_CUSTOM}Args")
TrackingStat = getattr(aws.appautoscaling, f"{_CUSTOM}MetricStatArgs")
TrackingMetric = getattr(aws.appautoscaling, f"{_CUSTOM}MetricStatMetricArgs")
TrackingDimension = getattr(aws.appautoscaling, f"{_CUSTOM}MetricStatMetricDimensionArgs")

QUEUE_RETENTION_SECONDS = 4 * 24 * 3600  # SQS default
DEAD_LETTER_RETENTION_SECONDS = 14 * 24 * 3600  # the SQS maximum, longer than the queue's
LONG_POLL_SECONDS = 20  # the SQS maximum: fewer empty receives
SCALE_IN_COOLDOWN = 300
SCALE_OUT_COOLDOWN = 60
BROKER_URL = "sqs://"  # kombu's SQS transport; credentials come from the task role (boto3's default chain)


@dataclass(frozen=True)
class Metric:
    """A CloudWatch metric in the two shapes scaling needs: a target tracking query and an alarm query."""

    namespace: str
    name: str
    dimensions: Mapping[str, pulumi.Input[str]]

    def tracking_query(self, id_: str, stat: str) -> Any:
        return TrackingQuery(id=id_, return_data=False, metric_stat=TrackingStat(stat=stat, metric=TrackingMetric(
            namespace=self.namespace, metric_name=self.name,
            dimensions=[TrackingDimension(name=k, value=v) for k, v in self.dimensions.items()])))

    def alarm_query(self, id_: str, stat: str) -> aws.cloudwatch.MetricAlarmMetricQueryArgs:
        return aws.cloudwatch.MetricAlarmMetricQueryArgs(
            id=id_, return_data=False, metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                namespace=self.namespace, metric_name=self.name, stat=stat, period=60,
                dimensions=dict(self.dimensions)))


def component(worker: WorkerSettings) -> str:
    return f"worker-{worker.name}"


def _via_sqs(ctx: StackContext) -> dict[str, Any]:
    return {"StringEquals": {"kms:ViaService": f"sqs.{ctx.region}.amazonaws.com"}}


def producer_statements(ctx: StackContext, queue_arns: Sequence[pulumi.Input[str]],
                        key_arn: pulumi.Input[str]) -> list[dict[str, Any]]:
    """Send tasks to the worker queues (Celery's `delay()` from the web tasks, or from another worker)."""
    if not queue_arns:
        return []
    return [
        {"Sid": "SendToWorkerQueues", "Effect": "Allow",
         "Action": ["sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"], "Resource": list(queue_arns)},
        {"Sid": "EncryptWorkerMessages", "Effect": "Allow", "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
         "Resource": key_arn, "Condition": _via_sqs(ctx)},
    ]


def consumer_statements(ctx: StackContext, queue_arn: pulumi.Input[str],
                        key_arn: pulumi.Input[str]) -> list[dict[str, Any]]:
    """Receive, extend and delete messages of one queue (kombu's SQS channel; no ListQueues or CreateQueue:
    the queues are predefined, Celery docs "Using Amazon SQS", predefined_queues)."""
    return [
        {"Sid": "ConsumeItsQueue", "Effect": "Allow",
         "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility",
                    "sqs:GetQueueAttributes", "sqs:GetQueueUrl"], "Resource": queue_arn},
        {"Sid": "DecryptItsMessages", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": key_arn,
         "Condition": _via_sqs(ctx)},
    ]


def _tls_only(queue: aws.sqs.Queue) -> pulumi.Output[str]:
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "sqs:*",
        "Resource": queue.arn, "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]})


@dataclass
class WorkerQueueArgs:
    ctx: StackContext
    worker: WorkerSettings
    key_arn: pulumi.Input[str]  # the platform data key


class WorkerQueue(pulumi.ComponentResource):
    """One worker's queue and dead-letter queue."""

    def __init__(self, name: str, args: WorkerQueueArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("django-platform:workers:WorkerQueue", name, None, opts)
        ctx, worker = args.ctx, args.worker
        child = pulumi.ResourceOptions(parent=self)
        dlq_name = ctx.namer.name(component(worker), "sqs", "dlq")
        self.dead_letter_queue = aws.sqs.Queue(
            dlq_name, name=dlq_name, kms_master_key_id=args.key_arn,
            message_retention_seconds=DEAD_LETTER_RETENTION_SECONDS, opts=child)
        queue_name = ctx.namer.name(component(worker), "sqs")
        self.queue = aws.sqs.Queue(
            queue_name, name=queue_name, kms_master_key_id=args.key_arn,
            visibility_timeout_seconds=worker.visibility_timeout,
            message_retention_seconds=QUEUE_RETENTION_SECONDS,
            receive_wait_time_seconds=LONG_POLL_SECONDS,
            redrive_policy=pulumi.Output.json_dumps({"deadLetterTargetArn": self.dead_letter_queue.arn,
                                                     "maxReceiveCount": worker.max_receive_count}),
            opts=child)
        aws.sqs.RedriveAllowPolicy(dlq_name, queue_url=self.dead_letter_queue.url,
                                   redrive_allow_policy=pulumi.Output.json_dumps({
                                       "redrivePermission": "byQueue", "sourceQueueArns": [self.queue.arn]}),
                                   opts=pulumi.ResourceOptions(parent=self.dead_letter_queue))
        for queue, queue_resource_name in ((self.queue, queue_name), (self.dead_letter_queue, dlq_name)):
            aws.sqs.QueuePolicy(queue_resource_name, queue_url=queue.url, policy=_tls_only(queue),
                                opts=pulumi.ResourceOptions(parent=queue))

        self.worker_name = worker.name
        self.queue_name = self.queue.name
        self.queue_arn = self.queue.arn
        self.queue_url = self.queue.url
        self.dead_letter_queue_name = self.dead_letter_queue.name
        self.register_outputs({"queue_name": self.queue_name, "queue_url": self.queue_url,
                               "dead_letter_queue_name": self.dead_letter_queue_name})


def celery_environment(queues: Sequence[WorkerQueue]) -> dict[str, pulumi.Input[str]]:
    """What every Django container gets when workers exist: the broker and every queue's URL by worker name."""
    if not queues:
        return {}
    urls = pulumi.Output.all(*[q.queue_url for q in queues]).apply(
        lambda resolved: json.dumps({q.worker_name: url for q, url in zip(queues, resolved, strict=True)},
                                    sort_keys=True))
    return {"CELERY_BROKER_URL": BROKER_URL, "CELERY_QUEUES": urls}


@dataclass
class WorkerServiceArgs:
    ctx: StackContext
    worker: WorkerSettings
    queue: WorkerQueue
    image: pulumi.Input[str]  # the web service's image: registry URL + the released tag
    repository_arn: pulumi.Input[str]
    cluster_arn: pulumi.Input[str]
    cluster_name: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]  # private subnets, no public IP
    security_group_id: pulumi.Input[str]  # workloads.batch_id: admitted by the database and cache
    telemetry_key_arn: pulumi.Input[str]  # log group
    data_key_arn: pulumi.Input[str]  # the queue's key
    environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)  # the web tasks' plain environment
    # As for the web service (docs/deploy-safety.md): once an image is released, `pulumi up` waits for the
    # worker's deployment and fails when ECS stops it or the circuit breaker rolls it back.
    image_released: pulumi.Input[bool] = True
    wait_for_steady_state: bool = True  # service.wait_for_steady_state
    deployment_timeout_minutes: int = 20  # service.deployment_timeout_minutes
    secrets: ContainerSecrets = field(default_factory=ContainerSecrets)  # the web tasks' secrets
    task_role_statements: Sequence[dict[str, Any]] = ()  # media access, sending to other queues
    user: str = "1000:1000"
    readonly_root_filesystem: bool = True


class WorkerService(pulumi.ComponentResource):
    """One worker: log group, roles, task definition, ECS service and backlog scaling."""

    def __init__(self, name: str, args: WorkerServiceArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("django-platform:workers:WorkerService", name, None, opts)
        ctx, worker = args.ctx, args.worker
        self._ctx, self._worker = ctx, worker
        comp = component(worker)
        child = pulumi.ResourceOptions(parent=self)
        log_group = encrypted_log_group(ctx.namer.name(comp, "logs"), ctx.namer.path("workers", worker.name), ctx,
                                        args.telemetry_key_arn, parent=self)
        trust = {"StringEquals": {"aws:SourceAccount": ctx.account_id}}
        execution_role = service_role(
            ctx.namer.name(comp, "role", "exec"), ctx.namer.name(comp, "role", "exec"), "ecs-tasks.amazonaws.com",
            [*ecr_pull_statements(args.repository_arn),
             {"Sid": "WriteTheWorkersLogs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
              "Resource": log_stream_arns(log_group.arn)},
             *args.secrets.execution_role_statements()],
            parent=self, description=f"ECS pulls the image and reads the secrets of worker {worker.name}",
            trust_conditions=trust, boundary=ctx.permissions_boundary)
        task_role = service_role(
            ctx.namer.name(comp, "role", "task"), ctx.namer.name(comp, "role", "task"), "ecs-tasks.amazonaws.com",
            [*consumer_statements(ctx, args.queue.queue_arn, args.data_key_arn), *args.task_role_statements],
            parent=self, description=f"The Django code of worker {worker.name}", trust_conditions=trust,
            boundary=ctx.permissions_boundary)

        family = ctx.namer.name(comp, "task")
        self.task_definition = aws.ecs.TaskDefinition(
            family, family=family, cpu=str(worker.cpu), memory=str(worker.memory), network_mode="awsvpc",
            requires_compatibilities=["FARGATE"],
            runtime_platform=aws.ecs.TaskDefinitionRuntimePlatformArgs(operating_system_family="LINUX",
                                                                       cpu_architecture="X86_64"),
            execution_role_arn=execution_role.arn, task_role_arn=task_role.arn,
            container_definitions=self._container_definitions(args, log_group.name),
            volumes=[aws.ecs.TaskDefinitionVolumeArgs(name="tmp")] if args.readonly_root_filesystem else None,
            skip_destroy=True,  # the running deployment and a rollback refer to earlier revisions
            opts=child)

        service_name = ctx.namer.name(comp, "svc")
        timeout = f"{args.deployment_timeout_minutes}m"
        self.service = aws.ecs.Service(
            service_name, name=service_name, cluster=args.cluster_arn, task_definition=self.task_definition.arn,
            desired_count=worker.min_count,
            capacity_provider_strategies=[aws.ecs.ServiceCapacityProviderStrategyArgs(
                capacity_provider="FARGATE_SPOT" if worker.spot else "FARGATE", weight=1)],
            platform_version="LATEST",
            network_configuration=aws.ecs.ServiceNetworkConfigurationArgs(
                subnets=list(args.subnet_ids), security_groups=[args.security_group_id], assign_public_ip=False),
            deployment_circuit_breaker=aws.ecs.ServiceDeploymentCircuitBreakerArgs(enable=True, rollback=True),
            deployment_minimum_healthy_percent=100, deployment_maximum_percent=200,
            force_new_deployment=True,  # FARGATE <-> FARGATE_SPOT in place (components/web_service.py)
            enable_ecs_managed_tags=True, propagate_tags="SERVICE",
            wait_for_steady_state=pulumi.Output.from_input(args.image_released).apply(
                lambda released: released and args.wait_for_steady_state),
            # The policies, not just the roles: the first tasks must be able to pull and read their secrets.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*execution_role.ready, *task_role.ready],
                                        ignore_changes=["desired_count"],
                                        custom_timeouts=pulumi.CustomTimeouts(create=timeout, update=timeout)))
        self._autoscaling(args.cluster_name, args.queue.queue_name)

        self.service_name = self.service.name
        self.task_definition_family = family
        self.execution_role_arn = execution_role.arn
        self.task_role_arn = task_role.arn
        self.log_group_name = log_group.name
        self.register_outputs({"service_name": self.service_name, "task_definition_family": family,
                               "execution_role_arn": self.execution_role_arn, "task_role_arn": self.task_role_arn,
                               "log_group_name": self.log_group_name})

    def _container_definitions(self, args: WorkerServiceArgs, log_group_name: pulumi.Input[str]) -> pulumi.Output[str]:
        worker = args.worker
        environment = {**args.environment, "CELERY_WORKER_QUEUE": worker.name,
                       "CELERY_TASK_TIME_LIMIT": str(worker.task_time_limit),
                       "CELERY_VISIBILITY_TIMEOUT": str(worker.visibility_timeout)}
        container: dict[str, Any] = {
            "name": worker.name,
            "image": args.image,
            "essential": True,
            "command": list(worker.command),
            "environment": [{"name": k, "value": v} for k, v in sorted(environment.items())],
            "secrets": args.secrets.container_definition_entries(),
            "user": args.user,
            "readonlyRootFilesystem": args.readonly_root_filesystem,
            "stopTimeout": worker.stop_timeout,
            "linuxParameters": {"initProcessEnabled": True},  # an init forwards SIGTERM to Celery and reaps
            "logConfiguration": {"logDriver": "awslogs", "options": {
                "awslogs-group": log_group_name, "awslogs-region": args.ctx.region,
                "awslogs-stream-prefix": "worker", "mode": "non-blocking", "max-buffer-size": "25m"}},
        }
        if args.readonly_root_filesystem:
            container["mountPoints"] = [{"sourceVolume": "tmp", "containerPath": "/tmp", "readOnly": False}]
        return pulumi.Output.json_dumps([container])

    def _autoscaling(self, cluster_name: pulumi.Input[str], queue_name: pulumi.Input[str]) -> None:
        ctx, worker = self._ctx, self._worker
        comp = component(worker)
        target = aws.appautoscaling.Target(
            ctx.namer.name(comp, "scaling"), service_namespace="ecs", scalable_dimension="ecs:service:DesiredCount",
            resource_id=pulumi.Output.concat("service/", cluster_name, "/", self.service.name),
            min_capacity=worker.min_count, max_capacity=worker.max_count, opts=pulumi.ResourceOptions(parent=self))
        visible = Metric("AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": queue_name})
        running = Metric("ECS/ContainerInsights", "RunningTaskCount",
                         {"ClusterName": cluster_name, "ServiceName": self.service.name})
        policy_name = ctx.namer.name(comp, "scaling", "backlog")
        tracking = aws.appautoscaling
        aws.appautoscaling.Policy(
            policy_name, name=policy_name, policy_type="TargetTrackingScaling",
            service_namespace=target.service_namespace, scalable_dimension=target.scalable_dimension,
            resource_id=target.resource_id,
            target_tracking_scaling_policy_configuration=tracking.PolicyTargetTrackingScalingPolicyConfigurationArgs(
                target_value=worker.messages_per_task,
                scale_in_cooldown=SCALE_IN_COOLDOWN, scale_out_cooldown=SCALE_OUT_COOLDOWN,
                customized_metric_specification=tracking.
                PolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecificationArgs(metrics=[
                    visible.tracking_query("visible", "Sum"), running.tracking_query("running", "Average"),
                    TrackingQuery(
                        id="backlog", label="Visible messages per running task", return_data=True,
                        expression="visible / running"),
                ])),
            opts=pulumi.ResourceOptions(parent=target))
        if worker.min_count == 0:
            self._wake_up(target, visible, running)

    def _wake_up(self, target: aws.appautoscaling.Target, visible: Metric, running: Metric) -> None:
        """From zero tasks: start one when messages wait (target tracking then takes over)."""
        ctx, comp = self._ctx, component(self._worker)
        policy_name = ctx.namer.name(comp, "scaling", "wake-up")
        policy = aws.appautoscaling.Policy(
            policy_name, name=policy_name, policy_type="StepScaling",
            service_namespace=target.service_namespace, scalable_dimension=target.scalable_dimension,
            resource_id=target.resource_id,
            step_scaling_policy_configuration=aws.appautoscaling.PolicyStepScalingPolicyConfigurationArgs(
                adjustment_type="ChangeInCapacity", cooldown=SCALE_OUT_COOLDOWN, metric_aggregation_type="Maximum",
                step_adjustments=[aws.appautoscaling.PolicyStepScalingPolicyConfigurationStepAdjustmentArgs(
                    metric_interval_lower_bound="0", scaling_adjustment=1)]),
            opts=pulumi.ResourceOptions(parent=target))

        alarm_name = ctx.namer.name(comp, "alarm", "wake-up")
        aws.cloudwatch.MetricAlarm(
            alarm_name, name=alarm_name,
            alarm_description=f"Messages wait in worker {self._worker.name}'s queue and no task runs: start one "
                              "(scaling, not a page).",
            comparison_operator="GreaterThanThreshold", threshold=0, evaluation_periods=1, datapoints_to_alarm=1,
            treat_missing_data="notBreaching",
            metric_queries=[visible.alarm_query("visible", "Sum"), running.alarm_query("running", "Average"),
                            aws.cloudwatch.MetricAlarmMetricQueryArgs(
                                id="waiting", label="Visible messages while no task runs", return_data=True,
                                expression="IF(FILL(running, 0) == 0, FILL(visible, 0), 0)")],
            alarm_actions=[policy.arn], opts=pulumi.ResourceOptions(parent=target))

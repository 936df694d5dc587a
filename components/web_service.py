"""WebService: the ECS cluster and the Django web service on Fargate behind the load balancer.

What the seed and the tools' users learned the hard way, and where it is handled here:
- Two roles, never keys in the image: the execution role pulls exactly this repository, writes exactly
  this log group and reads exactly the task's secrets (AWS's managed execution policy grants none of
  the secret reads, so injection fails at start: aws-cdk #3529); the task role has only the
  statements the app is given (plus ECS Exec's, when on).
- Secrets arrive as ECS `secrets` (SSM SecureString / Secrets Manager, JSON keys where the secret is
  JSON); `environment` holds only non-secret values and the component refuses a name used in both.
- A too-short health check grace period kills slow-starting tasks in a loop (seed): default 120 s.
- The deployment circuit breaker rolls a failed deployment back; with alarm names it also rolls back
  on those alarms.
- The image tag is an input (`Release.image_tag`: the tag the pipeline released last, read from SSM at
  every `pulumi up`), so `pulumi up` deploys configuration changes with the released image instead of
  reverting a deployment (pulumi-aws #1982) or ignoring `taskDefinition` and never deploying them. The
  service always ignores `desiredCount`, which autoscaling owns after creation.
- Read-only root filesystem with a task-scoped volume on /tmp (gunicorn's worker heartbeat files live
  there). Fargate creates such a volume owned by root with mode 0755 unless the image declares
  `VOLUME ["/tmp"]` (then the image's /tmp, 1777, is copied): a non-root user can write /tmp only when
  the Dockerfile declares it (ECS guide, "Bind mounts"; containers-roadmap #938). With ECS Exec the
  agent, which runs as root, also needs /managed-agents, /var/lib/amazon/ssm and /var/log/amazon/ssm
  writable (containers-roadmap #1359, amazon-ecs-exec-checker #71), which get task-scoped volumes too.
- Switching between FARGATE and FARGATE_SPOT changes the capacity provider strategy, which the provider
  can only update in place with `force_new_deployment`; otherwise it replaces the service, and the
  replacement, created before the old one is deleted, collides with its fixed name. The price: every
  in-place change of the service (not of its tags) also rolls its tasks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.context import StackContext
from components.iam import ecr_pull_statements, service_role
from components.logs import encrypted_log_group
from components.settings import ServiceSettings
from components.workloads import ContainerSecret, ContainerSecrets

CONTAINER_NAME = "django"
# Writable task-scoped volumes when the root filesystem is read-only: name -> mount path.
SCRATCH_VOLUMES = {"tmp": "/tmp"}
EXEC_AGENT_VOLUMES = {"managed-agents": "/managed-agents", "ssm-agent-state": "/var/lib/amazon/ssm",
                      "ssm-agent-logs": "/var/log/amazon/ssm"}
SCALE_IN_COOLDOWN = 300  # seconds: slow to give capacity back
SCALE_OUT_COOLDOWN = 60  # seconds: quick to add it


def readable_secret_arn(ctx: StackContext, source: str) -> str:
    """The ARN an IAM policy must allow for a configured secret source.

    An SSM parameter may be given by name (`/app/key` -> `parameter/app/key`) or ARN; a Secrets
    Manager ARN may carry ECS's `:json-key:version-stage:version-id` suffix, which IAM does not know.
    """
    if not source.startswith("arn:"):
        return ctx.arn("ssm", f"parameter/{source.lstrip('/')}")
    parts = source.split(":")
    return ":".join(parts[:7]) if parts[2] == "secretsmanager" else source


def configured_secrets(ctx: StackContext, sources: Mapping[str, str],
                       key_arn: pulumi.Input[str]) -> list[ContainerSecret]:
    """`service.secrets` (NAME -> parameter or secret) as container secrets, decrypted with `key_arn`."""
    found = []
    for name, source in sorted(sources.items()):
        readable = readable_secret_arn(ctx, source)
        value_from = source if source.startswith("arn:") else readable  # ARNs keep their JSON-key suffix
        found.append(ContainerSecret(name, value_from, readable, key_arn))
    return found


@dataclass
class WebServiceArgs:
    ctx: StackContext
    settings: ServiceSettings
    repository_url: pulumi.Input[str]
    repository_arn: pulumi.Input[str]
    image_tag: pulumi.Input[str]  # Release.image_tag: the released tag (or service.image_tag, see release.py)
    subnet_ids: Sequence[pulumi.Input[str]]  # the private subnets
    security_group_id: pulumi.Input[str]  # the web tasks' group (WorkloadSecurityGroups.web_id)
    target_group_arn: pulumi.Input[str]  # LoadBalancer.target_group_arn (carries the listener dependency)
    request_count_resource_label: pulumi.Input[str]  # LoadBalancer.request_count_resource_label
    log_key_arn: pulumi.Input[str]  # telemetry key: container logs, ECS Exec sessions
    secrets_key_arn: pulumi.Input[str]  # key that decrypts the `service.secrets` configured by name
    secrets: ContainerSecrets = field(default_factory=ContainerSecrets)
    environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)  # non-secret, added to settings'
    task_role_statements: Sequence[dict] = ()  # what the app itself may do in AWS (S3 media, SES, ...)
    deployment_alarm_names: Sequence[pulumi.Input[str]] = ()  # roll a deployment back when one fires
    image: pulumi.Input[str] | None = None  # Release.image (repository@sha256:...): replaces repository_url:image_tag
    # The image exists (Release.released): `pulumi up` waits for a steady state and the alarms watch deployments.
    image_released: pulumi.Input[bool] = True


class WebService(pulumi.ComponentResource):
    """ECS cluster (Container Insights), Fargate task definition, roles, service and autoscaling."""

    cluster: aws.ecs.Cluster
    task_definition: aws.ecs.TaskDefinition
    service: aws.ecs.Service
    execution_role: aws.iam.Role
    task_role: aws.iam.Role

    def __init__(self, name: str, args: WebServiceArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("django-platform:web_service:WebService", name, None, opts)
        self._ctx = ctx = args.ctx
        settings = args.settings
        secrets = ContainerSecrets((*args.secrets.secrets,
                                    *configured_secrets(ctx, settings.secrets, args.secrets_key_arn)))
        environment = {**settings.environment, **args.environment}
        names = [s.name for s in secrets.secrets]
        repeated = sorted({n for n in names if names.count(n) > 1} | (set(names) & set(environment)))
        if repeated:
            raise ValueError(f"web service: {', '.join(repeated)} set more than once (the platform sets these "
                             "itself, docs/app-contract.md); remove them from service.environment / service.secrets")

        self.log_group = encrypted_log_group(ctx.namer.name("web", "log"), ctx.namer.path("ecs", "web"), ctx,
                                             args.log_key_arn, self)
        exec_log_group = encrypted_log_group(ctx.namer.name("web", "log", "exec"), ctx.namer.path("ecs", "exec"),
                                             ctx, args.log_key_arn, self) if settings.exec else None
        self.cluster = self._cluster(settings, args.log_key_arn, exec_log_group)
        self._role_policies: list[aws.iam.RolePolicy] = []  # the service waits for them (see _service)
        self.execution_role = self._execution_role(args, secrets)
        self.task_role = self._task_role(args, exec_log_group)
        self.task_definition = self._task_definition(args, secrets, environment)
        self.service = self._service(args)
        self._autoscaling(args)

        self.cluster_name = self.cluster.name
        self.cluster_arn = self.cluster.arn
        self.service_name = self.service.name
        self.service_arn = self.service.arn
        self.task_definition_family = self.task_definition.family
        self.task_definition_arn = self.task_definition.arn
        self.execution_role_arn = self.execution_role.arn
        self.task_role_arn = self.task_role.arn
        self.container_name = CONTAINER_NAME
        self.container_port = settings.port
        self.log_group_name = self.log_group.name
        self.subnet_ids = list(args.subnet_ids)
        self.security_group_ids = [args.security_group_id]
        self.register_outputs({
            "cluster_name": self.cluster_name, "cluster_arn": self.cluster_arn,
            "service_name": self.service_name, "service_arn": self.service_arn,
            "task_definition_family": self.task_definition_family, "task_definition_arn": self.task_definition_arn,
            "execution_role_arn": self.execution_role_arn, "task_role_arn": self.task_role_arn,
            "log_group_name": self.log_group_name,
        })

    def _child(self, **kwargs) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, **kwargs)

    def _cluster(self, settings: ServiceSettings, key_arn: pulumi.Input[str],
                 exec_log_group: aws.cloudwatch.LogGroup | None) -> aws.ecs.Cluster:
        ctx = self._ctx
        cluster_name = ctx.namer.name("app", "ecs")
        configuration = aws.ecs.ClusterConfigurationArgs(
            execute_command_configuration=aws.ecs.ClusterConfigurationExecuteCommandConfigurationArgs(
                kms_key_id=key_arn,  # encrypts the session data channel
                logging="OVERRIDE",
                log_configuration=aws.ecs.ClusterConfigurationExecuteCommandConfigurationLogConfigurationArgs(
                    cloud_watch_encryption_enabled=True, cloud_watch_log_group_name=exec_log_group.name),
            )) if exec_log_group else None
        cluster = aws.ecs.Cluster(
            cluster_name, name=cluster_name,
            settings=[aws.ecs.ClusterSettingArgs(name="containerInsights", value="enabled")],
            configuration=configuration,
            opts=self._child(),
        )
        self._capacity = aws.ecs.ClusterCapacityProviders(
            cluster_name, cluster_name=cluster.name, capacity_providers=["FARGATE", "FARGATE_SPOT"],
            default_capacity_provider_strategies=[
                aws.ecs.ClusterCapacityProvidersDefaultCapacityProviderStrategyArgs(capacity_provider="FARGATE",
                                                                                    weight=1)],
            opts=pulumi.ResourceOptions(parent=cluster),
        )
        return cluster

    def _role(self, purpose: str, statements: Sequence[dict], source_arn: bool = True) -> aws.iam.Role:
        """A role ECS tasks of this account assume, with one inline policy (none when nothing is allowed).

        `source_arn`: also require aws:SourceArn under this account's ECS ARNs. The ECS guide documents that
        condition for the task role ("Task IAM role": aws:SourceAccount or aws:SourceArn against the confused
        deputy), but its task execution role page shows a trust policy without conditions, so the execution
        role keeps aws:SourceAccount only (docs/deploy-safety.md).
        """
        ctx = self._ctx
        role_name = ctx.namer.name("web", "role", purpose)
        condition: dict[str, Any] = {"StringEquals": {"aws:SourceAccount": ctx.account_id}}
        if source_arn:
            condition["ArnLike"] = {"aws:SourceArn": ctx.arn("ecs", "*")}
        role = service_role(
            role_name, role_name, "ecs-tasks.amazonaws.com", statements, parent=self,
            description=f"The web service's ECS {purpose} role",
            trust_conditions=condition,
            boundary=ctx.permissions_boundary,
        )
        if role.policy:
            self._role_policies.append(role.policy)
        return role.role

    def _execution_role(self, args: WebServiceArgs, secrets: ContainerSecrets) -> aws.iam.Role:
        log_arn = self.log_group.arn
        return self._role("execution", [
            *ecr_pull_statements(args.repository_arn),
            {"Sid": "WriteThisLogGroup", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
             "Resource": [log_arn, pulumi.Output.concat(log_arn, ":*")]},
            *secrets.execution_role_statements(),
        ], source_arn=False)

    def _task_role(self, args: WebServiceArgs, exec_log_group: aws.cloudwatch.LogGroup | None) -> aws.iam.Role:
        statements = list(args.task_role_statements)
        if exec_log_group is not None:
            statements += [
                {"Sid": "EcsExecSessionChannels", "Effect": "Allow",
                 "Action": ["ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
                            "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"],
                 "Resource": "*"},  # ssmmessages has no resource-level permissions
                {"Sid": "EcsExecFindsItsLogGroup", "Effect": "Allow", "Action": "logs:DescribeLogGroups",
                 "Resource": "*"},  # a List/Describe call: no resource-level permissions
                {"Sid": "EcsExecWritesSessionLogs", "Effect": "Allow",
                 "Action": ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
                 "Resource": [exec_log_group.arn, pulumi.Output.concat(exec_log_group.arn, ":*")]},
                {"Sid": "EcsExecDecryptsTheSessionChannel", "Effect": "Allow", "Action": "kms:Decrypt",
                 "Resource": args.log_key_arn},
            ]
        return self._role("task", statements)

    def _task_definition(self, args: WebServiceArgs, secrets: ContainerSecrets,
                         environment: Mapping[str, pulumi.Input[str]]) -> aws.ecs.TaskDefinition:
        ctx, settings = self._ctx, args.settings
        volumes = dict(SCRATCH_VOLUMES) if settings.readonly_root_filesystem else {}
        if settings.readonly_root_filesystem and settings.exec:
            volumes.update(EXEC_AGENT_VOLUMES)
        container = {
            "name": CONTAINER_NAME,
            "image": args.image if args.image is not None else pulumi.Output.concat(args.repository_url, ":",
                                                                                      args.image_tag),
            "essential": True,
            "command": settings.command,
            "user": settings.user,
            "readonlyRootFilesystem": settings.readonly_root_filesystem,
            "portMappings": [{"containerPort": settings.port, "protocol": "tcp", "name": "http"}],
            "environment": [{"name": k, "value": v} for k, v in sorted(environment.items())],
            "secrets": secrets.container_definition_entries(),
            "mountPoints": [{"sourceVolume": v, "containerPath": path, "readOnly": False}
                            for v, path in volumes.items()],
            "linuxParameters": {"initProcessEnabled": True},  # reaps zombies; recommended for ECS Exec
            "logConfiguration": {"logDriver": "awslogs", "options": {
                "awslogs-group": self.log_group.name,
                "awslogs-region": ctx.region,
                "awslogs-stream-prefix": "web",
                "mode": "non-blocking",  # a CloudWatch hiccup must not block gunicorn's stdout
                "max-buffer-size": "25m",
            }},
        }
        family = ctx.namer.name("web", "task")
        return aws.ecs.TaskDefinition(
            family,
            family=family,
            requires_compatibilities=["FARGATE"],
            network_mode="awsvpc",
            cpu=str(settings.cpu),
            memory=str(settings.memory),
            runtime_platform=aws.ecs.TaskDefinitionRuntimePlatformArgs(operating_system_family="LINUX",
                                                                       cpu_architecture="X86_64"),
            execution_role_arn=self.execution_role.arn,
            task_role_arn=self.task_role.arn,
            container_definitions=pulumi.Output.json_dumps([container]),
            volumes=[aws.ecs.TaskDefinitionVolumeArgs(name=v) for v in volumes],
            skip_destroy=True,  # keep old revisions: rollbacks and the pipeline's deployments refer to them
            opts=self._child(),
        )

    def _service(self, args: WebServiceArgs) -> aws.ecs.Service:
        ctx, settings = self._ctx, args.settings
        service_name = ctx.namer.name("web", "svc")
        # Until an image is released there is nothing to roll back to (ECS: rollback needs a COMPLETED
        # deployment) and the ALB answers every request 503, which puts alb_5xx_rate in ALARM: the alarms
        # watch deployments from the first released image on (docs/deploy-safety.md).
        alarms = aws.ecs.ServiceAlarmsArgs(alarm_names=list(args.deployment_alarm_names), enable=args.image_released,
                                           rollback=True) if args.deployment_alarm_names else None
        # wait_for_steady_state: the provider waits for this update's ECS deployment and fails on STOPPED,
        # ROLLBACK_FAILED or ROLLBACK_SUCCESSFUL (terraform-provider-aws internal/service/ecs/service.go,
        # findDeploymentStatus), within the create/update timeout, which customTimeouts set.
        wait = pulumi.Output.from_input(args.image_released).apply(lambda released: released and
                                                                    settings.wait_for_steady_state)
        timeout = f"{settings.deployment_timeout_minutes}m"
        return aws.ecs.Service(
            service_name,
            name=service_name,
            cluster=self.cluster.arn,
            task_definition=self.task_definition.arn,
            desired_count=settings.desired_count,
            capacity_provider_strategies=[aws.ecs.ServiceCapacityProviderStrategyArgs(
                capacity_provider="FARGATE_SPOT" if settings.spot else "FARGATE", weight=1)],
            platform_version="LATEST",
            network_configuration=aws.ecs.ServiceNetworkConfigurationArgs(
                subnets=list(args.subnet_ids), security_groups=[args.security_group_id], assign_public_ip=False),
            load_balancers=[aws.ecs.ServiceLoadBalancerArgs(target_group_arn=args.target_group_arn,
                                                            container_name=CONTAINER_NAME,
                                                            container_port=settings.port)],
            health_check_grace_period_seconds=settings.health_check_grace_seconds,
            deployment_circuit_breaker=aws.ecs.ServiceDeploymentCircuitBreakerArgs(enable=True, rollback=True),
            deployment_minimum_healthy_percent=settings.min_healthy_percent,
            deployment_maximum_percent=settings.max_percent,
            alarms=alarms,
            enable_execute_command=settings.exec,
            force_new_deployment=True,  # capacity provider changes in place, not by replacement (module doc)
            enable_ecs_managed_tags=True,
            propagate_tags="SERVICE",
            wait_for_steady_state=wait,
            # The task definition names only the roles: without the policies as dependencies the first tasks
            # can start before the inline policies exist and fail to pull the image or read their secrets.
            opts=self._child(depends_on=[self._capacity, *self._role_policies], ignore_changes=["desired_count"],
                             custom_timeouts=pulumi.CustomTimeouts(create=timeout, update=timeout)),
        )

    def _autoscaling(self, args: WebServiceArgs) -> None:
        ctx, settings = self._ctx, args.settings
        target = aws.appautoscaling.Target(
            ctx.namer.name("web", "scaling"),
            service_namespace="ecs",
            scalable_dimension="ecs:service:DesiredCount",
            resource_id=pulumi.Output.concat("service/", self.cluster.name, "/", self.service.name),
            min_capacity=settings.min_count,
            max_capacity=settings.max_count,
            opts=self._child(),
        )
        metrics: list[tuple[str, str, int, pulumi.Input[str] | None]] = [
            ("cpu", "ECSServiceAverageCPUUtilization", settings.cpu_target, None),
            ("memory", "ECSServiceAverageMemoryUtilization", settings.memory_target, None),
            ("requests", "ALBRequestCountPerTarget", settings.requests_per_target, args.request_count_resource_label),
        ]
        for purpose, metric, value, label in metrics:
            policy_name = ctx.namer.name("web", "scaling", purpose)
            aws.appautoscaling.Policy(
                policy_name,
                name=policy_name,
                policy_type="TargetTrackingScaling",
                service_namespace=target.service_namespace,
                scalable_dimension=target.scalable_dimension,
                resource_id=target.resource_id,
                target_tracking_scaling_policy_configuration=aws.appautoscaling.
                PolicyTargetTrackingScalingPolicyConfigurationArgs(
                    target_value=value,
                    predefined_metric_specification=aws.appautoscaling.
                    PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs(
                        predefined_metric_type=metric, resource_label=label),
                    scale_in_cooldown=SCALE_IN_COOLDOWN,
                    scale_out_cooldown=SCALE_OUT_COOLDOWN,
                ),
                opts=pulumi.ResourceOptions(parent=target),
            )

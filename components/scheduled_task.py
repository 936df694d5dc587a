"""ScheduledTask: a Django management command run on a schedule as a one-off Fargate task.

Why EventBridge Scheduler and not a scheduled EventBridge rule: Scheduler reads cron() in a time
zone (with daylight saving), has a retry policy and a dead-letter queue on the schedule itself,
encrypts the schedule with a customer-managed key, and its quotas are per schedule rather than 300
rules per bus. The one thing a rule still does better is matching events, so the failure alert
below is a rule on the ECS "Task State Change" events.

Per job: a task definition family of its own (same image as the web service, the job's command,
size and log group, the shared container secrets), execution and task roles, the schedule with its
role, an encrypted dead-letter queue, and a rule that fires when a run of this family stops with a
non-zero exit code or fails to start. The schedule sits in a schedule group of its own, the only
scope Scheduler's confused-deputy condition (aws:SourceArn) can name. The schedule targets the
family without a revision, i.e. the latest ACTIVE revision, so when the delivery pipeline registers
a revision with a new image the job follows it without `pulumi up`; a `pulumi up` that changes the job
registers its revision with the released tag (components/release.py), not an older one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.context import StackContext
from components.iam import cluster_name_of, ecr_pull_statements, log_stream_arns, service_role
from components.logs import encrypted_log_group
from components.settings import JobSettings
from components.workloads import ContainerSecrets

DLQ_RETENTION_SECONDS = 14 * 24 * 3600  # the SQS maximum: two weeks to look at what failed
SCHEDULE_DESCRIPTION_MAX = 512  # Scheduler CreateSchedule Description, 0-512 characters


@dataclass
class ScheduledTaskArgs:
    ctx: StackContext
    job: JobSettings
    image: pulumi.Input[str]  # registry URL + the released tag (Release.image_tag), the web service's image
    repository_arn: pulumi.Input[str]  # the execution role may pull from this repository only
    cluster_arn: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]  # private subnets; tasks get no public IP
    security_group_id: pulumi.Input[str]  # workloads.batch_id: admitted by the database and cache
    telemetry_key_arn: pulumi.Input[str]  # log group, dead-letter queue, schedule payload
    environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)  # plain, never secrets
    secrets: ContainerSecrets = field(default_factory=ContainerSecrets)
    user: str = "1000:1000"
    readonly_root_filesystem: bool = True
    alarm_topic_arn: pulumi.Input[str] | None = None  # failed runs are published here when given
    task_role_statements: Sequence[dict[str, Any]] = ()  # what the job's code may do in AWS (media, queues)


def _schedule_description(job: JobSettings) -> str:
    """The command and when it runs, within the 512 characters Scheduler accepts (a long inline script
    as the command would otherwise fail CreateSchedule halfway through `pulumi up`)."""
    when = f" ({job.schedule} {job.timezone})"
    command = " ".join(job.command)
    if len(command) + len(when) > SCHEDULE_DESCRIPTION_MAX:
        command = command[:SCHEDULE_DESCRIPTION_MAX - len(when) - 3] + "..."
    return command + when


def failure_event_pattern(cluster_arn: str, family_arn_prefix: str) -> dict[str, Any]:
    """ECS task state changes of this job's family that ended badly.

    A run that exits non-zero has a container with an `exitCode` other than 0; a run that never
    started (image pull, secrets, ENI) has no exit code but `stopCode` TaskFailedToStart.
    """
    return {
        "source": ["aws.ecs"],
        "detail-type": ["ECS Task State Change"],
        "detail": {
            "clusterArn": [cluster_arn],
            "lastStatus": ["STOPPED"],
            "taskDefinitionArn": [{"prefix": family_arn_prefix}],
            "$or": [
                {"containers": {"exitCode": [{"anything-but": 0}]}},
                {"stopCode": ["TaskFailedToStart"]},
            ],
        },
    }


class ScheduledTask(pulumi.ComponentResource):
    """One scheduled job: task definition, roles, schedule, dead-letter queue and failure rule."""

    def __init__(self, name: str, args: ScheduledTaskArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("django-platform:scheduled_task:ScheduledTask", name, None, opts)
        ctx, job = args.ctx, args.job
        component = f"job-{job.name}"
        family = ctx.namer.name(component, "task")
        family_arns = ctx.arn("ecs", f"task-definition/{family}:*")
        self.container_name = job.name

        log_group = encrypted_log_group(ctx.namer.name(component, "logs"), ctx.namer.path("jobs", job.name), ctx,
                                        args.telemetry_key_arn, parent=self)

        execution_role = service_role(
            ctx.namer.name(component, "role", "exec"), ctx.namer.name(component, "role", "exec"),
            "ecs-tasks.amazonaws.com",
            [*ecr_pull_statements(args.repository_arn),
             {"Sid": "WriteTheJobsLogs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
              "Resource": log_stream_arns(log_group.arn)},
             *args.secrets.execution_role_statements()],
            parent=self, description=f"ECS pulls the image and reads the secrets of job {job.name}",
            trust_conditions={"StringEquals": {"aws:SourceAccount": ctx.account_id}},
            boundary=ctx.permissions_boundary,
        )
        # The platform's app grants (media, worker queues); more can be attached to this role by name.
        task_role = service_role(
            ctx.namer.name(component, "role", "task"), ctx.namer.name(component, "role", "task"),
            "ecs-tasks.amazonaws.com", list(args.task_role_statements), parent=self,
            description=f"The Django code of job {job.name}",
            trust_conditions={"StringEquals": {"aws:SourceAccount": ctx.account_id}},
            boundary=ctx.permissions_boundary,
        )

        self.task_definition = aws.ecs.TaskDefinition(
            family,
            family=family,
            cpu=str(job.cpu),
            memory=str(job.memory),
            network_mode="awsvpc",
            requires_compatibilities=["FARGATE"],
            runtime_platform=aws.ecs.TaskDefinitionRuntimePlatformArgs(operating_system_family="LINUX",
                                                                       cpu_architecture="X86_64"),
            execution_role_arn=execution_role.arn,
            task_role_arn=task_role.arn,
            container_definitions=self._container_definitions(args, log_group.name),
            volumes=[aws.ecs.TaskDefinitionVolumeArgs(name="tmp")] if args.readonly_root_filesystem else None,
            opts=pulumi.ResourceOptions(parent=self),
        )

        self.dead_letter_queue = aws.sqs.Queue(
            ctx.namer.name(component, "sqs", "dlq"),
            name=ctx.namer.name(component, "sqs", "dlq"),
            kms_master_key_id=args.telemetry_key_arn,
            message_retention_seconds=DLQ_RETENTION_SECONDS,
            opts=pulumi.ResourceOptions(parent=self),
        )

        schedule_name = ctx.namer.name(component, "schedule")
        # A group of its own: Scheduler's aws:SourceArn is the schedule *group* (a schedule ARN in the
        # trust never matches), so the role's trust names a group that holds this one schedule only.
        group_name = ctx.namer.name(component, "schedulegroup")
        self.schedule_group = aws.scheduler.ScheduleGroup(group_name, name=group_name,
                                                          opts=pulumi.ResourceOptions(parent=self))
        scheduler_role = service_role(
            ctx.namer.name(component, "role", "scheduler"), ctx.namer.name(component, "role", "scheduler"),
            "scheduler.amazonaws.com",
            self._scheduler_statements(args, family_arns, [execution_role.arn, task_role.arn],
                                       self.dead_letter_queue.arn),
            parent=self, description=f"EventBridge Scheduler starts job {job.name}",
            trust_conditions={
                "StringEquals": {"aws:SourceAccount": ctx.account_id},
                "ArnEquals": {"aws:SourceArn": ctx.arn("scheduler", f"schedule-group/{group_name}")}},
            boundary=ctx.permissions_boundary,
        )

        self.schedule = aws.scheduler.Schedule(
            schedule_name,
            name=schedule_name,
            group_name=self.schedule_group.name,
            description=_schedule_description(job),
            schedule_expression=job.schedule,
            schedule_expression_timezone=job.timezone,
            state="ENABLED" if job.enabled else "DISABLED",
            flexible_time_window=aws.scheduler.ScheduleFlexibleTimeWindowArgs(mode="OFF"),
            kms_key_arn=args.telemetry_key_arn,
            target=aws.scheduler.ScheduleTargetArgs(
                arn=args.cluster_arn,
                role_arn=scheduler_role.arn,
                dead_letter_config=aws.scheduler.ScheduleTargetDeadLetterConfigArgs(arn=self.dead_letter_queue.arn),
                retry_policy=aws.scheduler.ScheduleTargetRetryPolicyArgs(
                    maximum_retry_attempts=job.retry_attempts,
                    maximum_event_age_in_seconds=job.max_event_age_seconds),
                ecs_parameters=aws.scheduler.ScheduleTargetEcsParametersArgs(
                    # No revision: RunTask takes the latest ACTIVE one, which the pipeline keeps current.
                    task_definition_arn=self.task_definition.arn_without_revision,
                    launch_type="FARGATE",
                    platform_version="LATEST",
                    task_count=1,
                    network_configuration=aws.scheduler.ScheduleTargetEcsParametersNetworkConfigurationArgs(
                        subnets=list(args.subnet_ids), security_groups=[args.security_group_id],
                        assign_public_ip=False),
                    propagate_tags="TASK_DEFINITION",
                    enable_ecs_managed_tags=True,
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=scheduler_role.ready),
        )

        self.failure_rule = aws.cloudwatch.EventRule(
            ctx.namer.name(component, "rule", "failed"),
            name=ctx.namer.name(component, "rule", "failed"),
            description=f"Job {job.name} stopped with a non-zero exit code or failed to start",
            event_pattern=pulumi.Output.from_input(args.cluster_arn).apply(
                lambda cluster_arn: json.dumps(failure_event_pattern(
                    cluster_arn, ctx.arn("ecs", f"task-definition/{family}:")), sort_keys=True)),
            opts=pulumi.ResourceOptions(parent=self),
        )
        if args.alarm_topic_arn is not None:
            self._notify(ctx, component, job, args.alarm_topic_arn, log_group.name)

        self.task_definition_family = family
        self.task_definition_arn = self.task_definition.arn
        self.execution_role_arn = execution_role.arn
        self.task_role_arn = task_role.arn
        self.task_role_name = task_role.name
        self.scheduler_role_arn = scheduler_role.arn
        self.schedule_name = self.schedule.name
        self.schedule_group_name = self.schedule_group.name  # `aws scheduler get-schedule --group-name`
        self.failure_rule_name = self.failure_rule.name
        self.failure_rule_arn = self.failure_rule.arn
        self.dead_letter_queue_name = self.dead_letter_queue.name
        self.dead_letter_queue_arn = self.dead_letter_queue.arn
        self.log_group_name = log_group.name
        self.register_outputs({
            "task_definition_family": family, "task_definition_arn": self.task_definition_arn,
            "execution_role_arn": self.execution_role_arn, "task_role_arn": self.task_role_arn,
            "schedule_name": self.schedule_name, "schedule_group_name": self.schedule_group_name,
            "failure_rule_name": self.failure_rule_name,
            "dead_letter_queue_name": self.dead_letter_queue_name, "log_group_name": self.log_group_name,
        })

    @staticmethod
    def _container_definitions(args: ScheduledTaskArgs, log_group_name: pulumi.Input[str]) -> pulumi.Output[str]:
        job = args.job
        container: dict[str, Any] = {
            "name": job.name,
            "image": args.image,
            "essential": True,
            "command": list(job.command),
            "environment": [{"name": k, "value": v} for k, v in sorted(args.environment.items())],
            "secrets": args.secrets.container_definition_entries(),
            "user": args.user,
            "readonlyRootFilesystem": args.readonly_root_filesystem,
            "logConfiguration": {"logDriver": "awslogs", "options": {
                "awslogs-group": log_group_name, "awslogs-region": args.ctx.region, "awslogs-stream-prefix": "job"}},
        }
        if args.readonly_root_filesystem:  # Django and Python still need a writable /tmp
            container["mountPoints"] = [{"sourceVolume": "tmp", "containerPath": "/tmp", "readOnly": False}]
        return pulumi.Output.json_dumps([container])

    @staticmethod
    def _scheduler_statements(args: ScheduledTaskArgs, family_arns: str, passed_roles: list[pulumi.Output[str]],
                              dead_letter_queue_arn: pulumi.Output[str]) -> list[dict[str, Any]]:
        ctx = args.ctx
        return [
            {"Sid": "RunThisJobsTaskDefinitionOnThisCluster", "Effect": "Allow", "Action": "ecs:RunTask",
             "Resource": family_arns, "Condition": {"ArnEquals": {"ecs:cluster": args.cluster_arn}}},
            # Tags propagated from the task definition are written by RunTask on the new task.
            {"Sid": "TagTheTasksItStarts", "Effect": "Allow", "Action": "ecs:TagResource",
             "Resource": pulumi.Output.concat(ctx.arn("ecs", "task/"), cluster_name_of(args.cluster_arn), "/*"),
             "Condition": {"StringEquals": {"ecs:CreateAction": "RunTask"}}},
            {"Sid": "PassExactlyTheJobsTwoRoles", "Effect": "Allow", "Action": "iam:PassRole",
             "Resource": passed_roles,
             "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}},
            {"Sid": "DeadLetterFailedInvocations", "Effect": "Allow", "Action": "sqs:SendMessage",
             "Resource": dead_letter_queue_arn},
            # The queue and the schedule's payload are encrypted with the telemetry key.
            {"Sid": "UseTheTelemetryKey", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
             "Resource": args.telemetry_key_arn},
        ]

    def _notify(self, ctx: StackContext, component: str, job: JobSettings, topic_arn: pulumi.Input[str],
                log_group_name: pulumi.Input[str]) -> None:
        """Publish each failed run to the alarm topic, with the dead-letter queue behind the target."""
        name = ctx.namer.name(component, "rule", "failed")
        template = pulumi.Output.concat(
            '"Scheduled job ', job.name, ' failed: task <task> stopped at <time> with exit code <exit> (<reason>). ',
            'Logs: ', log_group_name, '"')
        aws.cloudwatch.EventTarget(
            name,
            rule=self.failure_rule.name,
            target_id="alarm-topic",
            arn=topic_arn,
            input_transformer=aws.cloudwatch.EventTargetInputTransformerArgs(
                input_paths={"task": "$.detail.taskArn", "time": "$.time",
                             "exit": "$.detail.containers[0].exitCode", "reason": "$.detail.stoppedReason"},
                input_template=template,
            ),
            retry_policy=aws.cloudwatch.EventTargetRetryPolicyArgs(maximum_retry_attempts=10,
                                                                   maximum_event_age_in_seconds=3600),
            dead_letter_config=aws.cloudwatch.EventTargetDeadLetterConfigArgs(arn=self.dead_letter_queue.arn),
            opts=pulumi.ResourceOptions(parent=self.failure_rule),
        )
        # EventBridge (not a role) delivers undeliverable notifications to the queue: allow exactly this rule.
        aws.sqs.QueuePolicy(
            ctx.namer.name(component, "sqs", "dlq-policy"),
            queue_url=self.dead_letter_queue.url,
            policy=pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": [{
                "Sid": "FailureRuleDeadLetters", "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"}, "Action": "sqs:SendMessage",
                "Resource": self.dead_letter_queue.arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": self.failure_rule.arn}}}]}),
            opts=pulumi.ResourceOptions(parent=self.dead_letter_queue),
        )

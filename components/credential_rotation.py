"""CredentialRotation: when RDS rotates the master password, the web and worker services restart with the new one.

ECS reads container secrets only when a task starts, and RDS rotates the managed master password on its
own (every 7 days by default). After a rotation the running web and worker tasks keep the old password: connections
they already hold keep working (PostgreSQL checks a password only at login), every new one fails. Jobs and
the migration start a new task per run, so they read the new value anyway.

The fix is the one API call an operator would make, `ecs:UpdateService --force-new-deployment`, made by
AWS with no code of ours (docs/deploy-safety.md argues it against IAM database authentication):

    Secrets Manager RotationSucceeded (CloudTrail, for exactly this secret)
      -> EventBridge rule -> Step Functions (AWS SDK integration ecs:updateService, ForceNewDeployment)
      -> ECS starts new tasks, which read the new password; failed executions -> the alarm topic

- The rule matches the event shape Secrets Manager documents for rotation ("Match events when a secret
  value rotates": detail-type "AWS Service Event via CloudTrail", eventName RotationSucceeded, the secret
  ARN in detail.additionalEventData.SecretId); tests/test_deploy_safety.py runs the pattern against AWS's
  published sample event.
- EventBridge may start exactly this state machine; the state machine may update exactly these services.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.context import StackContext
from components.iam import cluster_name_of, service_role

COMPONENT = "rotation"


def rotation_event_pattern(secret_arn: pulumi.Input[str]) -> pulumi.Output[str]:
    """A successful rotation of exactly this secret (Secrets Manager user guide, monitoring-eventbridge)."""
    return pulumi.Output.json_dumps({
        "source": ["aws.secretsmanager"],
        "detail-type": ["AWS Service Event via CloudTrail"],
        "detail": {
            "eventSource": ["secretsmanager.amazonaws.com"],
            "eventName": ["RotationSucceeded"],
            "additionalEventData": {"SecretId": [secret_arn]},
        },
    })


def redeploy_definition(cluster_arn: pulumi.Input[str],
                        service_names: Sequence[pulumi.Input[str]]) -> pulumi.Output[str]:
    """One Task state per service, in order: the Step Functions AWS SDK integration for ECS UpdateService (no
    Lambda)."""
    states = {f"Restart{i}": {
        "Type": "Task",
        "Resource": "arn:aws:states:::aws-sdk:ecs:updateService",
        "Parameters": {"Cluster": cluster_arn, "Service": name, "ForceNewDeployment": True},
        # A deployment already in progress is fine: UpdateService starts a new one; retry throttling only.
        "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 30, "MaxAttempts": 3, "BackoffRate": 2}],
        **({"Next": f"Restart{i + 1}"} if i + 1 < len(service_names) else {"End": True}),
    } for i, name in enumerate(service_names)}
    return pulumi.Output.json_dumps({
        "Comment": "Restart the services' tasks so that they read the rotated database password",
        "StartAt": "Restart0",
        "States": states,
    })


@dataclass
class CredentialRotationArgs:
    ctx: StackContext
    secret_arn: pulumi.Input[str]  # Database.master_user_secret_arn: the RDS-managed secret
    cluster_arn: pulumi.Input[str]
    service_names: Sequence[pulumi.Input[str]]  # the long-running services whose tasks hold the secret
    alarm_topic_arn: pulumi.Input[str]  # where a failed restart is reported


class CredentialRotation(pulumi.ComponentResource):
    """EventBridge rule on the secret's rotation -> Step Functions ecs:updateService forceNewDeployment."""

    rule: aws.cloudwatch.EventRule
    state_machine: aws.sfn.StateMachine

    def __init__(self, name: str, args: CredentialRotationArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("django-platform:credential_rotation:CredentialRotation", name, None, opts)
        ctx, namer = args.ctx, args.ctx.namer
        service_arns = [pulumi.Output.concat(ctx.arn("ecs", "service/"), cluster_name_of(args.cluster_arn), "/", name)
                        for name in args.service_names]

        machine_name = namer.name(COMPONENT, "sfn", "redeploy")
        machine_role = service_role(
            machine_name, namer.name(COMPONENT, "role", "redeploy"), "states.amazonaws.com",
            [{"Sid": "RestartTheServices", "Effect": "Allow", "Action": "ecs:UpdateService",
              "Resource": service_arns}],
            parent=self, description="Step Functions restarts the services after a password rotation",
            trust_conditions={"StringEquals": {"aws:SourceAccount": ctx.account_id},
                              "ArnLike": {"aws:SourceArn": ctx.arn("states", f"stateMachine:{machine_name}")}},
            boundary=ctx.permissions_boundary,
        )
        self.state_machine = aws.sfn.StateMachine(
            machine_name, name=machine_name, type="STANDARD", role_arn=machine_role.arn,
            definition=redeploy_definition(args.cluster_arn, args.service_names),
            opts=pulumi.ResourceOptions(parent=self, depends_on=machine_role.ready))

        rule_name = namer.name(COMPONENT, "rule", "db-password")
        self.rule = aws.cloudwatch.EventRule(
            rule_name, name=rule_name, description="RDS rotated the master password: restart the web tasks",
            event_pattern=rotation_event_pattern(args.secret_arn), opts=pulumi.ResourceOptions(parent=self))
        start_role = service_role(
            rule_name, namer.name(COMPONENT, "role", "start"), "events.amazonaws.com",
            [{"Sid": "StartTheRedeploy", "Effect": "Allow", "Action": "states:StartExecution",
              "Resource": self.state_machine.arn}],
            parent=self, description="EventBridge starts the restart of the web service after a rotation",
            trust_conditions={"StringEquals": {"aws:SourceAccount": ctx.account_id},
                              "ArnEquals": {"aws:SourceArn": ctx.arn("events", f"rule/{rule_name}")}},
            boundary=ctx.permissions_boundary,
        )
        aws.cloudwatch.EventTarget(rule_name, rule=self.rule.name, arn=self.state_machine.arn,
                                   role_arn=start_role.arn,
                                   opts=pulumi.ResourceOptions(parent=self, depends_on=start_role.ready))
        self._report_failures(ctx, args.alarm_topic_arn)

        self.state_machine_arn = self.state_machine.arn
        self.rule_name = self.rule.name
        self.register_outputs({"state_machine_arn": self.state_machine_arn, "rule_name": self.rule_name})

    def _report_failures(self, ctx: StackContext, topic_arn: pulumi.Input[str]) -> None:
        """Standard workflows send execution status changes to EventBridge: a failed restart reaches people."""
        name = ctx.namer.name(COMPONENT, "rule", "redeploy-failed")
        pattern: dict[str, Any] = {
            "source": ["aws.states"],
            "detail-type": ["Step Functions Execution Status Change"],
            "detail": {"status": ["FAILED", "TIMED_OUT", "ABORTED"], "stateMachineArn": [self.state_machine.arn]},
        }
        rule = aws.cloudwatch.EventRule(name, name=name, description="The restart after a rotation failed",
                                        event_pattern=pulumi.Output.json_dumps(pattern),
                                        opts=pulumi.ResourceOptions(parent=self))
        aws.cloudwatch.EventTarget(name, rule=rule.name, arn=topic_arn, input_transformer=aws.cloudwatch.
                                   EventTargetInputTransformerArgs(
                                       input_paths={"status": "$.detail.status", "execution": "$.detail.executionArn"},
                                       input_template='"The services were not restarted after the database password '
                                                      'rotation (<status>): <execution>. New database connections fail '
                                                      'until it is: aws ecs update-service --force-new-deployment"'),
                                   opts=pulumi.ResourceOptions(parent=self))

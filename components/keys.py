"""Customer-managed KMS keys: one for data at rest, one for telemetry (logs, topics, queues).

Two keys rather than one keep the blast radius small: the telemetry key's policy must admit AWS
service principals (CloudWatch Logs, CloudWatch alarms, EventBridge), the data key's needs none,
so data can only be decrypted by IAM principals of this account that are granted it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.context import StackContext
from components.settings import KeySettings


@dataclass
class KeysArgs:
    ctx: StackContext
    settings: KeySettings
    # Other accounts that decrypt data-key data through a service (registry.consumer_key_statements).
    data_key_statements: list[dict] = field(default_factory=list)
    log_delivery: bool = False  # vended logs to S3 (flow logs): the telemetry key admits delivery.logs


def key_policy(ctx: StackContext, service_statements: list[dict]) -> pulumi.Output[str]:
    """The account root may administer the key (so IAM policies apply), plus service grants."""
    root = {
        "Sid": "AccountAdministersKeyThroughIam",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ctx.account_id}:root"},
        "Action": "kms:*",
        "Resource": "*",  # in a key policy, "*" means this key
    }
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": [root, *service_statements]})


def telemetry_service_statements(ctx: StackContext) -> list[dict]:
    """Service principals that write encrypted telemetry, confined to this account where AWS supports it."""
    logs = {
        "Sid": "CloudWatchLogsEncryptsThisAccountsLogGroups",
        "Effect": "Allow",
        "Principal": {"Service": f"logs.{ctx.region}.amazonaws.com"},
        "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
        "Resource": "*",
        "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": ctx.arn("logs", "log-group:*")}},
    }
    alarms = {
        "Sid": "CloudWatchAlarmsOfThisAccountPublishToEncryptedTopics",
        "Effect": "Allow",
        "Principal": {"Service": "cloudwatch.amazonaws.com"},
        "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
        "Resource": "*",
        "Condition": {
            "StringEquals": {"aws:SourceAccount": ctx.account_id},
            "ArnLike": {"aws:SourceArn": ctx.arn("cloudwatch", "alarm:*")},
        },
    }
    # No aws:SourceAccount / aws:SourceArn here: the SNS guide (sns-key-management, "compatibility with AWS
    # services") says they are not supported in a key policy for EventBridge delivering to an encrypted topic,
    # so such a condition would deny every delivery (rule targets and their dead-letter queues alike). Which
    # rules may publish is confined by the topic's and the queues' own policies (aws:SourceArn there).
    events = {
        "Sid": "EventBridgeDeliversToEncryptedTopicsAndQueues",
        "Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"},
        "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
        "Resource": "*",
    }
    return [logs, alarms, events]


def log_delivery_statement(ctx: StackContext) -> dict:
    """Vended-logs delivery to a bucket under this key, for this account's deliveries only (CloudWatch
    Logs guide, "Logs sent to Amazon S3": the key policy the destination bucket's SSE-KMS key needs)."""
    return {
        "Sid": "LogDeliveryOfThisAccountWritesEncryptedBuckets",
        "Effect": "Allow",
        "Principal": {"Service": "delivery.logs.amazonaws.com"},
        "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:SourceAccount": ctx.account_id},
                      "ArnLike": {"aws:SourceArn": ctx.arn("logs", "*")}},
    }


class Keys(pulumi.ComponentResource):
    """The platform's KMS keys with rotation and aliases: `data_key` and `telemetry_key`."""

    data_key: aws.kms.Key
    telemetry_key: aws.kms.Key

    def __init__(self, name: str, args: KeysArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("django-platform:keys:Keys", name, None, opts)
        ctx = args.ctx
        self.data_key = self._key(ctx, args.settings, "data", "Data at rest: RDS, ElastiCache, S3, ECR, secrets",
                                  args.data_key_statements)
        self.telemetry_key = self._key(ctx, args.settings, "telemetry",
                                       "Telemetry: CloudWatch Logs, SNS topics, SQS queues",
                                       [*telemetry_service_statements(ctx),
                                        *([log_delivery_statement(ctx)] if args.log_delivery else [])])
        self.data_key_arn = self.data_key.arn
        self.telemetry_key_arn = self.telemetry_key.arn
        self.register_outputs({"data_key_arn": self.data_key_arn, "telemetry_key_arn": self.telemetry_key_arn})

    def _key(self, ctx: StackContext, settings: KeySettings, purpose: str, description: str,
             service_statements: list[dict]) -> aws.kms.Key:
        name = ctx.namer.name("platform", "kms", purpose)
        key = aws.kms.Key(
            name,
            description=f"{ctx.namer.prefix} {description}",
            enable_key_rotation=True,
            rotation_period_in_days=365,
            deletion_window_in_days=settings.deletion_window_days,
            policy=key_policy(ctx, service_statements),
            opts=ctx.stateful(pulumi.ResourceOptions(parent=self)),
        )
        aws.kms.Alias(name, name=f"alias/{name}", target_key_id=key.key_id,
                      opts=pulumi.ResourceOptions(parent=self))
        return key

"""CloudWatch log groups: every one encrypted with the telemetry key and with a retention."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.context import StackContext


def encrypted_log_group(resource_name: str, log_group_name: str, ctx: StackContext,
                        key_arn: pulumi.Input[str], parent: pulumi.Resource,
                        retention_days: int | None = None) -> aws.cloudwatch.LogGroup:
    return aws.cloudwatch.LogGroup(
        resource_name,
        name=log_group_name,
        kms_key_id=key_arn,
        retention_in_days=retention_days or ctx.log_retention_days,
        opts=pulumi.ResourceOptions(parent=parent),
    )

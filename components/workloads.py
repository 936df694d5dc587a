"""What every task that runs the Django image shares: its security groups and its secrets.

The web service, the scheduled jobs and the pipeline's migration task all run the same image against
the same database and cache. Their security groups exist before the data tier (so RDS and Redis can
admit exactly them), and the data tier hands back one `ContainerSecrets` that each task definition
injects as ECS `secrets` and each execution role is allowed to read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.context import StackContext


@dataclass(frozen=True)
class ContainerSecret:
    """One ECS container secret: env var `name` filled from `value_from` (an SSM parameter or secret ARN,
    optionally with the `:json-key::` suffix), readable with `readable_arn` and decrypted with `key_arn`."""

    name: str
    value_from: pulumi.Input[str]
    readable_arn: pulumi.Input[str]
    key_arn: pulumi.Input[str]


@dataclass(frozen=True)
class ContainerSecrets:
    secrets: Sequence[ContainerSecret] = field(default_factory=tuple)

    def container_definition_entries(self) -> list[dict[str, pulumi.Input[str]]]:
        """The `secrets` list of a container definition."""
        return [{"name": s.name, "valueFrom": s.value_from} for s in self.secrets]

    def execution_role_statements(self) -> list[dict]:
        """Read exactly these secrets and parameters, decrypt with exactly their keys (nothing when empty)."""
        if not self.secrets:
            return []
        return [
            {"Sid": "ReadTheTasksSecrets", "Effect": "Allow",
             "Action": ["secretsmanager:GetSecretValue", "ssm:GetParameters"],
             "Resource": _unique([s.readable_arn for s in self.secrets])},
            {"Sid": "DecryptTheTasksSecrets", "Effect": "Allow", "Action": "kms:Decrypt",
             "Resource": _unique([s.key_arn for s in self.secrets])},
        ]


def _unique(values: list[pulumi.Input[str]]) -> pulumi.Output[list[str]]:
    return pulumi.Output.all(*values).apply(lambda resolved: sorted(set(resolved)))


@dataclass
class WorkloadSecurityGroupsArgs:
    ctx: StackContext
    vpc_id: pulumi.Input[str]


class WorkloadSecurityGroups(pulumi.ComponentResource):
    """Security groups of the web tasks and of the batch tasks (jobs and migrations run as `batch`).

    No ingress here: the load balancer adds the one rule the web group needs. Egress is open because
    tasks reach ECR, CloudWatch, Secrets Manager and the data tier; narrowing it needs VPC endpoints
    for every AWS API the app calls, which the network's `endpoints` setting provides when wanted.
    """

    def __init__(self, name: str, args: WorkloadSecurityGroupsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("django-platform:workloads:WorkloadSecurityGroups", name, None, opts)
        self.web_id = self._group(args, "web", "Django web tasks")
        self.batch_id = self._group(args, "batch", "Django scheduled jobs and migration tasks")
        self.register_outputs({"web_id": self.web_id, "batch_id": self.batch_id})

    def _group(self, args: WorkloadSecurityGroupsArgs, component: str, description: str) -> pulumi.Output[str]:
        name = args.ctx.namer.name(component, "sg")
        group = aws.ec2.SecurityGroup(name, name=name, description=description, vpc_id=args.vpc_id,
                                      opts=pulumi.ResourceOptions(parent=self))
        aws.vpc.SecurityGroupEgressRule(f"{name}-egress-all", security_group_id=group.id, ip_protocol="-1",
                                        cidr_ipv4="0.0.0.0/0", description="AWS APIs, data tier, the internet",
                                        opts=pulumi.ResourceOptions(parent=group))
        return group.id

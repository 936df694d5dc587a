"""Small IAM helpers shared by every component: service roles (each under the stack's permissions boundary),
scoped statements.

Every role the platform creates goes through `service_role`, which makes the permissions boundary a
required argument: the deploy role may only create roles that carry it (bootstrap/github_actions_roles.py),
and tests/test_iam_boundary.py fails for any aws:iam/role:Role in the dev or prod graph without it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True)
class ServiceRole:
    """A role and its inline policy. Whatever uses the role at once (a pipeline starts a run when it is
    created) depends on `ready`, not on the role alone: the RolePolicy is created after the role, in
    parallel with everything that only references the role's ARN."""

    role: aws.iam.Role
    policy: aws.iam.RolePolicy | None

    @property
    def arn(self) -> pulumi.Output[str]:
        return self.role.arn

    @property
    def name(self) -> pulumi.Output[str]:
        return self.role.name

    @property
    def ready(self) -> list[pulumi.Resource]:
        return [self.role, *([self.policy] if self.policy else [])]


# The bootstrap's boundary (bootstrap/permissions_boundary.py), used when `permissions_boundary` is not set.
BOOTSTRAP_BOUNDARY = "{system}-bootstrap-platform-boundary-policy"


def permissions_boundary_arn(configured: str, system: str, account_id: str) -> str:
    """The stack's permissions boundary: the configured policy ARN, else the bootstrap's in this account."""
    return configured or f"arn:aws:iam::{account_id}:policy/{BOOTSTRAP_BOUNDARY.format(system=system)}"


def service_role(resource_name: str, role_name: str, service: str, statements: Sequence[dict[str, Any]],
                 parent: pulumi.Resource, description: str,
                 trust_conditions: dict[str, Any] | None = None, *, boundary: pulumi.Input[str]) -> ServiceRole:
    """A role only `service` may assume (optionally under `trust_conditions`), with `statements` inline,
    bounded by the `boundary` policy (`ctx.permissions_boundary`).

    The inline policy lives in its own RolePolicy resource so the trust and the permissions show up
    as two diffs, and an empty statement list creates no policy at all (AWS rejects empty policies).
    """
    trust: dict[str, Any] = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    if trust_conditions:
        trust["Condition"] = trust_conditions
    role = aws.iam.Role(
        resource_name,
        name=role_name,
        description=description,
        permissions_boundary=boundary,
        assume_role_policy=pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": [trust]}),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    policy = aws.iam.RolePolicy(
        resource_name,
        role=role.id,
        policy=pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": list(statements)}),
        opts=pulumi.ResourceOptions(parent=role),
    ) if statements else None
    return ServiceRole(role, policy)


def log_stream_arns(log_group_arn: pulumi.Input[str]) -> pulumi.Output[str]:
    """The streams of one log group: the resource CreateLogStream and PutLogEvents are granted on."""
    return pulumi.Output.concat(log_group_arn, ":log-stream:*")


def ecr_pull_statements(repository_arn: pulumi.Input[str]) -> list[dict[str, Any]]:
    """Pull images from exactly one repository (the token call has no resource-level permission).

    The repository may be another account's (a promoting stack runs the images its source stack built):
    then its KMS key must let this role decrypt, in the key policy and here. Decrypt is allowed only
    through ECR and only for this repository's layers (ECR's encryption context `aws:ecr:arn`, ECR user
    guide "Encryption at rest"); in the same account it adds nothing beyond what ECR already does.
    """
    arn = pulumi.Output.from_input(repository_arn)
    return [
        {"Sid": "EcrLogin", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
        {"Sid": "PullTheAppImage", "Effect": "Allow",
         "Action": ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"],
         "Resource": repository_arn},
        {"Sid": "DecryptTheAppImageThroughEcr", "Effect": "Allow", "Action": "kms:Decrypt",
         "Resource": arn.apply(lambda a: "arn:{1}:kms:{3}:{4}:key/*".format(*a.split(":"))),
         "Condition": {"StringEquals": {"kms:ViaService": arn.apply(lambda a: f"ecr.{a.split(':')[3]}.amazonaws.com"),
                                        "kms:EncryptionContext:aws:ecr:arn": repository_arn}}},
    ]


def cluster_name_of(cluster_arn: pulumi.Input[str]) -> pulumi.Output[str]:
    """`arn:aws:ecs:region:account:cluster/NAME` -> NAME (task ARNs are scoped by cluster name)."""
    return pulumi.Output.from_input(cluster_arn).apply(lambda arn: arn.split("/")[-1])

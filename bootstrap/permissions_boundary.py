"""The permissions boundary every IAM role of the platform carries: the most any such role can ever do.

A role's effective permissions are the intersection of its own policies and its boundary
(https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html). The deploy roles
may create and change platform roles only with this boundary attached (github_actions_roles.py), so
whatever policy a pull request gives a platform role, the role stays inside this document: the AWS
services the platform's workloads use, passing the platform's own roles, no other IAM action (no role,
user, policy or key can be created through a platform role), and never the state backend.

The platform program attaches it by name (components/iam.py BOOTSTRAP_BOUNDARY), so its name lies
outside the deploy roles' IAM scope `{system}-{env}-*`: they can use it, never edit it.
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_aws as aws
from state_backend import bootstrap_name

# Services the platform's roles (ECS tasks and their execution, CodeBuild, CodePipeline, Scheduler,
# VPC Flow Logs) call, plus what a Django task commonly needs (S3 is in the list, SES and X-Ray here).
# tests/bootstrap/test_permissions_boundary.py checks that every action a platform role of the dev and
# prod graphs is granted falls inside the boundary, so a new service shows up there first.
WORKLOAD_SERVICES = (
    "cloudwatch", "codebuild", "codeconnections", "codepipeline", "codestar-connections", "ec2", "ecr", "ecs",
    "elasticache", "events", "kms", "logs", "rds", "rds-db", "s3", "scheduler", "secretsmanager", "ses", "sns",
    "sqs", "ssm", "ssmmessages", "states", "xray",
)


def boundary_name(system: str) -> str:
    """`{system}-bootstrap-platform-boundary-policy`: components/iam.py BOOTSTRAP_BOUNDARY builds the same name."""
    return bootstrap_name(system, "platform-boundary", "policy")


def boundary_policy(partition: str, account_id: str, system: str, environments: Sequence[str],
                    backend_arns: Sequence[pulumi.Input[str]]) -> dict:
    """The boundary document: `backend_arns` are the state bucket, its objects and the bootstrap's keys."""
    platform_roles = [f"arn:{partition}:iam::{account_id}:role/{system}-{env}-*" for env in environments]
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "WorkloadServices", "Effect": "Allow", "Action": [f"{s}:*" for s in WORKLOAD_SERVICES],
         "Resource": "*"},
        # The pipeline passes the task roles to ECS, the scheduler passes the job roles: platform roles only.
        {"Sid": "PassPlatformRoles", "Effect": "Allow", "Action": "iam:PassRole", "Resource": platform_roles},
        {"Sid": "NeverTheStateBackend", "Effect": "Deny", "Action": ["s3:*", "kms:*"],
         "Resource": list(backend_arns)},
    ]}


class PermissionsBoundary(pulumi.ComponentResource):
    """The managed policy; `arn` is what the platform's stacks attach (config key `permissions_boundary`)."""

    def __init__(self, name: str, system: str, policy: dict, opts: pulumi.ResourceOptions | None = None):
        super().__init__("django-platform:bootstrap:PermissionsBoundary", name, None, opts)
        policy_name = boundary_name(system)
        self.policy = aws.iam.Policy(
            policy_name, name=policy_name, policy=pulumi.Output.json_dumps(policy),
            description="Permissions boundary of every IAM role the platform creates",
            tags={"Name": policy_name},
            # Every platform role names it: deleting it first would fail anyway, and nothing else replaces it.
            opts=pulumi.ResourceOptions(parent=self, protect=True, retain_on_delete=True))
        self.arn = self.policy.arn
        self.register_outputs({"arn": self.arn})

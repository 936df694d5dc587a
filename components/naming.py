"""Resource names: `{system}-{env}-{component}[-{purpose}]-{kind}`, within each AWS type's limit.

The convention comes from the seed notes (system, environment, layer, purpose, AWS service). Every
name is lowercase `[a-z0-9-]`. When a name would exceed its type's limit, the middle part
(component and purpose) is truncated and a short hash of the full name is added, so the result is
deterministic, unique per input and still starts with `{system}-{env}-` and ends with the kind,
which is what the policy pack checks.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

# kind -> maximum length AWS accepts for that resource's name (AWS service quotas / API references).
NAME_LIMITS: dict[str, int] = {
    "alb": 32,  # elbv2 CreateLoadBalancer Name
    "tg": 32,  # elbv2 CreateTargetGroup Name
    "redis": 40,  # ElastiCache ReplicationGroupId
    "rds": 63,  # RDS DBInstanceIdentifier
    "role": 64,  # IAM role name
    "policy": 128,  # IAM policy name
    "s3": 63,  # S3 bucket name (3-63, globally unique)
    "sqs": 80,  # SQS queue name
    "rule": 64,  # EventBridge rule name
    "schedule": 64,  # EventBridge Scheduler schedule name
    "schedulegroup": 64,  # EventBridge Scheduler schedule group name
    "conn": 32,  # CodeConnections connection name
    "cp": 100,  # CodePipeline name
    "waf": 128,  # WAFv2 web ACL name
    "cb": 150,  # CodeBuild project name (2-150)
    "sg": 255,  # EC2 security group name
    "ecs": 255,  # ECS cluster name
    "svc": 255,  # ECS service name
    "task": 255,  # ECS task definition family
    "ecr": 256,  # ECR repository name
    "sns": 256,  # SNS topic name
    "kms": 250,  # KMS alias: the name AWS limits to 256 includes the "alias/" prefix the namer leaves out
    "cfn": 128,  # CloudFormation stack name
    "pg": 255,  # RDS / ElastiCache parameter group name
    "subnetgroup": 255,  # RDS / ElastiCache subnet group name
    "secret": 512,  # Secrets Manager secret name
    "alarm": 255,  # CloudWatch alarm name
    "dashboard": 255,  # CloudWatch dashboard name
}
DEFAULT_LIMIT = 255  # names that only live in a Name tag (VPC, subnets, NAT): tag values allow 256
HASH_LENGTH = 6

_SEGMENT = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def _slug(part: str) -> str:
    """Lowercase, with every run of characters outside [a-z0-9] turned into one hyphen."""
    return re.sub(r"[^a-z0-9]+", "-", part.lower()).strip("-")


@dataclass(frozen=True)
class Namer:
    """Builds names for one system and environment, e.g. Namer("django", "dev")."""

    system: str
    env: str

    def __post_init__(self) -> None:
        for label, value in (("system", self.system), ("env", self.env)):
            if not _SEGMENT.match(value):
                raise ValueError(f"naming: {label} {value!r} must be lowercase [a-z0-9-]")

    @property
    def prefix(self) -> str:
        return f"{self.system}-{self.env}"

    def name(self, component: str, kind: str, purpose: str | None = None) -> str:
        """`{system}-{env}-{component}[-{purpose}]-{kind}`, shortened to the kind's limit."""
        middle = "-".join(_slug(p) for p in (component, purpose) if p)
        return self._fit(middle, _slug(kind), NAME_LIMITS.get(kind, DEFAULT_LIMIT))

    def bucket(self, component: str, purpose: str, account_id: str) -> str:
        """A globally unique S3 bucket name: the account id goes before the kind."""
        middle = f"{_slug(component)}-{_slug(purpose)}-{account_id}"
        return self._fit(middle, "s3", NAME_LIMITS["s3"])

    def path(self, *parts: str) -> str:
        """Path-style names (log groups, SSM parameters): `/{system}/{env}/{part}/...`."""
        return "/" + "/".join([self.system, self.env, *(_slug(p) for p in parts)])

    def _fit(self, middle: str, kind: str, limit: int) -> str:
        full = f"{self.prefix}-{middle}-{kind}"
        if len(full) <= limit:
            return full
        digest = hashlib.sha256(full.encode()).hexdigest()[:HASH_LENGTH]
        room = limit - len(self.prefix) - len(kind) - len(digest) - 3  # three joining hyphens
        if room < 1:
            raise ValueError(f"naming: {self.prefix!r} leaves no room for a {kind} name of {limit} characters")
        head = middle[:room].rstrip("-")
        return f"{self.prefix}-{head}-{digest}-{kind}"

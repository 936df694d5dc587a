"""Registry: the ECR repository the Django image lives in, and where the other environments pull it from.

One build per commit (docs/delivery.md): the stack that builds (dev) owns the only application
repository; the stacks that promote (prod) create none and run dev's images by digest. So:
- Tags are immutable, images are scanned on push and encrypted with the data key.
- The lifecycle policy keeps the released images (tag `released-<commit>`, written once the image was
  migrated and its deployment reached a steady state) apart from builds that were never released:
  other environments run released images, so they must outlive every unreleased build.
- `registry.promote_to` names the environments in other accounts: the repository policy lets exactly
  their execution roles pull, and their promote role read image details (same account: their own IAM
  policies suffice, ECR user guide "Private repository policies").
- The repository is retained on delete: prod runs its images.
- A pull through cache rule for ECR Public (and for Docker Hub, with a credential) lets the build
  pull base images through this registry instead of anonymously from Docker Hub, whose pull rate
  limit shared build hosts hit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.context import StackContext
from components.naming import Namer
from components.settings import RegistrySettings

RELEASED_TAG_PREFIX = "released-"  # + commit: what the Verify stage tags once a release is steady
PULL_ACTIONS = ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"]


@dataclass
class RegistryArgs:
    ctx: StackContext
    settings: RegistrySettings
    key_arn: pulumi.Input[str]  # the data key: images are application code and configuration at rest


@dataclass(frozen=True)
class ImageSource:
    """Where a stack's application image lives: its own repository (it builds) or another stack's (it promotes)."""

    environment: str
    account_id: str
    region: str
    repository_name: str

    @property
    def repository_url(self) -> str:
        return f"{self.account_id}.dkr.ecr.{self.region}.amazonaws.com/{self.repository_name}"

    @property
    def repository_arn(self) -> str:
        return f"arn:aws:ecr:{self.region}:{self.account_id}:repository/{self.repository_name}"


def image_source(namer: Namer, region: str, account_id: str) -> ImageSource:
    """The application repository of the stack `namer` names, in `account_id`."""
    return ImageSource(namer.env, account_id, region, namer.name("app", "ecr"))


def consumer_role_patterns(namer: Namer, account_id: str) -> list[str]:
    """ARN patterns of the roles of another environment that pull this repository's images: the web
    service's execution role (components/web_service.py), each job's (components/scheduled_task.py), each
    worker's (components/workers.py), the pipeline's publish role (static files) and its promote role (last:
    the only one that reads image details) (components/delivery_pipeline.py).
    tests/test_registry.py checks them against the roles a promoting stack really creates."""
    prefix = f"arn:aws:iam::{account_id}:role/{namer.prefix}"
    return [f"{prefix}-web-execution-role", f"{prefix}-job-*-exec-role", f"{prefix}-worker-*-exec-role",
            f"{prefix}-pipeline-publish-role", f"{prefix}-pipeline-promote-role"]


def lifecycle_policy(settings: RegistrySettings) -> str:
    """Untagged layers expire first; released images and never-released builds are counted apart.

    An image matched by a rule is never expired by a rule of lower priority (ECR user guide, "Lifecycle
    policies": "An image that matches the tagging requirements of a rule cannot be expired by a rule with
    a lower priority"), so rule 2 shields the released images from rule 3. No rule uses `tagStatus: any`,
    which AWS would require to come last and would count untagged images against the budgets.
    """
    return json.dumps({"rules": [
        {"rulePriority": 1,
         "description": f"Expire untagged images after {settings.untagged_expiry_days} days",
         "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days",
                       "countNumber": settings.untagged_expiry_days},
         "action": {"type": "expire"}},
        {"rulePriority": 2,
         "description": f"Keep the last {settings.keep_release_images} released images",
         "selection": {"tagStatus": "tagged", "tagPatternList": [f"{RELEASED_TAG_PREFIX}*"],
                       "countType": "imageCountMoreThan", "countNumber": settings.keep_release_images},
         "action": {"type": "expire"}},
        {"rulePriority": 3,
         "description": f"Keep the last {settings.keep_build_images} builds that were never released",
         "selection": {"tagStatus": "tagged", "tagPatternList": ["*"], "countType": "imageCountMoreThan",
                       "countNumber": settings.keep_build_images},
         "action": {"type": "expire"}},
    ]}, sort_keys=True)


def repository_policy(settings: RegistrySettings, system: str) -> dict[str, Any] | None:
    """Pull for the other accounts' execution and promote roles; image details for their promote role.

    The principal is the account, narrowed by `aws:PrincipalArn`: a role ARN as principal must exist when
    the policy is written (IAM resolves it to an id), and dev is deployed before prod creates its roles.
    """
    if not settings.promote_to:
        return None
    statements = []
    for env, account in sorted(settings.promote_to.items()):
        roles = consumer_role_patterns(Namer(system, env), account)
        statements += [
            {"Sid": f"{env.capitalize()}PullsReleasedImages", "Effect": "Allow",
             "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": PULL_ACTIONS,
             "Condition": {"ArnLike": {"aws:PrincipalArn": roles}}},
            {"Sid": f"{env.capitalize()}PromoteReadsReleases", "Effect": "Allow",
             "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "ecr:DescribeImages",
             "Condition": {"ArnLike": {"aws:PrincipalArn": roles[-1]}}},
        ]
    return {"Version": "2012-10-17", "Statement": statements}


def consumer_key_statements(ctx: StackContext, settings: RegistrySettings) -> list[dict[str, Any]]:
    """Data key policy statements for the other accounts' pullers: kms:Decrypt only through ECR and only
    for this repository's layers (ECR's encryption context `aws:ecr:arn`, ECR user guide "Encryption at
    rest"). A cross-account KMS call needs the key policy and the caller's IAM policy to allow it."""
    if not settings.promote_to:
        return []
    repository_arn = ctx.arn("ecr", f"repository/{ctx.namer.name('app', 'ecr')}")
    return [{
        "Sid": f"{env.capitalize()}DecryptsReleasedImagesThroughEcr", "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "kms:Decrypt", "Resource": "*",
        "Condition": {"StringEquals": {"kms:ViaService": f"ecr.{ctx.region}.amazonaws.com",
                                       "kms:EncryptionContext:aws:ecr:arn": repository_arn},
                      "ArnLike": {"aws:PrincipalArn": consumer_role_patterns(Namer(ctx.namer.system, env), account)}},
    } for env, account in sorted(settings.promote_to.items())]


def cache_prefix(namer: Namer, upstream: str) -> str:
    """The repository prefix of a pull through cache rule: 2-30 characters, unique in the registry."""
    return f"{namer.prefix}-{upstream}"


class Registry(pulumi.ComponentResource):
    """ECR repository (immutable tags, scan on push, KMS, lifecycle), its cross-account policy and the
    pull through cache rules the build uses."""

    repository: aws.ecr.Repository

    def __init__(self, name: str, args: RegistryArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("django-platform:registry:Registry", name, None, opts)
        ctx, settings = args.ctx, args.settings
        repository_name = ctx.namer.name("app", "ecr")
        self.repository = aws.ecr.Repository(
            repository_name,
            name=repository_name,
            image_tag_mutability="IMMUTABLE",
            image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(scan_on_push=True),
            encryption_configurations=[aws.ecr.RepositoryEncryptionConfigurationArgs(
                encryption_type="KMS", kms_key=args.key_arn)],
            # Every environment runs these images: never deleted with the stack's images, and in production
            # also protected.
            force_delete=False,
            opts=ctx.stateful(pulumi.ResourceOptions(parent=self, retain_on_delete=True)),
        )
        aws.ecr.LifecyclePolicy(repository_name, repository=self.repository.name, policy=lifecycle_policy(settings),
                                opts=pulumi.ResourceOptions(parent=self))
        policy = repository_policy(settings, ctx.namer.system)
        if policy is not None:
            aws.ecr.RepositoryPolicy(repository_name, repository=self.repository.name, policy=json.dumps(policy),
                                     opts=pulumi.ResourceOptions(parent=self))
        self.cache_prefixes = self._pull_through_cache(ctx, settings)
        self.repository_url = self.repository.repository_url
        self.repository_arn = self.repository.arn
        self.repository_name = self.repository.name
        self.registry_host = self.repository.repository_url.apply(lambda url: url.split("/")[0])
        self.register_outputs({"repository_url": self.repository_url, "repository_arn": self.repository_arn,
                               "repository_name": self.repository_name, "cache_prefixes": self.cache_prefixes})

    def _pull_through_cache(self, ctx: StackContext, settings: RegistrySettings) -> dict[str, str]:
        """ECR Public needs no credential; Docker Hub needs one in Secrets Manager (ECR user guide, "Sync an
        upstream registry with an Amazon ECR private registry"). ECR creates each cached repository on the
        first pull by someone allowed ecr:CreateRepository and ecr:BatchImportUpstreamImage on it."""
        upstreams: dict[str, tuple[str, str | None]] = {}
        if settings.pull_through_cache:
            upstreams["ecr-public"] = ("public.ecr.aws", None)
        if settings.docker_hub_credential_arn:
            upstreams["docker-hub"] = ("registry-1.docker.io", settings.docker_hub_credential_arn)
        prefixes = {}
        for upstream, (url, credential) in upstreams.items():
            prefix = cache_prefix(ctx.namer, upstream)
            aws.ecr.PullThroughCacheRule(prefix, ecr_repository_prefix=prefix, upstream_registry_url=url,
                                         credential_arn=credential, opts=pulumi.ResourceOptions(parent=self))
            prefixes[upstream] = prefix
        return prefixes  # upstream (ecr-public, docker-hub) -> repository prefix

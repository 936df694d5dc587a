"""Registry: the ECR repository the Django image lives in (web service, jobs and migrations share it).

Tags are immutable, so a commit tag always names the same image and a deployment can be traced back
to its build; images are scanned on push, encrypted with the platform's data key, and a lifecycle
policy keeps the repository from growing forever (the seed keeps the last 20 release images).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.context import StackContext
from components.settings import RegistrySettings


@dataclass
class RegistryArgs:
    ctx: StackContext
    settings: RegistrySettings
    key_arn: pulumi.Input[str]  # the data key: images are application code and configuration at rest


def lifecycle_policy(settings: RegistrySettings) -> str:
    """Untagged layers (failed or superseded builds) expire first; then only the newest tagged images stay.

    `tagPatternList: ["*"]` selects every tagged image (a `tagged` rule needs a pattern or a prefix),
    and no rule uses `tagStatus: any`, which AWS would require to come last and would count the
    untagged images against the release budget.
    """
    return json.dumps({"rules": [
        {"rulePriority": 1,
         "description": f"Expire untagged images after {settings.untagged_expiry_days} days",
         "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days",
                       "countNumber": settings.untagged_expiry_days},
         "action": {"type": "expire"}},
        {"rulePriority": 2,
         "description": f"Keep the last {settings.keep_release_images} release images",
         "selection": {"tagStatus": "tagged", "tagPatternList": ["*"], "countType": "imageCountMoreThan",
                       "countNumber": settings.keep_release_images},
         "action": {"type": "expire"}},
    ]}, sort_keys=True)


class Registry(pulumi.ComponentResource):
    """ECR repository with immutable tags, scan on push, KMS encryption and a lifecycle policy."""

    repository: aws.ecr.Repository

    def __init__(self, name: str, args: RegistryArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("django-platform:registry:Registry", name, None, opts)
        ctx = args.ctx
        repository_name = ctx.namer.name("app", "ecr")
        self.repository = aws.ecr.Repository(
            repository_name,
            name=repository_name,
            image_tag_mutability="IMMUTABLE",
            image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(scan_on_push=True),
            encryption_configurations=[aws.ecr.RepositoryEncryptionConfigurationArgs(
                encryption_type="KMS", kms_key=args.key_arn)],
            # dev can be torn down with its images; in production the repository is protected and retained.
            force_delete=not ctx.production_like,
            opts=ctx.stateful(pulumi.ResourceOptions(parent=self)),
        )
        aws.ecr.LifecyclePolicy(repository_name, repository=self.repository.name,
                                policy=lifecycle_policy(args.settings),
                                opts=pulumi.ResourceOptions(parent=self))
        self.repository_url = self.repository.repository_url
        self.repository_arn = self.repository.arn
        self.repository_name = self.repository.name
        self.register_outputs({"repository_url": self.repository_url, "repository_arn": self.repository_arn,
                               "repository_name": self.repository_name})

"""The AWS provider every resource is created with: region from `aws:region`, default tags."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.settings import StackSettings


def default_tags(settings: StackSettings, stack: str) -> dict[str, str]:
    return {
        "system": settings.system,
        "environment": settings.environment,
        "managed-by": "pulumi",
        "repository": settings.repository,
        "pulumi-stack": stack,
    }


def tagged_provider(settings: StackSettings, stack: str) -> aws.Provider:
    """An explicit provider, so default tags reach every taggable resource of the program.

    Pulumi.yaml disables the default AWS provider, so a resource created without this one fails
    at preview instead of silently going untagged.
    """
    return aws.Provider(
        "aws",
        region=aws.config.region,
        default_tags=aws.ProviderDefaultTagsArgs(tags=default_tags(settings, stack)),
        opts=pulumi.ResourceOptions(),
    )

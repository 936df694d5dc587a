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


EDGE_REGION = "us-east-1"  # CloudFront takes viewer certificates from ACM in us-east-1 only


def edge_provider(settings: StackSettings, stack: str) -> aws.Provider:
    """A second explicit provider, pinned to us-east-1, for what CloudFront needs there (its viewer
    certificate: CloudFront developer guide, "Requirements for using SSL/TLS certificates with CloudFront",
    the certificate must be requested or imported in US East (N. Virginia)), whatever the stack's region."""
    return aws.Provider(
        "aws-us-east-1",
        region=EDGE_REGION,
        default_tags=aws.ProviderDefaultTagsArgs(tags=default_tags(settings, stack)),
        opts=pulumi.ResourceOptions(),
    )

"""Bootstrap, once per AWS account: state bucket, KMS keys, GitHub Actions OIDC roles (docs/ci-and-bootstrap.md)."""

import pulumi
import pulumi_aws as aws
from bootstrap_settings import CHECKS, PROJECT, load
from github_actions_roles import Backend, GitHubActionsRoles, GitHubActionsRolesArgs
from permissions_boundary import PermissionsBoundary, boundary_policy
from state_backend import StateBackend, StateBackendArgs

config = pulumi.Config(PROJECT)
raw = {key: config.get(key) for key in CHECKS}
# Raises with every bad key before any resource exists.
settings = load({key: value for key, value in raw.items() if value is not None}, aws.config.region)
region = settings.region
provider = aws.Provider("aws", region=region, default_tags=aws.ProviderDefaultTagsArgs(tags={
    "system": settings.system, "environment": "bootstrap", "managed-by": "pulumi",
    "repository": settings.repository, "pulumi-project": PROJECT}))
on_provider = pulumi.InvokeOptions(provider=provider)
account_id = aws.get_caller_identity(opts=on_provider).account_id
partition = aws.get_partition(opts=on_provider).partition
opts = pulumi.ResourceOptions(providers=[provider])

backend = StateBackend("state", StateBackendArgs(
    system=settings.system, account_id=account_id, partition=partition, region=region,
    environments=settings.environments, noncurrent_days=settings.state_noncurrent_days,
    deletion_window_days=settings.key_deletion_window_days), opts=opts)
boundary = PermissionsBoundary("boundary", settings.system, boundary_policy(
    partition, account_id, settings.system, settings.environments,
    [backend.bucket_arn, pulumi.Output.concat(backend.bucket_arn, "/*"), backend.state_key_arn,
     *backend.secrets_key_arns.values()]), opts=opts)
roles = GitHubActionsRoles("github", GitHubActionsRolesArgs(
    settings=settings, account_id=account_id, partition=partition, regions=list(settings.regions or [region]),
    backend=Backend(backend.bucket_arn, backend.state_key_arn, backend.secrets_key_arns, region),
    boundary_arn=boundary.arn), opts=opts)

pulumi.export("state_bucket", backend.bucket_name)
pulumi.export("backend_url", backend.backend_url)
pulumi.export("secrets_providers", backend.secrets_providers)  # `pulumi stack init <env> --secrets-provider`
pulumi.export("permissions_boundary_arn", boundary.arn)
pulumi.export("oidc_provider_arn", roles.oidc_provider_arn)
pulumi.export("preview_role_arn", roles.preview_role_arn)
pulumi.export("deploy_role_arns", roles.deploy_role_arns)
# `pulumi stack output github_variables`: the repository variables the workflows read (docs/security.md).
pulumi.export("github_variables", {
    "AWS_REGION": region,
    "AWS_PREVIEW_ROLE_ARN": roles.preview_role_arn,
    **{f"AWS_DEPLOY_ROLE_ARN_{env.upper()}": arn for env, arn in roles.deploy_role_arns.items()},
    "PULUMI_BACKEND_URL": backend.backend_url,
})

"""GitHub Actions OIDC provider and the two roles the workflows assume, with no long-lived keys.

- preview role: trusted by the repository's `pull_request` runs only. AWS's ReadOnlyAccess (preview
  and `--refresh` read resources and call data sources) minus reading secret values, plus reading the
  state and decrypting stack secrets. The one SSM read it keeps is the platform's release parameters
  (`/{system}/{env}/release/*`, plain Strings: the image tag the pipeline released), which every
  preview reads for the task definitions (components/release.py). `pulumi preview` takes no lock on any
  backend, so it writes nothing.
- deploy role: trusted by pushes to the main branch (dev) and by jobs of the protected GitHub
  environment (prod; the `environment:` subject replaces the `ref:` one when a job names an environment).
  Full use of the AWS services the platform creates, in the configured regions only; IAM only on
  `{system}-{env}-*` roles and policies of the configured environments; the state bucket and keys it
  may use but not weaken or delete.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
from bootstrap_settings import GITHUB_OIDC_HOST, BootstrapSettings
from state_backend import bootstrap_name

# IAM service prefixes of everything the platform program creates, apart from IAM itself (scoped below)
# and Route53 (a global service). tests/bootstrap checks every resource type of the dev and prod
# graphs against this list, so a component that starts using a new service fails there first.
DEPLOY_SERVICES = (
    "acm", "application-autoscaling", "cloudfront", "cloudwatch", "codebuild", "codeconnections", "codepipeline",
    "codestar-connections", "ec2", "ecr", "ecs", "elasticache", "elasticloadbalancing", "events", "kms",
    "logs", "rds", "s3", "scheduler", "secretsmanager", "sns", "sqs", "ssm", "wafv2",
)
GLOBAL_SERVICES = ("route53",)
# Service-linked roles AWS creates on first use of these services in an account.
SERVICE_LINKED_ROLES = (
    "ecs.amazonaws.com", "elasticloadbalancing.amazonaws.com", "rds.amazonaws.com",
    "elasticache.amazonaws.com", "ecs.application-autoscaling.amazonaws.com",
)
# Reading these returns secret values; the preview role never needs them (no refresh of secret values).
SECRET_READS = ("secretsmanager:GetSecretValue", "ssm:GetParameter", "ssm:GetParameters",
                "ssm:GetParametersByPath", "ssm:GetParameterHistory")
# The platform's release parameters (components/release.py): plain Strings every preview must read.
RELEASE_PARAMETER_PATH = "release"
# What would weaken or delete the backend itself.
BACKEND_BUCKET_CHANGES = (
    "s3:DeleteBucket", "s3:DeleteBucketPolicy", "s3:PutBucketPolicy", "s3:PutBucketVersioning",
    "s3:PutEncryptionConfiguration", "s3:PutBucketPublicAccessBlock", "s3:PutBucketOwnershipControls",
    "s3:PutBucketAcl", "s3:PutLifecycleConfiguration", "s3:DeleteObjectVersion",
)
BACKEND_KEY_CHANGES = ("kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:DisableKeyRotation", "kms:PutKeyPolicy")


@dataclass
class Backend:
    bucket_arn: pulumi.Input[str]
    state_key_arn: pulumi.Input[str]
    secrets_key_arn: pulumi.Input[str]
    region: str  # the bucket's region: S3 uses the state key from there


@dataclass
class GitHubActionsRolesArgs:
    settings: BootstrapSettings
    account_id: str
    partition: str
    regions: list[str]
    backend: Backend


def subjects(settings: BootstrapSettings) -> dict[str, list[str]]:
    """The OIDC `sub` claims each role trusts (GitHub's format: repo:OWNER/NAME:<context>)."""
    repo = f"repo:{settings.repository}"
    return {
        "preview": [f"{repo}:pull_request"],
        "deploy": [f"{repo}:ref:refs/heads/{settings.main_branch}", f"{repo}:environment:{settings.prod_environment}"],
    }


def trust_policy(provider_arn: pulumi.Input[str], trusted: list[str]) -> dict:
    audience = f"{GITHUB_OIDC_HOST}:aud"
    subject = f"{GITHUB_OIDC_HOST}:sub"
    return {"Version": "2012-10-17", "Statement": [{
        "Sid": "GitHubActionsOidc", "Effect": "Allow", "Principal": {"Federated": provider_arn},
        "Action": "sts:AssumeRoleWithWebIdentity",
        # StringEquals, never StringLike with wildcards: only these exact repository contexts
        "Condition": {"StringEquals": {audience: "sts.amazonaws.com", subject: trusted}},
    }]}


def _state_statements(backend: Backend, *, write: bool) -> list[dict]:
    objects = pulumi.Output.concat(backend.bucket_arn, "/*")
    object_actions = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"] if write else ["s3:GetObject"]
    key_actions = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"] if write else ["kms:Decrypt"]
    return [
        {"Sid": "ListStateBucket", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": backend.bucket_arn},
        {"Sid": "StateFiles", "Effect": "Allow", "Action": object_actions, "Resource": objects},
        {"Sid": "StateKeyThroughS3", "Effect": "Allow", "Action": key_actions, "Resource": backend.state_key_arn,
         "Condition": {"StringEquals": {"kms:ViaService": f"s3.{backend.region}.amazonaws.com"}}},
        {"Sid": "StackSecrets", "Effect": "Allow", "Action": [*key_actions, "kms:DescribeKey"],
         "Resource": backend.secrets_key_arn},
    ]


def release_parameter_arns(args: GitHubActionsRolesArgs) -> list[str]:
    """ARNs of the release parameters of every configured environment and region (`Namer.path` form)."""
    s = args.settings
    return [f"arn:{args.partition}:ssm:{region}:{args.account_id}:parameter/{s.system}/{env}/"
            f"{RELEASE_PARAMETER_PATH}/*" for env in s.environments for region in args.regions]


def preview_policy(backend: Backend, readable_parameters: list[str]) -> dict:
    """Inline policy of the preview role, next to ReadOnlyAccess; `readable_parameters` stay readable."""
    return {"Version": "2012-10-17", "Statement": [
        *_state_statements(backend, write=False),
        {"Sid": "NoSecretValues", "Effect": "Deny", "Action": list(SECRET_READS), "NotResource": readable_parameters},
        {"Sid": "NoObjectsBesidesState", "Effect": "Deny", "Action": "s3:GetObject",
         "NotResource": pulumi.Output.concat(backend.bucket_arn, "/*")},
    ]}


def iam_scope(partition: str, account_id: str, system: str, environments: list[str] | tuple[str, ...],
              kind: str) -> list[str]:
    """ARNs of the platform's IAM roles or policies: the namer gives them `{system}-{env}-...` names."""
    return [f"arn:{partition}:iam::{account_id}:{kind}/{system}-{env}-*" for env in environments]


def deploy_policy(args: GitHubActionsRolesArgs) -> dict:
    """Inline policy of the deploy role."""
    s, p, account = args.settings, args.partition, args.account_id
    roles = iam_scope(p, account, s.system, s.environments, "role")
    policies = iam_scope(p, account, s.system, s.environments, "policy")
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "PlatformServicesInItsRegions", "Effect": "Allow",
         "Action": [f"{service}:*" for service in DEPLOY_SERVICES], "Resource": "*",
         "Condition": {"StringEquals": {"aws:RequestedRegion": args.regions}}},
        {"Sid": "GlobalServices", "Effect": "Allow", "Action": [f"{service}:*" for service in GLOBAL_SERVICES],
         "Resource": "*"},
        {"Sid": "PlatformRoles", "Effect": "Allow", "Action": [
            "iam:CreateRole", "iam:DeleteRole", "iam:GetRole", "iam:UpdateRole", "iam:UpdateRoleDescription",
            "iam:UpdateAssumeRolePolicy", "iam:TagRole", "iam:UntagRole", "iam:ListRoleTags",
            "iam:PutRolePolicy", "iam:GetRolePolicy", "iam:DeleteRolePolicy", "iam:ListRolePolicies",
            "iam:AttachRolePolicy", "iam:DetachRolePolicy", "iam:ListAttachedRolePolicies",
            "iam:ListInstanceProfilesForRole", "iam:PassRole"], "Resource": roles},
        {"Sid": "PlatformPolicies", "Effect": "Allow", "Action": [
            "iam:CreatePolicy", "iam:DeletePolicy", "iam:GetPolicy", "iam:GetPolicyVersion",
            "iam:ListPolicyVersions", "iam:CreatePolicyVersion", "iam:DeletePolicyVersion",
            "iam:TagPolicy", "iam:UntagPolicy", "iam:ListPolicyTags"], "Resource": policies},
        {"Sid": "ReadAwsManagedPolicies", "Effect": "Allow", "Action": ["iam:GetPolicy", "iam:GetPolicyVersion"],
         "Resource": f"arn:{p}:iam::aws:policy/*"},
        {"Sid": "ServiceLinkedRoles", "Effect": "Allow", "Action": "iam:CreateServiceLinkedRole",
         "Resource": f"arn:{p}:iam::{account}:role/aws-service-role/*",
         "Condition": {"StringEquals": {"iam:AWSServiceName": list(SERVICE_LINKED_ROLES)}}},
        *_state_statements(args.backend, write=True),
        {"Sid": "BackendStaysIntact", "Effect": "Deny", "Action": list(BACKEND_BUCKET_CHANGES),
         "Resource": [args.backend.bucket_arn, pulumi.Output.concat(args.backend.bucket_arn, "/*")]},
        {"Sid": "BackendKeysStayIntact", "Effect": "Deny", "Action": list(BACKEND_KEY_CHANGES),
         "Resource": [args.backend.state_key_arn, args.backend.secrets_key_arn]},
    ]}


class GitHubActionsRoles(pulumi.ComponentResource):
    """OIDC provider (or an existing one) and the preview and deploy roles; outputs their ARNs."""

    def __init__(self, name: str, args: GitHubActionsRolesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("django-platform:bootstrap:GitHubActionsRoles", name, None, opts)
        s = args.settings
        child = pulumi.ResourceOptions(parent=self)
        if s.oidc_provider_arn:
            self.oidc_provider_arn: pulumi.Output[str] = pulumi.Output.from_input(s.oidc_provider_arn)
        else:
            # AWS validates GitHub's tokens against its own trusted CAs, so no thumbprint is pinned here.
            provider = aws.iam.OpenIdConnectProvider(
                bootstrap_name(s.system, "github", "oidc"), url=f"https://{GITHUB_OIDC_HOST}",
                client_id_lists=["sts.amazonaws.com"], tags={"Name": bootstrap_name(s.system, "github", "oidc")},
                opts=child)
            self.oidc_provider_arn = provider.arn
        trusted = subjects(s)

        self.preview_role = self._role(s.system, "preview", trusted["preview"], 3600,
                                       "GitHub Actions: pulumi preview on pull requests (read-only)")
        aws.iam.RolePolicyAttachment(bootstrap_name(s.system, "github-preview", "readonly"),
                                     role=self.preview_role.name,
                                     policy_arn=f"arn:{args.partition}:iam::aws:policy/ReadOnlyAccess",
                                     opts=pulumi.ResourceOptions(parent=self.preview_role))
        aws.iam.RolePolicy(bootstrap_name(s.system, "github-preview", "policy"), role=self.preview_role.name,
                           name=bootstrap_name(s.system, "github-preview", "policy"),
                           policy=pulumi.Output.json_dumps(
                               preview_policy(args.backend, release_parameter_arns(args))),
                           opts=pulumi.ResourceOptions(parent=self.preview_role))

        # Two hours: a first prod `pulumi up` (Multi-AZ RDS, Redis with failover) can outlast one.
        self.deploy_role = self._role(s.system, "deploy", trusted["deploy"], 7200,
                                      "GitHub Actions: pulumi up from main (dev) and the prod environment")
        aws.iam.RolePolicy(bootstrap_name(s.system, "github-deploy", "policy"), role=self.deploy_role.name,
                           name=bootstrap_name(s.system, "github-deploy", "policy"),
                           policy=pulumi.Output.json_dumps(deploy_policy(args)),
                           opts=pulumi.ResourceOptions(parent=self.deploy_role))

        self.preview_role_arn = self.preview_role.arn
        self.deploy_role_arn = self.deploy_role.arn
        self.register_outputs({"oidc_provider_arn": self.oidc_provider_arn,
                               "preview_role_arn": self.preview_role_arn, "deploy_role_arn": self.deploy_role_arn})

    def _role(self, system: str, purpose: str, trusted: list[str], max_seconds: int,
              description: str) -> aws.iam.Role:
        name = bootstrap_name(system, f"github-{purpose}", "role")
        return aws.iam.Role(name, name=name, description=description, max_session_duration=max_seconds,
                            assume_role_policy=pulumi.Output.json_dumps(
                                trust_policy(self.oidc_provider_arn, trusted)),
                            tags={"Name": name}, opts=pulumi.ResourceOptions(parent=self))

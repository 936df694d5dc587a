"""GitHub Actions OIDC provider and the roles the workflows assume, with no long-lived keys.

Who may assume what is decided by GitHub environments, whose names GitHub puts in the OIDC subject
(`repo:OWNER/NAME:environment:NAME`) and whose protection rules GitHub enforces before a job starts:
- preview role: trusted only by jobs of two environments. `preview`, with required reviewers, runs a pull
  request's previews: the code is the pull request's own, and the role can decrypt the stack secrets (a
  preview needs the stacks' config secrets and state), so a reviewer approves each run after reading the
  diff. `prod-preview`, whose deployment branch policy allows only `main` (GitHub matches it against
  GITHUB_REF, which is `refs/pull/N/merge` for a pull request), runs the deploy workflow's prod preview of
  merged code without a second approval. A pull request's automatic checks run offline, without any AWS
  credentials. AWS's ReadOnlyAccess
  (`pulumi preview` and `--refresh` read resources and call data sources) minus reading secret values,
  plus GetRandomPassword (the cache's AUTH token is generated with it on every run, and ReadOnlyAccess
  lacks it), reading the state and decrypting every environment's stack secrets. The one SSM read it
  keeps is the platform's release parameters (`/{system}/{env}/release/*`, plain Strings). `pulumi
  preview` takes no lock on any backend, so it writes nothing.
- one deploy role per platform environment, trusted only by jobs of the GitHub environment of the
  same name (restricted to the main branch; prod also with required reviewers). Full use of the AWS
  services the platform creates, in the configured regions only; IAM only on its own environment's
  `{system}-{env}-*` roles and policies, and roles only with the permissions boundary attached; the
  state bucket and the state key it may use but not weaken or delete; only its own environment's
  secrets key; no other environment's Secrets Manager values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
from bootstrap_settings import GITHUB_OIDC_HOST, BootstrapSettings
from state_backend import bootstrap_name

# IAM service prefixes of everything the platform program creates, apart from IAM itself (scoped below)
# and Route53 (a global service). tests/bootstrap checks every resource type of the dev and prod
# graphs against this list, so a component that starts using a new service fails there first.
DEPLOY_SERVICES = (
    "acm", "application-autoscaling", "cloudformation", "cloudfront", "cloudwatch", "codebuild", "codeconnections",
    "codepipeline",
    "codestar-connections", "ec2", "ecr", "ecs", "elasticache", "elasticloadbalancing", "events", "kms",
    "logs", "rds", "s3", "scheduler", "secretsmanager", "sns", "sqs", "ssm", "states", "wafv2",
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
# IAM calls on a role that accept the iam:PermissionsBoundary condition key (Service Authorization
# Reference, IAM: https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html):
# the deploy roles may make them only with the boundary in place.
BOUNDED_ROLE_CHANGES = ("iam:CreateRole", "iam:PutRolePermissionsBoundary", "iam:PutRolePolicy", "iam:DeleteRolePolicy",
                        "iam:AttachRolePolicy", "iam:DetachRolePolicy")
# The rest of a platform role's life; none of them can add permissions beyond the boundary.
ROLE_UPKEEP = ("iam:GetRole", "iam:DeleteRole", "iam:UpdateRole", "iam:UpdateRoleDescription",
               "iam:UpdateAssumeRolePolicy", "iam:TagRole", "iam:UntagRole", "iam:ListRoleTags", "iam:GetRolePolicy",
               "iam:ListRolePolicies", "iam:ListAttachedRolePolicies", "iam:ListInstanceProfilesForRole")
# What would change or drop the boundary itself.
BOUNDARY_CHANGES = ("iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion",
                    "iam:SetDefaultPolicyVersion", "iam:TagPolicy", "iam:UntagPolicy")
# AWS managed policies that grant administration (IAM, or everything): never attached by a deploy role.
ADMIN_POLICIES = ("AdministratorAccess", "PowerUserAccess", "IAMFullAccess", "job-function/SystemAdministrator",
                  "job-function/NetworkAdministrator", "AWSOrganizationsFullAccess", "AdministratorAccess-Amplify",
                  "AdministratorAccess-AWSElasticBeanstalk")
# Services the platform's roles are passed to (ECS tasks, CodeBuild, CodePipeline, Scheduler, Flow Logs).
PASSED_TO = ("ecs-tasks.amazonaws.com", "codebuild.amazonaws.com", "codepipeline.amazonaws.com",
             "scheduler.amazonaws.com", "vpc-flow-logs.amazonaws.com",
             "states.amazonaws.com", "events.amazonaws.com")  # the rotation restart (credential_rotation.py)


@dataclass
class Backend:
    bucket_arn: pulumi.Input[str]
    state_key_arn: pulumi.Input[str]
    secrets_key_arns: Mapping[str, pulumi.Input[str]]  # environment -> its stack's secrets key
    region: str  # the bucket's region: S3 uses the state key from there


@dataclass
class GitHubActionsRolesArgs:
    settings: BootstrapSettings
    account_id: str
    partition: str
    regions: list[str]
    backend: Backend
    boundary_arn: pulumi.Input[str]


def subjects(settings: BootstrapSettings) -> dict[str, list[str]]:
    """The OIDC `sub` claim each role trusts: a job of a GitHub environment presents
    `repo:OWNER/NAME:environment:NAME` (https://docs.github.com/en/actions/reference/security/oidc)."""
    repo = f"repo:{settings.repository}"
    previews = (settings.preview_environment, settings.prod_preview_environment)
    return {"preview": [f"{repo}:environment:{env}" for env in previews],
            **{f"deploy-{env}": [f"{repo}:environment:{env}"] for env in settings.environments}}


def github_environments(settings: BootstrapSettings) -> dict[str, dict[str, object]]:
    """The protection rules each trusted GitHub environment needs, which only GitHub enforces (Settings,
    Environments; https://docs.github.com/en/actions/reference/workflows-and-actions/deployments-and-environments).
    A branch policy is matched against GITHUB_REF, so `main` refuses pull requests (`refs/pull/N/merge`)."""
    main_only = {"deployment_branches": ["main"]}
    return {settings.preview_environment: {"deployment_branches": "all", "required_reviewers": True},
            settings.prod_preview_environment: {**main_only, "required_reviewers": False},
            **{env: {**main_only, "required_reviewers": env == "prod"} for env in settings.environments}}


def trust_policy(provider_arn: pulumi.Input[str], trusted: list[str]) -> dict:
    audience = f"{GITHUB_OIDC_HOST}:aud"
    subject = f"{GITHUB_OIDC_HOST}:sub"
    return {"Version": "2012-10-17", "Statement": [{
        "Sid": "GitHubActionsOidc", "Effect": "Allow", "Principal": {"Federated": provider_arn},
        "Action": "sts:AssumeRoleWithWebIdentity",
        # StringEquals, never StringLike with wildcards: only these exact repository contexts
        "Condition": {"StringEquals": {audience: "sts.amazonaws.com", subject: trusted}},
    }]}


def _state_statements(backend: Backend, secrets_keys: list[pulumi.Input[str]], *, write: bool) -> list[dict]:
    objects = pulumi.Output.concat(backend.bucket_arn, "/*")
    object_actions = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"] if write else ["s3:GetObject"]
    key_actions = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"] if write else ["kms:Decrypt"]
    return [
        {"Sid": "ListStateBucket", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": backend.bucket_arn},
        {"Sid": "StateFiles", "Effect": "Allow", "Action": object_actions, "Resource": objects},
        {"Sid": "StateKeyThroughS3", "Effect": "Allow", "Action": key_actions, "Resource": backend.state_key_arn,
         "Condition": {"StringEquals": {"kms:ViaService": f"s3.{backend.region}.amazonaws.com"}}},
        {"Sid": "StackSecrets", "Effect": "Allow", "Action": [*key_actions, "kms:DescribeKey"],
         "Resource": secrets_keys},
    ]


def release_parameter_arns(args: GitHubActionsRolesArgs) -> list[str]:
    """ARNs of the release parameters of every configured environment and region (`Namer.path` form)."""
    s = args.settings
    return [f"arn:{args.partition}:ssm:{region}:{args.account_id}:parameter/{s.system}/{env}/"
            f"{RELEASE_PARAMETER_PATH}/*" for env in s.environments for region in args.regions]


def preview_policy(backend: Backend, readable_parameters: list[str]) -> dict:
    """Inline policy of the preview role, next to ReadOnlyAccess; `readable_parameters` stay readable."""
    return {"Version": "2012-10-17", "Statement": [
        *_state_statements(backend, list(backend.secrets_key_arns.values()), write=False),
        # aws.secretsmanager.get_random_password (components/generated_secret.py) runs on every preview;
        # the action has no resource type, so "*" (Service Authorization Reference, Secrets Manager).
        {"Sid": "GenerateRandomPasswords", "Effect": "Allow", "Action": "secretsmanager:GetRandomPassword",
         "Resource": "*"},
        {"Sid": "NoSecretValues", "Effect": "Deny", "Action": list(SECRET_READS), "NotResource": readable_parameters},
        {"Sid": "NoObjectsBesidesState", "Effect": "Deny", "Action": "s3:GetObject",
         "NotResource": pulumi.Output.concat(backend.bucket_arn, "/*")},
    ]}


def iam_scope(partition: str, account_id: str, system: str, env: str, kind: str) -> str:
    """ARNs of one environment's IAM roles or policies: the namer gives them `{system}-{env}-...` names."""
    return f"arn:{partition}:iam::{account_id}:{kind}/{system}-{env}-*"


def deploy_policy(args: GitHubActionsRolesArgs, env: str) -> dict:
    """Inline policy of the deploy role of one platform environment."""
    s, p, account = args.settings, args.partition, args.account_id
    roles = iam_scope(p, account, s.system, env, "role")
    policies = iam_scope(p, account, s.system, env, "policy")
    with_boundary = {"StringEquals": {"iam:PermissionsBoundary": args.boundary_arn}}
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "PlatformServicesInItsRegions", "Effect": "Allow",
         "Action": [f"{service}:*" for service in DEPLOY_SERVICES], "Resource": "*",
         "Condition": {"StringEquals": {"aws:RequestedRegion": args.regions}}},
        {"Sid": "GlobalServices", "Effect": "Allow", "Action": [f"{service}:*" for service in GLOBAL_SERVICES],
         "Resource": "*"},
        {"Sid": "PlatformRolesOnlyWithTheBoundary", "Effect": "Allow", "Action": list(BOUNDED_ROLE_CHANGES),
         "Resource": roles, "Condition": with_boundary},
        {"Sid": "PlatformRoleUpkeep", "Effect": "Allow", "Action": list(ROLE_UPKEEP), "Resource": roles},
        # iam:PassRole has no boundary condition key: the name scope holds only roles created with the boundary.
        {"Sid": "PassPlatformRolesToTheirServices", "Effect": "Allow", "Action": "iam:PassRole", "Resource": roles,
         "Condition": {"StringEquals": {"iam:PassedToService": list(PASSED_TO)}}},
        {"Sid": "PlatformPolicies", "Effect": "Allow", "Action": [
            "iam:CreatePolicy", "iam:DeletePolicy", "iam:GetPolicy", "iam:GetPolicyVersion",
            "iam:ListPolicyVersions", "iam:CreatePolicyVersion", "iam:DeletePolicyVersion",
            "iam:TagPolicy", "iam:UntagPolicy", "iam:ListPolicyTags"], "Resource": policies},
        {"Sid": "ReadAwsManagedPolicies", "Effect": "Allow", "Action": ["iam:GetPolicy", "iam:GetPolicyVersion"],
         "Resource": f"arn:{p}:iam::aws:policy/*"},
        {"Sid": "ServiceLinkedRoles", "Effect": "Allow", "Action": "iam:CreateServiceLinkedRole",
         "Resource": f"arn:{p}:iam::{account}:role/aws-service-role/*",
         "Condition": {"StringEquals": {"iam:AWSServiceName": list(SERVICE_LINKED_ROLES)}}},
        *_state_statements(args.backend, [args.backend.secrets_key_arns[env]], write=True),
        {"Sid": "BoundaryStaysAsItIs", "Effect": "Deny", "Action": list(BOUNDARY_CHANGES),
         "Resource": args.boundary_arn},
        {"Sid": "BoundariesStayOn", "Effect": "Deny", "Action": "iam:DeleteRolePermissionsBoundary", "Resource": "*"},
        {"Sid": "NoAdministratorPolicies", "Effect": "Deny", "Action": "iam:AttachRolePolicy", "Resource": "*",
         "Condition": {"ArnLike": {"iam:PolicyARN": [f"arn:{p}:iam::aws:policy/{name}" for name in ADMIN_POLICIES]}}},
        # Secrets Manager is in the region-wide services above; values of other environments stay out of reach.
        {"Sid": "OnlyThisEnvironmentsSecretValues", "Effect": "Deny", "Action": "secretsmanager:GetSecretValue",
         "NotResource": f"arn:{p}:secretsmanager:*:{account}:secret:{s.system}-{env}-*"},
        {"Sid": "BackendStaysIntact", "Effect": "Deny", "Action": list(BACKEND_BUCKET_CHANGES),
         "Resource": [args.backend.bucket_arn, pulumi.Output.concat(args.backend.bucket_arn, "/*")]},
        {"Sid": "BackendKeysStayIntact", "Effect": "Deny", "Action": list(BACKEND_KEY_CHANGES),
         "Resource": [args.backend.state_key_arn, *args.backend.secrets_key_arns.values()]},
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
                                       f"GitHub Actions: pulumi preview in the {s.preview_environment} (approved runs) "
                                       f"and {s.prod_preview_environment} (main only) environments, read-only")
        aws.iam.RolePolicyAttachment(bootstrap_name(s.system, "github-preview", "readonly"),
                                     role=self.preview_role.name,
                                     policy_arn=f"arn:{args.partition}:iam::aws:policy/ReadOnlyAccess",
                                     opts=pulumi.ResourceOptions(parent=self.preview_role))
        aws.iam.RolePolicy(bootstrap_name(s.system, "github-preview", "policy"), role=self.preview_role.name,
                           name=bootstrap_name(s.system, "github-preview", "policy"),
                           policy=pulumi.Output.json_dumps(
                               preview_policy(args.backend, release_parameter_arns(args))),
                           opts=pulumi.ResourceOptions(parent=self.preview_role))

        self.deploy_roles: dict[str, aws.iam.Role] = {}
        for env in s.environments:
            # Two hours: a first prod `pulumi up` (Multi-AZ RDS, Redis with failover) can outlast one.
            role = self._role(s.system, f"deploy-{env}", trusted[f"deploy-{env}"], 7200,
                              f"GitHub Actions: pulumi up of the {env} stack in the {env} environment")
            aws.iam.RolePolicy(bootstrap_name(s.system, f"github-deploy-{env}", "policy"), role=role.name,
                               name=bootstrap_name(s.system, f"github-deploy-{env}", "policy"),
                               policy=pulumi.Output.json_dumps(deploy_policy(args, env)),
                               opts=pulumi.ResourceOptions(parent=role))
            self.deploy_roles[env] = role

        self.preview_role_arn = self.preview_role.arn
        self.deploy_role_arns = {env: role.arn for env, role in self.deploy_roles.items()}
        self.register_outputs({"oidc_provider_arn": self.oidc_provider_arn,
                               "preview_role_arn": self.preview_role_arn, "deploy_role_arns": self.deploy_role_arns})

    def _role(self, system: str, purpose: str, trusted: list[str], max_seconds: int,
              description: str) -> aws.iam.Role:
        """A role for GitHub's OIDC tokens. No permissions boundary: the platform's boundary is for the roles
        these create; the bootstrap's roles are the administrator's, fixed here and outside the deploy scope."""
        name = bootstrap_name(system, f"github-{purpose}", "role")
        return aws.iam.Role(name, name=name, description=description, max_session_duration=max_seconds,
                            assume_role_policy=pulumi.Output.json_dumps(
                                trust_policy(self.oidc_provider_arn, trusted)),
                            tags={"Name": name},
                            opts=pulumi.ResourceOptions(parent=self))

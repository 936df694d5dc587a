"""The permissions boundary: every platform role carries it, and the deploy roles cannot escape it.

The graph test reads EVERY aws:iam/role:Role of the dev and prod graphs, whoever created it, so a role
a new component adds without the boundary fails here. The deploy-role tests evaluate requests against
the role's inline policy (tests/iam_documents.py `decide`): explicit deny, allow, or implicit deny.
"""

from __future__ import annotations

import fnmatch

import pytest

from tests.bootstrap.test_bootstrap import bootstrap, by_sid, deploy
from tests.harness import ACCOUNT_ID, Graph, run_stack, settings_error, statements
from tests.iam_documents import actions_of, as_list, decide

BOUNDARY = f"arn:aws:iam::{ACCOUNT_ID}:policy/django-bootstrap-platform-boundary-policy"


@pytest.fixture(scope="module")
def boot() -> Graph:
    return bootstrap()


def boundary_statements(graph: Graph) -> list[dict]:
    return statements(graph.one("aws:iam/policy:Policy", "*-platform-boundary-policy"))


def test_the_bootstrap_creates_the_boundary_the_stacks_attach(boot):
    policy = boot.one("aws:iam/policy:Policy", "*-platform-boundary-policy")
    assert policy.outputs["arn"] == BOUNDARY == boot.outputs["permissions_boundary_arn"]["value"]
    assert policy.protect and policy.retain_on_delete


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_role_of_the_platform_carries_the_boundary(stack, dev, prod):
    graph = {"dev": dev, "prod": prod}[stack]
    roles = graph.of_type("aws:iam/role:Role")
    assert len(roles) >= 9
    missing = [r.name for r in roles if r.inputs.get("permissionsBoundary") != BOUNDARY]
    assert missing == [], f"create these roles with components.iam.service_role: {missing}"


def test_a_configured_boundary_replaces_the_bootstraps():
    mine = f"arn:aws:iam::{ACCOUNT_ID}:policy/org/team-boundary"
    graph = run_stack("dev", overrides={"permissions_boundary": mine})
    assert {r.inputs["permissionsBoundary"] for r in graph.of_type("aws:iam/role:Role")} == {mine}
    error, empty = settings_error("dev", overrides={"permissions_boundary": "team-boundary"})
    assert "permissions_boundary" in str(error) and "IAM policy ARN" in str(error) and empty.resources == []


def test_the_boundary_allows_everything_the_platform_roles_are_granted(dev, prod, boot):
    """A boundary that silently cut a role's own grant would break the role at run time."""
    boundary = boundary_statements(boot)
    cut = set()
    for graph in (dev, prod):
        for policy in graph.of_type("aws:iam/rolePolicy:RolePolicy"):
            for statement in statements(policy):
                if statement["Effect"] != "Allow":
                    continue
                for action in actions_of(statement):
                    for resource in as_list(statement["Resource"]):
                        if not isinstance(resource, str) or decide(boundary, action, resource) != "allowed":
                            cut.add((policy.name, action, str(resource)))
    assert cut == set(), f"add the service to bootstrap/permissions_boundary.py WORKLOAD_SERVICES: {sorted(cut)}"


def test_the_boundary_keeps_platform_roles_out_of_iam_and_the_state_backend(boot):
    boundary = boundary_statements(boot)
    bucket = boot.one("aws:s3/bucket:Bucket").outputs["arn"]
    for action in ("iam:CreateRole", "iam:AttachRolePolicy", "iam:PutRolePolicy", "iam:CreateUser",
                   "iam:CreateAccessKey", "sts:AssumeRole", "organizations:LeaveOrganization"):
        assert decide(boundary, action) != "allowed", action
    assert decide(boundary, "iam:PassRole", f"arn:aws:iam::{ACCOUNT_ID}:role/django-dev-web-task-role") == "allowed"
    assert decide(boundary, "iam:PassRole", f"arn:aws:iam::{ACCOUNT_ID}:role/admin") == "not allowed"
    assert decide(boundary, "s3:GetObject", f"{bucket}/.pulumi/stacks/django-platform/prod.json") == "denied"
    for key in boot.of_type("aws:kms/key:Key"):
        assert decide(boundary, "kms:Decrypt", key.outputs["arn"]) == "denied"


# --- what the deploy roles may do with IAM ----------------------------------------------------------


def role_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT_ID}:role/{name}"


@pytest.mark.parametrize("action", ["iam:CreateRole", "iam:PutRolePolicy", "iam:AttachRolePolicy",
                                    "iam:DetachRolePolicy", "iam:DeleteRolePolicy", "iam:PutRolePermissionsBoundary"])
def test_deploy_roles_create_and_change_roles_only_with_the_boundary(boot, action):
    policy = deploy(boot, "dev")
    role = role_arn("django-dev-web-task-role")
    assert decide(policy, action, role, {"iam:PermissionsBoundary": BOUNDARY}) == "allowed"
    assert decide(policy, action, role) == "not allowed"  # no boundary
    other = f"arn:aws:iam::{ACCOUNT_ID}:policy/django-dev-anything-policy"
    assert decide(policy, action, role, {"iam:PermissionsBoundary": other}) == "not allowed"
    # never another environment's roles, never the bootstrap's
    assert decide(policy, action, role_arn("django-prod-web-task-role"), {"iam:PermissionsBoundary": BOUNDARY}) \
        == "not allowed"
    assert decide(policy, action, role_arn("django-bootstrap-github-deploy-prod-role"),
                  {"iam:PermissionsBoundary": BOUNDARY}) == "not allowed"


def test_deploy_roles_cannot_remove_or_change_the_boundary(boot):
    policy = deploy(boot, "prod")
    assert decide(policy, "iam:DeleteRolePermissionsBoundary", role_arn("django-prod-web-task-role"),
                  {"iam:PermissionsBoundary": BOUNDARY}) == "denied"
    for action in ("iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion",
                   "iam:SetDefaultPolicyVersion"):
        assert decide(policy, action, BOUNDARY) == "denied", action


@pytest.mark.parametrize("managed", ["AdministratorAccess", "PowerUserAccess", "IAMFullAccess"])
def test_deploy_roles_cannot_attach_aws_managed_admin_policies(boot, managed):
    policy = deploy(boot, "dev")
    context = {"iam:PermissionsBoundary": BOUNDARY, "iam:PolicyARN": f"arn:aws:iam::aws:policy/{managed}"}
    assert decide(policy, "iam:AttachRolePolicy", role_arn("django-dev-web-task-role"), context) == "denied"


def test_deploy_roles_pass_their_roles_only_to_the_platforms_services(boot):
    policy = deploy(boot, "dev")
    role = role_arn("django-dev-web-task-role")
    assert decide(policy, "iam:PassRole", role, {"iam:PassedToService": "ecs-tasks.amazonaws.com"}) == "allowed"
    assert decide(policy, "iam:PassRole", role, {"iam:PassedToService": "lambda.amazonaws.com"}) == "not allowed"
    assert decide(policy, "iam:PassRole", role_arn("django-prod-web-task-role"),
                  {"iam:PassedToService": "ecs-tasks.amazonaws.com"}) == "not allowed"


def test_deploy_roles_pass_only_roles_the_platform_created(dev, boot):
    """Every role the platform passes (task definitions, projects, schedules) is in the deploy role's scope,
    where only roles created with the boundary can exist."""
    scope = by_sid(deploy(boot, "dev"), "PassPlatformRolesToTheirServices")["Resource"]
    created = {r.outputs["arn"] for r in dev.of_type("aws:iam/role:Role")}
    assert created and all(fnmatch.fnmatchcase(arn, scope) for arn in created)


def test_deploy_roles_may_pass_every_platform_role_to_the_service_that_assumes_it(dev, prod, boot):
    """A role is passed to the service its trust names; a component whose role trusts a new service fails here."""
    for env, graph in (("dev", dev), ("prod", prod)):
        policy = deploy(boot, env)
        for role in graph.of_type("aws:iam/role:Role"):
            for statement in statements(role, "assumeRolePolicy"):
                for service in as_list(statement["Principal"].get("Service", [])):
                    context = {"iam:PassedToService": service}
                    assert decide(policy, "iam:PassRole", role.outputs["arn"], context) == "allowed", (
                        f"{role.name} trusts {service}: add it to bootstrap/github_actions_roles.py PASSED_TO")

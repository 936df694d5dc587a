"""The bootstrap project (bootstrap/) under the mock runtime, like the platform program.

Its settings, the state bucket's protections, the keys, the OIDC trust of each role and what each role
may do; and two cross-checks that keep it true as the repository grows: the deploy role covers every
AWS service and IAM name the platform's dev and prod stacks create, and the roles trust exactly the
OIDC subjects the workflows present.
"""

from __future__ import annotations

import fnmatch
import json
import sys
from pathlib import Path

import pytest

from tests.harness import ACCOUNT_ID, Graph, Resource, run_stack, statements
from tests.test_workflows import pulumi_calls, workflow
from tools.analyzer import PolicyPackProcess, wire_resource

BOOTSTRAP = Path(__file__).resolve().parents[2] / "bootstrap"
sys.path.insert(0, str(BOOTSTRAP))

from bootstrap_settings import BootstrapSettingsError, load  # noqa: E402
from github_actions_roles import DEPLOY_SERVICES, GLOBAL_SERVICES, SECRET_READS, subjects  # noqa: E402

# pulumi-aws warns once per process, on first use of aws.s3, about its own deprecated V2 aliases.
pytestmark = pytest.mark.filterwarnings("ignore:.*has been deprecated in favor of:DeprecationWarning")

REPO = "example-org/django-platform"  # bootstrap/Pulumi.bootstrap.yaml
BUCKET = f"django-bootstrap-state-{ACCOUNT_ID}-s3"
BUCKET_ARN = f"arn:aws:s3:::{BUCKET}"
OIDC_ARN = f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/token.actions.githubusercontent.com"


def bootstrap(**overrides: str) -> Graph:
    return run_stack("bootstrap", overrides=overrides, project_dir=BOOTSTRAP)


@pytest.fixture(scope="module")
def graph() -> Graph:
    return bootstrap()


def one(graph: Graph, type_: str, name: str = "*") -> Resource:
    return graph.one(type_, name)


def role(graph: Graph, purpose: str) -> Resource:
    return one(graph, "aws:iam/role:Role", f"*-bootstrap-github-{purpose}-role")


def deploy(graph: Graph, env: str = "dev") -> list[dict]:
    return inline(graph, f"deploy-{env}")


def inline(graph: Graph, purpose: str) -> list[dict]:
    return statements(one(graph, "aws:iam/rolePolicy:RolePolicy", f"*-bootstrap-github-{purpose}-policy"))


def by_sid(found: list[dict], sid: str) -> dict:
    return next(s for s in found if s.get("Sid") == sid)


def key_arn(graph: Graph, purpose: str) -> str:
    return one(graph, "aws:kms/key:Key", f"django-bootstrap-{purpose}-kms").outputs["arn"]


# --- settings ------------------------------------------------------------------------------------


def test_settings_defaults():
    settings = load({"repository": REPO}, "eu-west-1")
    assert (settings.system, settings.environments, settings.preview_environment,
            settings.prod_preview_environment) == ("django", ("dev", "prod"), "preview", "prod-preview")
    assert (settings.region, settings.regions, settings.oidc_provider_arn) == ("eu-west-1", (), "")
    assert (settings.state_noncurrent_days, settings.key_deletion_window_days) == (90, 30)


@pytest.mark.parametrize("key, good, bad", [
    ("repository", "my-org/app.infra", "my-org"),
    ("system", "shop2", "Shop"),
    ("environments", '["dev", "stg", "prod"]', '["dev", "qa"]'),
    ("environments", '["prod"]', "[]"),
    ("environments", '["dev"]', '["dev", "dev"]'),
    ("regions", '["us-east-1", "eu-central-1"]', '["mars-1"]'),
    ("preview_environment", "pr-preview", "pr preview"),
    ("preview_environment", "preview.approved", "prod"),  # a deploy environment would trust the preview role
    ("prod_preview_environment", "main-preview", "dev"),
    ("prod_preview_environment", "release_preview", "prod preview"),
    ("prod_preview_environment", "main-preview", "preview"),  # the reviewed pull-request environment
    ("oidc_provider_arn", OIDC_ARN, f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/example.com"),
    ("state_noncurrent_days", "30", "0"),
    ("key_deletion_window_days", "7", "6"),
])
def test_each_setting_accepts_a_good_value_and_rejects_a_bad_one(key, good, bad):
    base = {"repository": REPO}
    assert load({**base, key: good}, "us-east-1")
    with pytest.raises(BootstrapSettingsError) as caught:
        load({**base, key: bad}, "us-east-1")
    (problem,) = caught.value.problems
    assert problem.startswith(f"django-platform-bootstrap:{key}: got ") and "expected" in problem


def test_settings_report_every_problem_at_once():
    with pytest.raises(BootstrapSettingsError) as caught:
        load({"system": "X", "colour": "blue"}, None)
    text = str(caught.value)
    assert "4 invalid setting(s)" in text
    for part in ("colour: no such key", "repository: missing", "aws:region: got null", "system: got \"X\""):
        assert part in text


def test_bad_config_registers_no_resource():
    with pytest.raises(BootstrapSettingsError) as caught:
        bootstrap(repository="not a repository", state_noncurrent_days="0")
    assert len(caught.value.problems) == 2
    assert caught.value.graph.resources == []  # type: ignore[attr-defined]


# --- state bucket and keys -------------------------------------------------------------------------


def test_state_bucket_is_versioned_private_and_kms_encrypted_with_the_state_key(graph):
    bucket = one(graph, "aws:s3/bucket:Bucket")
    assert bucket.inputs["bucket"] == BUCKET and bucket.inputs["forceDestroy"] is False
    versioning = one(graph, "aws:s3/bucketVersioning:BucketVersioning")
    assert versioning.inputs["versioningConfiguration"]["status"] == "Enabled"
    sse = one(graph, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    (rule,) = sse.inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "aws:kms",
                                                           "kmsMasterKeyId": key_arn(graph, "state")}
    assert rule["bucketKeyEnabled"] is True
    block = one(graph, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert all(block.inputs[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                                 "restrictPublicBuckets"))
    ownership = one(graph, "aws:s3/bucketOwnershipControls:BucketOwnershipControls")
    assert ownership.inputs["rule"]["objectOwnership"] == "BucketOwnerEnforced"
    for child in (versioning, sse, block, ownership):
        assert child.inputs["bucket"] == BUCKET and child.parent == bucket.urn


def test_state_bucket_refuses_plain_http_and_old_tls(graph):
    policy = one(graph, "aws:s3/bucketPolicy:BucketPolicy")
    found = statements(policy)
    assert {s["Effect"] for s in found} == {"Deny"}
    insecure = by_sid(found, "DenyInsecureTransport")
    assert insecure["Principal"] == "*" and insecure["Action"] == "s3:*"
    assert insecure["Resource"] == [BUCKET_ARN, f"{BUCKET_ARN}/*"]
    assert insecure["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert by_sid(found, "DenyOutdatedTls")["Condition"] == {"NumericLessThan": {"s3:TlsVersion": "1.2"}}
    block = one(graph, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert block.urn in policy.dependencies


def test_superseded_state_versions_expire_after_the_configured_days(graph):
    (rule,) = one(graph, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").inputs["rules"]
    assert rule["noncurrentVersionExpiration"] == {"noncurrentDays": 90}
    assert "expiration" not in rule  # the current state file never expires
    shorter = bootstrap(state_noncurrent_days="30")
    (rule,) = one(shorter, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").inputs["rules"]
    assert rule["noncurrentVersionExpiration"] == {"noncurrentDays": 30}


def test_bucket_and_keys_are_protected_and_retained(graph):
    keys = graph.of_type("aws:kms/key:Key")
    assert len(keys) == 3  # state, and one secrets key per environment
    for resource in [one(graph, "aws:s3/bucket:Bucket"), *keys]:
        assert resource.protect and resource.retain_on_delete, resource.name
    for key in keys:
        assert key.inputs["enableKeyRotation"] is True and key.inputs["deletionWindowInDays"] == 30


def test_outputs_are_what_stacks_log_in_with(graph):
    outputs = {k: v["value"] for k, v in graph.outputs.items()}
    assert outputs["backend_url"] == f"s3://{BUCKET}?region=us-east-1&awssdk=v2"
    assert outputs["secrets_providers"] == {
        env: f"awskms://alias/django-bootstrap-secrets-{env}-kms?region=us-east-1" for env in ("dev", "prod")}
    alias = one(graph, "aws:kms/alias:Alias", "django-bootstrap-secrets-prod-kms")
    assert alias.inputs["targetKeyId"] == "django-bootstrap-secrets-prod-kms-key-id"
    assert outputs["permissions_boundary_arn"] == (
        f"arn:aws:iam::{ACCOUNT_ID}:policy/django-bootstrap-platform-boundary-policy")
    assert outputs["github_variables"] == {
        "AWS_REGION": "us-east-1", "PULUMI_BACKEND_URL": outputs["backend_url"],
        "AWS_PREVIEW_ROLE_ARN": f"arn:aws:iam::{ACCOUNT_ID}:role/django-bootstrap-github-preview-role",
        "AWS_DEPLOY_ROLE_ARN_DEV": f"arn:aws:iam::{ACCOUNT_ID}:role/django-bootstrap-github-deploy-dev-role",
        "AWS_DEPLOY_ROLE_ARN_PROD": f"arn:aws:iam::{ACCOUNT_ID}:role/django-bootstrap-github-deploy-prod-role"}
    assert not any(v["secret"] for v in graph.outputs.values())


# --- OIDC trust ----------------------------------------------------------------------------------


def trust(resource: Resource) -> dict:
    (statement,) = statements(resource, "assumeRolePolicy")
    return statement


def test_oidc_provider_for_github_with_the_sts_audience(graph):
    provider = one(graph, "aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert provider.inputs["url"] == "https://token.actions.githubusercontent.com"
    assert provider.inputs["clientIdLists"] == ["sts.amazonaws.com"]


@pytest.mark.parametrize("purpose, expected", [
    # the pull requests' reviewed environment and the main-only one of the deploy workflow's prod preview
    ("preview", [f"repo:{REPO}:environment:preview", f"repo:{REPO}:environment:prod-preview"]),
    ("deploy-dev", [f"repo:{REPO}:environment:dev"]),
    ("deploy-prod", [f"repo:{REPO}:environment:prod"]),
])
def test_each_role_trusts_only_its_repository_contexts(graph, purpose, expected):
    statement = trust(role(graph, purpose))
    assert statement["Principal"] == {"Federated": OIDC_ARN}
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"] == {"StringEquals": {
        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
        "token.actions.githubusercontent.com:sub": expected}}


def test_preview_environment_and_an_existing_provider_are_configurable():
    custom = bootstrap(preview_environment="pr-preview", prod_preview_environment="main-preview",
                       environments='["dev", "stg", "prod"]',
                       oidc_provider_arn=OIDC_ARN.replace(ACCOUNT_ID, "210987654321"))
    assert custom.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider") == []
    statement = trust(role(custom, "deploy-stg"))
    assert statement["Principal"] == {"Federated": OIDC_ARN.replace(ACCOUNT_ID, "210987654321")}
    assert statement["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"] == [
        f"repo:{REPO}:environment:stg"]
    assert trust(role(custom, "preview"))["Condition"]["StringEquals"][
        "token.actions.githubusercontent.com:sub"] == [f"repo:{REPO}:environment:pr-preview",
                                                       f"repo:{REPO}:environment:main-preview"]
    assert set(custom.outputs["github_environments"]["value"]) == {"pr-preview", "main-preview", "dev", "stg", "prod"}


def test_the_prod_preview_environment_must_differ_from_the_reviewed_one():
    with pytest.raises(BootstrapSettingsError) as caught:
        load({"repository": REPO, "preview_environment": "checks", "prod_preview_environment": "checks"}, "us-east-1")
    assert caught.value.problems == ['django-platform-bootstrap:prod_preview_environment: got "checks"; expected a '
                                     'GitHub environment other than preview_environment ("checks")']
    # a bad preview_environment is reported once, not again as a clash with the default
    with pytest.raises(BootstrapSettingsError) as caught:
        load({"repository": REPO, "preview_environment": "prod", "prod_preview_environment": "preview"}, "us-east-1")
    assert [p.split(":")[1] for p in caught.value.problems] == ["preview_environment"]


def test_no_role_trusts_a_pull_request_or_a_branch_without_an_environment(graph):
    """A job without a GitHub environment (a pull request's own workflow edit, a push) gets no role."""
    for resource in graph.of_type("aws:iam/role:Role"):
        for subject in trust(resource)["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"]:
            assert subject.startswith(f"repo:{REPO}:environment:"), subject


def workflow_subject(job: dict) -> str:
    """The `sub` claim GitHub puts in a job's OIDC token: environment, else pull_request, else the ref."""
    environment = job["with"].get("environment")
    assert environment, "every job that assumes a role names its GitHub environment"
    return f"repo:{REPO}:environment:{environment}"


def test_roles_trust_exactly_the_subjects_the_workflows_present(graph):
    wanted: dict[str, set[str]] = {}
    for _, _, job in pulumi_calls():
        stack = job["with"]["stack"]
        purpose = "preview" if job["with"]["command"] == "preview" else f"deploy-{stack}"
        variable = "AWS_PREVIEW_ROLE_ARN" if purpose == "preview" else f"AWS_DEPLOY_ROLE_ARN_{stack.upper()}"
        assert job["with"]["role-to-assume"] == f"${{{{ vars.{variable} }}}}"
        wanted.setdefault(purpose, set()).add(workflow_subject(job))
    assert set(graph.outputs["github_variables"]["value"]) >= {"AWS_PREVIEW_ROLE_ARN", "AWS_DEPLOY_ROLE_ARN_DEV",
                                                                "AWS_DEPLOY_ROLE_ARN_PROD"}
    trusted = subjects(load({"repository": REPO}, "us-east-1"))
    assert {k: set(v) for k, v in trusted.items()} == wanted
    for purpose in wanted:
        assert set(trust(role(graph, purpose))["Condition"]["StringEquals"][
            "token.actions.githubusercontent.com:sub"]) == wanted[purpose]


def environment_problems(rules: dict[str, dict], calls: list[tuple[str, str, dict]]) -> list[str]:
    """What the GitHub environments' rules (the bootstrap's `github_environments` output) must give the
    workflows: a pull request gets credentials only after a review, code outside main never gets them
    unreviewed, and a prod release waits for exactly one approval, prod's."""
    problems = []
    for name, job_id, job in calls:
        environment = job["with"]["environment"]
        if environment not in rules:
            problems.append(f"{name}:{job_id}: environment {environment} has no rules")
        elif "pull_request" in workflow(name)["on"] and not rules[environment]["required_reviewers"]:
            problems.append(f"{name}:{job_id}: a pull request's code gets the role in {environment} unreviewed")
    for environment, rule in rules.items():
        if not rule["required_reviewers"] and rule["deployment_branches"] != ["main"]:
            problems.append(f"{environment}: neither reviewed nor limited to main")
    reviewed = [job_id for name, job_id, job in calls if name == "deploy.yml"
                and rules.get(job["with"]["environment"], {}).get("required_reviewers")]
    if reviewed != ["prod"]:
        problems.append(f"a prod release waits for the approvals of {reviewed}, not only prod's")
    return problems


def test_environment_rules_gate_pull_requests_and_let_a_release_take_one_approval(graph):
    rules = graph.outputs["github_environments"]["value"]
    assert rules == {
        "preview": {"deployment_branches": "all", "required_reviewers": True},
        "prod-preview": {"deployment_branches": ["main"], "required_reviewers": False},
        "dev": {"deployment_branches": ["main"], "required_reviewers": False},
        "prod": {"deployment_branches": ["main"], "required_reviewers": True}}
    assert environment_problems(rules, pulumi_calls()) == []


@pytest.mark.parametrize("change, problem", [
    # the deploy workflow's prod preview in the reviewed pull-request environment: two approvals
    (lambda rules, jobs: jobs["deploy.yml:prod-preview"]["with"].update(environment="preview"),
     "approvals of ['prod-preview', 'prod']"),
    (lambda rules, jobs: jobs["pull-request.yml:preview"]["with"].update(environment="prod-preview"),
     "gets the role in prod-preview unreviewed"),
    (lambda rules, jobs: rules["prod-preview"].update(deployment_branches="all"), "neither reviewed nor"),
    (lambda rules, jobs: rules["prod"].update(required_reviewers=False), "approvals of []"),
    (lambda rules, jobs: jobs["deploy.yml:dev"]["with"].update(environment="staging"), "staging has no rules"),
])
def test_the_environment_check_fails_on_rules_or_workflows_without_it(graph, change, problem):
    rules = json.loads(json.dumps(graph.outputs["github_environments"]["value"]))
    calls = [(name, job_id, json.loads(json.dumps(job))) for name, job_id, job in pulumi_calls()]
    change(rules, {f"{name}:{job_id}": job for name, job_id, job in calls})
    found = environment_problems(rules, calls)
    assert any(problem in p for p in found), found


# --- what each role may do -------------------------------------------------------------------------


WRITE_VERBS = ("Put", "Delete", "Create", "Update", "Attach", "Detach", "Encrypt", "GenerateDataKey", "Pass",
               "Tag", "Untag", "Schedule", "Disable")


def test_preview_role_reads_only_and_never_secret_values(graph):
    preview = role(graph, "preview")
    attachment = one(graph, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert attachment.inputs == {"role": preview.outputs["name"],
                                 "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}
    found = inline(graph, "preview")
    allowed = [a for s in found if s["Effect"] == "Allow"
               for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])]
    assert allowed and not [a for a in allowed if a.split(":")[1].startswith(WRITE_VERBS)]
    # Every secret read is denied but on the release parameters (plain Strings every preview reads).
    assert by_sid(found, "NoSecretValues") == {"Sid": "NoSecretValues", "Effect": "Deny",
                                               "Action": list(SECRET_READS), "NotResource": [
                                                   f"arn:aws:ssm:us-east-1:{ACCOUNT_ID}:parameter/django/{env}/"
                                                   "release/*" for env in ("dev", "prod")]}
    assert by_sid(found, "NoObjectsBesidesState")["NotResource"] == f"{BUCKET_ARN}/*"
    assert by_sid(found, "StateFiles") == {"Sid": "StateFiles", "Effect": "Allow", "Action": ["s3:GetObject"],
                                           "Resource": f"{BUCKET_ARN}/*"}
    state_key = by_sid(found, "StateKeyThroughS3")
    assert state_key["Resource"] == key_arn(graph, "state") and state_key["Action"] == ["kms:Decrypt"]
    assert state_key["Condition"] == {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}
    assert by_sid(found, "StackSecrets")["Resource"] == [key_arn(graph, "secrets-dev"), key_arn(graph, "secrets-prod")]
    assert role(graph, "preview").inputs["maxSessionDuration"] == 3600


def test_deploy_role_uses_platform_services_only_in_its_regions(graph):
    found = deploy(graph)
    services = by_sid(found, "PlatformServicesInItsRegions")
    assert services["Condition"] == {"StringEquals": {"aws:RequestedRegion": ["us-east-1"]}}
    assert not any(a.startswith(("iam:", "sts:", "organizations:")) for a in services["Action"])
    assert "*:*" not in json.dumps(found) and '"*"' not in json.dumps([s["Action"] for s in found])
    elsewhere = deploy(bootstrap(regions='["eu-west-1", "eu-central-1"]'))
    assert by_sid(elsewhere, "PlatformServicesInItsRegions")["Condition"] == {
        "StringEquals": {"aws:RequestedRegion": ["eu-west-1", "eu-central-1"]}}
    assert role(graph, "deploy-prod").inputs["maxSessionDuration"] == 7200


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_each_deploy_role_manages_iam_only_under_its_own_environment(graph, env):
    found = deploy(graph, env)
    arn = f"arn:aws:iam::{ACCOUNT_ID}"
    for sid in ("PlatformRolesOnlyWithTheBoundary", "PlatformRoleUpkeep", "PassPlatformRolesToTheirServices"):
        assert by_sid(found, sid)["Resource"] == f"{arn}:role/django-{env}-*"
    assert by_sid(found, "PlatformPolicies")["Resource"] == f"{arn}:policy/django-{env}-*"
    iam_statements = [s for s in found if s["Effect"] == "Allow" and any(
        a.startswith("iam:") for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"]))]
    for statement in iam_statements:  # never the bootstrap's own roles, never everything
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        assert "*" not in resources and not any("bootstrap" in r for r in resources)
    linked = by_sid(found, "ServiceLinkedRoles")
    assert "ecs.amazonaws.com" in linked["Condition"]["StringEquals"]["iam:AWSServiceName"]
    shop = bootstrap(environments='["dev"]', system="shop")
    assert by_sid(deploy(shop), "PlatformRoleUpkeep")["Resource"] == f"{arn}:role/shop-dev-*"
    assert not shop.of_type("aws:iam/rolePolicy:RolePolicy") or not [
        r for r in shop.of_type("aws:iam/role:Role") if "deploy-prod" in r.name]


def test_each_deploy_role_decrypts_and_reads_only_its_own_environments_secrets(graph):
    for env, other in (("dev", "prod"), ("prod", "dev")):
        found = deploy(graph, env)
        assert by_sid(found, "StackSecrets")["Resource"] == [key_arn(graph, f"secrets-{env}")]
        assert key_arn(graph, f"secrets-{other}") not in json.dumps([s for s in found if s["Effect"] == "Allow"])
        values = by_sid(found, "OnlyThisEnvironmentsSecretValues")
        assert values["Effect"] == "Deny" and values["Action"] == "secretsmanager:GetSecretValue"
        assert values["NotResource"] == f"arn:aws:secretsmanager:*:{ACCOUNT_ID}:secret:django-{env}-*"


def test_deploy_role_cannot_weaken_or_delete_the_backend(graph):
    found = deploy(graph)
    bucket = by_sid(found, "BackendStaysIntact")
    assert bucket["Effect"] == "Deny" and bucket["Resource"] == [BUCKET_ARN, f"{BUCKET_ARN}/*"]
    assert {"s3:DeleteBucket", "s3:PutBucketPolicy", "s3:PutBucketVersioning", "s3:DeleteObjectVersion",
            "s3:PutEncryptionConfiguration"} <= set(bucket["Action"])
    keys = by_sid(found, "BackendKeysStayIntact")
    assert keys["Effect"] == "Deny" and set(keys["Resource"]) == {
        key_arn(graph, "state"), key_arn(graph, "secrets-dev"), key_arn(graph, "secrets-prod")}
    assert "kms:ScheduleKeyDeletion" in keys["Action"]
    state = by_sid(found, "StateFiles")
    assert state["Action"] == ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]


# --- the deploy role covers what the platform creates ---------------------------------------------


# pulumi-aws module -> IAM service prefix (cloudwatch is split by resource: logs, events, cloudwatch)
MODULE_SERVICE = {
    "acm": "acm", "appautoscaling": "application-autoscaling", "cloudformation": "cloudformation",
    "cloudfront": "cloudfront", "codebuild": "codebuild",
    "codeconnections": "codeconnections", "codepipeline": "codepipeline",
    "codestarconnections": "codestar-connections", "ec2": "ec2", "vpc": "ec2", "ecr": "ecr", "ecs": "ecs",
    "elasticache": "elasticache", "lb": "elasticloadbalancing", "alb": "elasticloadbalancing", "iam": "iam",
    "kms": "kms", "rds": "rds", "route53": "route53", "s3": "s3", "scheduler": "scheduler",
    "secretsmanager": "secretsmanager", "sns": "sns", "sqs": "sqs", "ssm": "ssm", "wafv2": "wafv2",
    "sfn": "states",
}


def service_of(type_token: str) -> str:
    module, resource = type_token.split(":")[1].split("/")
    if module == "cloudwatch":
        return "logs" if resource.startswith("log") else "events" if resource.startswith("event") else "cloudwatch"
    assert module in MODULE_SERVICE, f"{type_token}: map its module to an IAM service prefix here"
    return MODULE_SERVICE[module]


def test_deploy_role_covers_every_service_the_platform_creates(dev, prod):
    used = {service_of(r.type) for graph in (dev, prod) for r in graph.custom()}
    allowed = {*DEPLOY_SERVICES, *GLOBAL_SERVICES, "iam"}
    assert used - allowed == set(), "add these to bootstrap/github_actions_roles.py DEPLOY_SERVICES"


def test_platform_iam_names_fall_inside_the_deploy_roles_scope(dev, prod, graph):
    for env, stack in (("dev", dev), ("prod", prod)):
        pattern = by_sid(deploy(graph, env), "PlatformRoleUpkeep")["Resource"].split(":", 5)[5]
        for resource in stack.of_type("aws:iam/role:Role", "aws:iam/policy:Policy"):
            kind = "role" if resource.type.endswith("Role") else "policy"
            name = resource.inputs.get("name")
            assert name, f"{resource.name}: give it a namer name, or the deploy role cannot manage it"
            assert fnmatch.fnmatch(f"{kind}/{name}", pattern.replace("role/", f"{kind}/")), name


def test_preview_role_reads_the_release_parameters_and_no_other_parameter_or_secret(dev, prod, graph):
    readable = by_sid(inline(graph, "preview"), "NoSecretValues")["NotResource"]
    for stack in (dev, prod):
        arns = {p.inputs["name"]: p.outputs["arn"] for p in stack.of_type("aws:ssm/parameter:Parameter")}
        read = {name for name, arn in arns.items() if any(fnmatch.fnmatch(arn, pattern) for pattern in readable)}
        assert read == {name for name in arns if name.endswith("/release/image-tag")} and read
        secrets = [s.outputs["arn"] for s in stack.of_type("aws:secretsmanager/secret:Secret")]
        assert secrets and not [s for s in secrets if any(fnmatch.fnmatch(s, p) for p in readable)]


# --- the organization's own guardrails -----------------------------------------------------------


def test_bootstrap_passes_the_policy_pack_once_bootstrap_is_an_allowed_environment(graph):
    """Everything but the naming rule holds as is; naming needs `bootstrap` among the environments."""
    inputs = [wire_resource(r, stack="bootstrap") for r in graph.resources]
    outputs = [wire_resource(r, state="outputs", stack="bootstrap") for r in graph.resources]
    with PolicyPackProcess(BOOTSTRAP.parent / "policies", stack="bootstrap",
                           project="django-platform-bootstrap") as pack:
        pack.configure({"naming-convention": {"system": "django", "environment": "bootstrap"}})
        default = pack.analyze_many(inputs) + pack.analyze_stack(outputs)
        pack.configure({"naming-convention": {"system": "django", "environment": "bootstrap",
                                              "environments": ["dev", "stg", "prod", "bootstrap"]},
                        "iam-role-permissions-boundary": {"exemptions": [{
                            "name": "*-bootstrap-github-*-role", "reason": "the CI roles are the administrator's: "
                            "they create the bounded roles and are outside the deploy roles' IAM scope"}]}})
        extended = pack.analyze_many(inputs) + pack.analyze_stack(outputs)
    assert default and {d.policy for d in default} == {"naming-convention", "iam-role-permissions-boundary"}
    extended = [d for d in extended if d.policy != "exemptions-applied"]
    assert extended == [], "\n".join(f"{d.policy} {d.urn}: {d.message}" for d in extended)

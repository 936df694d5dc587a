"""Build once, promote the same image: the dev and prod stacks together, in one account and in two.

dev builds, migrates, deploys and releases; prod has no build step, runs dev's images by digest, and
reaches them (in another account) through permissions both stacks create, scoped to one repository.
"""

from __future__ import annotations

import fnmatch
import json

import pytest

from tests.harness import Graph, run_stack, statements
from tools.mock_runtime import PlaceholderMocks

DEV_ACCOUNT, PROD_ACCOUNT = "111111111111", "123456789012"  # the mocks run every stack as 123456789012
DEV_REPOSITORY_ARN = f"arn:aws:ecr:us-east-1:{DEV_ACCOUNT}:repository/django-dev-app-ecr"
DEV_REPOSITORY_URL = f"{DEV_ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/django-dev-app-ecr"
RELEASED = f"{DEV_REPOSITORY_URL}@sha256:{'b' * 64}"  # what prod's pipeline released last
PROJECT = "aws:codebuild/project:Project"
TASK = "aws:ecs/taskDefinition:TaskDefinition"


def images(graph: Graph) -> dict[str, str]:
    return {task.name: json.loads(task.inputs["containerDefinitions"])[0]["image"] for task in graph.of_type(TASK)}


def role_policies(graph: Graph) -> dict[str, list[dict]]:
    """Role ARN -> its inline statements."""
    roles = {role.outputs["id"]: role.outputs["arn"] for role in graph.of_type("aws:iam/role:Role")}
    return {roles[policy.inputs["role"]]: statements(policy)
            for policy in graph.of_type("aws:iam/rolePolicy:RolePolicy")}


@pytest.fixture(scope="module")
def prod_elsewhere() -> Graph:
    """prod in its own account, after its pipeline released RELEASED."""
    call = PlaceholderMocks.call

    def live(self, args):  # type: ignore[no-untyped-def]
        if args.token == "aws:ssm/getParameter:getParameter" and args.args["name"] == "/django/prod/release/image-tag":
            return {"name": args.args["name"], "value": RELEASED, "insecureValue": RELEASED, "type": "String"}, []
        return call(self, args)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(PlaceholderMocks, "call", live)
        return run_stack("prod", {"pipeline.promote_from_account": DEV_ACCOUNT})


@pytest.fixture(scope="module")
def dev_shared() -> Graph:
    """dev when prod lives in PROD_ACCOUNT."""
    return run_stack("dev", {"registry.promote_to": json.dumps({"prod": PROD_ACCOUNT})})


def test_prod_has_no_image_build_step_and_no_registry_of_its_own(prod: Graph):
    # Docker runs in prod only to copy static files out of dev's image (its role pushes nothing: see below).
    assert [p.name for p in prod.of_type(PROJECT) if p.inputs["environment"]["privilegedMode"]] == [
        "django-prod-pipeline-publish-cb"]
    assert "django-prod-pipeline-build-cb" not in {p.name for p in prod.of_type(PROJECT)}
    assert prod.of_type("aws:ecr/repository:Repository", "aws:ecr/pullThroughCacheRule:PullThroughCacheRule") == []


def test_dev_still_builds_migrates_deploys_and_verifies(dev: Graph):
    pipeline = dev.one("aws:codepipeline/pipeline:Pipeline")
    assert [s["name"] for s in pipeline.inputs["stages"]] == ["Source", "Build", "Migrate", "Deploy", "Verify"]


def test_prod_promotes_from_the_repository_dev_pushes_to(dev: Graph, prod: Graph):
    dev_repository = dev.one("aws:ecr/repository:Repository").outputs["repositoryUrl"]
    promote = prod.one(PROJECT, "*-pipeline-promote-cb").inputs["environment"]["environmentVariables"]
    found = {v["name"]: v["value"] for v in promote}
    assert found["SOURCE_REPOSITORY_URI"] == dev_repository
    assert found["SOURCE_ENVIRONMENT"] == "dev" and found["SOURCE_REGISTRY_ID"] == PROD_ACCOUNT  # one account
    build = dev.one(PROJECT, "*-pipeline-build-cb").inputs["environment"]["environmentVariables"]
    assert {v["name"]: v["value"] for v in build}["REPOSITORY_URI"] == dev_repository


def test_prods_service_and_jobs_run_exactly_the_digest_its_pipeline_released(prod_elsewhere: Graph):
    assert set(images(prod_elsewhere)) == {"django-prod-web-task", "django-prod-job-clearsessions-task",
                                           "django-prod-worker-default-task"}
    assert set(images(prod_elsewhere).values()) == {RELEASED}


def test_prods_roles_reach_exactly_devs_repository_in_devs_account(prod_elsewhere: Graph):
    policies = role_policies(prod_elsewhere)
    pullers = {arn: {s["Sid"]: s for s in found} for arn, found in policies.items()
               if any(s.get("Sid") == "PullTheAppImage" for s in found)}
    assert sorted(arn.split("/")[-1] for arn in pullers) == [
        "django-prod-job-clearsessions-exec-role", "django-prod-pipeline-publish-role",
        "django-prod-web-execution-role", "django-prod-worker-default-exec-role"]
    for found in pullers.values():
        assert found["PullTheAppImage"]["Resource"] == DEV_REPOSITORY_ARN
        decrypt = found["DecryptTheAppImageThroughEcr"]
        assert decrypt["Resource"] == f"arn:aws:kms:us-east-1:{DEV_ACCOUNT}:key/*"
        assert decrypt["Condition"] == {"StringEquals": {"kms:ViaService": "ecr.us-east-1.amazonaws.com",
                                                         "kms:EncryptionContext:aws:ecr:arn": DEV_REPOSITORY_ARN}}
    (promote,) = [found for arn, found in policies.items() if arn.endswith("/django-prod-pipeline-promote-role")]
    (reads,) = [s for s in promote if s.get("Sid") == "ReadTheSourceEnvironmentsReleases"]
    assert reads["Resource"] == DEV_REPOSITORY_ARN and reads["Action"] == "ecr:DescribeImages"
    # Nothing in prod may write to dev's repository.
    writes = [s.get("Sid") for found in policies.values() for s in found
              if json.dumps(s.get("Resource")).find(DEV_ACCOUNT) >= 0
              and any(a in ("ecr:PutImage", "ecr:InitiateLayerUpload", "ecr:*") for a in
                      (s["Action"] if isinstance(s["Action"], list) else [s["Action"]]))]
    assert writes == []


def test_devs_repository_and_key_admit_exactly_the_roles_prod_pulls_with(dev_shared: Graph, prod: Graph):
    """Both halves of each cross-account permission: dev's resource policies name prod's roles, prod's IAM
    policies name dev's repository. The mocks run prod in the same account, so the ARNs compare as they are."""
    (policy,) = dev_shared.of_type("aws:ecr/repositoryPolicy:RepositoryPolicy")
    assert policy.inputs["repository"] == "django-dev-app-ecr"
    pull, describe = statements(policy)
    prod_roles = {r.outputs["arn"] for r in prod.of_type("aws:iam/role:Role")}
    pullers = {arn for arn, found in role_policies(prod).items()
               if any(s.get("Sid") == "PullTheAppImage" for s in found)}
    admitted = {arn for arn in prod_roles
                if any(fnmatch.fnmatch(arn, p) for p in pull["Condition"]["ArnLike"]["aws:PrincipalArn"])}
    assert pullers <= admitted  # every role that pulls is admitted ...
    assert admitted <= pullers | {f"arn:aws:iam::{PROD_ACCOUNT}:role/django-prod-pipeline-promote-role"}  # ... only
    assert fnmatch.fnmatch(f"arn:aws:iam::{PROD_ACCOUNT}:role/django-prod-pipeline-promote-role",
                           describe["Condition"]["ArnLike"]["aws:PrincipalArn"])
    data_key = dev_shared.one("aws:kms/key:Key", "*-data-kms")
    (grant,) = [s for s in statements(data_key) if s["Sid"] == "ProdDecryptsReleasedImagesThroughEcr"]
    assert grant["Condition"]["ArnLike"]["aws:PrincipalArn"] == pull["Condition"]["ArnLike"]["aws:PrincipalArn"]
    assert grant["Condition"]["StringEquals"]["kms:EncryptionContext:aws:ecr:arn"] == (
        dev_shared.one("aws:ecr/repository:Repository").outputs["arn"])

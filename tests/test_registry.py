"""Registry: the one application repository (dev's), its lifecycle, who else may pull, the pull through cache."""

from __future__ import annotations

import fnmatch
import json

import pytest

from components.naming import Namer
from components.registry import consumer_role_patterns
from tests.harness import Graph, run_stack, settings_error, statements

REPOSITORY = "aws:ecr/repository:Repository"
LIFECYCLE = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
REPOSITORY_POLICY = "aws:ecr/repositoryPolicy:RepositoryPolicy"
CACHE_RULE = "aws:ecr/pullThroughCacheRule:PullThroughCacheRule"
PROD_ACCOUNT = "222222222222"
DOCKER_HUB_SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/docker-hub-AbCdEf"


def rules(graph: Graph) -> list[dict]:
    return json.loads(graph.one(LIFECYCLE).inputs["policy"])["rules"]


@pytest.fixture(scope="module")
def shared_dev() -> Graph:
    """dev when prod lives in another account."""
    return run_stack("dev", {"registry.promote_to": json.dumps({"prod": PROD_ACCOUNT})})


def test_repository_is_immutable_scanned_and_encrypted_with_the_data_key(dev: Graph):
    repository = dev.one(REPOSITORY)
    data_key = dev.one("aws:kms/key:Key", "*-data-kms")
    assert repository.inputs["imageTagMutability"] == "IMMUTABLE"
    assert repository.inputs["imageScanningConfiguration"] == {"scanOnPush": True}
    assert repository.inputs["encryptionConfigurations"] == [
        {"encryptionType": "KMS", "kmsKey": data_key.outputs["arn"]}]
    assert data_key.urn in repository.dependencies
    assert repository.inputs["name"] == "django-dev-app-ecr"


def test_only_the_stack_that_builds_has_a_repository(dev: Graph, prod: Graph):
    assert prod.of_type(REPOSITORY, LIFECYCLE, CACHE_RULE) == []
    assert dev.outputs["repository_url"]["value"] == prod.outputs["repository_url"]["value"] == (
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/django-dev-app-ecr")


def test_the_repository_outlives_the_dev_stack_because_prod_runs_its_images(dev: Graph):
    repository = dev.one(REPOSITORY)
    assert repository.inputs["forceDelete"] is False and repository.retain_on_delete
    assert not repository.protect  # dev stays easy to tear down; the repository and its images stay


def test_lifecycle_keeps_released_images_apart_from_builds_never_released(dev: Graph):
    untagged, released, builds = rules(dev)
    assert untagged["selection"] == {"tagStatus": "untagged", "countType": "sinceImagePushed",
                                     "countUnit": "days", "countNumber": 7}
    # Rule 2 matches released images first, so rule 3 never counts (or expires) an image prod may run.
    assert released["selection"] == {"tagStatus": "tagged", "tagPatternList": ["released-*"],
                                     "countType": "imageCountMoreThan", "countNumber": 20}
    assert builds["selection"] == {"tagStatus": "tagged", "tagPatternList": ["*"],
                                   "countType": "imageCountMoreThan", "countNumber": 20}
    assert [r["rulePriority"] for r in (untagged, released, builds)] == [1, 2, 3]
    assert "any" not in {r["selection"]["tagStatus"] for r in rules(dev)}
    assert dev.one(LIFECYCLE).inputs["repository"] == dev.one(REPOSITORY).outputs["name"]


def test_lifecycle_counts_come_from_settings():
    untagged, released, builds = rules(run_stack("dev", {"registry.keep_release_images": "50",
                                                         "registry.keep_build_images": "5",
                                                         "registry.untagged_expiry_days": "3"}))
    assert (untagged["selection"]["countNumber"], released["selection"]["countNumber"],
            builds["selection"]["countNumber"]) == (3, 50, 5)


# --- prod in another account --------------------------------------------------------------------------------


def test_in_one_account_no_resource_policy_is_needed(dev: Graph):
    # Same account: prod's roles are allowed by their own IAM policies (and the key policy delegates to IAM).
    assert dev.of_type(REPOSITORY_POLICY) == []
    data_key = dev.one("aws:kms/key:Key", "*-data-kms")
    assert [s["Sid"] for s in statements(data_key)] == ["AccountAdministersKeyThroughIam"]


def test_another_account_may_pull_from_exactly_this_repository_with_exactly_its_roles(shared_dev: Graph):
    policy = shared_dev.one(REPOSITORY_POLICY)
    assert policy.inputs["repository"] == shared_dev.one(REPOSITORY).outputs["name"]  # the one repository
    pull, describe = statements(policy)
    roles = [f"arn:aws:iam::{PROD_ACCOUNT}:role/django-prod-web-execution-role",
             f"arn:aws:iam::{PROD_ACCOUNT}:role/django-prod-job-*-exec-role",
             f"arn:aws:iam::{PROD_ACCOUNT}:role/django-prod-worker-*-exec-role",
             f"arn:aws:iam::{PROD_ACCOUNT}:role/django-prod-pipeline-publish-role",  # static files: docker create
             f"arn:aws:iam::{PROD_ACCOUNT}:role/django-prod-pipeline-promote-role"]
    assert pull == {"Sid": "ProdPullsReleasedImages", "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{PROD_ACCOUNT}:root"},
                    "Action": ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"],
                    "Condition": {"ArnLike": {"aws:PrincipalArn": roles}}}
    assert describe["Action"] == "ecr:DescribeImages"  # read-only: prod never writes to dev's repository
    assert describe["Condition"] == {"ArnLike": {"aws:PrincipalArn": roles[-1]}}
    assert "Resource" not in pull  # a repository policy applies to its repository only


def test_the_data_key_lets_those_roles_decrypt_only_this_repositorys_layers_through_ecr(shared_dev: Graph):
    data_key = shared_dev.one("aws:kms/key:Key", "*-data-kms")
    found = {s["Sid"]: s for s in statements(data_key)}
    grant = found["ProdDecryptsReleasedImagesThroughEcr"]
    assert grant["Action"] == "kms:Decrypt" and grant["Principal"] == {"AWS": f"arn:aws:iam::{PROD_ACCOUNT}:root"}
    assert grant["Condition"]["StringEquals"] == {
        "kms:ViaService": "ecr.us-east-1.amazonaws.com",
        "kms:EncryptionContext:aws:ecr:arn": shared_dev.one(REPOSITORY).outputs["arn"]}
    assert grant["Condition"]["ArnLike"]["aws:PrincipalArn"][0].endswith(":role/django-prod-web-execution-role")
    telemetry = shared_dev.one("aws:kms/key:Key", "*-telemetry-kms")
    assert "ProdDecryptsReleasedImagesThroughEcr" not in {s["Sid"] for s in statements(telemetry)}


def test_the_admitted_role_patterns_are_the_roles_a_promoting_stack_creates(prod: Graph):
    patterns = consumer_role_patterns(Namer("django", "prod"), "123456789012")
    role_arns = [role.outputs["arn"] for role in prod.of_type("aws:iam/role:Role")]
    for pattern in patterns:  # each pattern names at least one real role ...
        assert [a for a in role_arns if fnmatch.fnmatch(a, pattern)], pattern
    pullers = [s for s in prod.of_type("aws:iam/rolePolicy:RolePolicy") for st in statements(s)
               if st.get("Sid") in ("PullTheAppImage", "ReadTheSourceEnvironmentsReleases")]
    for policy in pullers:  # ... and every role that pulls or reads dev's images is admitted
        role = next(r for r in prod.of_type("aws:iam/role:Role") if r.outputs["id"] == policy.inputs["role"]
                    or r.outputs["name"] == policy.inputs["role"])
        assert any(fnmatch.fnmatch(role.outputs["arn"], p) for p in patterns), role.name


# --- pull through cache ---------------------------------------------------------------------------------------


def test_builds_pull_base_images_through_an_ecr_public_cache_rule(dev: Graph):
    (rule,) = dev.of_type(CACHE_RULE)
    assert rule.inputs["ecrRepositoryPrefix"] == "django-dev-ecr-public"
    assert rule.inputs["upstreamRegistryUrl"] == "public.ecr.aws"
    assert "credentialArn" not in rule.inputs  # ECR Public needs no credential


def test_docker_hub_gets_a_cache_rule_only_with_a_credential():
    graph = run_stack("dev", {"registry.docker_hub_credential_arn": DOCKER_HUB_SECRET})
    rules_by_prefix = {r.inputs["ecrRepositoryPrefix"]: r.inputs for r in graph.of_type(CACHE_RULE)}
    assert rules_by_prefix["django-dev-docker-hub"]["upstreamRegistryUrl"] == "registry-1.docker.io"
    assert rules_by_prefix["django-dev-docker-hub"]["credentialArn"] == DOCKER_HUB_SECRET
    build = graph.one("aws:codebuild/project:Project", "*-pipeline-build-cb").inputs
    variables = {v["name"]: v["value"] for v in build["environment"]["environmentVariables"]}
    assert variables["DOCKER_HUB_REGISTRY"] == "123456789012.dkr.ecr.us-east-1.amazonaws.com/django-dev-docker-hub"
    policy = graph.one("aws:iam/rolePolicy:RolePolicy", "*-pipeline-build-cb")
    (cache,) = [s for s in statements(policy) if s["Sid"] == "PullBaseImagesThroughTheCache"]
    assert sorted(cache["Resource"]) == [
        "arn:aws:ecr:us-east-1:123456789012:repository/django-dev-docker-hub/*",
        "arn:aws:ecr:us-east-1:123456789012:repository/django-dev-ecr-public/*"]


def test_without_the_cache_builds_pull_ecr_public_directly():
    graph = run_stack("dev", {"registry.pull_through_cache": "false"})
    assert graph.of_type(CACHE_RULE) == []
    policy = graph.one("aws:iam/rolePolicy:RolePolicy", "*-pipeline-build-cb")
    assert "PullBaseImagesThroughTheCache" not in {s["Sid"] for s in statements(policy)}
    build = graph.one("aws:codebuild/project:Project", "*-pipeline-build-cb").inputs
    assert {"name": "BASE_REGISTRY", "value": "public.ecr.aws", "type": "PLAINTEXT"} in build["environment"][
        "environmentVariables"]


# --- settings -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("key", "value", "allowed"), [
    ("registry.keep_release_images", "0", "from 1 to 1000"),
    ("registry.keep_build_images", "0", "from 1 to 1000"),
    ("registry.untagged_expiry_days", "400", "from 1 to 365"),
    ("registry.promote_to", '{"prod": "2222"}', "12-digit AWS account id"),
    ("registry.promote_to", '{"production": "222222222222"}', "12-digit AWS account id"),
    ("registry.promote_to", '{"dev": "222222222222"}', "other than this one (dev)"),
    ("registry.pull_through_cache", "maybe", "true or false"),
    ("registry.docker_hub_credential_arn", "arn:aws:secretsmanager:us-east-1:123456789012:secret:dockerhub-AbCdEf",
     "ecr-pullthroughcache/"),
])
def test_bad_registry_settings_fail_before_any_resource(key: str, value: str, allowed: str):
    error, graph = settings_error("dev", {key: value})
    (problem,) = [p for p in error.problems if p.key == key]
    assert allowed in problem.allowed, problem
    assert graph.resources == []

"""Registry: immutable, scanned, KMS-encrypted ECR repository with a lifecycle policy."""

from __future__ import annotations

import json

import pytest

from tests.harness import Graph, run_stack, settings_error

REPOSITORY = "aws:ecr/repository:Repository"
LIFECYCLE = "aws:ecr/lifecyclePolicy:LifecyclePolicy"


def rules(graph: Graph) -> dict[str, dict]:
    policy = json.loads(graph.one(LIFECYCLE).inputs["policy"])
    return {rule["selection"]["tagStatus"]: rule for rule in policy["rules"]}


def test_repository_is_immutable_scanned_and_encrypted_with_the_data_key(stack_graph: Graph):
    repository = stack_graph.one(REPOSITORY)
    data_key = stack_graph.one("aws:kms/key:Key", "*-data-kms")
    assert repository.inputs["imageTagMutability"] == "IMMUTABLE"
    assert repository.inputs["imageScanningConfiguration"] == {"scanOnPush": True}
    assert repository.inputs["encryptionConfigurations"] == [
        {"encryptionType": "KMS", "kmsKey": data_key.outputs["arn"]}]
    assert data_key.urn in repository.dependencies
    assert repository.inputs["name"] in ("django-dev-app-ecr", "django-prod-app-ecr")


def test_dev_repository_can_be_destroyed_and_prod_repository_is_protected(dev: Graph, prod: Graph):
    dev_repo, prod_repo = dev.one(REPOSITORY), prod.one(REPOSITORY)
    assert dev_repo.inputs["forceDelete"] is True and not dev_repo.protect and not dev_repo.retain_on_delete
    assert prod_repo.inputs["forceDelete"] is False and prod_repo.protect and prod_repo.retain_on_delete


def test_lifecycle_keeps_the_last_20_release_images_and_expires_untagged_after_7_days(dev: Graph):
    found = rules(dev)
    assert found["tagged"]["selection"] == {"tagStatus": "tagged", "tagPatternList": ["*"],
                                            "countType": "imageCountMoreThan", "countNumber": 20}
    assert found["untagged"]["selection"] == {"tagStatus": "untagged", "countType": "sinceImagePushed",
                                              "countUnit": "days", "countNumber": 7}
    assert "any" not in found  # an `any` rule would count untagged layers against the release budget
    assert dev.one(LIFECYCLE).inputs["repository"] == dev.one(REPOSITORY).outputs["name"]


def test_lifecycle_counts_come_from_settings():
    found = rules(run_stack("dev", {"registry.keep_release_images": "50", "registry.untagged_expiry_days": "3"}))
    assert found["tagged"]["selection"]["countNumber"] == 50
    assert found["untagged"]["selection"]["countNumber"] == 3


@pytest.mark.parametrize(("key", "value"), [("registry.keep_release_images", "0"),
                                            ("registry.untagged_expiry_days", "400")])
def test_out_of_range_lifecycle_counts_fail_before_any_resource(key: str, value: str):
    error, graph = settings_error("dev", {key: value})
    assert f"django-platform:{key}: got {value}" in str(error)
    assert graph.resources == []

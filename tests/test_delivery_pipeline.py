"""DeliveryPipeline: stages of the stack that builds and of the stack that promotes, artifact store,
CodeBuild projects, least-privilege roles. The buildspecs themselves run in tests/test_buildspecs.py,
the two stacks together in tests/test_promotion.py."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from components import buildspecs
from components.delivery_pipeline import DeliveryPipeline, DeliveryPipelineArgs, StaticPublishing
from components.settings import load
from components.static_site import publisher_statements
from tests.harness import Graph, run_stack, settings_error, statements
from tests.isolated import arn, context, output, run_component

PIPELINE = "aws:codepipeline/pipeline:Pipeline"
PROJECT = "aws:codebuild/project:Project"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
BUCKET = "aws:s3/bucket:Bucket"

REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
DEV_REPOSITORY_URL = f"{REGISTRY}/django-dev-app-ecr"  # the only application repository: dev builds, prod promotes
DEV_REPOSITORY_ARN = arn("ecr", "repository/django-dev-app-ecr")
DATA_KEY = arn("kms", "key/data")
TELEMETRY_KEY = arn("kms", "key/telemetry")
STATIC_BUCKET = "django-prod-static-files-123456789012"
STATIC_BUCKET_ARN = f"arn:aws:s3:::{STATIC_BUCKET}"
STATIC_KEY = arn("kms", "key/static")
EXISTING_CONNECTION = arn("codestar-connections", "connection/0a1b2c3d-0000-4000-8000-123456789abc")


def names(env: str) -> dict[str, str]:
    return {"cluster": arn("ecs", f"cluster/django-{env}-ecs"), "service": f"django-{env}-web-svc",
            "service_arn": arn("ecs", f"service/django-{env}-ecs/django-{env}-web-svc"),
            "family": f"django-{env}-web-task", "job_family": f"django-{env}-job-a-task",
            "parameter": f"/django/{env}/release/image-tag",
            "parameter_arn": arn("ssm", f"parameter/django/{env}/release/image-tag")}


def web_roles(env: str) -> list[str]:
    return [f"arn:aws:iam::123456789012:role/django-{env}-web-{kind}-role" for kind in ("execution", "task")]


def job_roles(env: str) -> list[str]:
    return [f"arn:aws:iam::123456789012:role/django-{env}-job-a-{kind}-role" for kind in ("exec", "task")]


def build(env: str = "prod", static: bool = False, **pipeline: str) -> Graph:
    """The component as __main__.py wires it: dev with its repository and pull through cache, prod with dev's."""
    settings = load({"repository": "example-org/django-app", "pipeline": pipeline,
                     "dns": {"domain": f"{env}.example.com", "zone_name": "example.com"},
                     "monitoring": {"alarm_emails": ["ops@example.com"]}}, env)  # stg/prod need a subscriber
    n = names(env)
    promotes = settings.pipeline.promotes

    def program() -> DeliveryPipeline:
        return DeliveryPipeline("pipeline", DeliveryPipelineArgs(
            ctx=context(env), settings=settings.pipeline, repository=settings.repository,
            data_key_arn=output(DATA_KEY), telemetry_key_arn=output(TELEMETRY_KEY),
            image_repository_url=output(DEV_REPOSITORY_URL), image_repository_arn=output(DEV_REPOSITORY_ARN),
            image_repository_name=output("django-dev-app-ecr"), cluster_arn=output(n["cluster"]),
            service_name=output(n["service"]), task_definition_family=output(n["family"]),
            container_name="django", task_role_arns=[output(r) for r in web_roles(env)],
            subnet_ids=[output("subnet-a"), output("subnet-b")], security_group_id=output("sg-batch"),
            job_task_definition_families=[output(n["job_family"])],
            job_role_arns=[output(r) for r in job_roles(env)], release_parameter_name=output(n["parameter"]),
            release_parameter_arn=output(n["parameter_arn"]),
            source_registry_id=settings.pipeline.promote_from_account or "123456789012",
            cache_prefixes={} if promotes else {"ecr-public": "django-dev-ecr-public"},
            cache_registry="" if promotes else output(REGISTRY),
            static=StaticPublishing(output(STATIC_BUCKET),
                                    publisher_statements(output(STATIC_BUCKET_ARN), output(STATIC_KEY)),
                                    "/app/staticfiles") if static else None))

    return run_component(program, env)


@pytest.fixture(scope="module")
def pipeline_prod() -> Graph:
    return build("prod")


@pytest.fixture(scope="module")
def pipeline_dev() -> Graph:
    return build("dev")


def stages(graph: Graph) -> list[dict[str, Any]]:
    return graph.one(PIPELINE).inputs["stages"]


def action(graph: Graph, stage: str) -> dict[str, Any]:
    (found,) = [s for s in stages(graph) if s["name"] == stage]
    (only,) = found["actions"]
    return only


def project(graph: Graph, purpose: str) -> dict[str, Any]:
    return graph.one(PROJECT, f"*-pipeline-{purpose}-cb").inputs


def variables(graph: Graph, purpose: str) -> dict[str, str]:
    return {v["name"]: v["value"] for v in project(graph, purpose)["environment"]["environmentVariables"]}


def policy(graph: Graph, role_glob: str) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in statements(graph.one(ROLE_POLICY, role_glob))}


def _actions(statement: dict[str, Any]) -> list[str]:
    found = statement["Action"]
    return found if isinstance(found, list) else [found]


# --- pipeline shape ------------------------------------------------------------------------------------


def test_dev_builds_migrates_deploys_and_verifies(pipeline_dev: Graph):
    assert [s["name"] for s in stages(pipeline_dev)] == ["Source", "Build", "Migrate", "Deploy", "Verify"]
    assert sorted(p.name for p in pipeline_dev.of_type(PROJECT)) == [
        "django-dev-pipeline-build-cb", "django-dev-pipeline-migrate-cb", "django-dev-pipeline-verify-cb"]
    assert "variables" not in pipeline_dev.one(PIPELINE).inputs  # nothing to promote by hand


def test_prod_never_builds_it_promotes_then_waits_for_approval(pipeline_prod: Graph):
    assert [s["name"] for s in stages(pipeline_prod)] == ["Source", "Promote", "Approval", "Migrate", "Deploy",
                                                          "Verify"]
    assert sorted(p.name for p in pipeline_prod.of_type(PROJECT)) == [
        "django-prod-pipeline-migrate-cb", "django-prod-pipeline-promote-cb", "django-prod-pipeline-verify-cb"]
    # No Docker daemon anywhere in prod: nothing there could build an image.
    assert not [p.name for p in pipeline_prod.of_type(PROJECT) if p.inputs["environment"]["privilegedMode"]]
    assert action(pipeline_prod, "Approval")["provider"] == "Manual"


def test_with_a_cdn_the_static_files_are_published_after_approval_and_before_migrate_and_deploy():
    for env, first in (("dev", ["Source", "Build"]), ("prod", ["Source", "Promote", "Approval"])):
        graph = build(env, static=True)
        assert [s["name"] for s in stages(graph)] == [*first, "Publish", "Migrate", "Deploy", "Verify"]
        publish = action(graph, "Publish")
        assert publish["inputArtifacts"] == ["image"]  # the image definitions Deploy rolls out: the same digest
        assert publish["configuration"]["ProjectName"] == project(graph, "publish")["name"]
        publish_project = project(graph, "publish")
        assert publish_project["environment"]["privilegedMode"] is True  # docker create/cp of the image
        assert publish_project["source"]["buildspec"] == buildspecs.publish_spec()
        assert variables(graph, "publish") == {"CONTAINER_NAME": "django", "STATIC_BUCKET": STATIC_BUCKET,
                                               "STATIC_ROOT": "/app/staticfiles"}
        runs = policy(graph, "*-delivery-cp")["RunTheBuildProjects"]["Resource"]
        assert project(graph, "publish")["name"] in " ".join(runs)


def test_publish_role_writes_only_under_the_static_buckets_prefix_and_pulls_only_the_image_repository():
    found = policy(build("prod", static=True), "*-pipeline-publish-cb")
    writes = [s for s in found.values() if any(a.startswith("s3:") and a not in ("s3:GetObject", "s3:GetObjectVersion",
                                                                                     "s3:GetBucketVersioning",
                                                                                     "s3:GetBucketLocation")
                                                for a in _actions(s))]
    assert {s["Sid"]: (s["Action"], s["Resource"]) for s in writes} == {
        "PublishStaticFiles": ("s3:PutObject", f"{STATIC_BUCKET_ARN}/static/*"),
        "ListPublishedStaticFiles": ("s3:ListBucket", STATIC_BUCKET_ARN)}
    assert not [a for s in found.values() for a in _actions(s) if "Delete" in a]  # old files stay
    assert found["PullTheAppImage"]["Resource"] == DEV_REPOSITORY_ARN
    assert not [a for s in found.values() for a in _actions(s) if a in ("ecr:PutImage", "ecr:UploadLayerPart")]
    assert found["EncryptStaticFiles"]["Resource"] == STATIC_KEY


def test_without_a_cdn_nothing_is_published(pipeline_dev: Graph):
    assert "Publish" not in [s["name"] for s in stages(pipeline_dev)]
    assert not [p for p in pipeline_dev.of_type(PROJECT) if "publish" in p.name]


def test_manual_approval_follows_the_setting():
    assert "Approval" in [s["name"] for s in stages(build("dev", manual_approval="true"))]
    assert "Approval" not in [s["name"] for s in stages(build("prod", manual_approval="false"))]


def test_a_production_stack_may_still_build_when_promote_from_is_empty():
    graph = build("prod", promote_from="")
    assert [s["name"] for s in stages(graph)][:3] == ["Source", "Build", "Approval"]


def test_pipeline_is_v2_with_an_encrypted_artifact_store_and_a_branch_trigger(pipeline_prod: Graph):
    pipeline = pipeline_prod.one(PIPELINE).inputs
    assert pipeline["pipelineType"] == "V2" and pipeline["executionMode"] == "QUEUED"
    bucket = pipeline_prod.one(BUCKET)
    assert pipeline["artifactStores"] == [{"location": bucket.outputs["bucket"], "type": "S3",
                                           "encryptionKey": {"id": DATA_KEY, "type": "KMS"}}]
    (trigger,) = pipeline["triggers"]
    assert trigger["providerType"] == "CodeStarSourceConnection"
    assert trigger["gitConfiguration"]["sourceActionName"] == "Source"
    assert trigger["gitConfiguration"]["pushes"] == [{"branches": {"includes": ["main"]}}]


def test_source_is_the_configured_repository_and_branch_through_the_connection(pipeline_prod: Graph):
    source = action(pipeline_prod, "Source")
    connection = pipeline_prod.one("aws:codeconnections/connection:Connection")
    assert connection.inputs["providerType"] == "GitHub" and connection.inputs["name"] == "django-prod-github-conn"
    assert source["provider"] == "CodeStarSourceConnection" and source["namespace"] == "SourceVariables"
    assert source["configuration"] == {"ConnectionArn": connection.outputs["arn"],
                                       "FullRepositoryId": "example-org/django-app", "BranchName": "main",
                                       "OutputArtifactFormat": "CODE_ZIP"}


def test_an_existing_connection_is_used_instead_of_creating_one():
    graph = build("prod", connection_arn=EXISTING_CONNECTION, branch="release/2026")
    assert graph.of_type("aws:codeconnections/connection:Connection") == []
    assert action(graph, "Source")["configuration"]["ConnectionArn"] == EXISTING_CONNECTION
    assert action(graph, "Source")["configuration"]["BranchName"] == "release/2026"
    assert policy(graph, "*-delivery-cp")["UseTheGitHubConnection"]["Resource"] == EXISTING_CONNECTION


COMMIT = {"name": "COMMIT_ID", "value": "#{SourceVariables.CommitId}", "type": "PLAINTEXT"}


def test_dev_builds_the_commit_and_every_later_stage_uses_its_image_definitions(pipeline_dev: Graph):
    build_action = action(pipeline_dev, "Build")
    assert json.loads(build_action["configuration"]["EnvironmentVariables"]) == [COMMIT]
    assert build_action["outputArtifacts"] == ["image"]
    for stage in ("Migrate", "Deploy", "Verify"):
        assert action(pipeline_dev, stage)["inputArtifacts"] == ["image"], stage
    assert action(pipeline_dev, "Migrate")["configuration"]["ProjectName"] == "django-dev-pipeline-migrate-cb"
    deploy = action(pipeline_dev, "Deploy")
    assert (deploy["category"], deploy["provider"]) == ("Deploy", "ECS")
    assert deploy["configuration"] == {"ClusterName": "django-dev-ecs", "ServiceName": "django-dev-web-svc",
                                       "FileName": "imagedefinitions.json"}
    verify = action(pipeline_dev, "Verify")
    assert verify["configuration"]["ProjectName"] == "django-dev-pipeline-verify-cb"
    assert json.loads(verify["configuration"]["EnvironmentVariables"]) == [COMMIT]  # the released-<commit> tag


def test_prod_promotes_the_commit_or_a_digest_given_by_hand(pipeline_prod: Graph):
    promote = action(pipeline_prod, "Promote")
    assert promote["namespace"] == "PromoteVariables" and promote["outputArtifacts"] == ["image"]
    assert json.loads(promote["configuration"]["EnvironmentVariables"]) == [
        COMMIT, {"name": "IMAGE_DIGEST", "value": "#{variables.IMAGE_DIGEST}", "type": "PLAINTEXT"}]
    (variable,) = pipeline_prod.one(PIPELINE).inputs["variables"]
    assert variable["name"] == "IMAGE_DIGEST" and variable["defaultValue"] == buildspecs.FROM_COMMIT
    for stage in ("Migrate", "Deploy", "Verify"):
        assert action(pipeline_prod, stage)["inputArtifacts"] == ["image"], stage


def test_the_prod_approver_sees_the_digest_and_commit_dev_released(pipeline_prod: Graph):
    question = action(pipeline_prod, "Approval")["configuration"]["CustomData"]
    assert question == ("Migrate and deploy #{PromoteVariables.IMAGE_URI} (commit #{PromoteVariables.RELEASED_COMMIT}, "
                        "released in dev) to prod?")
    # The variables the question names are the ones the promote buildspec exports.
    assert yaml.safe_load(buildspecs.promote_spec())["env"]["exported-variables"] == ["IMAGE_URI", "RELEASED_COMMIT"]


# --- artifact bucket ---------------------------------------------------------------------------------------


def test_artifact_bucket_is_kms_encrypted_versioned_private_and_tls_only(pipeline_prod: Graph):
    bucket = pipeline_prod.one(BUCKET)
    assert bucket.inputs["bucket"] == "django-prod-pipeline-artifacts-123456789012-s3"
    children = {r.type: r for r in pipeline_prod.children(bucket)}
    encryption = children["aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"]
    assert encryption.inputs["rules"][0]["applyServerSideEncryptionByDefault"] == {
        "sseAlgorithm": "aws:kms", "kmsMasterKeyId": DATA_KEY}
    assert children["aws:s3/bucketVersioning:BucketVersioning"].inputs["versioningConfiguration"] == {
        "status": "Enabled"}
    block = children["aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"].inputs
    assert all(block[k] for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                  "restrictPublicBuckets"))
    (deny,) = statements(children["aws:s3/bucketPolicy:BucketPolicy"])
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    for child in children.values():  # joined to the bucket by input, as the policy pack expects
        assert child.inputs["bucket"] == bucket.outputs["id"]


# --- CodeBuild projects -------------------------------------------------------------------------------------


def test_build_project_is_privileged_encrypted_and_pulls_base_images_through_the_cache(pipeline_dev: Graph):
    build_project = project(pipeline_dev, "build")
    assert build_project["environment"]["privilegedMode"] is True
    assert build_project["encryptionKey"] == DATA_KEY
    log_group = pipeline_dev.one("aws:cloudwatch/logGroup:LogGroup").inputs
    assert log_group["kmsKeyId"] == TELEMETRY_KEY
    assert build_project["logsConfig"]["cloudwatchLogs"] == {"status": "ENABLED", "groupName": log_group["name"],
                                                             "streamName": "build"}
    assert variables(pipeline_dev, "build") == {
        "REPOSITORY_URI": DEV_REPOSITORY_URL, "REPOSITORY_NAME": "django-dev-app-ecr", "CONTAINER_NAME": "django",
        "BASE_REGISTRY": f"{REGISTRY}/django-dev-ecr-public",  # FROM ${BASE_REGISTRY}/docker/library/python:...
        "DOCKER_HUB_REGISTRY": "docker.io"}  # no Docker Hub credential: no cache rule for it
    assert build_project["source"] == {"type": "CODEPIPELINE", "buildspec": buildspecs.build_spec()}


def test_promote_project_reads_the_source_repository_and_waits_as_configured():
    graph = build("prod", promote_from_account="111111111111", promote_wait_minutes="30")
    promote = project(graph, "promote")
    assert promote["environment"]["privilegedMode"] is False
    assert promote["buildTimeout"] == 45  # the wait plus a margin: CodeBuild stops the build, not the script
    assert variables(graph, "promote") == {
        "SOURCE_ENVIRONMENT": "dev", "SOURCE_REGISTRY_ID": "111111111111",
        "SOURCE_REPOSITORY_NAME": "django-dev-app-ecr", "SOURCE_REPOSITORY_URI": DEV_REPOSITORY_URL,
        "CONTAINER_NAME": "django", "WAIT_MINUTES": "30", "POLL_SECONDS": "60"}
    assert promote["source"] == {"type": "CODEPIPELINE", "buildspec": buildspecs.promote_spec()}


def test_migrate_project_is_not_privileged_and_gets_the_service_network_settings(pipeline_prod: Graph):
    migrate = project(pipeline_prod, "migrate")
    assert migrate["environment"]["privilegedMode"] is False
    assert migrate["encryptionKey"] == DATA_KEY
    n = names("prod")
    assert variables(pipeline_prod, "migrate") == {
        "CLUSTER": n["cluster"], "SERVICE": n["service"], "CONTAINER_NAME": "django",
        "REPOSITORY_URI": DEV_REPOSITORY_URL, "SUBNETS": "subnet-a,subnet-b", "SECURITY_GROUP": "sg-batch",
        "MIGRATE_COMMAND": '["python", "manage.py", "migrate", "--noinput"]',
        "JOB_FAMILIES": n["job_family"], "RELEASE_PARAMETER": n["parameter"]}


def test_migrate_command_comes_from_settings():
    graph = build("dev", migrate_command='["python", "manage.py", "migrate", "--database", "main"]')
    assert json.loads(variables(graph, "migrate")["MIGRATE_COMMAND"]) == [
        "python", "manage.py", "migrate", "--database", "main"]


def test_verify_marks_releases_only_where_the_stack_builds(pipeline_dev: Graph, pipeline_prod: Graph):
    assert variables(pipeline_dev, "verify")["MARK_RELEASED"] == "true"
    assert variables(pipeline_prod, "verify")["MARK_RELEASED"] == "false"
    assert project(pipeline_dev, "verify")["source"]["buildspec"] == buildspecs.verify_spec()


# --- least privilege ------------------------------------------------------------------------------------------


def test_build_role_pushes_to_exactly_the_repository_and_fills_only_its_own_cache(pipeline_dev: Graph):
    found = policy(pipeline_dev, "*-pipeline-build-cb")
    assert found["PushTheAppImage"]["Resource"] == DEV_REPOSITORY_ARN
    assert "ecr:PutImage" in found["PushTheAppImage"]["Action"]
    assert found["EcrLogin"] == {"Sid": "EcrLogin", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken",
                                 "Resource": "*"}
    cache = found["PullBaseImagesThroughTheCache"]
    assert cache["Resource"] == [arn("ecr", "repository/django-dev-ecr-public/*")]
    assert {"ecr:BatchImportUpstreamImage", "ecr:CreateRepository", "ecr:BatchGetImage"} <= set(cache["Action"])
    assert not any(a.startswith(("ecs:", "ssm:")) for s in found.values() for a in _actions(s))
    assert found["ArtifactEncryption"]["Resource"] == DATA_KEY


def test_promote_role_may_only_read_the_source_repositorys_image_details():
    graph = build("prod", promote_from_account="111111111111")
    role = graph.one("aws:iam/role:Role", "*-pipeline-promote-cb")
    assert role.inputs["name"] == "django-prod-pipeline-promote-role"  # the name dev's repository policy admits
    found = policy(graph, "*-pipeline-promote-cb")
    assert found["ReadTheSourceEnvironmentsReleases"] == {
        "Sid": "ReadTheSourceEnvironmentsReleases", "Effect": "Allow", "Action": "ecr:DescribeImages",
        "Resource": DEV_REPOSITORY_ARN}
    ecr = [a for s in found.values() for a in _actions(s) if a.startswith(("ecr:", "ecs:", "ssm:"))]
    assert ecr == ["ecr:DescribeImages"]  # no push, no deploy, no release


def test_migrate_role_registers_only_the_service_and_job_families(pipeline_prod: Graph):
    found = policy(pipeline_prod, "*-pipeline-migrate-cb")
    assert found["RegisterRevisionsWithTheNewImage"]["Action"] == "ecs:RegisterTaskDefinition"
    assert found["RegisterRevisionsWithTheNewImage"]["Resource"] == [
        arn("ecs", "task-definition/django-prod-web-task:*"), arn("ecs", "task-definition/django-prod-job-a-task:*")]
    assert found["RunTheMigrationOnThisCluster"]["Resource"] == arn("ecs", "task-definition/django-prod-web-task:*")
    assert found["RunTheMigrationOnThisCluster"]["Condition"] == {
        "ArnEquals": {"ecs:cluster": names("prod")["cluster"]}}
    assert found["ReadTheServicesTaskDefinition"]["Resource"] == names("prod")["service_arn"]
    assert found["WatchTheMigrationTask"]["Resource"] == arn("ecs", "task/django-prod-ecs/*")
    assert sorted(found["PassOnlyTheTaskRoles"]["Resource"]) == sorted(web_roles("prod") + job_roles("prod"))
    assert found["PassOnlyTheTaskRoles"]["Condition"] == {
        "StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}
    assert "s3:PutObject" not in found["PipelineArtifacts"]["Action"]  # it only reads imagedefinitions.json
    assert found["ReleaseTheMigratedImage"] == {
        "Sid": "ReleaseTheMigratedImage", "Effect": "Allow", "Action": "ssm:PutParameter",
        "Resource": names("prod")["parameter_arn"]}
    # DescribeTaskDefinition has no resource-level permission (Service Authorization Reference): the only "*".
    wildcard = {sid: s["Action"] for sid, s in found.items() if s["Resource"] == "*"}
    assert wildcard == {"ReadTaskDefinitions": "ecs:DescribeTaskDefinition"}


def test_verify_role_reads_the_service_and_tags_only_in_the_stack_that_builds(pipeline_dev: Graph,
                                                                             pipeline_prod: Graph):
    dev, prod = policy(pipeline_dev, "*-pipeline-verify-cb"), policy(pipeline_prod, "*-pipeline-verify-cb")
    assert dev["WatchTheWebService"]["Resource"] == names("dev")["service_arn"]
    assert dev["TagTheReleasedImage"]["Resource"] == DEV_REPOSITORY_ARN
    assert set(dev["TagTheReleasedImage"]["Action"]) == {"ecr:DescribeImages", "ecr:BatchGetImage", "ecr:PutImage"}
    assert "TagTheReleasedImage" not in prod  # prod never writes to dev's repository
    assert not [a for s in prod.values() for a in _actions(s) if a.startswith("ecr:")]


def test_pipeline_role_is_scoped_to_the_connection_projects_bucket_key_family_and_cluster(pipeline_prod: Graph):
    found = policy(pipeline_prod, "*-delivery-cp")
    assert found["UseTheGitHubConnection"]["Resource"] == pipeline_prod.one(
        "aws:codeconnections/connection:Connection").outputs["arn"]
    assert sorted(found["RunTheBuildProjects"]["Resource"]) == sorted(
        r.outputs["arn"] for r in pipeline_prod.of_type(PROJECT))
    assert found["DeployTheWebService"]["Resource"] == names("prod")["service_arn"]
    assert found["RegisterTheDeployedRevision"]["Resource"] == arn("ecs", "task-definition/django-prod-web-task:*")
    assert found["FollowTheDeploymentsTasks"]["Resource"] == arn("ecs", "task/django-prod-ecs/*")
    assert found["ListTheClustersTasks"]["Condition"] == {"ArnEquals": {"ecs:cluster": names("prod")["cluster"]}}
    assert found["ArtifactEncryption"]["Resource"] == DATA_KEY
    bucket_arn = pipeline_prod.one(BUCKET).outputs["arn"]
    assert found["PipelineArtifacts"]["Resource"] == f"{bucket_arn}/*"
    assert sorted(found["PassOnlyTheTaskRoles"]["Resource"]) == sorted(web_roles("prod"))
    unscoped = {sid for sid, s in found.items() if s["Resource"] == "*" and "Condition" not in s}
    assert unscoped == {"ReadTaskDefinitions"}


def test_pipeline_and_projects_wait_for_their_roles_permissions(pipeline_dev: Graph, pipeline_prod: Graph):
    # CreatePipeline starts a first run at once; a RolePolicy only parented to the role is created in
    # parallel with whatever references the role's ARN, so the pipeline must depend on the policy itself.
    for graph, purposes in ((pipeline_dev, ("build", "migrate", "verify")),
                            (pipeline_prod, ("promote", "migrate", "verify"))):
        assert graph.one(ROLE_POLICY, "*-delivery-cp").urn in graph.one(PIPELINE).dependencies
        for purpose in purposes:
            found = graph.one(PROJECT, f"*-pipeline-{purpose}-cb")
            assert graph.one(ROLE_POLICY, f"*-pipeline-{purpose}-cb").urn in found.dependencies


# --- settings -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("stack", "overrides", "key", "allowed"), [
    ("prod", {"repository": "django-app"}, "repository", "owner/name"),
    ("prod", {"repository": "example-org/django app"}, "repository", "owner/name"),
    ("prod", {"pipeline.branch": '""'}, "pipeline.branch", "a git branch name"),  # an empty string
    ("prod", {"pipeline.branch": "feature branch"}, "pipeline.branch", "a git branch name"),
    ("prod", {"pipeline.connection_arn": "arn:aws:iam::123456789012:role/x"}, "pipeline.connection_arn",
     "a CodeConnections connection ARN"),
    ("prod", {"pipeline.migrate_command": "[]"}, "pipeline.migrate_command", "non-empty"),
    ("prod", {"pipeline.manual_approval": "maybe"}, "pipeline.manual_approval", "true or false"),
    ("prod", {"pipeline.enabled": "sometimes"}, "pipeline.enabled", "true or false"),
    ("prod", {"pipeline.promote_from": "staging"}, "pipeline.promote_from",
     "empty (this stack builds) or one of dev, stg, prod"),
    ("prod", {"pipeline.promote_from": "prod"}, "pipeline.promote_from", "other than this one (prod)"),
    ("prod", {"pipeline.promote_from_account": "1234"}, "pipeline.promote_from_account", "12-digit"),
    ("dev", {"pipeline.promote_from_account": "111111111111"}, "pipeline.promote_from_account",
     "empty while pipeline.promote_from is empty"),
    ("prod", {"pipeline.promote_wait_minutes": "600"}, "pipeline.promote_wait_minutes", "from 0 to 480"),
])
def test_bad_pipeline_settings_fail_before_any_resource(stack: str, overrides: dict[str, str], key: str,
                                                        allowed: str):
    error, graph = settings_error(stack, overrides)
    (problem,) = [p for p in error.problems if p.key == key]
    assert allowed in problem.allowed
    assert graph.resources == []


# --- wired into the stacks ------------------------------------------------------------------------------------


def test_stacks_build_in_dev_and_promote_with_approval_in_prod(dev: Graph, prod: Graph):
    assert [s["name"] for s in stages(dev)] == ["Source", "Build", "Migrate", "Deploy", "Verify"]
    # static.cdn is on in prod by default, off in dev (tests/test_static_site.py).
    assert [s["name"] for s in stages(prod)] == ["Source", "Promote", "Approval", "Publish", "Migrate", "Deploy",
                                                 "Verify"]


def test_stack_pipeline_deploys_and_migrates_the_web_service(stack_graph: Graph):
    service = stack_graph.one("aws:ecs/service:Service", "*-web-svc")
    cluster = stack_graph.one("aws:ecs/cluster:Cluster")
    web_task = stack_graph.one("aws:ecs/taskDefinition:TaskDefinition", "*-web-task")
    (web_container,) = json.loads(web_task.inputs["containerDefinitions"])
    deploy = action(stack_graph, "Deploy")["configuration"]
    assert deploy["ServiceName"] == service.outputs["name"]
    assert deploy["ClusterName"] == cluster.outputs["name"]
    migrate = variables(stack_graph, "migrate")
    assert migrate["CONTAINER_NAME"] == web_container["name"]  # imagedefinitions.json names this container
    assert migrate["REPOSITORY_URI"] == DEV_REPOSITORY_URL  # dev's repository in both stacks
    private = [s.outputs["id"] for s in stack_graph.of_type("aws:ec2/subnet:Subnet") if "-private-" in s.name]
    assert sorted(migrate["SUBNETS"].split(",")) == sorted(private)
    assert migrate["CLUSTER"] == cluster.outputs["arn"]
    assert migrate["JOB_FAMILIES"] == stack_graph.one(
        "aws:ecs/taskDefinition:TaskDefinition", "*-job-clearsessions-task").inputs["family"]
    # `pulumi up` deploys task definition changes (with the released image, tests/test_release.py).
    assert "taskDefinition" not in service.ignore_changes
    release = stack_graph.one("aws:ssm/parameter:Parameter", "*-release-image-tag-ssm")
    assert migrate["RELEASE_PARAMETER"] == release.inputs["name"]


def test_the_stack_publishes_to_its_own_static_bucket_only(prod: Graph):
    bucket = prod.one(BUCKET, "*-static-files-*")
    assert variables(prod, "publish")["STATIC_BUCKET"] == bucket.outputs["bucket"]
    found = policy(prod, "*-pipeline-publish-cb")
    assert found["PublishStaticFiles"]["Resource"] == bucket.outputs["arn"] + "/static/*"
    assert found["EncryptStaticFiles"]["Resource"] == prod.one("aws:kms/key:Key", "*-static-kms").outputs["arn"]


def test_pipeline_can_be_disabled():
    graph = run_stack("dev", {"pipeline.enabled": "false", "service.pipeline_owns_deployments": "false"})
    assert graph.of_type(PIPELINE, PROJECT, "aws:codeconnections/connection:Connection") == []
    assert "pipeline_name" not in graph.outputs and graph.of_type("aws:scheduler/schedule:Schedule")
    assert not [p for p in graph.of_type("aws:ssm/parameter:Parameter") if "/release/" in p.inputs["name"]]


def test_connection_status_is_exported_for_the_handshake(dev: Graph):
    assert dev.outputs["github_connection_status"]["value"] == "PENDING"
    assert dev.outputs["github_connection_arn"]["value"].startswith("arn:aws:codeconnections:")

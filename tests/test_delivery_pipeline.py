"""DeliveryPipeline: stages, artifact store, CodeBuild projects, least-privilege roles, buildspecs that work."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from components import buildspecs
from components.delivery_pipeline import DeliveryPipeline, DeliveryPipelineArgs
from components.settings import load
from tests.harness import Graph, run_stack, settings_error, statements
from tests.isolated import arn, context, output, run_component

PIPELINE = "aws:codepipeline/pipeline:Pipeline"
PROJECT = "aws:codebuild/project:Project"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
BUCKET = "aws:s3/bucket:Bucket"

CLUSTER = arn("ecs", "cluster/django-prod-ecs")
SERVICE_ARN = arn("ecs", "service/django-prod-ecs/django-prod-web-svc")
DATA_KEY = arn("kms", "key/data")
TELEMETRY_KEY = arn("kms", "key/telemetry")
REPOSITORY_URL = "123456789012.dkr.ecr.us-east-1.amazonaws.com/django-prod-app-ecr"
REPOSITORY_ARN = arn("ecr", "repository/django-prod-app-ecr")
WEB_ROLES = ["arn:aws:iam::123456789012:role/django-prod-web-exec-role",
             "arn:aws:iam::123456789012:role/django-prod-web-task-role"]
JOB_ROLES = ["arn:aws:iam::123456789012:role/django-prod-job-a-exec-role",
             "arn:aws:iam::123456789012:role/django-prod-job-a-task-role"]
RELEASE_PARAMETER = "/django/prod/release/image-tag"
RELEASE_PARAMETER_ARN = arn("ssm", "parameter/django/prod/release/image-tag")
EXISTING_CONNECTION = arn("codestar-connections", "connection/0a1b2c3d-0000-4000-8000-123456789abc")


def build(env: str = "prod", **pipeline: str) -> Graph:
    settings = load({"repository": "example-org/django-app", "pipeline": pipeline,
                     "dns": {"domain": f"{env}.example.com", "zone_name": "example.com"},
                     "monitoring": {"alarm_emails": ["ops@example.com"]}}, env)  # stg/prod need a subscriber

    def program() -> DeliveryPipeline:
        return DeliveryPipeline("pipeline", DeliveryPipelineArgs(
            ctx=context(env), settings=settings.pipeline, repository=settings.repository,
            data_key_arn=output(DATA_KEY), telemetry_key_arn=output(TELEMETRY_KEY),
            image_repository_url=output(REPOSITORY_URL), image_repository_arn=output(REPOSITORY_ARN),
            image_repository_name=output("django-prod-app-ecr"), cluster_arn=output(CLUSTER),
            service_name=output("django-prod-web-svc"), task_definition_family=output("django-prod-web-task"),
            container_name="django", task_role_arns=[output(r) for r in WEB_ROLES],
            subnet_ids=[output("subnet-a"), output("subnet-b")], security_group_id=output("sg-batch"),
            job_task_definition_families=[output("django-prod-job-a-task")],
            job_role_arns=[output(r) for r in JOB_ROLES], release_parameter_name=output(RELEASE_PARAMETER),
            release_parameter_arn=output(RELEASE_PARAMETER_ARN)))

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


def variables(graph: Graph, purpose: str) -> dict[str, str]:
    return {v["name"]: v["value"] for v in project(graph, purpose)["environment"]["environmentVariables"]}


def policy(graph: Graph, role_glob: str) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in statements(graph.one(ROLE_POLICY, role_glob))}


def project(graph: Graph, purpose: str) -> dict[str, Any]:
    return graph.one(PROJECT, f"*-pipeline-{purpose}-cb").inputs


# --- pipeline shape ------------------------------------------------------------------------------------


def test_stage_order_with_approval_in_prod_and_without_in_dev(pipeline_prod: Graph, pipeline_dev: Graph):
    assert [s["name"] for s in stages(pipeline_prod)] == ["Source", "Build", "Approval", "Migrate", "Deploy"]
    assert [s["name"] for s in stages(pipeline_dev)] == ["Source", "Build", "Migrate", "Deploy"]
    assert action(pipeline_prod, "Approval")["provider"] == "Manual"


def test_manual_approval_follows_the_setting():
    assert "Approval" in [s["name"] for s in stages(build("dev", manual_approval="true"))]


def test_pipeline_is_v2_with_an_encrypted_artifact_store_and_a_branch_trigger(pipeline_prod: Graph):
    pipeline = pipeline_prod.one(PIPELINE).inputs
    assert pipeline["pipelineType"] == "V2"
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


def test_build_tags_with_the_commit_migrate_and_deploy_use_its_image_definitions(pipeline_prod: Graph):
    build_action = action(pipeline_prod, "Build")
    assert json.loads(build_action["configuration"]["EnvironmentVariables"]) == [
        {"name": "COMMIT_ID", "value": "#{SourceVariables.CommitId}", "type": "PLAINTEXT"}]
    assert build_action["outputArtifacts"] == ["image"]
    assert action(pipeline_prod, "Migrate")["inputArtifacts"] == ["image"]
    assert action(pipeline_prod, "Migrate")["configuration"]["ProjectName"] == "django-prod-pipeline-migrate-cb"
    deploy = action(pipeline_prod, "Deploy")
    assert (deploy["category"], deploy["provider"]) == ("Deploy", "ECS")
    assert deploy["configuration"] == {"ClusterName": "django-prod-ecs", "ServiceName": "django-prod-web-svc",
                                       "FileName": "imagedefinitions.json"}


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


def test_build_project_is_privileged_encrypted_and_logs_to_the_encrypted_group(pipeline_prod: Graph):
    build_project = project(pipeline_prod, "build")
    assert build_project["environment"]["privilegedMode"] is True
    assert build_project["encryptionKey"] == DATA_KEY
    log_group = pipeline_prod.one("aws:cloudwatch/logGroup:LogGroup").inputs
    assert log_group["kmsKeyId"] == TELEMETRY_KEY and log_group["retentionInDays"] == 365
    assert build_project["logsConfig"]["cloudwatchLogs"] == {"status": "ENABLED", "groupName": log_group["name"],
                                                             "streamName": "build"}
    variables = {v["name"]: v["value"] for v in build_project["environment"]["environmentVariables"]}
    assert variables == {"REPOSITORY_URI": REPOSITORY_URL, "REPOSITORY_NAME": "django-prod-app-ecr",
                         "CONTAINER_NAME": "django", "STATIC_BUCKET": "", "STATIC_ROOT": "/app/staticfiles"}
    assert build_project["source"] == {"type": "CODEPIPELINE", "buildspec": buildspecs.build_spec()}


def test_migrate_project_is_not_privileged_and_gets_the_service_network_settings(pipeline_prod: Graph):
    migrate = project(pipeline_prod, "migrate")
    assert migrate["environment"]["privilegedMode"] is False
    assert migrate["encryptionKey"] == DATA_KEY
    variables = {v["name"]: v["value"] for v in migrate["environment"]["environmentVariables"]}
    assert variables == {"CLUSTER": CLUSTER, "SERVICE": "django-prod-web-svc", "CONTAINER_NAME": "django",
                         "REPOSITORY_URI": REPOSITORY_URL, "SUBNETS": "subnet-a,subnet-b",
                         "SECURITY_GROUP": "sg-batch",
                         "MIGRATE_COMMAND": '["python", "manage.py", "migrate", "--noinput"]',
                         "JOB_FAMILIES": "django-prod-job-a-task", "RELEASE_PARAMETER": RELEASE_PARAMETER}


def test_migrate_command_comes_from_settings():
    migrate = project(build("dev", migrate_command='["python", "manage.py", "migrate", "--database", "main"]'),
                      "migrate")
    variables = {v["name"]: v["value"] for v in migrate["environment"]["environmentVariables"]}
    assert json.loads(variables["MIGRATE_COMMAND"]) == ["python", "manage.py", "migrate", "--database", "main"]


# --- least privilege ------------------------------------------------------------------------------------------


def test_build_role_pushes_to_exactly_the_repository(pipeline_prod: Graph):
    found = policy(pipeline_prod, "*-pipeline-build-cb")
    assert found["PushTheAppImage"]["Resource"] == REPOSITORY_ARN
    assert "ecr:PutImage" in found["PushTheAppImage"]["Action"]
    assert found["EcrLogin"] == {"Sid": "EcrLogin", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken",
                                 "Resource": "*"}
    assert not any(a.startswith(("ecs:", "ssm:")) for s in found.values() for a in _actions(s))
    assert found["ArtifactEncryption"]["Resource"] == DATA_KEY


def test_migrate_role_runs_only_the_service_family_on_its_cluster_and_passes_only_task_roles(pipeline_prod: Graph):
    found = policy(pipeline_prod, "*-pipeline-migrate-cb")
    assert found["RunTheMigrationOnThisCluster"]["Resource"] == arn("ecs", "task-definition/django-prod-web-task:*")
    assert found["RunTheMigrationOnThisCluster"]["Condition"] == {"ArnEquals": {"ecs:cluster": CLUSTER}}
    assert found["ReadTheServicesTaskDefinition"]["Resource"] == SERVICE_ARN
    assert found["WatchTheMigrationTask"]["Resource"] == arn("ecs", "task/django-prod-ecs/*")
    assert sorted(found["PassOnlyTheTaskRoles"]["Resource"]) == sorted(WEB_ROLES + JOB_ROLES)
    assert found["PassOnlyTheTaskRoles"]["Condition"] == {
        "StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}
    assert "s3:PutObject" not in found["PipelineArtifacts"]["Action"]  # it only reads imagedefinitions.json
    assert found["ReleaseTheMigratedTag"] == {"Sid": "ReleaseTheMigratedTag", "Effect": "Allow",
                                              "Action": "ssm:PutParameter", "Resource": RELEASE_PARAMETER_ARN}
    wildcard = {sid for sid, s in found.items() if s["Resource"] == "*"}
    assert wildcard == {"RegisterRevisionsWithTheNewImage"}  # no resource-level permissions exist for these
    assert set(found["RegisterRevisionsWithTheNewImage"]["Action"]) == {"ecs:DescribeTaskDefinition",
                                                                        "ecs:RegisterTaskDefinition"}


def test_pipeline_role_is_scoped_to_the_connection_projects_bucket_key_and_service(pipeline_prod: Graph):
    found = policy(pipeline_prod, "*-delivery-cp")
    assert found["UseTheGitHubConnection"]["Resource"] == pipeline_prod.one(
        "aws:codeconnections/connection:Connection").outputs["arn"]
    assert sorted(found["RunTheTwoBuildProjects"]["Resource"]) == sorted(
        r.outputs["arn"] for r in pipeline_prod.of_type(PROJECT))
    assert found["DeployTheWebService"]["Resource"] == SERVICE_ARN
    assert found["ArtifactEncryption"]["Resource"] == DATA_KEY
    bucket_arn = pipeline_prod.one(BUCKET).outputs["arn"]
    assert found["PipelineArtifacts"]["Resource"] == f"{bucket_arn}/*"
    assert sorted(found["PassOnlyTheTaskRoles"]["Resource"]) == sorted(WEB_ROLES)
    assert found["FollowTheDeployment"]["Condition"] == {"ArnEquals": {"ecs:cluster": CLUSTER}}
    unscoped = {sid for sid, s in found.items() if s["Resource"] == "*" and "Condition" not in s}
    assert unscoped == {"RegisterTheDeployedRevision"}


def test_pipeline_and_projects_wait_for_their_roles_permissions(pipeline_prod: Graph):
    # CreatePipeline starts a first run at once; a RolePolicy only parented to the role is created in
    # parallel with whatever references the role's ARN, so the pipeline must depend on the policy itself.
    pipeline = pipeline_prod.one(PIPELINE)
    assert pipeline_prod.one(ROLE_POLICY, "*-delivery-cp").urn in pipeline.dependencies
    for purpose in ("build", "migrate"):
        found = pipeline_prod.one(PROJECT, f"*-pipeline-{purpose}-cb")
        assert pipeline_prod.one(ROLE_POLICY, f"*-pipeline-{purpose}-cb").urn in found.dependencies


def _actions(statement: dict[str, Any]) -> list[str]:
    found = statement["Action"]
    return found if isinstance(found, list) else [found]


# --- settings -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("overrides", "key", "allowed"), [
    ({"repository": "django-app"}, "repository", "owner/name"),
    ({"repository": "example-org/django app"}, "repository", "owner/name"),
    ({"pipeline.branch": '""'}, "pipeline.branch", "a git branch name"),  # an empty string
    ({"pipeline.branch": "feature branch"}, "pipeline.branch", "a git branch name"),
    ({"pipeline.connection_arn": "arn:aws:iam::123456789012:role/x"}, "pipeline.connection_arn",
     "a CodeConnections connection ARN"),
    ({"pipeline.migrate_command": "[]"}, "pipeline.migrate_command", "non-empty"),
    ({"pipeline.manual_approval": "maybe"}, "pipeline.manual_approval", "true or false"),
    ({"pipeline.enabled": "sometimes"}, "pipeline.enabled", "true or false"),
])
def test_bad_pipeline_settings_fail_before_any_resource(overrides: dict[str, str], key: str, allowed: str):
    error, graph = settings_error("prod", overrides)
    (problem,) = [p for p in error.problems if p.key == key]
    assert allowed in problem.allowed
    assert graph.resources == []


# --- the buildspecs, run against a fake AWS CLI -------------------------------------------------------------

FAKE_AWS = textwrap.dedent("""\
    #!/usr/bin/env python3
    import json, os, sys
    args = sys.argv[1:]
    with open(os.environ["AWS_CALLS"], "a") as log:
        log.write(json.dumps(args) + "\\n")
    command = " ".join(args[:2])
    if command == "ecs describe-services":
        print("arn:aws:ecs:us-east-1:123456789012:task-definition/django-prod-web-task:7")
    elif command == "ecs describe-task-definition":
        family = args[args.index("--task-definition") + 1].split("/")[-1].split(":")[0]
        print(json.dumps({"family": family, "revision": 7, "status": "ACTIVE", "cpu": "256", "memory": "512",
                          "requiresAttributes": [], "executionRoleArn": "arn:aws:iam::123456789012:role/x",
                          "containerDefinitions": [
                              {"name": "django", "image": os.environ["REPOSITORY_URI"] + ":old"},
                              {"name": "sidecar", "image": "public.ecr.aws/aws-observability/agent:1"}]}))
    elif command == "ecs register-task-definition":
        print("arn:aws:ecs:us-east-1:123456789012:task-definition/registered:8")
    elif command == "ecs run-task":
        print("arn:aws:ecs:us-east-1:123456789012:task/django-prod-ecs/abc")
    elif command == "ssm put-parameter":
        pass
    elif command == "ecs wait":
        pass
    elif command == "ecs describe-tasks":
        query = args[args.index("--query") + 1]
        print(os.environ["FAKE_EXIT_CODE"] if "exitCode" in query else "Essential container in task exited")
    else:
        sys.exit("unexpected aws call: " + " ".join(args))
""")


def run_migrate(tmp_path: Path, exit_code: str) -> tuple[subprocess.CompletedProcess[str], list[list[str]]]:
    """Run the migrate buildspec's commands with bash in a CodeBuild-like directory, AWS CLI faked."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "aws").write_text(FAKE_AWS)
    (bin_dir / "aws").chmod(0o755)
    image = f"{REPOSITORY_URL}:0123abc"
    (tmp_path / "imagedefinitions.json").write_text(json.dumps([{"name": "django", "imageUri": image}]))
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "AWS_CALLS": str(tmp_path / "calls.jsonl"),
           "FAKE_EXIT_CODE": exit_code, "CLUSTER": CLUSTER, "SERVICE": "django-prod-web-svc",
           "CONTAINER_NAME": "django", "REPOSITORY_URI": REPOSITORY_URL, "SUBNETS": "subnet-a,subnet-b",
           "SECURITY_GROUP": "sg-batch", "MIGRATE_COMMAND": '["python", "manage.py", "migrate", "--noinput"]',
           "JOB_FAMILIES": "django-prod-job-a-task django-prod-job-b-task", "RELEASE_PARAMETER": RELEASE_PARAMETER}
    spec = yaml.safe_load(buildspecs.migrate_spec())
    assert spec["env"]["shell"] == "bash"
    result = subprocess.CompletedProcess[str]([], 0, "", "")
    for command in spec["phases"]["build"]["commands"]:  # CodeBuild stops at the first failing command
        result = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True,
                                check=False)
        if result.returncode:
            break
    calls_file = tmp_path / "calls.jsonl"
    calls = [json.loads(line) for line in calls_file.read_text().splitlines()] if calls_file.exists() else []
    return result, calls


def test_migration_runs_the_new_image_once_in_private_subnets_then_rolls_the_jobs(tmp_path: Path):
    result, calls = run_migrate(tmp_path, exit_code="0")
    assert result.returncode == 0, result.stdout + result.stderr
    (run_task,) = [c for c in calls if c[:2] == ["ecs", "run-task"]]
    value = dict(zip(run_task[2::2], run_task[3::2], strict=False))
    assert value["--launch-type"] == "FARGATE"
    assert value["--network-configuration"] == ("awsvpcConfiguration={subnets=[subnet-a,subnet-b],"
                                                "securityGroups=[sg-batch],assignPublicIp=DISABLED}")
    assert json.loads(value["--overrides"]) == {"containerOverrides": [
        {"name": "django", "command": ["python", "manage.py", "migrate", "--noinput"]}]}
    registered = [json.loads((tmp_path / name).read_text()) for name in ("migrate-task.json", "job-task.json")]
    for definition in registered:  # the app container gets the new image, other containers keep theirs
        images = {c["name"]: c["image"] for c in definition["containerDefinitions"]}
        assert images == {"django": f"{REPOSITORY_URL}:0123abc",
                          "sidecar": "public.ecr.aws/aws-observability/agent:1"}
        assert "revision" not in definition and "status" not in definition and "requiresAttributes" not in definition
    registrations = [c for c in calls if c[:2] == ["ecs", "register-task-definition"]]
    assert len(registrations) == 3  # the migration revision and one per job family
    assert registered[1]["family"] == "django-prod-job-b-task"
    # Last, once the migration succeeded and the jobs follow: the tag is released for `pulumi up`.
    assert calls[-1] == ["ssm", "put-parameter", "--name", RELEASE_PARAMETER, "--value", "0123abc", "--overwrite"]
    assert "Released 0123abc" in result.stdout


def test_a_failed_migration_fails_the_build_and_registers_no_job_revision(tmp_path: Path):
    result, calls = run_migrate(tmp_path, exit_code="1")
    assert result.returncode != 0
    assert "Migration failed: exit code 1" in result.stdout
    assert len([c for c in calls if c[:2] == ["ecs", "register-task-definition"]]) == 1  # only the migration's
    assert not [c for c in calls if c[0] == "ssm"]  # the released tag stays the previous one


def test_a_migration_task_that_never_started_fails_the_build(tmp_path: Path):
    result, calls = run_migrate(tmp_path, exit_code="None")  # no exit code: image pull or secrets failure
    assert result.returncode != 0 and "exit code None" in result.stdout
    assert not [c for c in calls if c[0] == "ssm"]


def test_build_spec_writes_image_definitions_with_the_container_name_and_commit_tag(tmp_path: Path):
    spec = yaml.safe_load(buildspecs.build_spec())
    assert spec["artifacts"] == {"files": ["imagedefinitions.json"]}
    # The last build command alone, with the variables the earlier phases set.
    write = [c for c in spec["phases"]["build"]["commands"] if "imagedefinitions.json" in c and "printf" in c]
    env = {**os.environ, "CONTAINER_NAME": "django", "IMAGE_URI": f"{REPOSITORY_URL}:0123abc"}
    subprocess.run(["bash", "-c", write[0]], cwd=tmp_path, env=env, check=True)
    assert json.loads((tmp_path / "imagedefinitions.json").read_text()) == [
        {"name": "django", "imageUri": f"{REPOSITORY_URL}:0123abc"}]
    pre_build = spec["phases"]["pre_build"]["commands"]
    assert 'IMAGE_TAG="${COMMIT_ID:-$CODEBUILD_RESOLVED_SOURCE_VERSION}"' in pre_build
    assert 'IMAGE_URI="$REPOSITORY_URI:$IMAGE_TAG"' in pre_build
    assert "docker push" in spec["phases"]["build"]["commands"][0]


FAKE_BUILD_TOOLS = {
    "aws": textwrap.dedent("""\
        #!/bin/bash
        echo "aws $*" >> "$CALLS"
        case "$1 $2" in
          "ecr get-login-password") echo ecr-token ;;
          "ecr describe-images") exit "$IMAGE_EXISTS_RC" ;;  # 0 when the tag exists, 254 (not found) otherwise
          *) exit 3 ;;
        esac
        """),
    "docker": textwrap.dedent("""\
        #!/bin/bash
        if [ "$1" = login ]; then echo "docker $* <<$(cat)" >> "$CALLS"; else echo "docker $*" >> "$CALLS"; fi
        """),
}


@pytest.mark.parametrize(("image_exists_rc", "built"), [("254", True), ("0", False)])
def test_build_spec_logs_in_to_the_registry_and_pushes_each_commit_once(tmp_path: Path, image_exists_rc: str,
                                                                        built: bool):
    """Both phases with bash, as CodeBuild runs them (one shell, so variables carry over), tools faked."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool, script in FAKE_BUILD_TOOLS.items():
        (bin_dir / tool).write_text(script)
        (bin_dir / tool).chmod(0o755)
    spec = yaml.safe_load(buildspecs.build_spec())
    script = "\n".join(c for phase in ("pre_build", "build") for c in spec["phases"][phase]["commands"])
    calls = tmp_path / "calls.txt"
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "CALLS": str(calls), "AWS_REGION": "us-east-1",
           "IMAGE_EXISTS_RC": image_exists_rc, "REPOSITORY_URI": REPOSITORY_URL,
           "REPOSITORY_NAME": "django-prod-app-ecr", "CONTAINER_NAME": "django", "COMMIT_ID": "0123abc"}
    result = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    log = calls.read_text().splitlines()
    registry = REPOSITORY_URL.split("/")[0]
    assert f"docker login --username AWS --password-stdin {registry} <<ecr-token" in log
    assert "aws ecr describe-images --repository-name django-prod-app-ecr --image-ids imageTag=0123abc" in log
    pushes = [line for line in log if line.startswith(("docker build", "docker push"))]
    image = f"{REPOSITORY_URL}:0123abc"
    assert pushes == ([f"docker build --tag {image} .", f"docker push {image}"] if built else [])
    assert json.loads((tmp_path / "imagedefinitions.json").read_text()) == [{"name": "django", "imageUri": image}]


# --- wired into the stacks ------------------------------------------------------------------------------------


def test_stacks_approve_only_in_prod(dev: Graph, prod: Graph):
    assert [s["name"] for s in stages(dev)] == ["Source", "Build", "Migrate", "Deploy"]
    assert [s["name"] for s in stages(prod)] == ["Source", "Build", "Approval", "Migrate", "Deploy"]


def test_stack_pipeline_deploys_and_migrates_the_web_service(stack_graph: Graph):
    service = stack_graph.one("aws:ecs/service:Service", "*-web-svc")
    cluster = stack_graph.one("aws:ecs/cluster:Cluster")
    web_task = stack_graph.one("aws:ecs/taskDefinition:TaskDefinition", "*-web-task")
    (web_container,) = json.loads(web_task.inputs["containerDefinitions"])
    deploy = action(stack_graph, "Deploy")["configuration"]
    assert deploy["ServiceName"] == service.outputs["name"]
    assert deploy["ClusterName"] == cluster.outputs["name"]
    build_variables = variables(stack_graph, "build")
    assert build_variables["CONTAINER_NAME"] == web_container["name"]  # imagedefinitions.json names this container
    repository = stack_graph.one("aws:ecr/repository:Repository")
    assert build_variables["REPOSITORY_URI"] == repository.outputs["repositoryUrl"]
    migrate = variables(stack_graph, "migrate")
    private = [s.outputs["id"] for s in stack_graph.of_type("aws:ec2/subnet:Subnet") if "-private-" in s.name]
    assert sorted(migrate["SUBNETS"].split(",")) == sorted(private)
    assert migrate["CLUSTER"] == cluster.outputs["arn"]
    assert migrate["JOB_FAMILIES"] == stack_graph.one(
        "aws:ecs/taskDefinition:TaskDefinition", "*-job-clearsessions-task").inputs["family"]
    # `pulumi up` deploys task definition changes (with the released tag, tests/test_release.py).
    assert "taskDefinition" not in service.ignore_changes
    release = stack_graph.one("aws:ssm/parameter:Parameter", "*-release-image-tag-ssm")
    assert migrate["RELEASE_PARAMETER"] == release.inputs["name"]


def test_pipeline_can_be_disabled():
    graph = run_stack("dev", {"pipeline.enabled": "false", "service.pipeline_owns_deployments": "false"})
    assert graph.of_type(PIPELINE, PROJECT, "aws:codeconnections/connection:Connection") == []
    assert "pipeline_name" not in graph.outputs and graph.of_type("aws:scheduler/schedule:Schedule")
    assert not [p for p in graph.of_type("aws:ssm/parameter:Parameter") if "/release/" in p.inputs["name"]]


def test_connection_status_is_exported_for_the_handshake(dev: Graph):
    assert dev.outputs["github_connection_status"]["value"] == "PENDING"
    assert dev.outputs["github_connection_arn"]["value"].startswith("arn:aws:codeconnections:")

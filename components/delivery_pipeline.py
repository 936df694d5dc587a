"""DeliveryPipeline: one build per commit, the same image (by digest) from dev to prod.

The stack that builds (dev, `pipeline.promote_from` empty):
  Source > Build > [Approval] > [Publish] > Migrate > Deploy > Verify
The stack that promotes (prod, `pipeline.promote_from: dev`) never builds:
  Source > Promote > [Approval] > [Publish] > Migrate > Deploy > Verify

- Build: docker build of the commit (base images through the registry's pull through cache), pushed
  once, named by digest from then on (imagedefinitions.json carries `<repo>@sha256:...`).
- Promote: waits until the source environment released this commit (its image tagged
  `released-<commit>`), or takes a digest given by hand (pipeline variable IMAGE_DIGEST) that was
  released there; anything else fails here, before anything changed.
- Approval (`pipeline.manual_approval`, the prod default) sits before the migration: a migration changes
  the production schema, so approving after it would ask a human to approve what already happened. In
  prod it names the image digest and commit it approves.
- Publish (`static.cdn`): the image's collectstatic output goes to the static bucket before anything
  else changes (a failure leaves the database and the release untouched) and before Deploy, so the new
  pages never reference hashed files that are not there yet; nothing is deleted (old tasks keep theirs).
- Migrate: the image runs `manage.py migrate` once as a Fargate task (a non-zero exit stops the
  pipeline), the jobs get revisions with it, and it is released: written by digest to the release
  parameter (components/release.py), which every later `pulumi up` reads.
- Deploy: the ECS standard deploy action rolls the web service onto the image.
- Verify: waits until the service is steady with its primary deployment COMPLETED on exactly this image;
  in the stack that builds it then tags the image `released-<commit>`, the only images prod promotes.

A new CodeConnections connection starts PENDING: someone with access to the GitHub organization
completes the handshake once in the console (docs/delivery.md, "One-time GitHub handshake"); until
then the Source stage fails. `connection_status` is exported for that reason. docs/delivery.md also has
the whole flow, the design and the commands to promote and roll back by hand.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components import buildspecs
from components.context import StackContext
from components.iam import ServiceRole, cluster_name_of, ecr_pull_statements, log_stream_arns, service_role
from components.logs import encrypted_log_group
from components.registry import PULL_ACTIONS
from components.settings import PipelineSettings

BUILD_IMAGE = "aws/codebuild/standard:7.0"  # Ubuntu 22.04 with Docker, AWS CLI v2 and Python 3
ARTIFACT_DAYS = 30  # pipeline artifacts are reproducible from git: keep a month for investigations


@dataclass
class DeliveryPipelineArgs:
    ctx: StackContext
    settings: PipelineSettings
    repository: str  # GitHub owner/name (settings.repository)
    data_key_arn: pulumi.Input[str]  # artifact bucket, CodeBuild artifacts and pipeline artifact store
    telemetry_key_arn: pulumi.Input[str]  # CodeBuild log group
    # Where the images live: this stack's repository (it builds) or the source stack's (it promotes).
    image_repository_url: pulumi.Input[str]
    image_repository_arn: pulumi.Input[str]
    image_repository_name: pulumi.Input[str]
    cluster_arn: pulumi.Input[str]
    service_name: pulumi.Input[str]
    task_definition_family: pulumi.Input[str]  # the web service's family (the migration runs a revision of it)
    container_name: pulumi.Input[str]  # the web container: imagedefinitions.json and the migrate override
    task_role_arns: Sequence[pulumi.Input[str]]  # the web service's execution and task roles
    subnet_ids: Sequence[pulumi.Input[str]]  # where the migration runs: private subnets, no public IP
    security_group_id: pulumi.Input[str]  # workloads.batch_id (admitted by the database)
    release_parameter_name: pulumi.Input[str]  # Release.parameter_name: the migrate step writes the tag there
    release_parameter_arn: pulumi.Input[str]  # Release.parameter_arn: the only parameter it may write
    job_task_definition_families: Sequence[pulumi.Input[str]] = field(default_factory=list)
    job_role_arns: Sequence[pulumi.Input[str]] = field(default_factory=list)
    source_registry_id: str = ""  # promoting: the source repository's account
    cache_prefixes: Mapping[str, str] = field(default_factory=dict)  # building: Registry.cache_prefixes
    cache_registry: pulumi.Input[str] = ""  # building: `<account>.dkr.ecr.<region>.amazonaws.com`
    static: StaticPublishing | None = None  # static.cdn: publish the image's static files before Deploy


@dataclass
class StaticPublishing:
    bucket_name: pulumi.Input[str]  # StaticSite.bucket_name
    statements: list[dict[str, Any]]  # StaticSite.publisher_statements(): that bucket's static/ prefix and key
    image_root: str  # static.image_root: STATIC_ROOT inside the image


class DeliveryPipeline(pulumi.ComponentResource):
    """CodePipeline V2 with its connection, artifact bucket, CodeBuild projects (build or promote, migrate,
    verify) and their least-privilege roles."""

    def __init__(self, name: str, args: DeliveryPipelineArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("django-platform:delivery_pipeline:DeliveryPipeline", name, None, opts)
        ctx, settings = args.ctx, args.settings
        self._ctx = ctx

        if settings.connection_arn:
            self.connection_arn: pulumi.Output[str] = pulumi.Output.from_input(settings.connection_arn)
            self.connection_status: pulumi.Output[str] = pulumi.Output.from_input("see the console (existing)")
        else:
            connection = aws.codeconnections.Connection(
                ctx.namer.name("github", "conn"), name=ctx.namer.name("github", "conn"), provider_type="GitHub",
                opts=pulumi.ResourceOptions(parent=self))
            self.connection_arn = connection.arn
            self.connection_status = connection.connection_status

        self.bucket = self._artifact_bucket(args)
        log_group = encrypted_log_group(ctx.namer.name("pipeline", "logs"), ctx.namer.path("pipeline"), ctx,
                                        args.telemetry_key_arn, parent=self)
        self.log_group_name = log_group.name
        self.log_group_arn = log_group.arn

        cluster_name = cluster_name_of(args.cluster_arn)
        service_arn = pulumi.Output.concat(ctx.arn("ecs", "service/"), cluster_name, "/", args.service_name)
        family_arns = pulumi.Output.concat(ctx.arn("ecs", "task-definition/"), args.task_definition_family, ":*")
        job_family_arns = [pulumi.Output.concat(ctx.arn("ecs", "task-definition/"), family, ":*")
                           for family in args.job_task_definition_families]
        self._trust = {"StringEquals": {"aws:SourceAccount": ctx.account_id}}

        # Building or promoting: the first project makes imagedefinitions.json (by digest) for the others.
        self.build_project: aws.codebuild.Project | None = None
        self.promote_project: aws.codebuild.Project | None = None
        if settings.promotes:
            self.promote_project = self._promote_project(args)
            first = self.promote_project
        else:
            self.build_project = self._build_project(args)
            first = self.build_project

        migrate_name = ctx.namer.name("pipeline", "cb", "migrate")
        passed_roles = [*args.task_role_arns, *args.job_role_arns]
        migrate_role = service_role(
            migrate_name, ctx.namer.name("pipeline", "role", "migrate"), "codebuild.amazonaws.com",
            [*self._artifact_statements(args, write=False), *_log_statements(log_group.arn),
             {"Sid": "ReadTheServicesTaskDefinition", "Effect": "Allow", "Action": "ecs:DescribeServices",
              "Resource": service_arn},
             _describe_task_definitions(),
             {"Sid": "RegisterRevisionsWithTheNewImage", "Effect": "Allow", "Action": "ecs:RegisterTaskDefinition",
              "Resource": [family_arns, *job_family_arns]},
             {"Sid": "RunTheMigrationOnThisCluster", "Effect": "Allow", "Action": "ecs:RunTask",
              "Resource": family_arns, "Condition": {"ArnEquals": {"ecs:cluster": args.cluster_arn}}},
             {"Sid": "WatchTheMigrationTask", "Effect": "Allow", "Action": "ecs:DescribeTasks",
              "Resource": pulumi.Output.concat(ctx.arn("ecs", "task/"), cluster_name, "/*")},
             {"Sid": "ReleaseTheMigratedImage", "Effect": "Allow", "Action": "ssm:PutParameter",
              "Resource": args.release_parameter_arn},
             _pass_roles(passed_roles)],
            parent=self, description="CodeBuild runs the Django migration as a one-off Fargate task",
            trust_conditions=self._trust, boundary=args.ctx.permissions_boundary,
        )
        self.migrate_project = self._project(
            migrate_name, args, migrate_role, privileged=False, buildspec=buildspecs.migrate_spec(),
            log_stream="migrate", timeout=150,  # the migration waits up to 2 hours for its task
            variables={
                "CLUSTER": args.cluster_arn, "SERVICE": args.service_name, "CONTAINER_NAME": args.container_name,
                "REPOSITORY_URI": args.image_repository_url,
                "SUBNETS": pulumi.Output.all(*args.subnet_ids).apply(lambda ids: ",".join(ids)),
                "SECURITY_GROUP": args.security_group_id,
                "MIGRATE_COMMAND": json.dumps(settings.migrate_command),
                "JOB_FAMILIES": pulumi.Output.all(*args.job_task_definition_families).apply(" ".join),
                "RELEASE_PARAMETER": args.release_parameter_name,
            })
        self.verify_project = self._verify_project(args, service_arn)
        self.publish_project = self._publish_project(args, args.static) if args.static else None

        pipeline_name = ctx.namer.name("delivery", "cp")
        projects = [first, self.migrate_project, self.verify_project,
                    *([self.publish_project] if self.publish_project else [])]
        pipeline_role = service_role(
            pipeline_name, ctx.namer.name("pipeline", "role"), "codepipeline.amazonaws.com",
            [*self._artifact_statements(args, write=True),
             {"Sid": "UseTheGitHubConnection", "Effect": "Allow", "Resource": self.connection_arn,
              "Action": ["codeconnections:UseConnection", "codestar-connections:UseConnection"]},
             {"Sid": "RunTheBuildProjects", "Effect": "Allow",
              "Action": ["codebuild:StartBuild", "codebuild:BatchGetBuilds"],
              "Resource": [project.arn for project in projects]},
             {"Sid": "DeployTheWebService", "Effect": "Allow", "Action": ["ecs:DescribeServices", "ecs:UpdateService"],
              "Resource": service_arn},
             _describe_task_definitions(),
             {"Sid": "RegisterTheDeployedRevision", "Effect": "Allow", "Action": "ecs:RegisterTaskDefinition",
              "Resource": family_arns},
             {"Sid": "TagTheDeployedRevision", "Effect": "Allow", "Action": "ecs:TagResource", "Resource": family_arns,
              "Condition": {"StringEquals": {"ecs:CreateAction": "RegisterTaskDefinition"}}},
             {"Sid": "FollowTheDeploymentsTasks", "Effect": "Allow", "Action": "ecs:DescribeTasks",
              "Resource": pulumi.Output.concat(ctx.arn("ecs", "task/"), cluster_name, "/*")},
             # ListTasks is authorized on container instances (Fargate has none): the cluster condition scopes it.
             {"Sid": "ListTheClustersTasks", "Effect": "Allow", "Action": "ecs:ListTasks", "Resource": "*",
              "Condition": {"ArnEquals": {"ecs:cluster": args.cluster_arn}}},
             _pass_roles(list(args.task_role_arns))],
            parent=self, description="CodePipeline runs the delivery pipeline",
            trust_conditions=self._trust, boundary=args.ctx.permissions_boundary,
        )

        self.pipeline = aws.codepipeline.Pipeline(
            pipeline_name,
            name=pipeline_name,
            pipeline_type="V2",
            execution_mode="QUEUED",  # never supersede a run that is between its migration and its deploy
            role_arn=pipeline_role.arn,
            artifact_stores=[aws.codepipeline.PipelineArtifactStoreArgs(
                location=self.bucket.bucket, type="S3",
                encryption_key=aws.codepipeline.PipelineArtifactStoreEncryptionKeyArgs(id=args.data_key_arn,
                                                                                       type="KMS"))],
            stages=self._stages(args, first.name, cluster_name),
            # Promoting by hand: start the pipeline with IMAGE_DIGEST=sha256:... (docs/delivery.md).
            variables=[aws.codepipeline.PipelineVariableArgs(
                name="IMAGE_DIGEST", default_value=buildspecs.FROM_COMMIT,
                description=f"sha256:... of an image {settings.promote_from} released, or {buildspecs.FROM_COMMIT}: "
                            f"the one it released for the source commit")] if settings.promotes else None,
            triggers=[aws.codepipeline.PipelineTriggerArgs(
                provider_type="CodeStarSourceConnection",
                git_configuration=aws.codepipeline.PipelineTriggerGitConfigurationArgs(
                    source_action_name="Source",
                    pushes=[aws.codepipeline.PipelineTriggerGitConfigurationPushArgs(
                        branches=aws.codepipeline.PipelineTriggerGitConfigurationPushBranchesArgs(
                            includes=[settings.branch]))]))],
            # CreatePipeline starts a first run at once: its role's permissions must exist by then.
            opts=pulumi.ResourceOptions(parent=self, depends_on=pipeline_role.ready),
        )

        self.pipeline_name = self.pipeline.name
        self.pipeline_arn = self.pipeline.arn
        self.artifact_bucket_name = self.bucket.bucket
        self.register_outputs({"pipeline_name": self.pipeline_name, "connection_arn": self.connection_arn,
                               "connection_status": self.connection_status,
                               "artifact_bucket_name": self.artifact_bucket_name})

    def _artifact_bucket(self, args: DeliveryPipelineArgs) -> aws.s3.Bucket:
        """Versioned, KMS-encrypted (data key), private, TLS-only; artifacts expire after a month."""
        ctx = args.ctx
        name = ctx.namer.bucket("pipeline", "artifacts", ctx.account_id)
        bucket = aws.s3.Bucket(name, bucket=name, force_destroy=True, opts=pulumi.ResourceOptions(parent=self))
        child = pulumi.ResourceOptions(parent=bucket)
        aws.s3.BucketVersioning(name, bucket=bucket.id, versioning_configuration={"status": "Enabled"}, opts=child)
        aws.s3.BucketServerSideEncryptionConfiguration(
            name, bucket=bucket.id, opts=child,
            rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms",
                                                                "kms_master_key_id": args.data_key_arn},
                    "bucket_key_enabled": True}])
        access_block = aws.s3.BucketPublicAccessBlock(
            name, bucket=bucket.id, block_public_acls=True, block_public_policy=True, ignore_public_acls=True,
            restrict_public_buckets=True, opts=child)
        aws.s3.BucketOwnershipControls(name, bucket=bucket.id, rule={"object_ownership": "BucketOwnerEnforced"},
                                       opts=child)
        aws.s3.BucketLifecycleConfiguration(
            name, bucket=bucket.id, opts=child,
            rules=[{"id": "expire-artifacts", "status": "Enabled", "filter": {},
                    "expiration": {"days": ARTIFACT_DAYS},
                    "noncurrent_version_expiration": {"noncurrent_days": ARTIFACT_DAYS},
                    "abort_incomplete_multipart_upload": {"days_after_initiation": 1}}])
        aws.s3.BucketPolicy(
            name, bucket=bucket.id,
            policy=pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": [{
                "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                "Resource": [bucket.arn, pulumi.Output.concat(bucket.arn, "/*")],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}),
            opts=pulumi.ResourceOptions(parent=bucket, depends_on=[access_block]))
        return bucket

    def _artifact_statements(self, args: DeliveryPipelineArgs, write: bool) -> list[dict[str, Any]]:
        objects = pulumi.Output.concat(self.bucket.arn, "/*")
        actions = ["s3:GetObject", "s3:GetObjectVersion", *(["s3:PutObject"] if write else [])]
        return [
            {"Sid": "PipelineArtifacts", "Effect": "Allow", "Action": actions, "Resource": objects},
            {"Sid": "PipelineArtifactBucket", "Effect": "Allow", "Action": ["s3:GetBucketVersioning",
                                                                            "s3:GetBucketLocation"],
             "Resource": self.bucket.arn},
            {"Sid": "ArtifactEncryption", "Effect": "Allow", "Resource": args.data_key_arn,
             "Action": ["kms:Decrypt", "kms:DescribeKey", *(["kms:GenerateDataKey*", "kms:Encrypt"] if write else [])]},
        ]

    def _build_project(self, args: DeliveryPipelineArgs) -> aws.codebuild.Project:
        """Builds and pushes the image once per commit, pulling base images through the pull through cache."""
        ctx = args.ctx
        name = ctx.namer.name("pipeline", "cb", "build")
        caches = [ctx.arn("ecr", f"repository/{prefix}/*") for prefix in args.cache_prefixes.values()]
        role = service_role(
            name, ctx.namer.name("pipeline", "role", "build"), "codebuild.amazonaws.com",
            [*self._artifact_statements(args, write=True), *_log_statements(self.log_group_arn),
             {"Sid": "EcrLogin", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
             {"Sid": "PushTheAppImage", "Effect": "Allow", "Resource": args.image_repository_arn,
              "Action": ["ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart",
                         "ecr:CompleteLayerUpload", "ecr:PutImage", "ecr:BatchGetImage",
                         "ecr:GetDownloadUrlForLayer", "ecr:DescribeImages"]},
             # A cached repository is created, and refreshed, by the first pull of someone allowed to (ECR user
             # guide, "IAM permissions required to sync an upstream registry"): only under our cache prefixes.
             *([{"Sid": "PullBaseImagesThroughTheCache", "Effect": "Allow", "Resource": caches,
                 "Action": [*PULL_ACTIONS, "ecr:BatchImportUpstreamImage", "ecr:CreateRepository"]}]
               if caches else [])],
            parent=self, description="CodeBuild builds and pushes the Django image", trust_conditions=self._trust,
            boundary=ctx.permissions_boundary,
        )
        registry = pulumi.Output.from_input(args.cache_registry)

        def cache(upstream: str, fallback: str) -> pulumi.Output[str]:
            prefix = args.cache_prefixes.get(upstream)
            return registry.apply(lambda host: f"{host}/{prefix}") if prefix else pulumi.Output.from_input(fallback)

        return self._project(
            name, args, role, privileged=True, buildspec=buildspecs.build_spec(), log_stream="build", timeout=60,
            variables={"REPOSITORY_URI": args.image_repository_url, "REPOSITORY_NAME": args.image_repository_name,
                       "CONTAINER_NAME": args.container_name,
                       # FROM ${BASE_REGISTRY}/docker/library/python:3.12-slim (docs/delivery.md)
                       "BASE_REGISTRY": cache("ecr-public", "public.ecr.aws"),
                       "DOCKER_HUB_REGISTRY": cache("docker-hub", "docker.io")})

    def _promote_project(self, args: DeliveryPipelineArgs) -> aws.codebuild.Project:
        """Finds the digest the source environment released; may only read that one repository's image details."""
        ctx, settings = args.ctx, args.settings
        name = ctx.namer.name("pipeline", "cb", "promote")
        # The role name is what the source repository's policy admits (registry.consumer_role_patterns).
        role = service_role(
            name, ctx.namer.name("pipeline", "role", "promote"), "codebuild.amazonaws.com",
            [*self._artifact_statements(args, write=True), *_log_statements(self.log_group_arn),
             {"Sid": "ReadTheSourceEnvironmentsReleases", "Effect": "Allow", "Action": "ecr:DescribeImages",
              "Resource": args.image_repository_arn}],
            parent=self, description=f"CodeBuild finds the image {settings.promote_from} released",
            trust_conditions=self._trust, boundary=args.ctx.permissions_boundary,
        )
        return self._project(
            name, args, role, privileged=False, buildspec=buildspecs.promote_spec(), log_stream="promote",
            timeout=settings.promote_wait_minutes + 15,
            variables={"SOURCE_ENVIRONMENT": settings.promote_from, "SOURCE_REGISTRY_ID": args.source_registry_id,
                       "SOURCE_REPOSITORY_NAME": args.image_repository_name,
                       "SOURCE_REPOSITORY_URI": args.image_repository_url, "CONTAINER_NAME": args.container_name,
                       "WAIT_MINUTES": str(settings.promote_wait_minutes), "POLL_SECONDS": "60"})

    def _publish_project(self, args: DeliveryPipelineArgs, static: StaticPublishing) -> aws.codebuild.Project:
        """Copies the static files out of the image (Docker: privileged) to the static bucket, never deleting."""
        ctx = args.ctx
        name = ctx.namer.name("pipeline", "cb", "publish")
        # The role name is admitted by the source repository's policy (registry.consumer_role_patterns).
        role = service_role(
            name, ctx.namer.name("pipeline", "role", "publish"), "codebuild.amazonaws.com",
            [*self._artifact_statements(args, write=False), *_log_statements(self.log_group_arn),
             *ecr_pull_statements(args.image_repository_arn),  # dev's repository and key, from prod
             *static.statements],
            parent=self, description="CodeBuild publishes the image's static files to the static bucket",
            trust_conditions=self._trust, boundary=ctx.permissions_boundary,
        )
        return self._project(
            name, args, role, privileged=True, buildspec=buildspecs.publish_spec(), log_stream="publish", timeout=30,
            variables={"CONTAINER_NAME": args.container_name, "STATIC_BUCKET": static.bucket_name,
                       "STATIC_ROOT": static.image_root})

    def _verify_project(self, args: DeliveryPipelineArgs, service_arn: pulumi.Output[str]) -> aws.codebuild.Project:
        """Checks the service is steady on the image; where the stack builds, tags it released-<commit>."""
        ctx, building = args.ctx, not args.settings.promotes
        name = ctx.namer.name("pipeline", "cb", "verify")
        role = service_role(
            name, ctx.namer.name("pipeline", "role", "verify"), "codebuild.amazonaws.com",
            [*self._artifact_statements(args, write=False), *_log_statements(self.log_group_arn),
             {"Sid": "WatchTheWebService", "Effect": "Allow", "Action": "ecs:DescribeServices",
              "Resource": service_arn},
             _describe_task_definitions(),
             *([{"Sid": "TagTheReleasedImage", "Effect": "Allow", "Resource": args.image_repository_arn,
                 "Action": ["ecr:DescribeImages", "ecr:BatchGetImage", "ecr:PutImage"]}] if building else [])],
            parent=self, description="CodeBuild checks the deployment reached a steady state on the released image",
            trust_conditions=self._trust, boundary=args.ctx.permissions_boundary,
        )
        return self._project(
            name, args, role, privileged=False, buildspec=buildspecs.verify_spec(), log_stream="verify", timeout=75,
            variables={"CLUSTER": args.cluster_arn, "SERVICE": args.service_name,
                       "CONTAINER_NAME": args.container_name, "REPOSITORY_URI": args.image_repository_url,
                       "REPOSITORY_NAME": args.image_repository_name, "MARK_RELEASED": str(building).lower()})

    def _project(self, resource_name: str, args: DeliveryPipelineArgs, role: ServiceRole, privileged: bool,
                 buildspec: str, log_stream: str, timeout: int,
                 variables: dict[str, pulumi.Input[str]]) -> aws.codebuild.Project:
        return aws.codebuild.Project(
            resource_name,
            name=resource_name,
            service_role=role.arn,
            encryption_key=args.data_key_arn,
            build_timeout=timeout,
            source=aws.codebuild.ProjectSourceArgs(type="CODEPIPELINE", buildspec=buildspec),
            artifacts=aws.codebuild.ProjectArtifactsArgs(type="CODEPIPELINE"),
            cache=aws.codebuild.ProjectCacheArgs(type="LOCAL", modes=["LOCAL_DOCKER_LAYER_CACHE"])
            if privileged else None,
            environment=aws.codebuild.ProjectEnvironmentArgs(
                compute_type="BUILD_GENERAL1_SMALL", image=BUILD_IMAGE, type="LINUX_CONTAINER",
                image_pull_credentials_type="CODEBUILD",
                privileged_mode=privileged,  # the Docker daemon needs it; no other project does
                environment_variables=[aws.codebuild.ProjectEnvironmentEnvironmentVariableArgs(
                    name=key, value=value, type="PLAINTEXT") for key, value in variables.items()]),
            logs_config=aws.codebuild.ProjectLogsConfigArgs(
                cloudwatch_logs=aws.codebuild.ProjectLogsConfigCloudwatchLogsArgs(
                    status="ENABLED", group_name=self.log_group_name, stream_name=log_stream),
                s3_logs=aws.codebuild.ProjectLogsConfigS3LogsArgs(status="DISABLED")),
            opts=pulumi.ResourceOptions(parent=self, depends_on=role.ready),
        )

    def _stages(self, args: DeliveryPipelineArgs, first_project: pulumi.Input[str],
                cluster_name: pulumi.Input[str]) -> list[Any]:
        stage, action = aws.codepipeline.PipelineStageArgs, aws.codepipeline.PipelineStageActionArgs
        settings, env = args.settings, args.ctx.namer.env
        source = stage(name="Source", actions=[action(
            name="Source", category="Source", owner="AWS", provider="CodeStarSourceConnection", version="1",
            namespace="SourceVariables", output_artifacts=["source"],
            configuration={"ConnectionArn": self.connection_arn, "FullRepositoryId": args.repository,
                           # The pipeline's V2 trigger (push to the branch) starts runs; with a trigger
                           # configured, the action's own change detection is off.
                           "BranchName": settings.branch, "OutputArtifactFormat": "CODE_ZIP"})])
        commit = {"name": "COMMIT_ID", "value": "#{SourceVariables.CommitId}", "type": "PLAINTEXT"}
        if settings.promotes:
            first = stage(name="Promote", actions=[action(
                name="FindTheReleasedImage", category="Build", owner="AWS", provider="CodeBuild", version="1",
                namespace="PromoteVariables", input_artifacts=["source"], output_artifacts=["image"],
                configuration={"ProjectName": first_project, "EnvironmentVariables": json.dumps([
                    commit, {"name": "IMAGE_DIGEST", "value": "#{variables.IMAGE_DIGEST}", "type": "PLAINTEXT"}])})])
            question = (f"Migrate and deploy #{{PromoteVariables.IMAGE_URI}} (commit "
                        f"#{{PromoteVariables.RELEASED_COMMIT}}, released in {settings.promote_from}) to {env}?")
        else:
            first = stage(name="Build", actions=[action(
                name="BuildImage", category="Build", owner="AWS", provider="CodeBuild", version="1",
                input_artifacts=["source"], output_artifacts=["image"],
                configuration={"ProjectName": first_project, "EnvironmentVariables": json.dumps([commit])})])
            question = f"Migrate and deploy commit #{{SourceVariables.CommitId}} of {args.repository} to {env}?"
        approval = stage(name="Approval", actions=[action(
            name="ApproveRelease", category="Approval", owner="AWS", provider="Manual", version="1",
            configuration={"CustomData": question})])
        publish = [stage(name="Publish", actions=[action(
            name="PublishStaticFiles", category="Build", owner="AWS", provider="CodeBuild", version="1",
            input_artifacts=["image"], configuration={"ProjectName": self.publish_project.name})])
        ] if self.publish_project else []
        migrate = stage(name="Migrate", actions=[action(
            name="MigrateDatabase", category="Build", owner="AWS", provider="CodeBuild", version="1",
            input_artifacts=["image"], configuration={"ProjectName": self.migrate_project.name})])
        deploy = stage(name="Deploy", actions=[action(
            name="DeployService", category="Deploy", owner="AWS", provider="ECS", version="1",
            input_artifacts=["image"],
            configuration={"ClusterName": cluster_name, "ServiceName": args.service_name,
                           "FileName": "imagedefinitions.json"})])
        verify = stage(name="Verify", actions=[action(
            name="VerifyRelease", category="Build", owner="AWS", provider="CodeBuild", version="1",
            input_artifacts=["image"],
            configuration={"ProjectName": self.verify_project.name, "EnvironmentVariables": json.dumps([commit])})])
        return [source, first, *([approval] if settings.manual_approval else []), *publish, migrate, deploy, verify]


def _log_statements(log_group_arn: pulumi.Input[str]) -> list[dict[str, Any]]:
    return [{"Sid": "WriteBuildLogs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
             "Resource": log_stream_arns(log_group_arn)}]


def _describe_task_definitions() -> dict[str, Any]:
    # DescribeTaskDefinition supports no resource-level permission (Service Authorization Reference, Amazon ECS).
    return {"Sid": "ReadTaskDefinitions", "Effect": "Allow", "Action": "ecs:DescribeTaskDefinition", "Resource": "*"}


def _pass_roles(role_arns: list[pulumi.Input[str]]) -> dict[str, Any]:
    return {"Sid": "PassOnlyTheTaskRoles", "Effect": "Allow", "Action": "iam:PassRole", "Resource": role_arns,
            "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}}

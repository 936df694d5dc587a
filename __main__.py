"""The Django-on-Fargate platform: settings -> components -> stack outputs."""

import pulumi
import pulumi_aws as aws

from components import app_contract
from components.app_settings import AppSettings, AppSettingsArgs
from components.cache import Cache, CacheArgs
from components.certificate import Certificate, CertificateArgs
from components.context import StackContext
from components.credential_rotation import CredentialRotation, CredentialRotationArgs
from components.database import Database, DatabaseArgs
from components.delivery_pipeline import DeliveryPipeline, DeliveryPipelineArgs, StaticPublishing
from components.iam import permissions_boundary_arn
from components.keys import Keys, KeysArgs
from components.load_balancer import LoadBalancer, LoadBalancerArgs
from components.media_storage import MediaStorage, MediaStorageArgs
from components.monitoring import (
    AlarmTopic,
    AlarmTopicArgs,
    CacheTargets,
    DatabaseTargets,
    JobTargets,
    LoadBalancerTargets,
    Monitoring,
    MonitoringArgs,
    PipelineTargets,
    ServiceTargets,
    WorkerTargets,
    deployment_alarm_names,
    member_cluster_ids,
)
from components.naming import Namer
from components.network import Network, NetworkArgs
from components.provider import edge_provider, tagged_provider
from components.registry import Registry, RegistryArgs, consumer_key_statements, image_source
from components.release import Release, ReleaseArgs
from components.scheduled_task import ScheduledTask, ScheduledTaskArgs
from components.settings import load_from_pulumi_config
from components.static_site import StaticSite, StaticSiteArgs
from components.web_service import WebService, WebServiceArgs, configured_secrets
from components.workers import (
    WorkerQueue,
    WorkerQueueArgs,
    WorkerService,
    WorkerServiceArgs,
    celery_environment,
    producer_statements,
)
from components.workloads import ContainerSecrets, WorkloadSecurityGroups, WorkloadSecurityGroupsArgs

stack = pulumi.get_stack()
settings = load_from_pulumi_config(stack)  # raises with every bad key before any resource exists

provider = tagged_provider(settings, stack)
on_provider = pulumi.InvokeOptions(provider=provider)
account_id = aws.get_caller_identity(opts=on_provider).account_id
ctx = StackContext(
    namer=Namer(settings.system, settings.environment),
    production_like=settings.production_like,
    log_retention_days=settings.log_retention_days,
    region=aws.get_region(opts=on_provider).region,
    account_id=account_id,
    permissions_boundary=permissions_boundary_arn(settings.permissions_boundary, settings.system, account_id),
)
platform = pulumi.ResourceOptions(providers=[provider])

keys = Keys("keys", KeysArgs(
    ctx=ctx, settings=settings.keys, data_key_statements=consumer_key_statements(ctx, settings.registry),
    log_delivery=settings.network.flow_logs and settings.network.flow_logs_destination == "s3"), opts=platform)
network = Network("network", NetworkArgs(ctx=ctx, settings=settings.network,
                                         flow_log_key_arn=keys.telemetry_key_arn, ipv6=settings.dns.ipv6),
                  opts=platform)
workloads = WorkloadSecurityGroups("workloads", WorkloadSecurityGroupsArgs(ctx=ctx, vpc_id=network.vpc_id),
                                   opts=platform)
# The alarm topic comes first (scheduled jobs send their failure events to it); the alarms come last.
alarm_topic = AlarmTopic("alarm-topic", AlarmTopicArgs(ctx=ctx, settings=settings.monitoring,
                                                       key_arn=keys.telemetry_key_arn), opts=platform)

# --- data tier: database, cache, connection settings and secrets for the Django tasks -----------------
data_clients = {"web": workloads.web_id, "batch": workloads.batch_id}
database = Database("database", DatabaseArgs(ctx=ctx, settings=settings.database, vpc_id=network.vpc_id,
                                             subnet_ids=network.isolated_subnet_ids, clients=data_clients,
                                             key_arn=keys.data_key_arn, log_key_arn=keys.telemetry_key_arn),
                    opts=platform)
cache = Cache("cache", CacheArgs(ctx=ctx, settings=settings.cache, vpc_id=network.vpc_id,
                                 subnet_ids=network.isolated_subnet_ids, clients=data_clients,
                                 key_arn=keys.data_key_arn, log_key_arn=keys.telemetry_key_arn), opts=platform)
app_settings = AppSettings("app-settings", AppSettingsArgs(ctx=ctx, database=database, cache=cache,
                                                           key_arn=keys.data_key_arn), opts=platform)
pulumi.export("db_endpoint", database.address)
pulumi.export("db_port", database.port)
pulumi.export("redis_primary_endpoint", cache.primary_endpoint_address)
pulumi.export("app_settings_path", app_settings.path)

# --- static files, uploads and worker queues: what the web tasks and workers share (docs/static-media-workers.md)
media = MediaStorage("media", MediaStorageArgs(ctx=ctx, settings=settings.media, key_arn=keys.data_key_arn),
                     opts=platform) if settings.media.enabled else None
worker_queues = [WorkerQueue(f"worker-{worker.name}-queue", WorkerQueueArgs(ctx=ctx, worker=worker,
                                                                            key_arn=keys.data_key_arn), opts=platform)
                 for worker in settings.workers]
# Their part of the app contract (docs/app-contract.md), and the grants every Django container gets with it.
storage_environment: dict[str, pulumi.Input[str]] = {**(media.environment if media else {}),
                                                     **celery_environment(worker_queues)}
app_statements = [*(media.access_statements() if media else []),
                  *producer_statements(ctx, [q.queue_arn for q in worker_queues], keys.data_key_arn)]
if media:
    pulumi.export("media_bucket", media.bucket_name)

# --- edge and web tier: certificate, registry, load balancer, web service -------------------------
certificate = Certificate("certificate", CertificateArgs(ctx=ctx, settings=settings.dns), opts=platform)
# One build per commit (docs/delivery.md): the stack that builds owns the repository; a stack that promotes
# creates none and runs the source stack's images, by digest.
registry = None
if settings.pipeline.promotes:
    source = image_source(Namer(settings.system, settings.pipeline.promote_from), ctx.region,
                          settings.pipeline.promote_from_account or ctx.account_id)
    repository_url, repository_arn, repository_name = source.repository_url, source.repository_arn, \
        source.repository_name
else:
    registry = Registry("registry", RegistryArgs(ctx=ctx, settings=settings.registry, key_arn=keys.data_key_arn),
                        opts=platform)
    repository_url, repository_arn, repository_name = registry.repository_url, registry.repository_arn, \
        registry.repository_name
load_balancer = LoadBalancer("load-balancer", LoadBalancerArgs(
    ctx=ctx, settings=settings.load_balancer, vpc_id=network.vpc_id, public_subnet_ids=network.public_subnet_ids,
    certificate_arn=certificate.certificate_arn, zone_id=certificate.zone_id, site_names=certificate.site_names,
    target_port=settings.service.port, target_security_group_id=workloads.web_id,
    log_key_arn=keys.telemetry_key_arn, ipv6=settings.dns.ipv6), opts=platform)
pulumi.export("site_url", load_balancer.url)
pulumi.export("alb_dns_name", load_balancer.dns_name)
static_site = StaticSite("static-site", StaticSiteArgs(
    ctx=ctx, settings=settings.static, hostname=settings.static.hostname_for(settings.dns.domain),
    zone_id=certificate.zone_id, edge_provider=edge_provider(settings, stack),
    key_deletion_window_days=settings.keys.deletion_window_days), opts=platform) if settings.static.cdn else None
if static_site:
    pulumi.export("static_url", static_site.url)
    pulumi.export("static_bucket", static_site.bucket_name)  # where collectstatic output is published
# The image tag the pipeline released last (an SSM parameter it writes); `pulumi up` deploys config changes with it.
release = Release("release", ReleaseArgs(ctx=ctx, initial_image_tag=settings.service.image_tag,
                                         repository_url=repository_url,
                                         follow=settings.service.pipeline_owns_deployments),
                  opts=platform) if settings.pipeline.enabled else None
image = release.image if release else pulumi.Output.concat(repository_url, ":", settings.service.image_tag)
# What the app is told besides the data tier's settings (docs/app-contract.md): hosts, proxy header, health path,
# static URL, media bucket and worker queues.
app_environment = {**app_contract.environment(settings), **storage_environment}
web_service = WebService("web-service", WebServiceArgs(
    ctx=ctx, settings=settings.service, repository_url=repository_url, repository_arn=repository_arn,
    image_tag=settings.service.image_tag, image=image, subnet_ids=network.private_subnet_ids,
    security_group_id=workloads.web_id, target_group_arn=load_balancer.target_group_arn,
    request_count_resource_label=load_balancer.request_count_resource_label, log_key_arn=keys.telemetry_key_arn,
    secrets_key_arn=keys.data_key_arn, secrets=app_settings.container_secrets, environment=app_environment,
    task_role_statements=app_statements, deployment_alarm_names=deployment_alarm_names(ctx.namer, settings.monitoring),
    image_released=release.released if release else True), opts=platform)
pulumi.export("repository_url", repository_url)
pulumi.export("cluster_name", web_service.cluster_name)
pulumi.export("service_name", web_service.service_name)

# --- batch and delivery: scheduled jobs (same image, secrets and batch security group), the pipeline ------
job_secrets = ContainerSecrets((*app_settings.container_secrets.secrets,
                                *configured_secrets(ctx, settings.service.secrets, keys.data_key_arn)))
jobs = [ScheduledTask(f"job-{job.name}", ScheduledTaskArgs(
    ctx=ctx, job=job, image=image, repository_arn=repository_arn, cluster_arn=web_service.cluster_arn,
    subnet_ids=network.private_subnet_ids, security_group_id=workloads.batch_id,
    telemetry_key_arn=keys.telemetry_key_arn, environment={**settings.service.environment, **app_environment},
    secrets=job_secrets, task_role_statements=app_statements,
    user=settings.service.user, readonly_root_filesystem=settings.service.readonly_root_filesystem,
    alarm_topic_arn=alarm_topic.topic_arn), opts=platform) for job in settings.jobs]
pulumi.export("job_schedule_names", [job.schedule_name for job in jobs])
workers = [WorkerService(f"worker-{worker.name}", WorkerServiceArgs(
    ctx=ctx, worker=worker, queue=queue, image=image, repository_arn=repository_arn,
    cluster_arn=web_service.cluster_arn, cluster_name=web_service.cluster_name, subnet_ids=network.private_subnet_ids,
    security_group_id=workloads.batch_id, telemetry_key_arn=keys.telemetry_key_arn, data_key_arn=keys.data_key_arn,
    environment={**settings.service.environment, **app_environment}, secrets=job_secrets,
    task_role_statements=app_statements, user=settings.service.user,
    readonly_root_filesystem=settings.service.readonly_root_filesystem,
    image_released=release.released if release else True,
    wait_for_steady_state=settings.service.wait_for_steady_state,
    deployment_timeout_minutes=settings.service.deployment_timeout_minutes), opts=platform)
    for worker, queue in zip(settings.workers, worker_queues, strict=True)]
# RDS rotates the master password on its own; running tasks read secrets only at start (docs/deploy-safety.md).
CredentialRotation("credential-rotation", CredentialRotationArgs(
    ctx=ctx, secret_arn=database.master_user_secret_arn, cluster_arn=web_service.cluster_arn,
    service_names=[web_service.service_name, *(w.service_name for w in workers)],
    alarm_topic_arn=alarm_topic.topic_arn), opts=platform)
if workers:
    pulumi.export("worker_service_names", [w.service_name for w in workers])
    pulumi.export("worker_queue_urls", {q.worker_name: q.queue_url for q in worker_queues})
pipeline = None
if release is not None:  # i.e. settings.pipeline.enabled
    pipeline = DeliveryPipeline("delivery-pipeline", DeliveryPipelineArgs(
        ctx=ctx, settings=settings.pipeline, repository=settings.repository, data_key_arn=keys.data_key_arn,
        telemetry_key_arn=keys.telemetry_key_arn, image_repository_url=repository_url,
        image_repository_arn=repository_arn, image_repository_name=repository_name,
        source_registry_id=settings.pipeline.promote_from_account or ctx.account_id,
        cache_prefixes=registry.cache_prefixes if registry else {},
        cache_registry=registry.registry_host if registry else "",
        cluster_arn=web_service.cluster_arn, service_name=web_service.service_name,
        task_definition_family=web_service.task_definition_family, container_name=web_service.container_name,
        task_role_arns=[web_service.execution_role_arn, web_service.task_role_arn],
        subnet_ids=network.private_subnet_ids, security_group_id=workloads.batch_id,
        job_task_definition_families=[job.task_definition_family for job in jobs],
        job_role_arns=[arn for job in jobs for arn in (job.execution_role_arn, job.task_role_arn)],
        release_parameter_name=release.parameter_name, release_parameter_arn=release.parameter_arn,
        static=StaticPublishing(static_site.bucket_name, static_site.publisher_statements(),
                                settings.static.image_root) if static_site else None), opts=platform)
    pulumi.export("pipeline_name", pipeline.pipeline_name)
    pulumi.export("release_parameter_name", release.parameter_name)  # releases and rolling back: docs/delivery.md
    # A new GitHub connection stays PENDING until its one-time console handshake (docs/delivery.md).
    pulumi.export("github_connection_arn", pipeline.connection_arn)
    pulumi.export("github_connection_status", pipeline.connection_status)

# --- operations: alarms on every tier, pipeline failure events, the dashboard -----------------------------
monitoring = Monitoring("monitoring", MonitoringArgs(
    ctx=ctx, settings=settings.monitoring, topic_arn=alarm_topic.topic_arn,
    load_balancer=LoadBalancerTargets(load_balancer.arn_suffix, load_balancer.target_group_arn_suffix),
    service=ServiceTargets(web_service.cluster_name, web_service.service_name),
    database=DatabaseTargets(database.instance.identifier),
    cache=CacheTargets(cache.replication_group.replication_group_id,
                       member_cluster_ids(cache.member_clusters, settings.cache.nodes)),
    jobs=[JobTargets(job_settings.name, job.failure_rule_name, job.dead_letter_queue_name)
          for job_settings, job in zip(settings.jobs, jobs, strict=True)],
    pipeline=PipelineTargets(pipeline.pipeline_name) if pipeline else None,
    workers=[WorkerTargets(q.worker_name, q.queue_name, q.dead_letter_queue_name) for q in worker_queues],
), opts=platform)
pulumi.export("alarm_topic_arn", alarm_topic.topic_arn)
pulumi.export("dashboard_name", monitoring.dashboard_name)

pulumi.export("vpc_id", network.vpc_id)
pulumi.export("private_subnet_ids", network.private_subnet_ids)
pulumi.export("data_key_arn", keys.data_key_arn)

"""The Django-on-Fargate platform: settings -> components -> stack outputs."""

import pulumi
import pulumi_aws as aws

from components.app_settings import AppSettings, AppSettingsArgs
from components.cache import Cache, CacheArgs
from components.certificate import Certificate, CertificateArgs
from components.context import StackContext
from components.database import Database, DatabaseArgs
from components.keys import Keys, KeysArgs
from components.load_balancer import LoadBalancer, LoadBalancerArgs
from components.naming import Namer
from components.network import Network, NetworkArgs
from components.provider import tagged_provider
from components.registry import Registry, RegistryArgs
from components.settings import load_from_pulumi_config
from components.web_service import WebService, WebServiceArgs
from components.workloads import WorkloadSecurityGroups, WorkloadSecurityGroupsArgs

stack = pulumi.get_stack()
settings = load_from_pulumi_config(stack)  # raises with every bad key before any resource exists

provider = tagged_provider(settings, stack)
on_provider = pulumi.InvokeOptions(provider=provider)
ctx = StackContext(
    namer=Namer(settings.system, settings.environment),
    production_like=settings.production_like,
    log_retention_days=settings.log_retention_days,
    region=aws.get_region(opts=on_provider).region,
    account_id=aws.get_caller_identity(opts=on_provider).account_id,
)
platform = pulumi.ResourceOptions(providers=[provider])

keys = Keys("keys", KeysArgs(ctx=ctx, settings=settings.keys), opts=platform)
network = Network("network", NetworkArgs(ctx=ctx, settings=settings.network,
                                         flow_log_key_arn=keys.telemetry_key_arn), opts=platform)
workloads = WorkloadSecurityGroups("workloads", WorkloadSecurityGroupsArgs(ctx=ctx, vpc_id=network.vpc_id),
                                   opts=platform)

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

# Order of the tiers (each block is owned by one component module):
#   data tier (Database, Cache, AppSettings -> ContainerSecrets)
#   edge and web tier (Certificate, LoadBalancer, Registry, WebService)
#   batch and delivery (ScheduledTask per job, DeliveryPipeline)
#   operations (Monitoring)

# --- edge and web tier: certificate, registry, load balancer, web service -------------------------
certificate = Certificate("certificate", CertificateArgs(ctx=ctx, settings=settings.dns), opts=platform)
registry = Registry("registry", RegistryArgs(ctx=ctx, settings=settings.registry, key_arn=keys.data_key_arn),
                    opts=platform)
load_balancer = LoadBalancer("load-balancer", LoadBalancerArgs(
    ctx=ctx, settings=settings.load_balancer, vpc_id=network.vpc_id, public_subnet_ids=network.public_subnet_ids,
    certificate_arn=certificate.certificate_arn, zone_id=certificate.zone_id, site_names=certificate.site_names,
    target_port=settings.service.port, target_security_group_id=workloads.web_id,
    log_key_arn=keys.telemetry_key_arn, ipv6=settings.dns.ipv6), opts=platform)
pulumi.export("site_url", load_balancer.url)
pulumi.export("alb_dns_name", load_balancer.dns_name)
web_service = WebService("web-service", WebServiceArgs(
    ctx=ctx, settings=settings.service, repository_url=registry.repository_url,
    repository_arn=registry.repository_arn, subnet_ids=network.private_subnet_ids,
    security_group_id=workloads.web_id, target_group_arn=load_balancer.target_group_arn,
    request_count_resource_label=load_balancer.request_count_resource_label, log_key_arn=keys.telemetry_key_arn,
    secrets_key_arn=keys.data_key_arn, secrets=app_settings.container_secrets), opts=platform)
pulumi.export("repository_url", registry.repository_url)
pulumi.export("cluster_name", web_service.cluster_name)
pulumi.export("service_name", web_service.service_name)

pulumi.export("vpc_id", network.vpc_id)
pulumi.export("private_subnet_ids", network.private_subnet_ids)
pulumi.export("data_key_arn", keys.data_key_arn)

"""Stack settings: the one place that reads stack config, with per-environment defaults.

Every key is declared once, as a field of a section dataclass below, with its default (one value, or
`PerEnv(dev=..., prod=...)`), a one-line doc and its check. `load()` reads the whole config, checks
every key and every cross-key rule, and raises one `SettingsError` listing every problem before the
program creates any resource. docs/configuration.md is generated from these declarations
(`python -m tools.config_reference`), so the docs cannot drift from the code.

Keys live under the project namespace, grouped by section: `django-platform:network` holds
`{cidr: ..., az_count: ...}` in `Pulumi.<stack>.yaml`; on the command line that is
`pulumi config set --path network.cidr 10.20.0.0/16`.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import re
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from components import alarms as alarm_catalog
from components import fargate, schedules, windows
from components.subnets import TIERS, SubnetLayoutError, plan_subnets

PROJECT = "django-platform"
ENVIRONMENTS = ("dev", "stg", "prod")
# Environments that take the highly available defaults and the production safeguards.
PRODUCTION_LIKE = ("stg", "prod")

Check = Callable[[Any], "str | None"]


@dataclass(frozen=True)
class PerEnv:
    """A default that differs between the cheap dev profile and the highly available one."""

    dev: Any
    prod: Any

    def for_env(self, env: str) -> Any:
        return self.prod if env in PRODUCTION_LIKE else self.dev


def setting(default: Any, doc: str, check: Check | None = None, secret: bool = False,
            placeholder: str | None = None) -> Any:
    """Declare a config key: its default, its documentation and its check (None when valid).

    A secret key also declares `placeholder`: a value (one list item for a list) that passes its check,
    with `{n}` where a counter keeps several of them apart. The offline preview, which cannot decrypt
    `secure:` values, runs the program with it instead, and masks it in everything it prints.
    """
    return field(metadata={"default": default, "doc": doc, "check": check, "secret": secret,
                           "placeholder": placeholder})


# --- checks: each returns None when the value is fine, else what is allowed -------------------------

LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827,
                      2192, 2557, 2922, 3288, 3653)  # CloudWatch Logs PutRetentionPolicy values


def one_of(*allowed: Any) -> Check:
    def check(value: Any) -> str | None:
        return None if value in allowed else "one of " + ", ".join(map(str, allowed))

    return check


def between(low: int, high: int) -> Check:
    def check(value: Any) -> str | None:
        return None if low <= value <= high else f"an integer from {low} to {high}"

    return check


def matches(pattern: str, description: str) -> Check:
    compiled = re.compile(pattern)

    def check(value: Any) -> str | None:
        return None if compiled.fullmatch(value) else description

    return check


def each(item_check: Check) -> Check:
    """Every item passes `item_check`, and none repeats (each item becomes a resource with its own name)."""

    def check(values: Any) -> str | None:
        for value in values:
            problem = item_check(value)
            if problem:
                return f"a list whose items are each {problem} ({value!r} is not)"
        repeated = sorted({v for v in values if values.count(v) > 1})
        return f"a list without repeated items ({repeated} repeat)" if repeated else None

    return check


def ipv4_cidr(value: str) -> str | None:
    try:
        network = ipaddress.IPv4Network(value, strict=True)
    except ValueError:
        return "an IPv4 CIDR block with no host bits set, such as 10.0.0.0/16"
    if not 16 <= network.prefixlen <= 24:
        return "a VPC CIDR from /16 to /24 (the AWS limits for a VPC)"
    if not network.is_private:
        return "a private (RFC 1918) range such as 10.0.0.0/16"
    return None


_DNS_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
DOMAIN_PATTERN = rf"(?=.{{4,253}}$)({_DNS_LABEL}\.)+[a-z]{{2,63}}"
is_domain = matches(DOMAIN_PATTERN, "a lowercase DNS name such as app.example.com")
is_san = matches(rf"(\*\.)?{DOMAIN_PATTERN}", "a lowercase DNS name, optionally starting with *.")
is_email = matches(r"[^@\s]+@[^@\s]+\.[a-z]{2,}", "an e-mail address")
is_https_url = matches(r"https://[A-Za-z0-9.-]+(:\d{1,5})?(/\S*)?", "an https:// URL")
is_time_window = matches(r"([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d", "hh:mm-hh:mm in UTC")
is_weekly_window = matches(
    r"(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d-(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d",
    "ddd:hh:mm-ddd:hh:mm in UTC, such as mon:10:10-mon:10:40",
)


# --- sections -----------------------------------------------------------------------------------------

VPC_ENDPOINTS = ("s3", "ecr", "logs", "ssm", "secretsmanager", "kms", "sts")
NAT_STRATEGIES = ("single", "one-per-az", "none")
FLOW_LOG_DESTINATIONS = ("cloud-watch-logs", "s3")


@dataclass(frozen=True)
class NetworkSettings:
    cidr: str = setting(PerEnv("10.10.0.0/16", "10.20.0.0/16"), "VPC IPv4 CIDR (/16 to /24, private range).",
                        ipv4_cidr)
    az_count: int = setting(PerEnv(2, 3), "Availability zones to spread subnets over.", between(2, 6))
    public_subnet_bits: int = setting(8, "Bits added to the VPC prefix for each public subnet.", between(1, 12))
    private_subnet_bits: int = setting(4, "Bits added to the VPC prefix for each private (task) subnet.",
                                       between(1, 12))
    isolated_subnet_bits: int = setting(8, "Bits added to the VPC prefix for each isolated (data) subnet.",
                                        between(1, 12))
    nat: str = setting(PerEnv("single", "one-per-az"),
                       "NAT gateways: single (cheap), one-per-az (survives an AZ outage) or none.",
                       one_of(*NAT_STRATEGIES))
    flow_logs: bool = setting(True, "Record VPC flow logs (all traffic).")
    # Deploy safety (docs/deploy-safety.md): where flow logs go and how long S3 keeps them.
    flow_logs_destination: str = setting(
        PerEnv("cloud-watch-logs", "s3"), "Flow log destination: cloud-watch-logs (an encrypted log group, "
        "log_retention_days) or s3 (a KMS-encrypted bucket, half the delivery price).",
        one_of(*FLOW_LOG_DESTINATIONS))
    flow_logs_s3_days: int = setting(PerEnv(90, 365), "Days the s3 destination keeps flow log files.",
                                     between(1, 3650))
    endpoints: list[str] = setting(
        PerEnv(["s3"], ["s3", "ecr", "logs", "secretsmanager", "ssm"]),
        "VPC endpoints: s3 is a free gateway; the others are interface endpoints billed per AZ-hour.",
        each(one_of(*VPC_ENDPOINTS)),
    )

    def problems(self, ctx: _Context) -> None:
        bits = {tier: getattr(self, f"{tier}_subnet_bits") for tier in TIERS}
        try:
            plan_subnets(self.cidr, self.az_count, bits)
        except (SubnetLayoutError, ValueError) as error:
            ctx.problem("network.cidr", self.cidr, f"room for the subnet layout: {error}")
        if self.nat == "none":
            missing = [e for e in ("s3", "ecr", "logs") if e not in self.endpoints]
            if missing:
                ctx.problem("network.endpoints", self.endpoints,
                            f"with network.nat none, tasks pull images only through endpoints: add {missing}")


@dataclass(frozen=True)
class KeySettings:
    deletion_window_days: int = setting(PerEnv(7, 30), "Days a scheduled KMS key deletion can be cancelled.",
                                        between(7, 30))


@dataclass(frozen=True)
class DnsSettings:
    domain: str = setting(None, "The site's domain name (required), e.g. app.example.com.", is_domain)
    zone_name: str = setting("", "Existing public Route53 hosted zone, looked up by name (or give zone_id).")
    zone_id: str = setting("", "Existing Route53 hosted zone id (instead of zone_name).",
                           matches(r"|Z[A-Z0-9]{1,31}", "a hosted zone id such as Z0123456789ABCDEFGHIJ"))
    alternative_names: list[str] = setting([], "Extra certificate names (SANs); wildcards like *.example.com allowed.",
                                           each(is_san))
    ipv6: bool = setting(False, "Dual-stack ALB with AAAA alias records.")

    def problems(self, ctx: _Context) -> None:
        if bool(self.zone_name) == bool(self.zone_id):
            ctx.problem("dns.zone_name", self.zone_name or None, "exactly one of dns.zone_name and dns.zone_id")
        zone = self.zone_name.rstrip(".")
        if self.zone_name and is_domain(zone):
            ctx.problem("dns.zone_name", self.zone_name, "a DNS name such as example.com")
        elif zone and self.domain:
            for name in [self.domain, *self.alternative_names]:
                bare = name.removeprefix("*.")
                if bare != zone and not bare.endswith("." + zone):
                    key = "dns.domain" if name == self.domain else "dns.alternative_names"
                    ctx.problem(key, name, f"a name inside the hosted zone {zone}")


TLS13_POLICIES = (
    # ELB security policies that negotiate TLS 1.3 and nothing older than TLS 1.2.
    "ELBSecurityPolicy-TLS13-1-2-2021-06",
    "ELBSecurityPolicy-TLS13-1-3-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Ext2-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-2023-04",
)


@dataclass(frozen=True)
class LoadBalancerSettings:
    ssl_policy: str = setting("ELBSecurityPolicy-TLS13-1-2-2021-06", "HTTPS listener security policy.",
                              one_of(*TLS13_POLICIES))
    deletion_protection: bool = setting(PerEnv(False, True), "ALB deletion protection.")
    idle_timeout: int = setting(60, "Seconds an idle connection stays open.", between(1, 4000))
    access_logs: bool = setting(True, "Write ALB access logs to an S3 bucket (SSE-S3: see docs/web.md).")
    access_log_days: int = setting(PerEnv(30, 365), "Days to keep ALB access logs.", between(1, 3650))
    health_check_path: str = setting("/healthz/", "Target group health check path.",
                                     matches(r"/[\x21-\x7e]{0,1023}", "a path starting with /"))
    health_check_matcher: str = setting("200", "HTTP codes that count as healthy, e.g. 200 or 200-299.",
                                        matches(r"[1-5]\d\d((-|,)[1-5]\d\d)*", "codes such as 200 or 200-299"))
    health_check_interval: int = setting(15, "Seconds between health checks.", between(5, 300))
    health_check_timeout: int = setting(5, "Seconds before a health check times out.", between(2, 120))
    healthy_threshold: int = setting(2, "Consecutive successes before a target is healthy.", between(2, 10))
    unhealthy_threshold: int = setting(3, "Consecutive failures before a target is unhealthy.", between(2, 10))
    deregistration_delay: int = setting(60, "Seconds to drain a target (AWS default 300).", between(0, 3600))
    waf: bool = setting(PerEnv(False, True), "AWS WAF web ACL with AWS managed rule groups.")
    waf_rate_limit: int = setting(2000, "Requests per 5 minutes per client IP before WAF blocks.",
                                  between(10, 2_000_000_000))

    def problems(self, ctx: _Context) -> None:
        if self.health_check_timeout >= self.health_check_interval:
            ctx.problem("load_balancer.health_check_timeout", self.health_check_timeout,
                        f"less than load_balancer.health_check_interval ({self.health_check_interval})")


ACCOUNT_ID = re.compile(r"\d{12}")
# ECR pull through cache secrets must be named ecr-pullthroughcache/... in this account and Region (ECR user
# guide, "Creating a pull through cache rule"): the full ARN, with the 6-character suffix Secrets Manager adds.
is_cache_credential = matches(r"|arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:ecr-pullthroughcache/"
                              r"[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}",
                              "empty, or the full ARN of a Secrets Manager secret named ecr-pullthroughcache/...")


def _environments_to_accounts(value: Mapping[str, str]) -> str | None:
    bad = {env: account for env, account in value.items()
           if env not in ENVIRONMENTS or not ACCOUNT_ID.fullmatch(account)}
    return (f"a map of environment ({', '.join(ENVIRONMENTS)}) to its 12-digit AWS account id; "
            f"{sorted(bad)} are not") if bad else None


@dataclass(frozen=True)
class RegistrySettings:
    keep_release_images: int = setting(20, "Released images (tag released-<commit>) to keep; other environments "
                                           "run them, so they outlive every other build.", between(1, 1000))
    keep_build_images: int = setting(20, "Built images never released (failed migration or deployment) to keep.",
                                     between(1, 1000))
    untagged_expiry_days: int = setting(7, "Days before untagged images expire.", between(1, 365))
    # --- build once, promote everywhere (docs/delivery.md) ---
    promote_to: dict[str, str] = setting({}, "Environments in other AWS accounts that deploy this repository's "
                                             "images (environment -> account id): the repository policy and the "
                                             "data key let exactly their execution and promote roles pull.",
                                         _environments_to_accounts)
    pull_through_cache: bool = setting(True, "ECR pull through cache rule for ECR Public, so builds pull base images "
                                             "from this registry (<registry>/<system>-<env>-ecr-public/...).")
    docker_hub_credential_arn: str = setting("", "Secrets Manager secret (ecr-pullthroughcache/..., keys username and "
                                                 "accessToken) for a Docker Hub pull through cache rule; empty: none.",
                                             is_cache_credential)

    def problems(self, ctx: _Context) -> None:
        if ctx.env in self.promote_to:
            ctx.problem("registry.promote_to", sorted(self.promote_to), f"environments other than this one ({ctx.env})")


def _no_secret_names(env: Mapping[str, str]) -> str | None:
    secretish = [k for k in env if SECRET_NAME.search(k)]
    return f"non-secret settings only; move {secretish} to service.secrets" if secretish else None


SECRET_NAME = re.compile(r"(?i)(secret|password|passwd|token|api_?key|private_?key|credential)")
ENV_NAME = matches(r"[A-Za-z_][A-Za-z0-9_]*", "environment variable names ([A-Za-z_][A-Za-z0-9_]*)")
# Where ECS can read a container secret from: an SSM parameter (name or ARN) or a Secrets Manager
# secret ARN, optionally with ECS's `:json-key:version-stage:version-id` suffix.
SECRET_SOURCE = re.compile(
    r"/?[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*"
    r"|arn:aws[a-z-]*:ssm:[a-z0-9-]+:\d{12}:parameter/[A-Za-z0-9_./-]+"
    # The full ARN, with the 6-character suffix Secrets Manager appends: the execution role's policy names
    # this ARN, and a partial one would match no secret (access denied when the task starts).
    r"|arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@!-]+-[A-Za-z0-9]{6}"
    r"(:[^:\s]*:[^:\s]*:[^:\s]*)?"
)


def _secret_sources(sources: Mapping[str, str]) -> str | None:
    bad = [name for name, source in sources.items() if not SECRET_SOURCE.fullmatch(source)]
    return (f"an SSM parameter name or ARN, or a full Secrets Manager secret ARN (with its 6-character "
            f"suffix, optionally ending :json-key::), for {bad}") if bad else None


@dataclass(frozen=True)
class ServiceSettings:
    image_tag: str = setting("bootstrap", "Image tag of the first `pulumi up` (the release parameter's initial value); "
                                          "with pipeline_owns_deployments false, the tag `pulumi up` always deploys.",
                             matches(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", "a Docker tag"))
    port: int = setting(8000, "Container port gunicorn listens on.", between(1024, 65535))
    command: list[str] = setting(["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000",
                                  "--workers", "3"], "Container command.")
    cpu: int = setting(PerEnv(256, 1024), "Task CPU units.", one_of(*fargate.VALID_CPU))
    memory: int = setting(PerEnv(512, 2048), "Task memory (MiB); must be a Fargate pair with cpu.",
                          between(512, 122880))
    environment: dict[str, str] = setting({"DJANGO_SETTINGS_MODULE": "config.settings"},
                                          "Plain environment variables (never secrets).", _no_secret_names)
    secrets: dict[str, str] = setting({}, "Extra secrets: NAME -> SSM parameter (name or ARN) or Secrets Manager "
                                          "ARN (`:json-key::` allowed); KMS: AWS-managed or the platform data key.",
                                      _secret_sources)
    user: str = setting("1000:1000", "User the container runs as (non-root).",
                        matches(r"(?!root$)([1-9]\d*(:\d+)?|[a-z_][a-z0-9_-]*)", "a non-root uid[:gid] or user name"))
    readonly_root_filesystem: bool = setting(True, "Mount the root filesystem read-only; /tmp is a task volume, "
                                                     "writable by service.user only if the image declares VOLUME /tmp.")
    desired_count: int = setting(PerEnv(1, 2), "Tasks started on creation.", between(0, 1000))
    min_count: int = setting(PerEnv(1, 2), "Autoscaling minimum.", between(0, 1000))
    max_count: int = setting(PerEnv(2, 10), "Autoscaling maximum.", between(1, 1000))
    cpu_target: int = setting(60, "Target CPU utilisation (%) for scaling.", between(10, 95))
    memory_target: int = setting(75, "Target memory utilisation (%) for scaling.", between(10, 95))
    requests_per_target: int = setting(1000, "Target ALB requests per task per minute for scaling.",
                                       between(1, 1_000_000))
    health_check_grace_seconds: int = setting(120, "Seconds ECS ignores ALB health checks after a task starts.",
                                              between(0, 1800))
    min_healthy_percent: int = setting(100, "Deployment minimum healthy percent.", between(0, 100))
    max_percent: int = setting(200, "Deployment maximum percent.", between(100, 400))
    exec: bool = setting(PerEnv(True, False), "ECS Exec (shell into tasks) with encrypted session logs.")
    spot: bool = setting(PerEnv(True, False), "Run on Fargate Spot (dev cost saver; tasks may be interrupted).")
    pipeline_owns_deployments: bool = setting(True, "`pulumi up` deploys the image the pipeline released last, by "
                                                    "digest (SSM `/{system}/{env}/release/image-tag`); false: "
                                                    "service.image_tag.")
    # Deploy safety (docs/deploy-safety.md): a rollout ECS rolls back fails `pulumi up`.
    wait_for_steady_state: bool = setting(True, "`pulumi up` waits for each deployment of the web and worker "
                                                "services and fails when ECS stops or rolls it back (not before an "
                                                "image is released).")
    deployment_timeout_minutes: int = setting(PerEnv(20, 30), "Minutes `pulumi up` waits for a deployment before "
                                                             "it fails (create and update timeout of the web and "
                                                             "worker services).",
                                              between(5, 180))

    def problems(self, ctx: _Context) -> None:
        if not fargate.is_valid_size(self.cpu, self.memory):
            ctx.problem("service.memory", self.memory, fargate.describe_valid_sizes(self.cpu))
        if self.min_count > self.max_count:
            ctx.problem("service.min_count", self.min_count, f"at most service.max_count ({self.max_count})")
        if not self.min_count <= self.desired_count <= self.max_count:
            ctx.problem("service.desired_count", self.desired_count,
                        f"between service.min_count ({self.min_count}) and service.max_count ({self.max_count})")
        for name in [*self.environment, *self.secrets]:
            if problem := ENV_NAME(name):
                ctx.problem("service.environment", name, problem)
        both = set(self.environment) & set(self.secrets)
        if both:
            ctx.problem("service.secrets", sorted(both), "names not also set in service.environment")


POSTGRES_VERSIONS = ("13", "14", "15", "16", "17")
MYSQL_VERSIONS = ("8.0", "8.4")
# Major versions RDS offers per engine, and the one taken when database.engine_version is empty.
DATABASE_VERSIONS = {"postgres": POSTGRES_VERSIONS, "mysql": MYSQL_VERSIONS}
DATABASE_DEFAULT_VERSION = {"postgres": "16", "mysql": "8.4"}
# Performance Insights / Database Insights is not offered on these MySQL classes (RDS user guide,
# "DB engine, Region, and instance class support for Database Insights").
MYSQL_NO_INSIGHTS = ("db.t2.micro", "db.t2.small", "db.t3.micro", "db.t3.small", "db.t4g.micro", "db.t4g.small")


def _window_at_least(minutes: int, key: str, value: str, ctx: _Context) -> None:
    if windows.length(value) < minutes:
        ctx.problem(key, value, f"a window of at least {minutes} minutes")


@dataclass(frozen=True)
class DatabaseSettings:
    engine: str = setting("postgres", "RDS engine: postgres or mysql.", one_of("postgres", "mysql"))
    engine_version: str = setting("", "Major version (postgres 13-17, mysql 8.0/8.4); empty: postgres 16, "
                                      "mysql 8.4. Minor versions auto-upgrade.")
    instance_class: str = setting(PerEnv("db.t4g.micro", "db.m7g.large"), "RDS instance class.",
                                  matches(r"db\.[a-z0-9]+\.[a-z0-9]+", "an instance class such as db.t4g.micro"))
    allocated_storage: int = setting(PerEnv(20, 100), "Initial storage (GiB).", between(20, 65536))
    max_allocated_storage: int = setting(PerEnv(50, 500), "Storage autoscaling ceiling (GiB).", between(20, 65536))
    name: str = setting("app", "Database name.", matches(r"[a-z][a-z0-9_]{0,62}", "a lowercase identifier"))
    username: str = setting("app", "Master user name (its password is managed by RDS in Secrets Manager).",
                            matches(r"[a-z][a-z0-9_]{0,15}", "a lowercase identifier of up to 16 characters"))
    backup_retention_days: int = setting(PerEnv(1, 7), "Automated backup retention (days); at least 7 in stg/prod.",
                                        between(1, 35))
    backup_window: str = setting("09:10-09:40", "Daily backup window (UTC), as in the seed.", is_time_window)
    maintenance_window: str = setting("mon:10:10-mon:10:40", "Weekly maintenance window (UTC).", is_weekly_window)
    multi_az: bool = setting(PerEnv(False, True), "Standby in a second AZ.")
    deletion_protection: bool = setting(PerEnv(False, True), "Refuse deletion; also keeps a final snapshot.")
    performance_insights: bool = setting(PerEnv(False, True), "Performance Insights, encrypted with the data key.")
    iam_authentication: bool = setting(False, "Allow IAM database authentication.")

    @property
    def major_version(self) -> str:
        return self.engine_version or DATABASE_DEFAULT_VERSION[self.engine]

    def problems(self, ctx: _Context) -> None:
        versions = DATABASE_VERSIONS[self.engine]
        if self.major_version not in versions:
            ctx.problem("database.engine_version", self.engine_version,
                        f"a {self.engine} major version: {', '.join(versions)} (or empty for the default)")
        _window_at_least(30, "database.backup_window", self.backup_window, ctx)
        _window_at_least(30, "database.maintenance_window", self.maintenance_window, ctx)
        if windows.overlap(self.backup_window, self.maintenance_window):
            ctx.problem("database.maintenance_window", self.maintenance_window,
                        f"a window that does not overlap database.backup_window ({self.backup_window})")
        if self.performance_insights and self.engine == "mysql" and self.instance_class in MYSQL_NO_INSIGHTS:
            ctx.problem("database.performance_insights", True,
                        f"false for mysql on {self.instance_class} (not offered on {', '.join(MYSQL_NO_INSIGHTS)})")
        if self.max_allocated_storage < self.allocated_storage:
            ctx.problem("database.max_allocated_storage", self.max_allocated_storage,
                        f"at least database.allocated_storage ({self.allocated_storage})")
        if ctx.production_like and self.backup_retention_days < 7:
            ctx.problem("database.backup_retention_days", self.backup_retention_days,
                        f"at least 7 in {ctx.env}")


# Engine versions per ElastiCache engine (7.0+ take a major.minor version), the default when
# cache.engine_version is empty, and the parameter group family of each (ElastiCache user guide,
# "Engine specific parameters": redis7 for Redis OSS 7.x, valkey7 for 7.2, valkey8 for 8.x).
CACHE_VERSIONS = {"redis": ("7.0", "7.1"), "valkey": ("7.2", "8.0", "8.1", "8.2")}
CACHE_DEFAULT_VERSION = {"redis": "7.1", "valkey": "8.0"}


@dataclass(frozen=True)
class CacheSettings:
    engine: str = setting("redis", "ElastiCache engine: redis or valkey.", one_of("redis", "valkey"))
    engine_version: str = setting("", "Engine version (redis 7.0/7.1, valkey 7.2/8.0/8.1/8.2); empty: redis 7.1, "
                                      "valkey 8.0.")
    node_type: str = setting(PerEnv("cache.t4g.micro", "cache.m7g.large"), "Cache node type.",
                             matches(r"cache\.[a-z0-9]+\.[a-z0-9]+", "a node type such as cache.t4g.micro"))
    nodes: int = setting(PerEnv(1, 2), "Nodes in the replication group (primary + replicas); at least 2 in stg/prod.",
                         between(1, 6))
    automatic_failover: bool = setting(PerEnv(False, True),
                                       "Promote a replica when the primary fails (Multi-AZ); required in stg/prod.")
    snapshot_retention_days: int = setting(PerEnv(0, 7), "Days to keep daily snapshots (0 = none).", between(0, 35))
    snapshot_window: str = setting("15:00-16:00", "Daily snapshot window (UTC), at least 60 minutes.",
                                   is_time_window)
    maintenance_window: str = setting("mon:10:40-mon:11:40", "Weekly maintenance window (UTC), as in the seed.",
                                      is_weekly_window)

    @property
    def version(self) -> str:
        return self.engine_version or CACHE_DEFAULT_VERSION[self.engine]

    def problems(self, ctx: _Context) -> None:
        versions = CACHE_VERSIONS[self.engine]
        if self.version not in versions:
            ctx.problem("cache.engine_version", self.engine_version,
                        f"a {self.engine} version: {', '.join(versions)} (or empty for the default)")
        if ctx.production_like and self.nodes < 2:
            ctx.problem("cache.nodes", self.nodes, f"at least 2 in {ctx.env} (a replica to fail over to)")
        elif self.automatic_failover and self.nodes < 2:
            ctx.problem("cache.automatic_failover", True, "false when cache.nodes is 1 (failover needs a replica)")
        if ctx.production_like and not self.automatic_failover:
            ctx.problem("cache.automatic_failover", False, f"true in {ctx.env}")
        _window_at_least(60, "cache.snapshot_window", self.snapshot_window, ctx)
        _window_at_least(60, "cache.maintenance_window", self.maintenance_window, ctx)
        if windows.overlap(self.snapshot_window, self.maintenance_window):
            ctx.problem("cache.maintenance_window", self.maintenance_window,
                        f"a window that does not overlap cache.snapshot_window ({self.snapshot_window})")


@dataclass(frozen=True)
class JobSettings:
    name: str = setting(None, "Job name (lowercase, used in resource names).",
                        matches(r"[a-z][a-z0-9-]{0,19}", "lowercase [a-z0-9-], at most 20 characters"))
    schedule: str = setting(None, "EventBridge Scheduler expression: rate(N minutes|hours|days) or "
                                  "cron(min hour day-of-month month day-of-week year).", schedules.schedule_problem)
    timezone: str = setting("UTC", "IANA time zone cron() expressions are read in (daylight saving aware).",
                            schedules.timezone_problem)
    command: list[str] = setting(None, "Command run in the web image, e.g. [python, manage.py, clearsessions].")
    cpu: int = setting(256, "Task CPU units.", one_of(*fargate.VALID_CPU))
    memory: int = setting(512, "Task memory (MiB).", between(512, 122880))
    enabled: bool = setting(True, "Run on schedule (false keeps the job defined but paused).")
    retry_attempts: int = setting(3, "Times the scheduler retries a RunTask call that failed.", between(0, 185))
    max_event_age_seconds: int = setting(3600, "Seconds a failed invocation is retried before it goes to the "
                                               "dead-letter queue.", between(60, 86400))

    def problems(self, ctx: _Context) -> None:
        if not fargate.is_valid_size(self.cpu, self.memory):
            ctx.problem(ctx.key("memory"), self.memory, fargate.describe_valid_sizes(self.cpu))
        if not self.command:
            ctx.problem(ctx.key("command"), self.command, "a non-empty list of strings")


# --- static files, media files and background workers (docs/static-media-workers.md) ---------------------

CLOUDFRONT_PRICE_CLASSES = ("PriceClass_100", "PriceClass_200", "PriceClass_All")
FARGATE_MAX_STOP_TIMEOUT = 120  # seconds: ECS task definition parameters, stopTimeout (Fargate maximum)
SQS_MAX_VISIBILITY_TIMEOUT = 43_200  # seconds (12 hours): SQS ChangeMessageVisibility / queue attribute limit
VISIBILITY_MARGIN = 60  # seconds a queue's visibility timeout exceeds a worker's task_time_limit


@dataclass(frozen=True)
class StaticSettings:
    cdn: bool = setting(PerEnv(False, True), "Serve collectstatic output from a private S3 bucket through CloudFront "
                                             "at static.hostname; false: the web tasks serve it (WhiteNoise).")
    hostname: str = setting("", "CloudFront's own hostname (its us-east-1 certificate names it); empty: "
                                "static.<dns.domain>. Must be inside the hosted zone.",
                            matches(rf"|{DOMAIN_PATTERN}", "a lowercase DNS name such as static.example.com"))
    price_class: str = setting("PriceClass_100", "CloudFront edge locations paid for.",
                               one_of(*CLOUDFRONT_PRICE_CLASSES))
    image_root: str = setting("/app/staticfiles", "Where the image keeps its collectstatic output (STATIC_ROOT); "
                                                  "the pipeline copies it from the released image to S3.",
                              matches(r"/[A-Za-z0-9_./-]*", "an absolute path"))

    def hostname_for(self, domain: str) -> str:
        return self.hostname or f"static.{domain}"


@dataclass(frozen=True)
class MediaSettings:
    enabled: bool = setting(True, "Private, versioned, KMS-encrypted bucket for uploads (django-storages); the web "
                                  "and worker tasks read and write its media/ prefix only.")
    noncurrent_version_days: int = setting(PerEnv(7, 90), "Days an overwritten or deleted upload stays recoverable "
                                                          "(its noncurrent version).", between(1, 3650))
    expiration_days: int = setting(0, "Days after which uploads expire (0: never).", between(0, 36500))
    url_expiry_seconds: int = setting(3600, "Lifetime of the presigned URLs the app hands out (at most the task "
                                            "role's credentials, which AWS rotates every few hours).",
                                      between(60, 43_200))


@dataclass(frozen=True)
class WorkerSettings:
    name: str = setting(None, "Worker name (lowercase; names its queue, service and alarms).",
                        matches(r"[a-z][a-z0-9-]{0,19}", "lowercase [a-z0-9-], at most 20 characters"))
    command: list[str] = setting(None, "Command run in the web image, e.g. [celery, -A, config, worker, -Q, default].")
    cpu: int = setting(256, "Task CPU units.", one_of(*fargate.VALID_CPU))
    memory: int = setting(512, "Task memory (MiB).", between(512, 122880))
    min_count: int = setting(PerEnv(0, 1), "Fewest tasks (0: scale to zero when the queue is empty).",
                             between(0, 1000))
    max_count: int = setting(PerEnv(2, 10), "Most tasks.", between(1, 1000))
    messages_per_task: int = setting(100, "Backlog per task (visible messages / running tasks) scaling keeps.",
                                     between(1, 1_000_000))
    task_time_limit: int = setting(300, "Seconds one message may take (Celery task_time_limit); the queue's "
                                        f"visibility timeout is this + {VISIBILITY_MARGIN}.",
                                   between(1, SQS_MAX_VISIBILITY_TIMEOUT - VISIBILITY_MARGIN))
    stop_timeout: int = setting(FARGATE_MAX_STOP_TIMEOUT, "Seconds between SIGTERM and SIGKILL: a stopping task "
                                                          "finishes its message (Fargate allows at most 120).",
                                between(2, FARGATE_MAX_STOP_TIMEOUT))
    max_receive_count: int = setting(5, "Deliveries before a message goes to the dead-letter queue.", between(1, 1000))
    spot: bool = setting(PerEnv(True, False), "Run on Fargate Spot (interrupted tasks' messages are redelivered).")

    @property
    def visibility_timeout(self) -> int:
        return self.task_time_limit + VISIBILITY_MARGIN

    def problems(self, ctx: _Context) -> None:
        if not fargate.is_valid_size(self.cpu, self.memory):
            ctx.problem(ctx.key("memory"), self.memory, fargate.describe_valid_sizes(self.cpu))
        if not self.command:
            ctx.problem(ctx.key("command"), self.command, "a non-empty list of strings")
        if self.min_count > self.max_count:
            ctx.problem(ctx.key("min_count"), self.min_count, f"at most max_count ({self.max_count})")


@dataclass(frozen=True)
class PipelineSettings:
    enabled: bool = setting(True, "Create the CodePipeline (GitHub -> CodeBuild -> migrate -> ECS).")
    branch: str = setting("main", "Branch that triggers the pipeline.",
                          matches(r"[^\s~^:?*\[\\]+", "a git branch name"))
    connection_arn: str = setting("", "Existing CodeConnections ARN; empty creates a new connection.",
                                  matches(r"|arn:aws[a-z-]*:(codestar-connections|codeconnections):[a-z0-9-]+:\d{12}:"
                                          r"connection/[0-9a-f-]+", "a CodeConnections connection ARN"))
    manual_approval: bool = setting(PerEnv(False, True), "Wait for a manual approval before migrating and "
                                                         "deploying.")
    migrate_command: list[str] = setting(["python", "manage.py", "migrate", "--noinput"],
                                         "One-off task run with the new image before the service is updated; "
                                         "a non-zero exit stops the pipeline.")
    # --- build once, promote everywhere (docs/delivery.md) ---
    promote_from: str = setting(PerEnv("", "dev"), "The environment that builds (its stack owns the repository) "
                                                   "whose released images this stack deploys, never building; "
                                                   "empty: this stack builds them.",
                                matches(rf"|{'|'.join(ENVIRONMENTS)}",
                                        f"empty (this stack builds) or one of {', '.join(ENVIRONMENTS)}"))
    promote_from_account: str = setting("", "AWS account of promote_from's stack; empty: this account.",
                                        matches(r"|\d{12}", "empty or a 12-digit AWS account id"))
    promote_wait_minutes: int = setting(90, "Minutes the Promote stage waits for promote_from to release the "
                                            "commit before it fails.", between(0, 480))

    @property
    def promotes(self) -> bool:
        return bool(self.promote_from)

    def problems(self, ctx: _Context) -> None:
        if not self.migrate_command:
            ctx.problem("pipeline.migrate_command", self.migrate_command, "a non-empty list of strings")
        if self.promote_from and self.promote_from == ctx.env:
            ctx.problem("pipeline.promote_from", self.promote_from,
                        f"an environment other than this one ({ctx.env}), or empty to build here")
        if self.promote_from_account and not self.promote_from:
            ctx.problem("pipeline.promote_from_account", self.promote_from_account,
                        "empty while pipeline.promote_from is empty (this stack builds)")


@dataclass(frozen=True)
class MonitoringSettings:
    alarm_emails: list[str] = setting([], "E-mail addresses subscribed to the alarm topic.", each(is_email))
    webhooks: list[str] = setting([], "HTTPS endpoints subscribed to the alarm topic (set them with --secret: "
                                      "webhook URLs often carry a token).", each(is_https_url), secret=True,
                                  placeholder="https://offline-placeholder-secret-{n}.invalid/webhook")
    thresholds: dict[str, str] = setting({}, "Per-alarm threshold overrides, alarm key -> number in the unit of "
                                             "the alarms table in docs/monitoring.md; defaults per environment there.")
    evaluation_periods: dict[str, str] = setting({}, "Per-alarm overrides of the periods that must all breach, "
                                                     "alarm key -> integer (periods x period at most one day).")
    disabled_alarms: list[str] = setting([], "Alarm keys not to create (alarms table in docs/monitoring.md).",
                                         each(one_of(*alarm_catalog.BY_KEY)))
    # Deploy safety (docs/deploy-safety.md): an alarm topic nobody reads is no alarm.
    require_subscriber: bool = setting(PerEnv(False, True), "Refuse to deploy without an alarm_emails or webhooks "
                                                            "subscriber (false: deploy alarms that notify nobody).")

    def threshold(self, spec: alarm_catalog.AlarmSpec, production_like: bool) -> float:
        """The configured threshold (in the spec's unit) for this environment."""
        raw = self.thresholds.get(spec.key)
        return float(raw) if raw is not None else spec.threshold.pick(production_like)

    def periods(self, spec: alarm_catalog.AlarmSpec, production_like: bool) -> int:
        raw = self.evaluation_periods.get(spec.key)
        return int(raw) if raw is not None else int(spec.evaluation_periods.pick(production_like))

    def enabled(self) -> list[alarm_catalog.AlarmSpec]:
        return [spec for spec in alarm_catalog.ALARMS if spec.key not in self.disabled_alarms]

    def problems(self, ctx: _Context) -> None:
        if self.require_subscriber and not self.alarm_emails and not self.webhooks:
            ctx.problem(ctx.key("alarm_emails"), self.alarm_emails,
                        f"at least one address (or a monitoring.webhooks URL) in {ctx.env}: every alarm and failure "
                        "event goes to a topic nobody reads otherwise; set monitoring.require_subscriber: false "
                        "to deploy without one")
        known = "an alarm key: " + ", ".join(alarm_catalog.BY_KEY)
        for key, raw in self.thresholds.items():
            spec = alarm_catalog.BY_KEY.get(key)
            if spec is None:
                ctx.problem(ctx.key(f"thresholds.{key}"), raw, known)
            elif alarm_catalog.parse_threshold(spec, raw) is None:
                ctx.problem(ctx.key(f"thresholds.{key}"), raw, alarm_catalog.describe_limits(spec))
        for key, raw in self.evaluation_periods.items():
            spec = alarm_catalog.BY_KEY.get(key)
            if spec is None:
                ctx.problem(ctx.key(f"evaluation_periods.{key}"), raw, known)
            elif not re.fullmatch(r"\d+", raw) or not 1 <= int(raw) <= spec.max_evaluation_periods:
                ctx.problem(ctx.key(f"evaluation_periods.{key}"), raw,
                            f"an integer from 1 to {spec.max_evaluation_periods} ({spec.period} s periods, "
                            "one day at most)")


@dataclass(frozen=True)
class StackSettings:
    """Everything the program reads from config, validated."""

    system: str = setting("django", "System name, the first part of every resource name.",
                          matches(r"[a-z][a-z0-9]{1,11}", "2-12 lowercase letters and digits, starting "
                                                           "with a letter (names must fit AWS limits)"))
    environment: str = setting(None, "dev, stg or prod; defaults to the stack name.", one_of(*ENVIRONMENTS))
    repository: str = setting(None, "The Django app's GitHub repository, owner/name (tags, pipeline source).",
                              matches(r"[A-Za-z0-9-]{1,39}/[A-Za-z0-9._-]{1,100}", "owner/name"))
    log_retention_days: int = setting(PerEnv(30, 365), "CloudWatch Logs retention for every log group.",
                                      one_of(*LOG_RETENTION_DAYS))
    permissions_boundary: str = setting(
        "", "ARN of the IAM policy every role of the stack carries as its permissions boundary; empty: the "
        "bootstrap's `{system}-bootstrap-platform-boundary-policy` in this account (docs/security.md).",
        matches(r"|arn:aws(-[a-z]+)*:iam::\d{12}:policy/([\w+=,.@-]+/)*[\w+=,.@-]{1,128}",
                "empty or an IAM policy ARN such as arn:aws:iam::123456789012:policy/my-boundary"))
    network: NetworkSettings = setting({}, "VPC, subnets, NAT, flow logs and endpoints.")
    keys: KeySettings = setting({}, "Customer-managed KMS keys.")
    dns: DnsSettings = setting({}, "Domain, hosted zone and certificate names.")
    load_balancer: LoadBalancerSettings = setting({}, "ALB, listeners, target group and WAF.")
    registry: RegistrySettings = setting({}, "ECR repository.")
    service: ServiceSettings = setting({}, "The Django web service on Fargate.")
    database: DatabaseSettings = setting({}, "RDS database.")
    cache: CacheSettings = setting({}, "ElastiCache replication group.")
    jobs: list[JobSettings] = setting(
        [{"name": "clearsessions", "schedule": "rate(1 day)",
          "command": ["python", "manage.py", "clearsessions"]}],
        "Scheduled Fargate tasks (EventBridge), each {name, schedule, command, cpu, memory}.",
    )
    static: StaticSettings = setting({}, "Static files: CloudFront + S3, or WhiteNoise in the web tasks.")
    media: MediaSettings = setting({}, "Uploads bucket (django-storages, presigned URLs).")
    workers: list[WorkerSettings] = setting([], "Queue workers (SQS + Fargate, no load balancer), each {name, "
                                                "command, cpu, memory, min_count, max_count, ...}.")
    pipeline: PipelineSettings = setting({}, "Delivery pipeline.")
    monitoring: MonitoringSettings = setting({}, "Alarms and notifications.")

    @property
    def production_like(self) -> bool:
        return self.environment in PRODUCTION_LIKE

    def problems(self, ctx: _Context) -> None:
        names = [job.name for job in self.jobs]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            ctx.problem("jobs", duplicates, "unique job names")
        workers = [worker.name for worker in self.workers]
        repeated = sorted({n for n in workers if workers.count(n) > 1})
        if repeated:
            ctx.problem("workers", repeated, "unique worker names")
        if self.static.cdn:
            hostname = self.static.hostname_for(self.dns.domain)
            zone = self.dns.zone_name.rstrip(".")
            if zone and hostname != zone and not hostname.endswith("." + zone):
                ctx.problem("static.hostname", hostname, f"a name inside the hosted zone {zone}")
            if hostname in (self.dns.domain, *self.dns.alternative_names):
                ctx.problem("static.hostname", hostname, "a name of its own (the site's names point at the ALB)")
        if self.service.pipeline_owns_deployments and not self.pipeline.enabled:
            # Without the pipeline nothing releases a tag (components/release.py): there is no parameter to read.
            ctx.problem("service.pipeline_owns_deployments", True,
                        "false when pipeline.enabled is false, so `pulumi up` deploys service.image_tag")
        # The variables the platform hands the app (components/app_contract.py): not set twice, and parseable.
        from components import app_contract  # imported here: app_contract reads StackSettings

        for key, given, allowed in app_contract.problems(self):
            ctx.problem(key, given, allowed)


# --- loading --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    key: str
    given: Any
    allowed: str

    def __str__(self) -> str:
        given = "missing" if self.given is None else f"got {json.dumps(self.given, default=str)}"
        return f"{PROJECT}:{self.key}: {given}; expected {self.allowed}"


class SettingsError(Exception):
    """Every problem in a stack's config, raised before any resource is created."""

    def __init__(self, stack: str, problems: list[Problem]):
        self.stack = stack
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"stack {stack!r} has {len(problems)} invalid setting(s):\n{lines}")


@dataclass
class _Context:
    env: str
    path: str = ""
    found: list[Problem] = field(default_factory=list)

    @property
    def production_like(self) -> bool:
        return self.env in PRODUCTION_LIKE

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def problem(self, key: str, given: Any, allowed: str) -> None:
        self.found.append(Problem(key, given, allowed))

    def at(self, path: str) -> _Context:
        return _Context(self.env, path, self.found)


def load(raw: Mapping[str, Any], stack: str, secure: Iterable[str] = ()) -> StackSettings:
    """Build StackSettings from raw config (keys without the project prefix), or raise SettingsError.

    `raw` maps top-level keys to values as the CLI hands them over: strings, or JSON strings for
    structured values; already-parsed values are accepted too. `secure` names the top-level keys the
    CLI marks secret (it decrypts a `secure:` value, even one nested in an object, and marks the whole
    top-level key): only a section with a secret key may hold one.
    """
    raw = {key: _parse_json(value) for key, value in raw.items()}
    raw.setdefault("environment", stack)  # a stack named dev, stg or prod needs no environment key
    ctx = _Context(raw["environment"] if isinstance(raw["environment"], str) else "")
    settings = _build(StackSettings, raw, ctx)
    _refuse_misplaced_secrets(raw, set(secure), ctx)
    if ctx.found:
        raise SettingsError(stack, ctx.found)
    assert settings is not None
    return settings


def load_from_pulumi_config(stack: str) -> StackSettings:
    """Read this project's keys from the running Pulumi program's config and validate them."""
    import pulumi.runtime.config as runtime_config

    every = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    prefix = f"{PROJECT}:"
    raw = {key[len(prefix):]: value for key, value in every.items() if key.startswith(prefix)}
    # The language host lists the secret keys in PULUMI_CONFIG_SECRET_KEYS; mocks set them in the runtime.
    secure = set(runtime_config.get_config_secret_keys_env()) | {k for k in every if runtime_config.is_config_secret(k)}
    return load(raw, stack, [key[len(prefix):] for key in secure if key.startswith(prefix)])


def _refuse_misplaced_secrets(raw: Mapping[str, Any], secure: set[str], ctx: _Context) -> None:
    """A `secure:` value outside the secret keys would reach resource inputs, and the state, in plain text."""
    allowed = {key.split(".")[0] for key in secret_keys()}
    for root in sorted(secure - allowed):
        leaves = sorted({leaf for leaf in _string_leaves(raw.get(root)) if len(leaf) >= 4}, key=len, reverse=True)
        for index, problem in enumerate(ctx.found):  # never echo what was decrypted
            if re.split(r"[.\[]", problem.key)[0] == root:
                text = problem.allowed
                for leaf in leaves:
                    text = text.replace(leaf, "[secret]")
                ctx.found[index] = Problem(problem.key, None if problem.given is None else "[secret]", text)
        ctx.problem(root, "[secret]", f"no `secure:` value under {PROJECT}:{root}: none of its keys is secret, so "
                                      "the decrypted value would be stored in plain text in resource inputs and the "
                                      "state; put a secret in SSM Parameter Store or Secrets Manager and name it in "
                                      f"service.secrets (secret keys: {', '.join(secret_keys())})")


def _string_leaves(value: Any) -> Iterator[str]:
    if isinstance(value, Mapping):
        for item in value.values():
            yield from _string_leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _string_leaves(item)
    elif value is not None:
        yield str(value)


def secret_keys() -> list[str]:
    """Dotted keys declared secret: their values are wrapped with pulumi.Output.secret."""
    return [key for key, meta, _ in walk(StackSettings) if meta["secret"]]


def offline_placeholder(path: Sequence[str | int], n: int) -> str | None:
    """The declared stand-in for a `secure:` value at `path` (top-level key, then the keys and list
    indexes below it), numbered `n`; None where no secret key declares one."""
    declared = {key: (meta, kind) for key, meta, kind in walk(StackSettings)}
    key = ""
    for part in path:
        if isinstance(part, int):
            key += "[]" if any(k.startswith(f"{key}[]") for k in declared) else ""  # a list of sections
            continue
        key = f"{key}.{part}" if key else part
    meta, kind = declared.get(key, ({}, None))
    template = meta.get("placeholder") if meta.get("secret") else None
    if template is None:
        return None
    value = template.format(n=n)
    # A whole list encrypted at once (not item by item) arrives as the JSON text of the list.
    return json.dumps([value]) if typing.get_origin(kind) is list and not isinstance(path[-1], int) else value


def offline_placeholder_templates() -> list[str]:
    """Every declared placeholder, `{n}` included: what the offline preview masks."""
    return [meta["placeholder"] for _, meta, _ in walk(StackSettings) if meta["secret"] and meta["placeholder"]]


def walk(section: type, path: str = "") -> typing.Iterator[tuple[str, dict[str, Any], Any]]:
    """Yield (dotted key, metadata, type) for every leaf setting, for docs and tooling."""
    hints = typing.get_type_hints(section)
    for f in dataclasses.fields(section):
        key = f"{path}.{f.name}" if path else f.name
        kind = hints[f.name]
        item = _list_item_section(kind)
        if dataclasses.is_dataclass(kind):
            yield from walk(kind, key)  # type: ignore[arg-type]
        elif item is not None:
            yield key, dict(f.metadata), kind
            yield from walk(item, f"{key}[]")
        else:
            yield key, dict(f.metadata), kind


def _build(section: type, raw: Any, ctx: _Context) -> Any:
    if not isinstance(raw, Mapping):
        ctx.problem(ctx.path, raw, f"an object with keys {', '.join(f.name for f in dataclasses.fields(section))}")
        return None
    hints = typing.get_type_hints(section)
    known = {f.name for f in dataclasses.fields(section)}
    for unknown in sorted(set(raw) - known):
        ctx.problem(ctx.key(unknown), raw[unknown], "no such key; known keys: " + ", ".join(sorted(known)))
    values: dict[str, Any] = {}
    for f in dataclasses.fields(section):
        key = ctx.key(f.name)
        default = f.metadata["default"]
        if isinstance(default, PerEnv):
            default = default.for_env(ctx.env)
        value = raw.get(f.name, default)
        reported = len(ctx.found)
        values[f.name] = _convert(hints[f.name], value, key, f.metadata.get("check"), ctx)
        if f.metadata.get("secret"):
            _redact(ctx.found, reported, value)
    if any(v is _INVALID for v in values.values()):
        return None
    built = section(**values)
    built.problems(ctx) if hasattr(built, "problems") else None
    return built


_INVALID = object()


def _redact(problems: list[Problem], start: int, value: Any) -> None:
    """A secret key's value (e.g. a webhook URL with its token) must not reach the CLI output or CI logs."""
    parsed = _parse_json(value)
    items = parsed if isinstance(parsed, list) else [parsed]
    secrets = sorted({str(v) for v in [value, *items] if v not in (None, "")}, key=len, reverse=True)
    for index in range(start, len(problems)):
        problem = problems[index]
        allowed = problem.allowed
        for secret in secrets:
            allowed = allowed.replace(secret, "[secret]")
        problems[index] = Problem(problem.key, "[secret]" if problem.given is not None else None, allowed)


def _convert(kind: Any, value: Any, key: str, check: Check | None, ctx: _Context) -> Any:
    if value is None:
        ctx.problem(key, None, "a value (this key is required)")
        return _INVALID
    value = _parse_json(value) if kind is not str else value
    if dataclasses.is_dataclass(kind):
        built = _build(kind, value, ctx.at(key))  # type: ignore[arg-type]
        return _INVALID if built is None else built
    item_section = _list_item_section(kind)
    if item_section is not None:
        if not isinstance(value, list):
            ctx.problem(key, value, "a list of objects")
            return _INVALID
        items = [_build(item_section, item, ctx.at(f"{key}[{i}]")) for i, item in enumerate(value)]
        return _INVALID if any(i is None for i in items) else items
    converted = _coerce(kind, value)
    if converted is _INVALID:
        ctx.problem(key, value, _describe(kind))
        return _INVALID
    problem = check(converted) if check else None
    if problem:
        # A map's values may be exactly the secret a check is refusing: echo its keys only.
        given = sorted(converted) if isinstance(converted, dict) else converted
        ctx.problem(key, given, problem)
        return _INVALID
    return converted


def _coerce(kind: Any, value: Any) -> Any:
    origin = typing.get_origin(kind)
    if kind is bool:
        if isinstance(value, bool):
            return value
        return {"true": True, "false": False}.get(str(value).lower(), _INVALID)
    if kind is int:
        if isinstance(value, bool):
            return _INVALID
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return int(value) if isinstance(value, str) and re.fullmatch(r"-?\d+", value) else _INVALID
    if kind is str:
        # YAML reads an unquoted `engine_version: 16` or `8.0` as a number; take it as the text it was.
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        return value if isinstance(value, str) else _INVALID
    if origin is list:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return _INVALID
        return list(value)
    if origin is dict:
        if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
            return _INVALID
        if not all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in value.values()):
            return _INVALID
        return {k: str(v) for k, v in value.items()}
    raise TypeError(f"settings: unsupported type {kind}")


def _describe(kind: Any) -> str:
    origin = typing.get_origin(kind)
    if origin is list:
        return "a list of strings"
    if origin is dict:
        return "a map of names to strings"
    return {bool: "true or false", int: "an integer", str: "a string"}[kind]


def _list_item_section(kind: Any) -> type | None:
    if typing.get_origin(kind) is list:
        (item,) = typing.get_args(kind)
        if dataclasses.is_dataclass(item):
            return item  # type: ignore[return-value]
    return None


def _parse_json(value: Any) -> Any:
    """The CLI hands structured config over as JSON strings; plain strings stay strings."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value

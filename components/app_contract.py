"""The app contract: every variable the platform hands the Django containers, declared once.

The web service, every scheduled job and the pipeline's migration (a revision of the web service's task
definition with only the command overridden, components/buildspecs.py) all get the same set, so one
settings module serves them all (examples/django-app/config/settings.py reads exactly this contract).

Three ways a value reaches a container, named in `Variable.delivery`:
- ENVIRONMENT: plain `environment` of the task definition, computed here from the stack settings.
  Nothing secret: host names, the health check path, the environment name.
- PARAMETER: an ECS container secret read from an SSM SecureString under `/{system}/{env}/app/`
  (`/django/prod/app/database-host`, components/app_settings.py): the data tier's connection settings.
- SECRET: an ECS container secret read from Secrets Manager (the RDS-managed master secret by JSON
  key, the cache AUTH token, the generated Django key); never in the task definition or the state.

Each variable also declares the format the app parses (`check`): settings validation runs it on the
values computed from the stack config and names the config key a bad value came from, before any
resource exists (components/settings.py, StackSettings.problems). docs/app-contract.md is generated
from `VARIABLES` (`python -m tools.app_contract_reference --write`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from components.settings import StackSettings

ENVIRONMENT = "task definition `environment`"
PARAMETER = "ECS secret from SSM SecureString `/{system}/{env}/app/<name>` (e.g. `.../app/redis-tls`)"
SECRET = "ECS secret from Secrets Manager"
# Static files, uploads and workers (docs/static-media-workers.md): plain environment too, but only where the
# stack has them (RESOURCE: media.enabled / a worker; WORKER: the worker's own containers only).
RESOURCE = "task definition `environment`, when the stack has the resource"
WORKER = "task definition `environment` of a worker's containers only"

# What the app splits on: a comma-separated list without blanks (Django's own settings take lists).
_HOST = r"\.?[a-z0-9.-]+"  # a leading dot is Django's "this domain and its subdomains"
_ORIGIN = r"https://(\*\.)?[a-z0-9.-]+"
FORWARDED_PROTO_HEADER = "X-Forwarded-Proto"  # the header the ALB sets to the client's protocol (module doc)


def _list_of(item: str, description: str) -> Callable[[str], str | None]:
    pattern = re.compile(rf"{item}(,{item})*")
    return lambda value: None if pattern.fullmatch(value) else f"a comma-separated list of {description}, no spaces"


def _matches(pattern: str, description: str) -> Callable[[str], str | None]:
    compiled = re.compile(pattern)
    return lambda value: None if compiled.fullmatch(value) else description


@dataclass(frozen=True)
class Variable:
    name: str
    meaning: str
    example: str
    source: str  # where the value comes from (config key, resource)
    delivery: str  # ENVIRONMENT, PARAMETER or SECRET
    check: Callable[[str], str | None] | None = None  # the format the app parses; None when any text goes
    config_keys: tuple[str, ...] = ()  # the stack config keys an ENVIRONMENT value is computed from

    @property
    def secret(self) -> bool:
        return self.delivery == SECRET


VARIABLES: tuple[Variable, ...] = (
    Variable("DJANGO_ENVIRONMENT", "The environment name (dev, stg, prod).", "prod", "`environment` (the stack name)",
             ENVIRONMENT, _matches(r"[a-z]+", "a lowercase word"), ("environment",)),
    Variable("DJANGO_ALLOWED_HOSTS", "ALLOWED_HOSTS: the domain and every certificate name; a wildcard `*.x` "
             "becomes `.x` (x and its subdomains).", "www.example.com,example.com",
             "`dns.domain`, `dns.alternative_names`", ENVIRONMENT, _list_of(_HOST, "host names"),
             ("dns.domain", "dns.alternative_names")),
    Variable("DJANGO_CSRF_TRUSTED_ORIGINS", "CSRF_TRUSTED_ORIGINS: `https://` and each certificate name "
             "(wildcards kept, as Django accepts them).", "https://www.example.com,https://example.com",
             "`dns.domain`, `dns.alternative_names`", ENVIRONMENT, _list_of(_ORIGIN, "https:// origins"),
             ("dns.domain", "dns.alternative_names")),
    Variable("DJANGO_FORWARDED_PROTO_HEADER", "The header the load balancer sets to the client's protocol: "
             "SECURE_PROXY_SSL_HEADER = (HTTP_X_FORWARDED_PROTO, https).", FORWARDED_PROTO_HEADER,
             "the ALB sets it on every request it forwards", ENVIRONMENT,
             _matches(r"[A-Za-z][A-Za-z0-9-]*", "an HTTP header name")),
    Variable("DJANGO_HEALTH_CHECK_PATH", "The path the ALB health checker requests (without its query): "
             "answered 200 whatever the Host header, never redirected.", "/healthz/",
             "`load_balancer.health_check_path`", ENVIRONMENT, _matches(r"/[\x21-\x7e]*", "a path starting with /"),
             ("load_balancer.health_check_path",)),
    Variable("DJANGO_STATIC_URL", "STATIC_URL: the CloudFront URL of the published collectstatic output, or "
             "`/static/` when the web tasks serve it themselves (WhiteNoise).", "https://static.example.com/static/",
             "`static.cdn`, `static.hostname`, `dns.domain`", ENVIRONMENT,
             _matches(r"/static/|https://[a-z0-9.-]+/static/", "/static/ or https://<host>/static/"),
             ("static.hostname",)),
    Variable("MEDIA_BUCKET", "The uploads bucket (django-storages `bucket_name`); absent when `media.enabled` is "
             "false.", "django-prod-app-media-123456789012-s3", "the media bucket", RESOURCE),
    Variable("MEDIA_LOCATION", "The key prefix every upload lives under (django-storages `location`); the task "
             "roles may use nothing else.", "media", "always `media`", RESOURCE),
    Variable("MEDIA_REGION", "The bucket's region (django-storages `region_name`: presigned URLs are signed for "
             "it).", "us-east-1", "`aws:region`", RESOURCE),
    Variable("MEDIA_URL_EXPIRY", "Seconds a presigned URL is valid (django-storages `querystring_expire`).", "3600",
             "`media.url_expiry_seconds`", RESOURCE),
    Variable("CELERY_BROKER_URL", "The broker: `sqs://` (credentials from the task role); absent without workers.",
             "sqs://", "`workers`", RESOURCE),
    Variable("CELERY_QUEUES", "JSON object, worker name -> SQS queue URL (Celery `predefined_queues`: no "
             "ListQueues or CreateQueue).", '{"default": "https://sqs.us-east-1.amazonaws.com/123456789012/'
             'django-prod-worker-default-sqs"}', "each worker's queue", RESOURCE),
    Variable("CELERY_WORKER_QUEUE", "The queue (worker name) this worker consumes.", "default",
             "`workers[].name`", WORKER),
    Variable("CELERY_TASK_TIME_LIMIT", "Seconds a task may run (Celery `task_time_limit`).", "300",
             "`workers[].task_time_limit`", WORKER),
    Variable("CELERY_VISIBILITY_TIMEOUT", "The queue's visibility timeout (Celery broker transport option "
             "`visibility_timeout`), above the time limit.", "360", "`workers[].task_time_limit` + 60", WORKER),
    Variable("DATABASE_ENGINE", "`postgres` or `mysql`.", "postgres", "`database.engine`", PARAMETER),
    Variable("DATABASE_HOST", "The RDS endpoint address.", "django-prod-db.abcdefghijkl.us-east-1.rds.amazonaws.com",
             "RDS instance `address`", PARAMETER),
    Variable("DATABASE_PORT", "The RDS port.", "5432", "RDS instance `port`", PARAMETER),
    Variable("DATABASE_NAME", "The database name.", "app", "`database.name`", PARAMETER),
    Variable("DATABASE_TLS", "`true`: the server refuses unencrypted connections (rds.force_ssl / "
             "require_secure_transport); connect with sslmode=require (postgres) or ssl_mode=REQUIRED (mysql).",
             "true", "always `true` (database parameter group)", PARAMETER),
    Variable("DATABASE_USER", "The master user name.", "app", "RDS-managed master secret, JSON key `username`",
             SECRET),
    Variable("DATABASE_PASSWORD", "The master user password (RDS rotates it).", "(secret)",
             "RDS-managed master secret, JSON key `password`", SECRET),
    Variable("REDIS_HOST", "The cache primary endpoint address.",
             "master.django-prod-cache.abcdef.use1.cache.amazonaws.com", "replication group `primaryEndpointAddress`",
             PARAMETER),
    Variable("REDIS_PORT", "The cache port.", "6379", "replication group port", PARAMETER),
    Variable("REDIS_TLS", "`true`: in-transit encryption is on; connect with `rediss://`.", "true",
             "always `true` (replication group)", PARAMETER),
    Variable("REDIS_AUTH_TOKEN", "The Redis AUTH token (password).", "(secret)", "generated AUTH token secret",
             SECRET),
    Variable("DJANGO_SECRET_KEY", "SECRET_KEY.", "(secret)", "generated Django key secret", SECRET),
)

BY_NAME: Mapping[str, Variable] = {v.name: v for v in VARIABLES}
NAMES = tuple(BY_NAME)


def names(delivery: str) -> tuple[str, ...]:
    return tuple(v.name for v in VARIABLES if v.delivery == delivery)


def allowed_hosts(certificate_names: list[str]) -> list[str]:
    """Django ALLOWED_HOSTS for the certificate's names: `*.x` becomes `.x` (Django's subdomain form)."""
    return list(dict.fromkeys("." + n.removeprefix("*.") if n.startswith("*.") else n for n in certificate_names))


def environment(settings: StackSettings) -> dict[str, str]:
    """The ENVIRONMENT variables' values for a stack: the same for the web service, the jobs and the migration."""
    from components.certificate import certificate_names  # here: certificate.py imports settings.py

    names_ = [settings.dns.domain, *certificate_names(settings.dns.domain, settings.dns.alternative_names)]
    return {
        "DJANGO_ENVIRONMENT": settings.environment,
        "DJANGO_ALLOWED_HOSTS": ",".join(allowed_hosts(names_)),
        "DJANGO_CSRF_TRUSTED_ORIGINS": ",".join(f"https://{n}" for n in names_),
        "DJANGO_FORWARDED_PROTO_HEADER": FORWARDED_PROTO_HEADER,
        "DJANGO_HEALTH_CHECK_PATH": settings.load_balancer.health_check_path.split("?", 1)[0],
        "DJANGO_STATIC_URL": (f"https://{settings.static.hostname_for(settings.dns.domain)}/static/"
                              if settings.static.cdn else "/static/"),
    }


def problems(settings: StackSettings) -> list[tuple[str, object, str]]:
    """(config key, given, what is allowed) for everything that breaks the contract.

    - A variable the platform sets, set again in `service.environment` / `service.secrets`: the container
      definition would name it twice, and the app would not get the platform's value for certain.
    - A computed value the app could not parse (e.g. a host list with a stray space): reported against
      the config key it was computed from.
    """
    found: list[tuple[str, object, str]] = []
    for key, given in (("service.environment", settings.service.environment),
                       ("service.secrets", settings.service.secrets)):
        taken = sorted(set(given) & set(NAMES))
        if taken:
            found.append((key, taken, "names the platform does not set itself; it sets "
                                      f"{', '.join(taken)} (docs/app-contract.md)"))
    hosts, origins = BY_NAME["DJANGO_ALLOWED_HOSTS"], BY_NAME["DJANGO_CSRF_TRUSTED_ORIGINS"]
    for key, given_names in (("dns.domain", [settings.dns.domain]),
                             ("dns.alternative_names", settings.dns.alternative_names)):
        for name in given_names:  # each name on its own, so the error names the key it came from
            for variable, value in ((hosts, allowed_hosts([name])[0]), (origins, f"https://{name}")):
                problem = variable.check(value) if variable.check else None
                if problem:
                    found.append((key, name, f"names that give {variable.name} {problem} (docs/app-contract.md)"))
    for name, value in environment(settings).items():
        variable = BY_NAME[name]
        problem = variable.check(value) if variable.check and variable not in (hosts, origins) else None
        if problem:
            key = variable.config_keys[0] if variable.config_keys else name
            found.append((key, value, f"a value that gives {name} {problem} (docs/app-contract.md)"))
    return found

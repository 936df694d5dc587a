"""Production settings that read exactly the platform's contract (docs/app-contract.md), nothing else.

Every value comes from an environment variable the task definition sets (plain or as an ECS secret);
a missing or malformed one stops the process at start with the variable's name, so a task that cannot
work fails its deployment instead of serving errors.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import urlparse

from django.core.exceptions import ImproperlyConfigured

from config import static

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str) -> str:
    value = os.environ.get(name)
    if value is None:
        raise ImproperlyConfigured(f"{name} is not set; the platform sets it (docs/app-contract.md)")
    return value


def env_list(name: str) -> list[str]:
    """A comma-separated list, as the platform writes it: no blanks, no empty items."""
    value = env(name)
    items = value.split(",")
    if any(not item or item != item.strip() for item in items):
        raise ImproperlyConfigured(f"{name}: expected a comma-separated list without spaces, got {value!r}")
    return items


def env_flag(name: str) -> bool:
    value = env(name)
    if value not in ("true", "false"):
        raise ImproperlyConfigured(f"{name}: expected true or false, got {value!r}")
    return value == "true"


ENVIRONMENT = env("DJANGO_ENVIRONMENT")
SECRET_KEY = env("DJANGO_SECRET_KEY")
DEBUG = False

# --- behind the ALB -------------------------------------------------------------------------------------
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")
# The ALB terminates TLS and sets X-Forwarded-Proto on every request it forwards; the tasks admit traffic
# from the ALB only, so the header can be trusted (https://docs.djangoproject.com/en/5.2/ref/settings/
# #secure-proxy-ssl-header).
SECURE_PROXY_SSL_HEADER = ("HTTP_" + env("DJANGO_FORWARDED_PROTO_HEADER").upper().replace("-", "_"), "https")
SECURE_SSL_REDIRECT = True
HEALTH_CHECK_PATH = env("DJANGO_HEALTH_CHECK_PATH")  # answered by config.health, exempt from both above
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = 3600  # raise it once HTTPS works for every name of the certificate

# --- data tier ------------------------------------------------------------------------------------------
# This image ships psycopg only. For database.engine mysql: add mysqlclient, ENGINE django.db.backends.mysql
# and OPTIONS {"ssl_mode": "REQUIRED"} (the server refuses plain connections: require_secure_transport).
if env("DATABASE_ENGINE") != "postgres":
    raise ImproperlyConfigured(f"DATABASE_ENGINE: this app supports postgres, got {env('DATABASE_ENGINE')!r}")
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "HOST": env("DATABASE_HOST"),
        "PORT": env("DATABASE_PORT"),
        "NAME": env("DATABASE_NAME"),
        "USER": env("DATABASE_USER"),
        "PASSWORD": env("DATABASE_PASSWORD"),
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
        # DATABASE_TLS is true on the platform (rds.force_ssl): require TLS. false only for a local server.
        "OPTIONS": {"sslmode": "require" if env_flag("DATABASE_TLS") else "disable", "connect_timeout": 10},
    }
}

_redis_scheme = "rediss" if env_flag("REDIS_TLS") else "redis"  # rediss: TLS, verified against the system CAs
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": f"{_redis_scheme}://{env('REDIS_HOST')}:{env('REDIS_PORT')}/0",
        "OPTIONS": {"password": env("REDIS_AUTH_TOKEN"), "socket_connect_timeout": 5, "socket_timeout": 5},
    }
}
# Sessions are written to the database and cached in Redis; `manage.py clearsessions` (the scheduled job)
# deletes the expired rows.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# --- static files and uploads (docs/static-media-workers.md) ---------------------------------------------
# STATIC_URL is CloudFront's https://static.<domain>/static/ (static.cdn) or /static/, which WhiteNoise
# serves from the web tasks. Either way the hashed names come from the image's collectstatic manifest.
STATIC_URL = env("DJANGO_STATIC_URL")
STATIC_ROOT = static.STATIC_ROOT
STATICFILES_DIRS = static.STATICFILES_DIRS
SERVE_STATIC = STATIC_URL.startswith("/")
STORAGES: dict[str, dict] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},  # replaced below on the platform
    "staticfiles": {"BACKEND": static.STATICFILES_STORAGE_BACKEND},
}
if "MEDIA_BUCKET" in os.environ:  # media.enabled: uploads in the private bucket, served by presigned URLs
    STORAGES["default"] = {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {
        "bucket_name": env("MEDIA_BUCKET"),
        "location": env("MEDIA_LOCATION"),  # the task roles may use this prefix only
        "region_name": env("MEDIA_REGION"),
        "querystring_auth": True,  # presigned GET URLs: the bucket is private
        "querystring_expire": int(env("MEDIA_URL_EXPIRY")),
        "signature_version": "s3v4",
        "file_overwrite": False,  # a second upload with the same name gets a new name, never replaces
        # Credentials: the task role, through boto3's default chain (never keys in the environment).
    }}

# --- background tasks: Celery, SQS on the platform (predefined queues: no ListQueues / CreateQueue) ----------
if "CELERY_BROKER_URL" in os.environ:  # the stack has workers
    CELERY_BROKER_URL = env("CELERY_BROKER_URL")
    CELERY_QUEUE_URLS: dict[str, str] = json.loads(env("CELERY_QUEUES"))
    # A worker consumes its own queue; the web tasks send to `default` (or the only queue there is).
    CELERY_TASK_DEFAULT_QUEUE = (env("CELERY_WORKER_QUEUE") if "CELERY_WORKER_QUEUE" in os.environ
                                 else "default" if "default" in CELERY_QUEUE_URLS else min(CELERY_QUEUE_URLS))
    if CELERY_BROKER_URL.startswith("sqs://"):
        CELERY_BROKER_TRANSPORT_OPTIONS = {
            "region": urlparse(CELERY_QUEUE_URLS[CELERY_TASK_DEFAULT_QUEUE]).hostname.split(".")[1],
            "predefined_queues": {name: {"url": url} for name, url in CELERY_QUEUE_URLS.items()},
            "wait_time_seconds": 20,  # long polling, as the queue is configured
        }
        if "CELERY_VISIBILITY_TIMEOUT" in os.environ:
            CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] = int(env("CELERY_VISIBILITY_TIMEOUT"))
    if "CELERY_TASK_TIME_LIMIT" in os.environ:
        CELERY_TASK_TIME_LIMIT = int(env("CELERY_TASK_TIME_LIMIT"))
    # A message is acknowledged once its task finished: a task killed mid-way (Spot, a deployment past its
    # stop timeout) is delivered again after the visibility timeout, then dead-lettered after max_receive_count.
    CELERY_TASK_ACKS_LATE = True
    CELERY_TASK_REJECT_ON_WORKER_LOST = True
    CELERY_WORKER_PREFETCH_MULTIPLIER = 1  # a prefetched message's visibility timeout runs while it waits
    CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- the app ------------------------------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.staticfiles",
]
MIDDLEWARE = [
    "config.health.HealthCheckMiddleware",  # first: before anything reads the Host header or redirects
    "django.middleware.security.SecurityMiddleware",
    *(["whitenoise.middleware.WhiteNoiseMiddleware"] if SERVE_STATIC else []),  # right after SecurityMiddleware
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"

# Everything to stdout: the awslogs driver ships it to the task's log group.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {"django": {"handlers": ["console"], "level": "INFO", "propagate": False}},
}

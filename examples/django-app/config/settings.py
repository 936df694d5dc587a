"""Production settings that read exactly the platform's contract (docs/app-contract.md), nothing else.

Every value comes from an environment variable the task definition sets (plain or as an ECS secret);
a missing or malformed one stops the process at start with the variable's name, so a task that cannot
work fails its deployment instead of serving errors.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

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

# --- the app ------------------------------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
]
MIDDLEWARE = [
    "config.health.HealthCheckMiddleware",  # first: before anything reads the Host header or redirects
    "django.middleware.security.SecurityMiddleware",
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

"""Settings for `manage.py collectstatic` while the image is built: no database, cache or secret exists yet."""

from __future__ import annotations

from config import static

SECRET_KEY = "collectstatic-only"  # not a secret: this module never serves a request
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "django.contrib.staticfiles"]
STATIC_URL = "/static/"
STATIC_ROOT = static.STATIC_ROOT
STATICFILES_DIRS = static.STATICFILES_DIRS
STORAGES = {"staticfiles": {"BACKEND": static.STATICFILES_STORAGE_BACKEND}}

"""The Celery app: `celery --app config worker` (the platform's worker command) finds it here.

Configuration comes from Django's settings (CELERY_* names, docs/app-contract.md); tasks live in
config/tasks.py.
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["config"])

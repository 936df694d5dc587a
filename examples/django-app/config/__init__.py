"""The reference app's Django project; the Celery app loads with it so `@shared_task`s bind to it."""

from config.celery import app as celery_app

__all__ = ["celery_app"]

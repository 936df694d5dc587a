"""The reference app's background task: work a web request hands to the queue workers."""

from __future__ import annotations

from celery import shared_task
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage


@shared_task
def write_report(name: str, text: str) -> str:
    """Store a text file among the uploads (the media bucket) and return the name it was stored under."""
    return default_storage.save(f"reports/{name}", ContentFile(text.encode()))

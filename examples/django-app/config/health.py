"""The load balancer's health check, answered before anything reads the Host header or redirects.

The ALB health checker requests DJANGO_HEALTH_CHECK_PATH on the task's IP and port, without the site's
name in the Host header and without X-Forwarded-Proto (docs/app-contract.md, "The health check").
Through Django's normal stack that request would be refused by ALLOWED_HOSTS (400, from the first
`request.get_host()`, e.g. in CommonMiddleware) or redirected to https by SecurityMiddleware (301).
This middleware sits first in MIDDLEWARE and answers exactly that path (GET and HEAD) itself: every
other path still goes through ALLOWED_HOSTS and the HTTPS redirect.

It checks that the process serves requests, not the database or the cache: a database failover would
otherwise fail every task's check at once and make ECS replace healthy tasks.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse


class HealthCheckMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response
        self.path = settings.HEALTH_CHECK_PATH

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # request.path never reads the Host header (request.get_host() would validate it)
        if request.path == self.path and request.method in ("GET", "HEAD"):
            return HttpResponse("ok\n", content_type="text/plain")
        return self.get_response(request)

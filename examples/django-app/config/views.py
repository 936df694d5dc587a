"""Two pages: the home page, and one that uses the session and the cache (both in Redis)."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import get_token


def home(request: HttpRequest) -> HttpResponse:
    return HttpResponse(f"Hello from the {settings.ENVIRONMENT} environment.\n", content_type="text/plain")


def visits(request: HttpRequest) -> JsonResponse:
    """Counts this browser's visits in its session and every visit in the cache (GET, or POST with the CSRF
    token from the csrftoken cookie, which this page sets)."""
    get_token(request)
    request.session["visits"] = request.session.get("visits", 0) + 1
    cache.add("visits:total", 0)
    total = cache.incr("visits:total")
    return JsonResponse({"session_visits": request.session["visits"], "total_visits": total})

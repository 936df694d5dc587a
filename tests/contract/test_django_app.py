"""The reference app, run with the dev and prod task definitions' variables against real PostgreSQL and Redis.

Everything the app is given comes from the recorded graph: the web container's `environment`, its `secrets`
(SSM values as recorded; endpoints and credentials those of the test servers), the web command (gunicorn),
the job's command and the pipeline's migrate command; the health check path and matcher come from the
recorded target group. Requests are sent as the ALB sends them: the site's Host and X-Forwarded-Proto for
client traffic, the task's IP as Host and no X-Forwarded-Proto for health checks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.contract.app import APP, Served, http, migrate_command, recorded_container, run, serve, task_environment
from tests.contract.servers import PostgresServer, RedisServer
from tools.mock_runtime import Graph

TASK_IP = "10.10.12.34"  # what the ALB health checker sends as Host: the target's IP (docs/app-contract.md)


def site_names(env: dict[str, str]) -> list[str]:
    return [h for h in env["DJANGO_ALLOWED_HOSTS"].split(",") if not h.startswith(".")]


def health_check(graph: Graph) -> tuple[str, str, int]:
    """The recorded target group's health check: path, matcher, port."""
    group = graph.one("aws:lb/targetGroup:TargetGroup")
    check = group.inputs["healthCheck"]
    return check["path"], check["matcher"], group.inputs["port"]


def matches(matcher: str, status: int) -> bool:
    """An ALB matcher ("200", "200-299", "200,302") accepts `status`."""
    for part in matcher.split(","):
        low, _, high = part.partition("-")
        if int(low) <= status <= int(high or low):
            return True
    return False


@pytest.fixture(scope="module", params=["dev", "prod"])
def stack(request: pytest.FixtureRequest) -> tuple[str, Graph]:
    return request.param, request.getfixturevalue(request.param)


@pytest.fixture(scope="module")
def web_env(stack: tuple[str, Graph], postgres: PostgresServer, redis: RedisServer) -> dict[str, str]:
    _, graph = stack
    return task_environment(graph, recorded_container(graph, "-web-task"), postgres, redis)


def app_files() -> dict[str, float]:
    return {str(f): f.stat().st_mtime for f in APP.rglob("*")}


@pytest.fixture(scope="module")
def app_files_before() -> dict[str, float]:
    """The app directory before anything ran: the root filesystem is read-only in the task."""
    return app_files()


@pytest.fixture(scope="module")
def migrated(stack: tuple[str, Graph], web_env: dict[str, str], app_files_before: dict[str, float]) -> dict[str, str]:
    """The pipeline's migrate step: its exact command in the web container (only the command is overridden)."""
    result = run(migrate_command(stack[1]), web_env)
    assert result.returncode == 0, result.stdout + result.stderr
    return web_env


@pytest.fixture(scope="module")
def web(stack: tuple[str, Graph], migrated: dict[str, str], tmp_path_factory: pytest.TempPathFactory
        ) -> Iterator[Served]:
    """gunicorn with the web container's exact command, bound to a loopback port instead of 0.0.0.0:8000.

    FORWARDED_ALLOW_IPS makes the loopback peer untrusted by gunicorn, as the ALB's address (10.x) is with
    gunicorn's default (127.0.0.1,::1): X-Forwarded-Proto then reaches Django untouched, as behind the ALB.
    """
    command = recorded_container(stack[1], "-web-task")["command"]
    with serve(command, {**migrated, "FORWARDED_ALLOW_IPS": "192.0.2.1"}, tmp_path_factory.mktemp("web")) as served:
        yield served


def test_migrate_created_the_schema_over_tls(migrated: dict[str, str], postgres: PostgresServer):
    with postgres.connect() as conn:
        tables = {row[0] for row in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert {"django_migrations", "django_session", "auth_user"} <= tables


def test_the_scheduled_job_runs_its_exact_command_and_clears_expired_sessions(
        stack: tuple[str, Graph], migrated: dict[str, str], postgres: PostgresServer, redis: RedisServer):
    name, graph = stack
    job = recorded_container(graph, "-job-clearsessions-task")
    assert job["command"] == ["python", "manage.py", "clearsessions"]
    now = datetime.now(UTC)
    with postgres.connect() as conn:
        for key, expires in ((f"expired{name}", now - timedelta(days=1)), (f"live{name}", now + timedelta(days=1))):
            conn.execute("INSERT INTO django_session (session_key, session_data, expire_date) VALUES (%s, '', %s)",
                         (key, expires))
    result = run(job["command"], task_environment(graph, job, postgres, redis))
    assert result.returncode == 0, result.stdout + result.stderr
    with postgres.connect() as conn:
        keys = {row[0] for row in conn.execute("SELECT session_key FROM django_session WHERE session_key IN (%s, %s)",
                                               (f"expired{name}", f"live{name}"))}
    assert keys == {f"live{name}"}


def test_settings_read_exactly_the_contract(migrated: dict[str, str]):
    script = ("import json; from django.conf import settings as s; print(json.dumps([s.ALLOWED_HOSTS, "
              "s.CSRF_TRUSTED_ORIGINS, s.SECURE_PROXY_SSL_HEADER, s.SECURE_SSL_REDIRECT, s.ENVIRONMENT, "
              "s.DATABASES['default']['OPTIONS']['sslmode'], s.CACHES['default']['LOCATION']]))")
    result = run(["python", "manage.py", "shell", "--no-imports", "-c", script], migrated)
    assert result.returncode == 0, result.stderr
    hosts, origins, header, redirect, environment, sslmode, location = json.loads(result.stdout)
    assert hosts == migrated["DJANGO_ALLOWED_HOSTS"].split(",")
    assert origins == migrated["DJANGO_CSRF_TRUSTED_ORIGINS"].split(",")
    assert all(o.startswith("https://") for o in origins)
    assert (header, redirect) == (["HTTP_X_FORWARDED_PROTO", "https"], True)
    assert environment == migrated["DJANGO_ENVIRONMENT"]
    assert sslmode == "require"
    assert location == f"rediss://{migrated['REDIS_HOST']}:{migrated['REDIS_PORT']}/0"
    check = run(["python", "manage.py", "check", "--deploy", "--fail-level", "WARNING"], migrated)
    assert "security.W0" not in check.stderr.replace("security.W005", "").replace("security.W021", ""), check.stderr


@pytest.mark.parametrize("host", [f"{TASK_IP}:8000", TASK_IP, None], ids=["ip-and-port", "ip", "no-host"])
def test_the_health_check_passes_whatever_host_the_checker_sends(stack: tuple[str, Graph], web: Served,
                                                                 host: str | None):
    path, matcher, port = health_check(stack[1])
    host = host.replace(":8000", f":{port}") if host else None
    response = http(web.url, path, host=host, http10=host is None)  # HTTP/1.0 allows a request without Host
    assert matches(matcher, response.status), (response.status, response.body)
    assert "location" not in response.headers  # not redirected to https: the checker does not follow


def test_the_site_is_served_over_https_through_the_alb(web: Served, migrated: dict[str, str]):
    for name in site_names(migrated):
        response = http(web.url, "/", host=name, headers={"X-Forwarded-Proto": "https",
                                                          "X-Forwarded-For": "203.0.113.9"})
        assert response.status == 200, (name, response.body)
        assert f"the {migrated['DJANGO_ENVIRONMENT']} environment" in response.body.decode()


@pytest.mark.parametrize("forwarded_proto", ["http", None])
def test_plain_http_is_redirected_to_https(web: Served, migrated: dict[str, str], forwarded_proto: str | None):
    headers = {"X-Forwarded-Proto": forwarded_proto} if forwarded_proto else {}
    for name in site_names(migrated):
        response = http(web.url, "/visits/?a=1", host=name, headers=headers)
        assert response.status == 301
        assert response.headers["location"] == f"https://{name}/visits/?a=1"


@pytest.mark.parametrize("host", ["evil.example.net", f"{TASK_IP}:8000"])
def test_a_foreign_host_is_refused_on_every_other_path(web: Served, host: str):
    response = http(web.url, "/", host=host, headers={"X-Forwarded-Proto": "https"})
    assert response.status == 400  # DisallowedHost


def test_sessions_and_cache_reach_redis_over_tls_with_auth(web: Served, migrated: dict[str, str],
                                                           redis: RedisServer, postgres: PostgresServer):
    site = site_names(migrated)[0]
    headers = {"X-Forwarded-Proto": "https"}
    first = http(web.url, "/visits/", host=site, headers=headers)
    assert first.status == 200, first.body
    cookie = re.search(r"sessionid=([^;]+)", first.headers["set-cookie"])
    assert cookie and "Secure" in first.headers["set-cookie"]
    second = http(web.url, "/visits/", host=site, headers={**headers, "Cookie": f"sessionid={cookie.group(1)}"})
    assert second.json()["session_visits"] == 2
    assert second.json()["total_visits"] == first.json()["total_visits"] + 1
    with redis.client() as client:  # the same server, over TLS with the AUTH token
        assert client.exists(f":1:django.contrib.sessions.cached_db{cookie.group(1)}") == 1
        assert int(client.get(":1:visits:total")) == second.json()["total_visits"]
    with postgres.connect() as conn:  # cached_db: the session is in the database too
        assert conn.execute("SELECT count(*) FROM django_session WHERE session_key = %s",
                            (cookie.group(1),)).fetchone() == (1,)


def test_csrf_accepts_the_sites_https_origins_and_refuses_others(web: Served, migrated: dict[str, str]):
    site = site_names(migrated)[0]
    page = http(web.url, "/visits/", host=site, headers={"X-Forwarded-Proto": "https"})
    cookies = dict(re.findall(r"(csrftoken|sessionid)=([^;]+)", page.headers["set-cookie"]))
    cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())

    def post(origin: str) -> int:
        return http(web.url, "/visits/", host=site, method="POST", headers={
            "X-Forwarded-Proto": "https", "Origin": origin, "Cookie": cookie, "X-CSRFToken": cookies["csrftoken"],
            "Content-Length": "0"}).status

    for origin in migrated["DJANGO_CSRF_TRUSTED_ORIGINS"].split(","):  # in prod: https://example.com too
        assert post(origin) == 200, origin
    assert post("https://evil.example.net") == 403
    assert post(f"http://{site}") == 403  # the https origin only


CACHE_SET = ["python", "manage.py", "shell", "--no-imports", "-c",
             "from django.core.cache import cache; cache.set('k', 1)"]
MIGRATE = ["python", "manage.py", "migrate", "--noinput"]


@pytest.fixture(scope="module")
def cache_set_works(migrated: dict[str, str]) -> None:
    """CACHE_SET works with the contract's values, as MIGRATE did for `migrated`: the controls of the test below."""
    result = run(CACHE_SET, migrated)
    assert result.returncode == 0, result.stderr


# The failure cases below are the servers' and the settings module's answers to one changed variable, the same
# for both stacks: they run with prod's variables only (`stack` re-parametrized), the rest of this module with both.
ONLY_PROD = pytest.mark.parametrize("stack", ["prod"], indirect=True)


@ONLY_PROD
@pytest.mark.parametrize(("command", "change", "error"), [
    (MIGRATE, {"DATABASE_PASSWORD": "not-the-password"}, 'password authentication failed for user "app"'),
    (MIGRATE, {"DATABASE_TLS": "false"}, r'no pg_hba.conf entry for host "127.0.0.1", user "app", database "app", '
                                         r"no encryption"),
    (CACHE_SET, {"REDIS_AUTH_TOKEN": "not-the-token"}, "invalid username-password pair"),
    (CACHE_SET, {"REDIS_TLS": "false"}, r"redis.exceptions.ConnectionError"),
], ids=["wrong-db-password", "db-without-tls", "wrong-redis-token", "redis-without-tls"])
def test_a_wrong_credential_or_a_plain_connection_fails_as_on_aws(cache_set_works: None, migrated: dict[str, str],
                                                                  command: list[str], change: dict[str, str],
                                                                  error: str):
    result = run(command, {**migrated, **change})  # the same command with the contract's values works (fixtures)
    assert result.returncode != 0
    assert re.search(error, result.stderr), result.stderr[-2000:]


@ONLY_PROD
@pytest.mark.parametrize(("change", "error"), [
    ({"DJANGO_ALLOWED_HOSTS": None}, "DJANGO_ALLOWED_HOSTS is not set"),
    ({"DJANGO_ALLOWED_HOSTS": "www.example.com, example.com"}, "DJANGO_ALLOWED_HOSTS: expected a comma-separated list"),
    ({"REDIS_TLS": "yes"}, "REDIS_TLS: expected true or false"),
    ({"DATABASE_ENGINE": "mysql"}, "DATABASE_ENGINE: this app supports postgres"),
])
def test_a_missing_or_malformed_variable_stops_the_app_with_its_name(migrated: dict[str, str],
                                                                     change: dict[str, str | None], error: str):
    env = {k: v for k, v in {**migrated, **change}.items() if v is not None}
    result = run(["python", "manage.py", "check"], env)
    assert result.returncode != 0 and error in result.stderr, result.stderr[-2000:]


def test_the_app_needs_no_variable_outside_the_contract(stack: tuple[str, Graph], migrated: dict[str, str]):
    from components import app_contract

    container = recorded_container(stack[1], "-web-task")
    given = {e["name"] for e in container["environment"]} | {s["name"] for s in container["secrets"]}
    worker_only = set(app_contract.names(app_contract.WORKER))  # tests/contract/test_media_and_worker.py
    assert set(app_contract.NAMES) - worker_only <= given and not worker_only & given
    settings_source = (Path(__file__).resolve().parents[2] / "examples/django-app/config/settings.py").read_text()
    read = set(re.findall(r'env(?:_list|_flag)?\("([A-Z_]+)"\)', settings_source))
    read |= set(re.findall(r"env\('([A-Z_]+)'\)", settings_source))
    assert read == set(app_contract.NAMES)


def test_nothing_was_written_into_the_app_directory(web: Served, app_files_before: dict[str, float]):
    """Everything above ran the app (migrate, the job, gunicorn): the image's files stay as built, so the
    read-only root filesystem of the task costs nothing (gunicorn and Python write to /tmp only)."""
    assert app_files() == app_files_before

"""Fixtures for contract tests: real servers, and the reference app run with a recorded task's variables.

Reuse them from any test module under tests/contract/ (pytest finds this conftest):

    from tests.contract.app import http, recorded_container, run, serve, task_environment

    def test_something(dev, postgres, redis, tmp_path):           # `dev`/`prod`: tests/conftest.py graphs
        container = recorded_container(dev, "-web-task")
        env = task_environment(dev, container, postgres, redis)     # the task's variables, servers' credentials
        assert run(["python", "manage.py", "migrate", "--noinput"], env).returncode == 0
        with serve(container["command"], env, tmp_path) as web:     # gunicorn on a loopback port
            assert http(web.url, "/healthz/", host="10.0.1.23:8000").status == 200

- `tls_files` (session): a throwaway CA and a server certificate for localhost / 127.0.0.1 (servers.TlsFiles).
- `postgres` (session): servers.PostgresServer, a PostgreSQL cluster that accepts TLS connections only
  (hostssl-only pg_hba.conf, as rds.force_ssl=1), database `app` owned by the non-superuser `app`;
  `.connect(**overrides)` (psycopg, sslmode=require), `.admin()`, `.set_password(new)` (what a rotation of
  the RDS-managed secret does to the role). Session-wide: a test that changes the password sets it back,
  or uses `fresh_postgres`.
- `fresh_postgres` (function): a cluster of its own, for tests that break or rotate things.
- `redis` (session): servers.RedisServer, redis-server 7 on a TLS-only port with `requirepass`;
  `.client(**overrides)`. `with redis.client() as c: c.flushall()` when a test needs an empty cache.
- `app_env` (function): a factory `app_env(graph, family_suffix="-web-task", **extra)` -> the environment
  dict for that container against `postgres` and `redis` (see tests/contract/app.py).

When PostgreSQL or redis-server is missing the fixtures fail with what to install (servers.INSTALL_HINT);
`make test` installs both on Debian/Ubuntu first (tools/install_test_servers.sh).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.contract.app import compile_requirements, recorded_container, task_environment
from tests.contract.servers import (
    PostgresServer,
    RedisServer,
    ServerMissing,
    TlsFiles,
    make_tls_files,
    postgres_server,
    redis_server,
)
from tools.mock_runtime import Graph


@pytest.fixture(scope="session", autouse=True)
def image_bytecode() -> None:
    """The app's requirements byte-compiled, as pip leaves them in the image (tests/contract/app.py)."""
    compile_requirements()


def _fail_if_missing(error: ServerMissing) -> None:
    pytest.fail(f"contract tests need real servers: {error}", pytrace=False)


@pytest.fixture(scope="session")
def tls_files() -> Iterator[TlsFiles]:
    with tempfile.TemporaryDirectory(prefix="contract-tls-") as directory:
        try:
            yield make_tls_files(Path(directory))
        except ServerMissing as error:
            _fail_if_missing(error)


@pytest.fixture(scope="session")
def postgres(tls_files: TlsFiles) -> Iterator[PostgresServer]:
    try:
        with postgres_server(tls_files) as server:
            yield server
    except ServerMissing as error:
        _fail_if_missing(error)


@pytest.fixture
def fresh_postgres(tls_files: TlsFiles) -> Iterator[PostgresServer]:
    try:
        with postgres_server(tls_files) as server:
            yield server
    except ServerMissing as error:
        _fail_if_missing(error)


@pytest.fixture(scope="session")
def redis(tls_files: TlsFiles) -> Iterator[RedisServer]:
    try:
        with redis_server(tls_files) as server:
            yield server
    except ServerMissing as error:
        _fail_if_missing(error)


@pytest.fixture
def app_env(postgres: PostgresServer, redis: RedisServer) -> Callable[..., dict[str, str]]:
    def build(graph: Graph, family_suffix: str = "-web-task", **extra: str) -> dict[str, str]:
        return task_environment(graph, recorded_container(graph, family_suffix), postgres, redis, extra)

    return build

"""A rotation of the database password, against real PostgreSQL (docs/deploy-safety.md).

RDS's rotation of the managed master secret is an ALTER ROLE ... PASSWORD on the server and a new
AWSCURRENT value in Secrets Manager. A running task keeps the value ECS injected when it started. What
PostgreSQL then does, and what the platform's recovery (a new deployment: new tasks, new processes that
read the new value; components/credential_rotation.py) gives back, checked here with the reference app
and the dev web task's variables:

- a connection opened before the rotation keeps working (PostgreSQL authenticates only at login), which
  is why Django's persistent connections (CONN_MAX_AGE) carry an old task through the restart window;
- every new connection with the old password fails, from the old process and from any new one;
- a new process started with the rotated value connects, migrates and serves pages.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from tests.contract.app import APP, http, recorded_container, run, serve, task_environment
from tests.contract.servers import PostgresServer, RedisServer
from tools.mock_runtime import Graph

MIGRATE = ["python", "manage.py", "migrate", "--noinput"]
# One Django process across the rotation: it connects, waits for the flag file ($ROTATION_FLAG), then uses
# the connection it holds and afterwards opens a new one, printing what happened to each.
HOLD_ACROSS_ROTATION = """
import os, pathlib, time
from django.db import connection
connection.ensure_connection()
print("connected", flush=True)
flag = pathlib.Path(os.environ["ROTATION_FLAG"])
while not flag.exists():
    time.sleep(0.05)
with connection.cursor() as cursor:
    cursor.execute("SELECT count(*) FROM django_migrations")
    print("held connection works", cursor.fetchone()[0] > 0, flush=True)
connection.close()
try:
    connection.ensure_connection()
    print("new connection works", flush=True)
except Exception as error:
    print("new connection fails:", str(error).strip().splitlines()[-1], flush=True)
"""


def _wait_for_line(process: subprocess.Popen[str], expected: str, timeout: float = 60) -> None:
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line.strip() == expected:
            return
        if not line and process.poll() is not None:
            break
    raise AssertionError(f"the app did not print {expected!r}: {process.stderr.read() if process.stderr else ''}")


def test_after_a_rotation_old_connections_live_new_ones_fail_and_a_restarted_task_recovers(
        dev: Graph, fresh_postgres: PostgresServer, redis: RedisServer, tmp_path: Path):
    container = recorded_container(dev, "-web-task")
    before = task_environment(dev, container, fresh_postgres, redis)
    assert run(MIGRATE, before).returncode == 0
    old_password = before["DATABASE_PASSWORD"]

    flag = tmp_path / "rotated"
    holder = subprocess.Popen(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", HOLD_ACROSS_ROTATION],
        cwd=APP, env={**before, "ROTATION_FLAG": str(flag)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_line(holder, "connected")
        held = fresh_postgres.connect()  # a second session of the old password, outside Django

        fresh_postgres.set_password("rotated-" + old_password[::-1])  # what the rotation does to the role
        flag.touch()
        out, err = holder.communicate(timeout=60)
    finally:
        if holder.poll() is None:
            holder.kill()
    assert "held connection works True" in out, out + err
    assert re.search(r'new connection fails: .*FATAL:  password authentication failed for user "app"', out), out + err
    with held:
        assert held.execute("SELECT 1").fetchone() == (1,)  # still logged in
    with pytest.raises(psycopg.OperationalError, match='password authentication failed for user "app"'):
        fresh_postgres.connect(password=old_password)

    # A task started before the rotation, and any process still given the old value, cannot connect anew.
    stale = run(MIGRATE, before)
    assert stale.returncode != 0 and 'password authentication failed for user "app"' in stale.stderr

    # The recovery: a new deployment starts new tasks, whose processes get the rotated secret value.
    after = task_environment(dev, container, fresh_postgres, redis)
    assert after["DATABASE_PASSWORD"] != old_password
    assert run(MIGRATE, after).returncode == 0
    with serve(container["command"], {**after, "FORWARDED_ALLOW_IPS": "192.0.2.1"}, tmp_path) as web:
        site = after["DJANGO_ALLOWED_HOSTS"].split(",")[0]
        response = http(web.url, "/visits/", host=site, headers={"X-Forwarded-Proto": "https"})
        assert response.status == 200, response.body  # the session is stored in the database too (cached_db)

"""The test servers refuse what RDS (rds.force_ssl=1) and ElastiCache (TLS + AUTH) refuse, and nothing else."""

from __future__ import annotations

import psycopg
import pytest
import redis as redis_py

from tests.contract.servers import PostgresServer, RedisServer


def test_postgres_accepts_tls_with_the_password(postgres: PostgresServer):
    with postgres.connect() as conn:
        (ssl_in_use, superuser) = conn.execute(
            "SELECT ssl, rolsuper FROM pg_stat_ssl JOIN pg_roles ON rolname = current_user "
            "WHERE pid = pg_backend_pid()").fetchone()
    assert ssl_in_use is True and superuser is False  # like RDS's master user, not a superuser


def test_postgres_refuses_a_plain_connection_as_rds_force_ssl_does(postgres: PostgresServer):
    with pytest.raises(psycopg.OperationalError, match=r'no pg_hba.conf entry for host "127.0.0.1".*no encryption'):
        postgres.connect(sslmode="disable")


def test_postgres_refuses_a_wrong_password(postgres: PostgresServer):
    with pytest.raises(psycopg.OperationalError, match=f'password authentication failed for user "{postgres.user}"'):
        postgres.connect(password="not-the-password")


def test_redis_accepts_tls_with_the_auth_token(redis: RedisServer):
    with redis.client() as client:
        assert client.ping() is True
        assert client.info("server")["redis_version"].startswith("7.")


def test_redis_refuses_a_wrong_token_and_no_token(redis: RedisServer):
    for password, error in (("not-the-token", "invalid username-password pair"), (None, "authenticated")):
        with redis.client(password=password) as client, pytest.raises(redis_py.AuthenticationError, match=error):
            client.ping()


def test_redis_refuses_plain_tcp(redis: RedisServer):
    with redis.client(ssl=False) as client, pytest.raises(redis_py.ConnectionError):
        client.ping()

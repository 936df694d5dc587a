"""Throwaway PostgreSQL (TLS only) and Redis 7 (TLS + AUTH) servers on loopback ports, as real processes.

They stand in for RDS with `rds.force_ssl=1` and an ElastiCache replication group with in-transit
encryption and an AUTH token, and refuse what those refuse:
- PostgreSQL: pg_hba.conf holds `hostssl` lines only, so a connection without TLS gets
  `no pg_hba.conf entry for host ..., no encryption`, as RDS answers when rds.force_ssl is on
  (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/PostgreSQL.Concepts.General.SSL.Requiring.html);
  passwords are scram-sha-256, so a wrong one gets `password authentication failed for user`.
- Redis: TLS port only (`--port 0`), `--requirepass`: a plain-TCP client is disconnected during its first
  command, a wrong password gets WRONGPASS, no password NOAUTH
  (https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/in-transit-encryption.html, .../auth.html).

Each server is started by its own process id and stopped by it; data lives in a temporary directory that
is removed afterwards. When a binary is missing, `ServerMissing` says what to install (tests fail, never skip).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

INSTALL_HINT = ("PostgreSQL server binaries (initdb, postgres) and redis-server 7 built with TLS are needed: "
                "on Debian/Ubuntu `sudo apt-get install -y postgresql redis-server` (make test does it as root "
                "or with sudo: tools/install_test_servers.sh); on macOS `brew install postgresql@16 redis`; "
                "elsewhere put initdb, postgres and redis-server on PATH")


class ServerMissing(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(check: Any, process: subprocess.Popen[bytes], log: Path, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            check()
            return
        except Exception as error:  # not up yet: any connection error means "try again"
            last = error
            time.sleep(0.2)
    raise RuntimeError(f"{what} did not come up in {timeout} s ({last}):\n{log.read_text()[-3000:]}")


def _stop(process: subprocess.Popen[bytes], sig: int) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass(frozen=True)
class TlsFiles:
    """A CA and a server certificate it signed for localhost and 127.0.0.1."""

    ca: Path
    cert: Path
    key: Path


def make_tls_files(directory: Path) -> TlsFiles:
    openssl = shutil.which("openssl")
    if openssl is None:
        raise ServerMissing("openssl is needed to make the test servers' certificates")
    ca_key, ca, key, csr, cert = (directory / n for n in ("ca.key", "ca.pem", "server.key", "server.csr",
                                                           "server.pem"))
    ext = directory / "server.ext"
    ext.write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
                   "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n")

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], check=True, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key), "-out", str(ca), "-days", "2",
        "-subj", "/CN=contract-test-ca")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr), "-subj", "/CN=localhost")
    run("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial", "-out",
        str(cert), "-days", "2", "-extfile", str(ext))
    return TlsFiles(ca=ca, cert=cert, key=key)


# --- PostgreSQL ------------------------------------------------------------------------------------------


def postgres_bin() -> Path:
    """The directory with initdb and postgres: on PATH, else the newest /usr/lib/postgresql/<v>/bin."""
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                      key=lambda p: int(re.sub(r"\D", "", p.parts[-3]) or 0))
    if not versions:
        raise ServerMissing(INSTALL_HINT)
    return versions[-1].parent


def _server_user() -> dict[str, Any]:
    """PostgreSQL refuses to run as root: as root, run it as `nobody` (Popen's user/group)."""
    if os.geteuid() != 0:
        return {}
    nobody = pwd.getpwnam("nobody")
    return {"user": nobody.pw_uid, "group": nobody.pw_gid, "extra_groups": []}


@dataclass
class PostgresServer:
    """A running TLS-only cluster: database `name` owned by `user` (not a superuser, like RDS's master user)."""

    host: str
    port: int
    name: str
    user: str
    password: str
    admin_password: str
    ca: Path
    process: subprocess.Popen[bytes]
    log: Path

    def connect(self, **overrides: Any) -> Any:
        """A psycopg connection as the app user, over TLS unless `sslmode` says otherwise."""
        import psycopg

        params = {"host": self.host, "port": self.port, "dbname": self.name, "user": self.user,
                  "password": self.password, "sslmode": "require", "connect_timeout": 5, **overrides}
        return psycopg.connect(**params)

    def admin(self) -> Any:
        """An autocommit connection as the bootstrap superuser `postgres` (to change roles, as RDS would)."""
        return self.connect(user="postgres", password=self.admin_password, dbname="postgres", autocommit=True)

    def set_password(self, password: str) -> None:
        """Change the app user's password, as a Secrets Manager rotation of the RDS master secret does."""
        from psycopg import sql

        with self.admin() as conn:
            conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(self.user),
                                                                       sql.Literal(password)))
        self.password = password


@contextlib.contextmanager
def postgres_server(tls: TlsFiles, name: str = "app", user: str = "app") -> Iterator[PostgresServer]:
    bin_dir = postgres_bin()
    run_as = _server_user()
    root = Path(tempfile.mkdtemp(prefix="contract-postgres-"))
    try:
        data, sockets = root / "data", root / "sockets"
        sockets.mkdir()
        admin_password, password = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        (root / "pwfile").write_text(admin_password + "\n")
        shutil.copy(tls.cert, root / "server.pem")
        shutil.copy(tls.key, root / "server.key")
        (root / "server.key").chmod(0o600)  # postgres refuses a key others can read
        if run_as:
            for path in (root, sockets, root / "pwfile", root / "server.pem", root / "server.key"):
                os.chown(path, run_as["user"], run_as["group"])
        subprocess.run([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--pwfile", str(root / "pwfile"),
                        "--auth=scram-sha-256", "--no-locale", "-E", "UTF8", "--no-sync"],
                       check=True, capture_output=True, **run_as)
        port = free_port()
        with open(data / "postgresql.conf", "a") as conf:
            conf.write(f"\nlisten_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{sockets}'\n"
                       f"ssl = on\nssl_cert_file = '{root / 'server.pem'}'\nssl_key_file = '{root / 'server.key'}'\n"
                       "ssl_min_protocol_version = 'TLSv1.2'\nfsync = off\nsynchronous_commit = off\n")
        # TLS only: no `host` (plain) and no `local` line, as RDS with rds.force_ssl=1.
        (data / "pg_hba.conf").write_text("hostssl all all 127.0.0.1/32 scram-sha-256\n")
        log = root / "postgres.log"
        with open(log, "wb") as out:
            process = subprocess.Popen([str(bin_dir / "postgres"), "-D", str(data)], stdout=out,
                                       stderr=subprocess.STDOUT, **run_as)
        server = PostgresServer("127.0.0.1", port, name, user, password, admin_password, tls.ca, process, log)
        try:
            _wait_for(lambda: server.admin().close(), process, log, "postgres")
            from psycopg import sql

            with server.admin() as conn:
                conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(user),
                                                                                sql.Literal(password)))
                conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(name),
                                                                          sql.Identifier(user)))
            yield server
        finally:
            _stop(process, signal.SIGINT)  # SIGINT: fast shutdown (SIGTERM waits for clients to leave)
    finally:
        shutil.rmtree(root, ignore_errors=True)


# --- Redis -----------------------------------------------------------------------------------------------


@dataclass
class RedisServer:
    host: str
    port: int
    password: str
    ca: Path
    process: subprocess.Popen[bytes]
    log: Path

    def client(self, **overrides: Any) -> Any:
        """A redis-py client over TLS with the AUTH token (override `ssl`, `password` to see refusals).

        No retries (redis-py retries connection errors, AUTH failures included, three times with backoff).
        """
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        params = {"host": self.host, "port": self.port, "password": self.password, "ssl": True,
                  "ssl_ca_certs": str(self.ca), "socket_timeout": 5, "socket_connect_timeout": 5,
                  "retry": Retry(NoBackoff(), 0), **overrides}
        if not params["ssl"]:
            params = {k: v for k, v in params.items() if not k.startswith("ssl_")}
        return redis.Redis(**params)


def redis_binary() -> str:
    found = shutil.which("redis-server")
    if found is None:
        raise ServerMissing(INSTALL_HINT)
    return found


@contextlib.contextmanager
def redis_server(tls: TlsFiles) -> Iterator[RedisServer]:
    binary = redis_binary()
    root = Path(tempfile.mkdtemp(prefix="contract-redis-"))
    try:
        port, password = free_port(), secrets.token_urlsafe(24)
        log = root / "redis.log"
        with open(log, "wb") as out:
            process = subprocess.Popen(
                [binary, "--port", "0", "--bind", "127.0.0.1", "--tls-port", str(port),
                 "--tls-cert-file", str(tls.cert), "--tls-key-file", str(tls.key), "--tls-ca-cert-file", str(tls.ca),
                 "--tls-auth-clients", "no", "--requirepass", password, "--save", "", "--appendonly", "no",
                 "--dir", str(root), "--daemonize", "no"],
                stdout=out, stderr=subprocess.STDOUT)
        server = RedisServer("127.0.0.1", port, password, tls.ca, process, log)
        try:
            def ping() -> None:
                with server.client() as client:
                    client.ping()

            _wait_for(ping, process, log, "redis-server")
            yield server
        finally:
            _stop(process, signal.SIGTERM)
    finally:
        shutil.rmtree(root, ignore_errors=True)


"""Run the reference app (examples/django-app) as the platform does, with a recorded task definition's variables.

- `recorded_container(graph, family_suffix)`: a container definition as the program registered it
  (`-web-task` for the web service, `-job-<name>-task` for a job).
- `migrate_command(graph)`: the command the pipeline's migrate step overrides the web container with.
- `task_environment(graph, container, postgres, redis)`: the container's `environment` as recorded, plus
  its `secrets` resolved the way ECS would resolve them, except that the data tier's endpoints and
  credentials are the test servers' (SSM parameters keep their recorded values: DATABASE_ENGINE,
  DATABASE_NAME, DATABASE_TLS, REDIS_TLS). A secret it cannot resolve fails the test, so a variable added to
  the contract must be given a test value here (or through `extra`).
- `compile_requirements()`: byte-compile the app's requirements where they are installed, as in the image.
- `run(command, env)`: a task's command (`python manage.py ...`) in the app directory.
- `serve(command, env)`: the web command (gunicorn) on a loopback port, one worker; yields the base URL.
- `http(url, path, host=..., headers=...)`: one request with exactly the Host header given (None: no Host).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.metadata
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from http import client as http_client
from pathlib import Path
from typing import Any

from pulumi.runtime.rpc import unwrap_rpc_secret

from tests.contract.image import image_requirements
from tests.contract.servers import PostgresServer, RedisServer, free_port
from tools.mock_runtime import Graph

APP = Path(__file__).resolve().parents[2] / "examples" / "django-app"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
BIN = Path(sys.executable).parent


def recorded_container(graph: Graph, family_suffix: str) -> dict[str, Any]:
    (task,) = [t for t in graph.of_type(TASK_DEFINITION) if t.inputs["family"].endswith(family_suffix)]
    definitions = task.inputs["containerDefinitions"]
    (container,) = json.loads(definitions) if isinstance(definitions, str) else definitions
    return container


def migrate_command(graph: Graph) -> list[str]:
    (project,) = [p for p in graph.of_type("aws:codebuild/project:Project") if p.inputs["name"].endswith("-migrate-cb")]
    variables = {v["name"]: v["value"] for v in project.inputs["environment"]["environmentVariables"]}
    return json.loads(variables["MIGRATE_COMMAND"])


def _parameter_values(graph: Graph) -> dict[str, str]:
    """SSM parameter ARN -> recorded value (pulumi-aws marks every parameter value secret)."""
    return {p.outputs["arn"]: str(unwrap_rpc_secret(p.inputs["value"]))
            for p in graph.of_type("aws:ssm/parameter:Parameter") if "value" in p.inputs}


def task_environment(graph: Graph, container: Mapping[str, Any], postgres: PostgresServer, redis: RedisServer,
                     extra: Mapping[str, str] | None = None) -> dict[str, str]:
    servers = {
        "DATABASE_HOST": postgres.host, "DATABASE_PORT": str(postgres.port),
        "DATABASE_USER": postgres.user, "DATABASE_PASSWORD": postgres.password,
        "REDIS_HOST": redis.host, "REDIS_PORT": str(redis.port), "REDIS_AUTH_TOKEN": redis.password,
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50), **(extra or {}),
    }
    parameters = _parameter_values(graph)
    env = {e["name"]: e["value"] for e in container["environment"]}
    for secret in container["secrets"]:
        name, value_from = secret["name"], secret["valueFrom"]
        if name in servers:
            env[name] = servers[name]
        elif value_from in parameters:
            env[name] = parameters[value_from]
        else:
            raise AssertionError(f"no test value for the container secret {name} ({value_from})")
    return {
        # What a container has besides the task definition's variables: the Dockerfile's ENV
        # (PYTHONDONTWRITEBYTECODE), and a CA bundle: SSL_CERT_FILE makes the test CA the one OpenSSL trusts by
        # default, as the image's CA bundle trusts the CAs of AWS's endpoints.
        "PATH": f"{BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}", "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1", "SSL_CERT_FILE": str(redis.ca), **env,
    }


def compile_requirements() -> None:
    """Byte-compile the app's requirements where they are installed, as they are in the image.

    pip compiles every module it installs (`pip install --compile` is its default; `--no-compile` turns it
    off), so a task loads Django and the rest from .pyc even though PYTHONDONTWRITEBYTECODE keeps it from
    writing any. uv installs without compiling: without this every `manage.py` started here would compile
    Django again (1.6 CPU s each instead of 0.5, over half a minute across the contract tests). The app's own
    modules are still compiled at each start, as in the task. Once per virtualenv: a lock keeps parallel test
    workers from doing it twice, and compileall skips what is current.
    """
    sources = []
    for name, (_, applies) in image_requirements().items():
        if applies:
            distribution = importlib.metadata.distribution(name)
            sources += [str(distribution.locate_file(f)) for f in distribution.files or [] if f.suffix == ".py"]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPYCACHEPREFIX"}  # next to the sources, as pip does
    venv = hashlib.sha256(sys.prefix.encode()).hexdigest()[:12]
    with open(Path(tempfile.gettempdir()) / f"django-app-bytecode-{venv}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = subprocess.run([sys.executable, "-m", "compileall", "-q", "-i", "-"], input="\n".join(sources),
                              env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def _local(command: list[str]) -> list[str]:
    """The container's executables from this test's Python environment."""
    head, *rest = command
    if head in ("python", "python3"):
        return [sys.executable, *rest]
    return [str(BIN / head) if (BIN / head).exists() else head, *rest]


def run(command: list[str], env: Mapping[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(_local(command), cwd=APP, env=dict(env), capture_output=True, text=True, timeout=timeout,
                          check=False)


@dataclass
class Served:
    url: str  # http://127.0.0.1:<port>
    process: subprocess.Popen[bytes]
    log: Path


@contextlib.contextmanager
def serve(command: list[str], env: Mapping[str, str], log_dir: Path) -> Iterator[Served]:
    """Run the task's web command with its `--bind 0.0.0.0:<port>` moved to a free loopback port, and one
    worker process: each worker loads the app on its own (no --preload), so N workers cost N app starts and
    serve the same responses."""
    command = list(command)
    bind = command.index("--bind") + 1
    port = free_port()
    command[bind] = f"127.0.0.1:{port}"
    if "--workers" in command:
        command[command.index("--workers") + 1] = "1"
    log = log_dir / f"gunicorn-{port}.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(_local(command), cwd=APP, env=dict(env), stdout=out, stderr=subprocess.STDOUT)
    served = Served(f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {process.returncode}:\n{log.read_text()[-3000:]}")
            try:
                http(served.url, "/", host=None)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn did not listen in 30 s:\n{log.read_text()[-3000:]}") from None
                time.sleep(0.2)
        yield served
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)  # gunicorn: quick shutdown
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def http(url: str, path: str, host: str | None, headers: Mapping[str, str] | None = None, method: str = "GET",
         http10: bool = False) -> Response:
    """One request with exactly this Host header (None sends none), as a load balancer node would send it."""
    address = url.removeprefix("http://")
    connection = http_client.HTTPConnection(address, timeout=30)
    if http10:
        connection._http_vsn, connection._http_vsn_str = 10, "HTTP/1.0"  # type: ignore[attr-defined]
    try:
        connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        if host is not None:
            connection.putheader("Host", host)
        for name, value in (headers or {}).items():
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        headers: dict[str, str] = {}
        for name, value in response.getheaders():  # repeated headers (Set-Cookie) joined, as http.client does
            headers[name.lower()] = f"{headers[name.lower()]}, {value}" if name.lower() in headers else value
        return Response(response.status, headers, response.read())
    finally:
        connection.close()

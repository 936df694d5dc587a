"""Uploads and background tasks through the reference app, with the dev and prod task definitions' variables.

- Media: django-storages' S3Storage with the recorded MEDIA_* variables against moto's S3 server on loopback
  (the stand-in for the media bucket: botocore reads its endpoint from AWS_ENDPOINT_URL_S3); a stored upload
  lands under media/ and is served by a presigned URL that expires after MEDIA_URL_EXPIRY seconds.
- Worker: the recorded worker command (`celery --app config worker ...`) with the worker container's
  variables, and one real task sent from the web container's variables through a real broker. The platform's
  broker is SQS (CELERY_BROKER_URL sqs://); offline the broker is the test Redis (TLS + AUTH) instead: the only
  variable replaced. The task writes its result to the media bucket; SIGTERM (what ECS sends first) stops the
  worker cleanly well within the recorded stopTimeout.
- Static: the reference app's collectstatic output has the names the pipeline caches for a year.
"""

from __future__ import annotations

import fnmatch
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import boto3
import pytest

from components import static_site
from tests.contract.app import APP, _local, recorded_container, run, task_environment
from tests.contract.servers import PostgresServer, RedisServer, free_port
from tools.mock_runtime import Graph

FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}  # moto accepts any


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture(scope="module", params=["dev", "prod"])
def stack(request: pytest.FixtureRequest) -> tuple[str, Graph]:
    return request.param, request.getfixturevalue(request.param)


def _s3(endpoint: str, region: str) -> object:
    return boto3.client("s3", endpoint_url=endpoint, region_name=region, **{
        "aws_access_key_id": "testing", "aws_secret_access_key": "testing"})


def container_env(graph: Graph, family_suffix: str, postgres: PostgresServer, redis: RedisServer,
                  s3_endpoint: str) -> dict[str, str]:
    env = task_environment(graph, recorded_container(graph, family_suffix), postgres, redis)
    return {**env, **FAKE_CREDENTIALS, "AWS_ENDPOINT_URL_S3": s3_endpoint}


@pytest.fixture(scope="module")
def bucket(stack: tuple[str, Graph], postgres: PostgresServer, redis: RedisServer, s3_endpoint: str) -> str:
    env = container_env(stack[1], "-web-task", postgres, redis, s3_endpoint)
    client = _s3(s3_endpoint, env["MEDIA_REGION"])
    client.create_bucket(Bucket=env["MEDIA_BUCKET"])  # type: ignore[attr-defined]
    return env["MEDIA_BUCKET"]


STORE = """
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
name = default_storage.save("avatars/me.txt", ContentFile(b"an upload"))
print(name)
print(default_storage.url(name))
"""


def test_uploads_land_under_the_media_prefix_and_are_served_by_presigned_urls(
        stack: tuple[str, Graph], bucket: str, postgres: PostgresServer, redis: RedisServer, s3_endpoint: str):
    env = container_env(stack[1], "-web-task", postgres, redis, s3_endpoint)
    result = run(["python", "manage.py", "shell", "-c", STORE], env)
    assert result.returncode == 0, result.stdout + result.stderr
    name, url = result.stdout.split()[-2:]
    client = _s3(s3_endpoint, env["MEDIA_REGION"])
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"]]  # type: ignore[attr-defined]
    assert f"media/{name}" in keys  # the task roles may write nowhere else
    query = parse_qs(urlparse(url).query)
    assert query["X-Amz-Expires"] == [env["MEDIA_URL_EXPIRY"]] and "X-Amz-Signature" in query
    assert urlparse(url).path == f"/{bucket}/media/{name}"
    with urllib.request.urlopen(url, timeout=10) as response:  # a loopback http URL
        assert response.read() == b"an upload"
    unsigned = url.split("?")[0]
    with pytest.raises(urllib.error.HTTPError):  # the bucket is private: no signature, no object
        urllib.request.urlopen(unsigned, timeout=10)


def test_a_worker_runs_a_task_sent_by_the_web_tasks_and_stops_cleanly_on_sigterm(
        stack: tuple[str, Graph], bucket: str, postgres: PostgresServer, redis: RedisServer, s3_endpoint: str,
        tmp_path: Path):
    graph = stack[1]
    worker = recorded_container(graph, "-worker-default-task")
    broker = f"rediss://:{redis.password}@{redis.host}:{redis.port}/1?ssl_cert_reqs=required"
    worker_env = {**container_env(graph, "-worker-default-task", postgres, redis, s3_endpoint),
                  "CELERY_BROKER_URL": broker}
    web_env = {**container_env(graph, "-web-task", postgres, redis, s3_endpoint), "CELERY_BROKER_URL": broker}
    recorded = {e["name"]: e["value"] for e in worker["environment"]}
    assert recorded["CELERY_BROKER_URL"] == "sqs://"  # the one variable the test replaces
    assert recorded["CELERY_WORKER_QUEUE"] == "default" and "CELERY_QUEUES" in web_env
    log = tmp_path / "worker.log"
    with log.open("w") as out:
        process = subprocess.Popen(_local(worker["command"]), cwd=APP, env=worker_env, stdout=out,
                                   stderr=subprocess.STDOUT)
    try:
        sent = run(["python", "manage.py", "shell", "-c",
                    "from config.tasks import write_report; print(write_report.delay('nightly.txt', 'done').id)"],
                   web_env)
        assert sent.returncode == 0, sent.stdout + sent.stderr
        client = _s3(s3_endpoint, web_env["MEDIA_REGION"])
        deadline = time.monotonic() + 60
        found: list[str] = []
        while time.monotonic() < deadline and not found:
            listed = client.list_objects_v2(Bucket=bucket, Prefix="media/reports/")  # type: ignore[attr-defined]
            found = [o["Key"] for o in listed.get("Contents", [])]
            time.sleep(0.5)
        assert found, log.read_text()
        body = client.get_object(Bucket=bucket, Key=found[0])["Body"].read()  # type: ignore[attr-defined]
        assert body == b"done"
        assert f"Task config.tasks.write_report[{sent.stdout.split()[-1]}] succeeded" in log.read_text()
    finally:
        process.send_signal(signal.SIGTERM)  # what ECS sends first; SIGKILL follows after stopTimeout
        try:
            code = process.wait(timeout=worker["stopTimeout"])
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    assert code == 0, log.read_text()


def test_collectstatic_output_has_the_names_the_pipeline_caches_for_a_year(tmp_path: Path):
    result = subprocess.run([*_local(["python"]), "-c", (
        "import django; from django.conf import settings; django.setup(); "
        f"settings.STATIC_ROOT = {str(tmp_path)!r}; "
        "from django.core.management import call_command; call_command('collectstatic', '--noinput', verbosity=0)")],
        cwd=APP, env={"DJANGO_SETTINGS_MODULE": "config.build_settings", "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    files = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    hashed = {f for f in files if fnmatch.fnmatchcase(f, static_site.HASHED_STATIC_FILE)}
    site = [f for f in files if f.startswith("css/site.") and f.endswith(".css")]
    assert len(site) == 2 and "css/site.css" in site  # the original and its content-hashed copy
    assert hashed >= set(site) - {"css/site.css"} and hashed  # the copy (and its .gz) are immutable ...
    assert not hashed & {"css/site.css", "css/site.css.gz", "staticfiles.json"}  # ... the rest short-lived

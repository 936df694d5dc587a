"""The reference app's Dockerfile fits the task definition and passes hadolint (the image is not built here:
these machines have no Docker daemon)."""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path

from tests.contract.image import APP, dockerfile_problems, hadolint, image_requirements

BAD = """FROM python
RUN pip install django
EXPOSE 80
CMD gunicorn config.wsgi
"""


def test_the_dockerfile_fits_the_task_definition():
    assert dockerfile_problems(APP / "Dockerfile") == []


def test_a_dockerfile_that_does_not_fit_is_reported(tmp_path: Path):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(BAD)
    problems = "\n".join(dockerfile_problems(dockerfile))
    assert "FROM python: pin a tag" in problems
    assert "USER (none): a numeric non-root uid" in problems
    assert "EXPOSE 80: the container port is 8000" in problems
    assert "VOLUME /tmp missing" in problems
    assert "CMD gunicorn config.wsgi: the task definition runs" in problems
    dockerfile.write_text(BAD.replace("EXPOSE 80", "USER root\nEXPOSE 8000"))
    assert "USER root: a numeric non-root uid" in "\n".join(dockerfile_problems(dockerfile))


def test_hadolint_finds_nothing_in_the_dockerfile_and_flags_a_bad_one(tmp_path: Path):
    result = hadolint(APP / "Dockerfile")
    assert result.returncode == 0, result.stdout + result.stderr
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(BAD.replace("EXPOSE 80", "USER root\nEXPOSE 80"))
    bad = hadolint(dockerfile)
    assert bad.returncode != 0
    assert {"DL3006", "DL3002", "DL3013"} <= set(re.findall(r"DL\d{4}", bad.stdout))  # untagged, root, unpinned


def test_the_image_installs_exactly_the_versions_the_tests_run():
    """requirements.txt is exported from uv.lock (tests/test_lock.py keeps it fresh) and hash-checked by pip."""
    text = (APP / "requirements.txt").read_text()
    pinned = image_requirements()
    assert {"django", "psycopg", "psycopg-binary", "redis", "gunicorn"} <= set(pinned)
    here = {name: v for name, (v, applies) in pinned.items() if applies}  # e.g. not win32-only
    assert {name: version(name) for name in here} == here
    assert text.count("--hash=sha256:") >= len(pinned)
    assert "--require-hashes -r requirements.txt" in (APP / "Dockerfile").read_text()

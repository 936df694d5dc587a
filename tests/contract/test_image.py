"""The reference app's Dockerfile fits the task definition and passes hadolint (the image is not built here:
these machines have no Docker daemon)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from tests.contract.image import APP, dockerfile_problems, hadolint

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


def test_the_image_installs_exactly_the_pins_the_tests_run():
    pins = [line.split("#")[0].strip() for line in (APP / "requirements.txt").read_text().splitlines()]
    pins = [p for p in pins if p]
    assert pins and all(re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[\w.]+", p) for p in pins), pins
    # What the tests run: every package version uv.lock pins (the image's psycopg[binary] is psycopg itself).
    lock = tomllib.loads((Path(__file__).resolve().parents[2] / "uv.lock").read_text())
    def normal(pin: str) -> str:  # PEP 503 names: case, "-", "_" and "." do not matter; extras dropped
        name, _, version = re.sub(r"\[.*\]", "", pin).partition("==")
        return f"{re.sub(r'[-_.]+', '-', name).lower()}=={version}"

    tested = {normal(f"{package['name']}=={package['version']}") for package in lock["package"]}
    assert [p for p in pins if normal(p) not in tested] == []

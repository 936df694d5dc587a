"""uv.lock is the one lock: it matches pyproject.toml, every file exported from it is fresh, and the uv
that make installs, the uv pyproject.toml requires and the uv in the lock are one release."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

import pytest

from tools import requirements

ROOT = Path(__file__).resolve().parent.parent


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def locked_version(name: str) -> str:
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    versions = [p["version"] for p in lock["package"] if p["name"] == name]
    assert len(versions) == 1, f"{name} is locked {len(versions)} times"
    return versions[0]


def makefile_uv_version() -> str:
    found = re.search(r"^UV_VERSION := (\S+)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert found, "the Makefile pins no UV_VERSION"
    return found.group(1)


def test_the_lock_matches_pyproject() -> None:
    """`uv lock --check` fails when pyproject.toml changed without `make lock` (offline: from the lock alone)."""
    checked = subprocess.run([requirements.uv(), "lock", "--check", "--offline", "--quiet"],
                             cwd=ROOT, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr


@pytest.mark.parametrize("name", sorted(requirements.EXPORTS))
def test_exported_requirements_are_fresh(name: str) -> None:
    exported = requirements.render(requirements.EXPORTS[name])
    assert (ROOT / name).read_text() == exported, f"{name} is stale: make lock"


def test_the_policy_export_holds_the_pack_and_its_dependencies_only() -> None:
    text = (ROOT / "policies" / "requirements.txt").read_text()
    pinned = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", text, re.MULTILINE))
    assert pinned["pulumi-policy"] == locked_version("pulumi-policy")
    assert pinned["pulumi"] == locked_version("pulumi")  # the program and the pack share one SDK
    assert not {"pulumi-aws", "pytest", "mypy", "uv"} & set(pinned)
    assert text.count("--hash=sha256:") >= len(pinned)  # pip installs it in hash-checking mode


def test_one_uv_release_everywhere() -> None:
    version = makefile_uv_version()
    assert pyproject()["tool"]["uv"]["required-version"] == f"=={version}"
    assert locked_version("uv") == version


def test_direct_dependencies_are_pinned_exactly() -> None:
    project = pyproject()
    declared = list(project["project"]["dependencies"])
    for group in project["dependency-groups"].values():
        declared += [item for item in group if isinstance(item, str)]
    loose = [spec for spec in declared if not re.fullmatch(r"[A-Za-z0-9_.-]+(\[[a-z0-9,-]+\])?==[\w.]+", spec)]
    assert not loose, f"pin with ==: {loose}"

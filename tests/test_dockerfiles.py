"""Every Dockerfile in the repository pulls its base images through the build's pull through cache.

CodeBuild passes BASE_REGISTRY (the ECR Public cache, `<registry>/<system>-<env>-ecr-public`) and
DOCKER_HUB_REGISTRY (the Docker Hub cache, or docker.io without a credential) as build arguments
(components/buildspecs.py); a `FROM python:3.12-slim` would pull anonymously from Docker Hub, whose pull
rate limit shared build hosts hit (docs/delivery.md, "Base images without Docker Hub's rate limit").
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CACHED = ("${BASE_REGISTRY}/", "${DOCKER_HUB_REGISTRY}/")
DEFAULTS = {"BASE_REGISTRY": "public.ecr.aws", "DOCKER_HUB_REGISTRY": "docker.io"}
FROM = re.compile(r"^\s*FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?\s*$", re.IGNORECASE | re.MULTILINE)
ARG = re.compile(r"^\s*ARG\s+(\w+)(?:=(\S*))?\s*$", re.MULTILINE)


def dockerfiles() -> list[Path]:
    skip = {".venv", "node_modules", ".git", ".tools"}
    return sorted(p for p in ROOT.rglob("Dockerfile*") if not skip & set(p.relative_to(ROOT).parts))


def base_image_problems(text: str) -> list[str]:
    """None when every FROM names an earlier stage, scratch, or an image behind one of the cache arguments,
    each declared before the first FROM with the default a laptop build uses."""
    problems, stages = [], set()
    first_from = FROM.search(text)
    declared = {m.group(1): m.group(2) for m in ARG.finditer(text[:first_from.start()] if first_from else text)}
    for match in FROM.finditer(text):
        image, stage = match.group(1), match.group(2)
        if image.lower() == "scratch" or image in stages:
            pass
        elif not image.startswith(CACHED):
            problems.append(f"FROM {image}: pull it as ${{BASE_REGISTRY}}/docker/library/... (ECR Public) or "
                            f"${{DOCKER_HUB_REGISTRY}}/..., not from Docker Hub directly")
        else:
            argument = image[2:image.index("}")]
            if declared.get(argument) != DEFAULTS[argument]:
                problems.append(f"declare `ARG {argument}={DEFAULTS[argument]}` before the first FROM")
        if stage:
            stages.add(stage)
    return problems


def test_every_dockerfile_pulls_base_images_through_the_cache():
    found = {str(path.relative_to(ROOT)): base_image_problems(path.read_text()) for path in dockerfiles()}
    assert {name: problems for name, problems in found.items() if problems} == {}


@pytest.mark.parametrize(("text", "problem"), [
    ("FROM python:3.12-slim\n", "FROM python:3.12-slim: pull it as"),
    ("FROM docker.io/library/python:3.12\n", "not from Docker Hub directly"),
    ("FROM ${BASE_REGISTRY}/docker/library/python:3.12-slim\n", "declare `ARG BASE_REGISTRY=public.ecr.aws`"),
    ("ARG BASE_REGISTRY=public.ecr.aws\nFROM ${BASE_REGISTRY}/docker/library/python:3.12 AS build\n"
     "FROM node:22\n", "FROM node:22"),
])
def test_the_check_refuses_direct_docker_hub_pulls(text: str, problem: str):
    assert any(problem in found for found in base_image_problems(text))


def test_the_check_accepts_the_documented_form():
    text = ("ARG BASE_REGISTRY=public.ecr.aws\n"
            "FROM ${BASE_REGISTRY}/docker/library/python:3.12-slim AS build\n"
            "RUN pip wheel .\n"
            "FROM build AS test\n"
            "FROM ${BASE_REGISTRY}/docker/library/python:3.12-slim\n")
    assert base_image_problems(text) == []

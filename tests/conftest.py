"""Shared fixtures: the dev and prod stacks, each run once per test session under the mocks."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.harness import Graph, run_stack


@pytest.fixture(scope="session")
def dev() -> Graph:
    return run_stack("dev")


@pytest.fixture(scope="session")
def prod() -> Graph:
    return run_stack("prod")


@pytest.fixture(params=["dev", "prod"])
def stack_graph(request, dev: Graph, prod: Graph) -> Graph:
    """Parametrizes a test over both stacks."""
    return {"dev": dev, "prod": prod}[request.param]

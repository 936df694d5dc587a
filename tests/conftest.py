"""Shared fixtures: the dev and prod stacks, each run once per test session under the mocks."""

from __future__ import annotations

import gc
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.harness import Graph, run_stack

# A test process keeps pulumi_aws's modules and many recorded graphs alive, and with CPython's default
# thresholds every full collection walks all of them: over a third of a stack run went to the garbage
# collector. Collecting less often, as mypy does for the same reason (mypy/build.py), keeps memory well within
# reach and the suite's CPU time down.
gc.set_threshold(200_000, 30, 30)


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

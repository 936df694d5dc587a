"""Run one component (not the whole program) under the same mocks and recording monitor as run_stack.

For components whose wiring in __main__.py depends on other tiers: the tests build the component with
explicit args and assert on the recorded graph exactly as they would for a stack run.
"""

from __future__ import annotations

from collections.abc import Callable

import pulumi
from pulumi.runtime import mocks, stack
from pulumi.runtime.sync_await import _sync_await

from components.context import StackContext
from components.iam import permissions_boundary_arn
from components.naming import Namer
from tools.mock_runtime import ACCOUNT_ID, PROJECT, Graph, PlaceholderMocks, RecordingMonitor, _reset_runtime

REGION = "us-east-1"


def context(env: str = "dev") -> StackContext:
    return StackContext(namer=Namer("django", env), production_like=env in ("stg", "prod"),
                        log_retention_days=30 if env == "dev" else 365, region=REGION, account_id=ACCOUNT_ID,
                        permissions_boundary=permissions_boundary_arn("", "django", ACCOUNT_ID))


def run_component(build: Callable[[], object], stack_name: str = "dev") -> Graph:
    """Call `build()` inside a mocked Pulumi program and return every resource it registered."""
    monitor = RecordingMonitor(PlaceholderMocks(REGION))
    _reset_runtime()
    mocks.set_mocks(monitor.mocks, project=PROJECT, stack=stack_name, preview=True, monitor=monitor)
    _sync_await(stack.run_pulumi_func(lambda: build() and None))
    return monitor.graph


def arn(service: str, resource: str) -> str:
    return f"arn:aws:{service}:{REGION}:{ACCOUNT_ID}:{resource}"


def output(value: str) -> pulumi.Output[str]:
    """A value that arrives as an Output, as wired component outputs do."""
    return pulumi.Output.from_input(value)

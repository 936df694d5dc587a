"""Test harness: run the real program for a stack under the mock runtime and query its graph.

Thin layer over tools.mock_runtime (shared with the offline preview) with helpers for assertions.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.settings import SettingsError
from tools.mock_runtime import ACCOUNT_ID, SECRET_PLACEHOLDER, Graph, Resource, load_stack_config, run_stack

__all__ = [
    "ACCOUNT_ID",
    "SECRET_PLACEHOLDER",
    "Graph",
    "Resource",
    "load_stack_config",
    "policy_document",
    "run_stack",
    "settings_error",
    "stack_config",
    "statements",
]


def stack_config(stack: str, overrides: dict[str, str] | None = None) -> dict[str, str]:
    """The wire-form config of Pulumi.<stack>.yaml with dotted-path overrides applied."""
    return load_stack_config(stack, overrides)[0]


def settings_error(stack: str, overrides: dict[str, str] | None = None,
                   config: dict[str, str] | None = None) -> tuple[SettingsError, Graph]:
    """Run a stack expected to fail validation; return the error and the (empty) graph."""
    with pytest.raises(SettingsError) as caught:
        run_stack(stack, overrides=overrides, config=config)
    return caught.value, caught.value.graph  # type: ignore[attr-defined]


def policy_document(resource: Resource, prop: str = "policy") -> dict[str, Any]:
    """An IAM policy document input (a JSON string on the wire) as a dict."""
    value = resource.inputs[prop]
    return json.loads(value) if isinstance(value, str) else value


def statements(resource: Resource, prop: str = "policy") -> list[dict[str, Any]]:
    document = policy_document(resource, prop)
    found = document["Statement"]
    return found if isinstance(found, list) else [found]

"""Every IAM policy document a recorded graph holds, wherever it is: trust, inline and managed policies,
key, bucket, repository, topic and queue policies, and documents nested in other properties.

Collected by shape (a JSON object or string with a `Statement`), not by resource type, so a document a
new component adds is found without touching this file. Also a small evaluator of Allow/Deny for one
request (action, resource, condition context), enough to check what a role may and may not do.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pulumi.runtime.rpc import is_rpc_secret, unwrap_rpc_secret

from tools.mock_runtime import Graph


@dataclass(frozen=True)
class Document:
    resource_type: str
    resource_name: str
    prop: str
    policy: dict[str, Any]

    @property
    def where(self) -> str:
        return f"{self.resource_type} {self.resource_name} .{self.prop}"

    @property
    def statements(self) -> list[dict[str, Any]]:
        found = self.policy["Statement"]
        return found if isinstance(found, list) else [found]


def _as_policy(value: Any) -> dict[str, Any] | None:
    if isinstance(value, str) and value.lstrip().startswith("{"):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return None
    return value if isinstance(value, dict) and "Statement" in value else None


def _walk(value: Any, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    if is_rpc_secret(value):
        value = unwrap_rpc_secret(value)
    policy = _as_policy(value)
    if policy is not None:
        yield path, policy
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, f"{path}[{index}]")


def documents(graph: Graph) -> list[Document]:
    return [Document(r.type, r.name, path, policy)
            for r in graph.custom() for path, policy in _walk(r.inputs, "")]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def actions_of(statement: Mapping[str, Any]) -> list[str]:
    return [a for a in as_list(statement.get("Action", statement.get("NotAction", [])))]


# --- evaluation of one request against identity policies (explicit deny > allow > implicit deny) -----------


def _glob(pattern: str, value: str, *, case: bool) -> bool:
    if not case:
        pattern, value = pattern.lower(), value.lower()
    return fnmatch.fnmatchcase(value, pattern)


def _matches(statement: Mapping[str, Any], action: str, resource: str) -> bool:
    if "Action" in statement:
        action_ok = any(_glob(p, action, case=False) for p in as_list(statement["Action"]))
    else:
        action_ok = not any(_glob(p, action, case=False) for p in as_list(statement["NotAction"]))
    if "Resource" in statement:
        resource_ok = any(_glob(p, resource, case=True) for p in as_list(statement["Resource"]))
    else:
        resource_ok = not any(_glob(p, resource, case=True) for p in as_list(statement["NotResource"]))
    return action_ok and resource_ok


# Condition operators the platform's policies use (IAM User Guide, condition operators).
_OPERATORS = {
    "StringEquals": lambda want, got: got == want,
    "StringLike": lambda want, got: fnmatch.fnmatchcase(got, want),
    "ArnEquals": lambda want, got: got == want,
    "ArnLike": lambda want, got: fnmatch.fnmatchcase(got, want),
    "Bool": lambda want, got: str(got).lower() == str(want).lower(),
}


def _conditions_hold(statement: Mapping[str, Any], context: Mapping[str, str]) -> bool:
    for operator, keys in statement.get("Condition", {}).items():
        test = _OPERATORS[operator]  # an operator the evaluator does not know fails loudly
        for key, wanted in keys.items():
            got = context.get(key)
            if got is None or not any(test(w, got) for w in as_list(wanted)):
                return False
    return True


def decide(statements: Sequence[Mapping[str, Any]], action: str, resource: str = "*",
           context: Mapping[str, str] | None = None) -> str:
    """"allowed", "denied" (explicitly) or "not allowed" (implicitly) for one request."""
    context = context or {}
    applicable = [s for s in statements if _matches(s, action, resource) and _conditions_hold(s, context)]
    if any(s["Effect"] == "Deny" for s in applicable):
        return "denied"
    return "allowed" if any(s["Effect"] == "Allow" for s in applicable) else "not allowed"

"""Two hooks into pulumi-policy's analyzer server (pinned in requirements.txt), installed by the pack's __main__.py.

1. Pack-wide settings. The SDK hands each policy only its own config; the pack's rules also read the
   `pack-settings` entry (system, environment, aliases, ...). `Configure` is wrapped to keep every policy's
   config where `core.configured()` finds it.
2. Speed. For every policy of every Analyze call the server converts the request's properties again
   (`MessageToDict`, `deserialize_properties`, `unknown_checking_proxy`: policy.py, `Analyze`/`AnalyzeStack`), so
   with 35 policies one resource is converted 35 times, which cost more than all the rules together
   (benchmarks/policy_throughput.py; profile in the closing note of issue 16). Each step is memoized on the
   identity of its input: a request's message is converted once, the policies share the (read-only) result.

Without these hooks (another SDK version, or rules used directly) the rules still work: with the defaults of
`pack-settings` plus their own config, and at the SDK's own speed.
"""

from __future__ import annotations

from typing import Any

from . import core
from .core import IdentityMemo


class _JsonFormat:
    """`json_format` as policy.py uses it, with `MessageToDict` memoized."""

    def __init__(self, module: Any, size: int) -> None:
        self._module = module
        self.MessageToDict = IdentityMemo(module.MessageToDict, size)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)


# AnalyzeStack converts every resource once per stack policy: the memo holds a stack's worth of resources.
MEMO_SIZE = 50_000


def install() -> bool:
    """Install both hooks; False (and nothing changed) when the SDK does not look like the one they fit."""
    from pulumi_policy import policy

    servicer = getattr(policy, "_PolicyAnalyzerServicer", None)
    names = ("json_format", "deserialize_properties", "unknown_checking_proxy")
    if servicer is None or not all(hasattr(policy, n) for n in names) or getattr(servicer, "_hooked", False):
        return False
    configure = servicer.Configure

    def configure_and_share(self: Any, request: Any, context: Any) -> Any:
        response = configure(self, request, context)
        core.set_configured({name: policy.json_format.MessageToDict(entry.properties)
                             for name, entry in request.policyConfig.items()})
        return response

    servicer.Configure = configure_and_share
    servicer._hooked = True
    policy.json_format = _JsonFormat(policy.json_format, MEMO_SIZE)
    policy.deserialize_properties = IdentityMemo(policy.deserialize_properties, MEMO_SIZE)  # type: ignore[assignment]
    policy.unknown_checking_proxy = IdentityMemo(policy.unknown_checking_proxy, MEMO_SIZE)  # type: ignore[assignment]
    return True

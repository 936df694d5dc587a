"""Every rule of the pack, by concern, plus the advisory `exemptions-applied` report.

Importable without starting the analyzer server (the pack's __main__.py does that), so tests and the
README generator read the same definitions.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

from pulumi_policy import EnforcementLevel

from . import boundary, cdn, encryption, exposure, naming, operations, resilience
from .core import Context, Finding, Rule

PACK_NAME = "aws-platform-guardrails"

_exempted: dict[tuple[str, str], str] = {}
_lock = threading.Lock()


def record_exemption(rule: str, urn: str, reason: str) -> None:
    with _lock:
        _exempted[(rule, urn)] = reason


def _report_exemptions(ctx: Context) -> Iterator[Finding]:
    """Exempted findings recorded by the rules since the last AnalyzeStack (the CLI runs one pack process per
    preview/update and calls AnalyzeStack last, after every Analyze; this policy runs after the other stack
    policies because it is last in the pack)."""
    with _lock:
        found = sorted(_exempted.items())
        _exempted.clear()
    for (rule, urn), reason in found:
        yield Finding(f"{rule} does not apply to {urn}: exempted because {reason}.", urn)


EXEMPTIONS_RULE = Rule(
    "exemptions-applied", "exemptions", "Reports every finding that a rule's `exemptions` config waived, with the "
    "reason.", EnforcementLevel.ADVISORY, "nothing to fix: review the exemption when its reason no longer holds.",
    stack_check=_report_exemptions)

RULES: list[Rule] = [*naming.RULES, *encryption.RULES, *exposure.RULES, *resilience.RULES, *operations.RULES,
                     *boundary.RULES, *cdn.RULES, EXEMPTIONS_RULE]
CONCERNS = ["naming", "encryption", "exposure", "resilience", "logging", "supply-chain", "exemptions"]


def policies() -> list:
    return [rule.policy() for rule in RULES]


def rule(rule_id: str) -> Rule:
    return next(r for r in RULES if r.id == rule_id)

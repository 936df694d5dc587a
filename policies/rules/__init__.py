"""Every rule of the pack, by concern, plus the advisory `exemptions-applied` report.

Importable without starting the analyzer server (the pack's __main__.py does that), so tests and the
README generator read the same definitions.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

from pulumi_policy import EnforcementLevel

from . import apigateway, boundary, cdn, compute, encryption, exposure, naming, operations, resilience, settings
from .core import Context, Finding, Rule

PACK_NAME = "aws-platform-guardrails"

_exempted: dict[tuple[str, str], str] = {}
_unchecked: dict[str, dict[str, set[str]]] = {}  # urn -> rule -> properties not known at preview
_lock = threading.Lock()


def record_exemption(rule: str, urn: str, reason: str) -> None:
    with _lock:
        _exempted[(rule, urn)] = reason


def record_unchecked(rule: str, urn: str, what: str) -> None:
    with _lock:
        _unchecked.setdefault(urn, {}).setdefault(rule, set()).add(what)


def _report_unchecked(ctx: Context) -> Iterator[Finding]:
    """One advisory per resource whose secret or exposure checks met a value not known yet (recorded since the
    last AnalyzeStack, by Analyze and by the stack policies before this one)."""
    with _lock:
        found = sorted(_unchecked.items())
        _unchecked.clear()
    for urn, by_rule in found:
        parts = "; ".join(f"{rule}: {', '.join(sorted(props))}" for rule, props in sorted(by_rule.items()))
        name = urn.rsplit("::", 1)[-1]
        yield Finding(f"{name!r} could not be fully checked during preview, these values are not known yet "
                      f"({parts}); they are checked when the update runs.", urn)


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

UNCHECKED_RULE = Rule(
    "unchecked-at-preview", "preview", "Says once per resource which secret and exposure checks met a value not "
    "known during preview (off with pack-settings.uncheckedAtPreview: false).", EnforcementLevel.ADVISORY,
    "nothing to fix: the checks run with the known values during the update.", stack_check=_report_unchecked)

# One line per module of rules; new modules append here (their RULES lists keep the pack's order stable).
RULES: list[Rule] = [
    *settings.RULES,
    *naming.RULES,
    *encryption.RULES,
    *exposure.RULES,
    *resilience.RULES,
    *operations.RULES,
    *boundary.RULES,
    *compute.RULES,
    *apigateway.RULES,
    *cdn.RULES,
    # the two reports about other rules' findings stay last: they run after every other stack policy
    UNCHECKED_RULE,
    EXEMPTIONS_RULE,
]
CONCERNS = ["settings", "naming", "encryption", "exposure", "resilience", "logging", "supply-chain", "preview",
            "exemptions"]


def policies() -> list:
    return [rule.policy() for rule in RULES]


def rule(rule_id: str) -> Rule:
    return next(r for r in RULES if r.id == rule_id)

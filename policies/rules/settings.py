"""`pack-settings`: the pack-wide settings every rule reads, and the advisory that nothing is silently off.

Its config holds the settings (system, environment, environment aliases, production environments,
autonaming pattern); a rule's own config may override a shared key. As a stack policy it reports, once
per preview, when the stack's environment cannot be recognized from the stack name, or when the production
rules check nothing because the environment is not a production one.
"""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import EnforcementLevel

from . import naming, resilience
from .core import SETTINGS_SCHEMA, Context, Finding, Rule, configured, resolve_environment, stack_name


def _environment_report(ctx: Context) -> Iterator[Finding]:
    present = {r.type for r in ctx.resources}
    unrecognized: list[str] = []
    inactive: dict[str, list[str]] = {}  # environment -> production rules that are off
    production = {r.id for r in resilience.RULES}
    for rule in [*naming.RULES[:1], *resilience.RULES]:
        if not present & set(rule.types):
            continue  # nothing on this stack that the rule would check
        config = rule.context(configured(rule.id)).config
        env, recognized = resolve_environment(config)
        if not recognized and not config.get("environment"):
            unrecognized.append(rule.id)
        elif rule.id in production and env not in (config.get("productionEnvironments") or []):
            inactive.setdefault(env, []).append(rule.id)
    stack = stack_name() or "(unknown)"
    if unrecognized:
        allowed = ", ".join(ctx.config.get("environments") or [])
        yield Finding(
            f"the environment of stack {stack!r} could not be recognized: neither the name nor one of its "
            f"-/_/. tokens is one of {allowed} or an alias in environmentAliases. Affected: {', '.join(unrecognized)} "
            "(naming reports the names, production rules are off).")
    for env, ids in inactive.items():
        production_envs = ", ".join(ctx.config.get("productionEnvironments") or []) or "none"
        yield Finding(f"production rules are inactive on this stack: its environment {env!r} is not one of "
                      f"productionEnvironments ({production_envs}); off: {', '.join(ids)}.")


RULES = [
    Rule(
        id="pack-settings",
        concern="settings",
        description="Pack-wide settings for every rule; reports when the stack's environment is not recognized "
                    "or the production rules are inactive, so no rule is silently off.",
        level=EnforcementLevel.ADVISORY,
        remediation="set pack-settings.environment (or add the stack's spelling to environmentAliases), or list "
                    "the environment in productionEnvironments if it is production.",
        stack_check=_environment_report,
        config=SETTINGS_SCHEMA,
    ),
]

"""Settings of the bootstrap stack, validated up front: one error naming every bad key, before any resource.

Keys live under the `django-platform-bootstrap:` namespace of `Pulumi.<stack>.yaml`
(`pulumi config set repository my-org/django-platform`). Lists are YAML lists in the stack file
(`pulumi config set --path 'environments[0]' dev` on the command line).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

PROJECT = "django-platform-bootstrap"
# The platform's environments (components/settings.py ENVIRONMENTS): the deploy role may manage their stacks.
ENVIRONMENTS = ("dev", "stg", "prod")
GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"

_REPOSITORY = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}")
_SYSTEM = re.compile(r"[a-z][a-z0-9]{1,11}")  # the platform's own rule: names must fit AWS limits
# GitHub environment names: up to 255 characters; letters, digits, '.', '-', '_' are safe in an OIDC subject
_GITHUB_ENVIRONMENT = re.compile(r"[A-Za-z0-9._-]{1,255}")
_REGION = re.compile(r"[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d")
_OIDC_ARN = re.compile(rf"arn:aws(-[a-z]+)*:iam::\d{{12}}:oidc-provider/{re.escape(GITHUB_OIDC_HOST)}")


@dataclass(frozen=True)
class BootstrapSettings:
    repository: str
    """GitHub repository (owner/name) whose workflows may assume the roles. Required."""
    region: str
    """`aws:region`: where the state bucket and keys live. Required."""
    system: str = "django"
    """System name: first part of every name; the deploy role may manage `{system}-{env}-*` IAM roles."""
    environments: tuple[str, ...] = ("dev", "prod")
    """Platform environments: each gets a deploy role (IAM scope `{system}-{env}-*`, trusted by the GitHub
    environment of the same name) and a secrets key."""
    regions: tuple[str, ...] = ()
    """Regions the deploy role may act in; empty means the bootstrap stack's own `aws:region`."""
    preview_environment: str = "preview"
    """GitHub environment (with required reviewers) of the preview jobs: the only subject the preview role
    trusts (`repo:{repository}:environment:{name}`), so a pull request's code gets credentials only after a
    reviewer approved that run. The deploy role of each platform environment trusts the GitHub environment of
    the same name (`dev`, `prod`)."""
    oidc_provider_arn: str = ""
    """ARN of an existing GitHub OIDC provider; empty creates one (an account holds one per URL)."""
    state_noncurrent_days: int = 90
    """Days a superseded version of a state file is kept before it expires."""
    key_deletion_window_days: int = 30
    """Waiting period (7-30 days) before a scheduled deletion of the state or secrets key takes effect."""


class BootstrapSettingsError(Exception):
    """Every problem of the bootstrap stack's config, raised before any resource is created."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"the bootstrap stack has {len(problems)} invalid setting(s):\n{lines}")


Check = Callable[[Any], "str | None"]


def _text(pattern: re.Pattern[str], allowed: str) -> Check:
    def check(value: Any) -> str | None:
        return None if isinstance(value, str) and pattern.fullmatch(value) else allowed

    return check


def _integer(low: int, high: int) -> Check:
    def check(value: Any) -> str | None:
        ok = isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
        return None if ok else f"an integer from {low} to {high}"

    return check


def _strings(item: Check, allowed: str, *, non_empty: bool) -> Check:
    def check(value: Any) -> str | None:
        if not isinstance(value, list) or (non_empty and not value) or any(item(v) for v in value):
            return allowed
        return None if len(set(value)) == len(value) else allowed + " without duplicates"

    return check


def _environment(value: Any) -> str | None:
    return None if value in ENVIRONMENTS else "one of " + ", ".join(ENVIRONMENTS)


CHECKS: dict[str, Check] = {
    "repository": _text(_REPOSITORY, "a GitHub repository as owner/name, such as my-org/django-platform"),
    "system": _text(_SYSTEM, "2-12 lowercase letters and digits, starting with a letter"),
    "environments": _strings(_environment, "a non-empty list of " + ", ".join(ENVIRONMENTS), non_empty=True),
    "regions": _strings(_text(_REGION, "an AWS region"), "a list of AWS regions such as us-east-1", non_empty=False),
    "preview_environment": lambda v: "a GitHub environment other than " + ", ".join(ENVIRONMENTS) if v in ENVIRONMENTS
    else _text(_GITHUB_ENVIRONMENT, "a GitHub environment name of letters, digits, '.', '-', '_'")(v),
    "oidc_provider_arn": lambda v: None if v == "" or (isinstance(v, str) and _OIDC_ARN.fullmatch(v)) else
    f"empty (create the provider) or arn:aws:iam::<account>:oidc-provider/{GITHUB_OIDC_HOST}",
    "state_noncurrent_days": _integer(1, 3650),
    "key_deletion_window_days": _integer(7, 30),  # KMS ScheduleKeyDeletion PendingWindowInDays
}


def load(raw: Mapping[str, Any], region: str | None) -> BootstrapSettings:
    """Build the settings from config values (keys without the namespace) and `aws:region`, or raise
    with every problem."""
    problems = [f"{PROJECT}:{key}: no such key; known keys: {', '.join(CHECKS)}" for key in sorted(raw)
                if key not in CHECKS]
    if not (region and _REGION.fullmatch(region)):
        problems.append(f"aws:region: got {json.dumps(region)}; expected an AWS region such as us-east-1")
    values: dict[str, Any] = {"region": region}
    defaults = BootstrapSettings(repository="", region="")
    for key, check in CHECKS.items():
        if key not in raw:
            if key == "repository":
                problems.append(f"{PROJECT}:repository: missing; expected a GitHub repository as owner/name")
            continue
        value = _parse(raw[key], type(getattr(defaults, key)))
        problem = check(value)
        if problem:
            problems.append(f"{PROJECT}:{key}: got {json.dumps(value)}; expected {problem}")
        else:
            values[key] = tuple(value) if isinstance(value, list) else value
    if problems:
        raise BootstrapSettingsError(problems)
    return BootstrapSettings(**values)


def _parse(value: Any, kind: type) -> Any:
    """The CLI hands every value over as a string; lists arrive as JSON, numbers as digits."""
    if not isinstance(value, str) or kind is str:
        return value
    if kind is tuple:
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    if kind is int and re.fullmatch(r"-?\d+", value):
        return int(value)
    return value

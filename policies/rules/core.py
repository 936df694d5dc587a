"""The rule model shared by every module: one `Rule` per policy, turned into a pulumi_policy policy.

Why not plain ResourceValidationPolicy callbacks: every rule needs the same robustness and features,
so they live here once:
- Preview safety. Props arrive wrapped in the SDK's unknown-checking proxy, which raises on an unknown
  value (the SDK then reports "can't run policy" for the whole policy). Rules read an unwrapped copy
  instead; `is_unknown()` tells them a value is not known yet, and a check that cannot decide stays
  silent for that property. Accessors never raise on missing, null or wrongly typed values.
- Exemptions: every rule's config takes `exemptions: [{urn|name: glob, reason}]`. An exempted finding
  is not reported by the rule; the advisory `exemptions-applied` policy reports it with its reason.
- Config defaults are applied here too (the CLI applies the schema defaults; direct callers may not).
- The environment comes from the stack (`PULUMI_STACK`, last path segment, or a hyphen/underscore token of
  it that is an allowed environment), unless the rule's config sets `environment`.
"""

from __future__ import annotations

import fnmatch
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

UNKNOWNS = frozenset({
    "04da6b54-80e4-46f7-96ec-b56ff0331ba9",  # string (and the engine's generic unknown)
    "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",  # boolean
    "3eeb2bf0-c639-47a8-9e75-3b44932eb421",  # number
    "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",  # array
    "030794c1-ac77-496b-92df-f27374a8bd58",  # asset
    "e48ece36-62e2-4504-bad9-02848725956a",  # archive
    "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",  # object
})
MISSING = object()

DEFAULT_ENVIRONMENTS = ["dev", "stg", "prod"]
DEFAULT_PRODUCTION = ["prod"]


def is_unknown(value: Any) -> bool:
    return isinstance(value, str) and value in UNKNOWNS


def plain(value: Any) -> Any:
    """A plain copy of SDK props: proxies unwrapped, unknown sentinels kept as they are."""
    target = value["__target"] if _is_proxy(value) else value
    if isinstance(target, Mapping):
        return {str(k): plain(target[k] if not _is_proxy(target) else target["__target"][k]) for k in target}
    if isinstance(target, list | tuple):
        return [plain(v) for v in target]
    return target


def _is_proxy(value: Any) -> bool:
    return type(value).__name__ in ("_DictProxy", "_ListProxy", "_DictSecretsProxy", "_ListSecretsProxy")


def get(props: Any, path: str, default: Any = MISSING) -> Any:
    """`get(props, "networkConfiguration.assignPublicIp")`, list indexes as numbers; MISSING when absent.

    Stops (returning the unknown) at an unknown container, so callers see that the value is undecidable.
    """
    current = props
    for part in path.split("."):
        if is_unknown(current):
            return current
        if isinstance(current, Mapping):
            current = current.get(part, MISSING)
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return default
        if current is MISSING or current is None:
            return default
    return current


def truthy(value: Any) -> bool | None:
    """True/False for booleans (and "true"/"false" strings); None when unknown; False for anything else."""
    if is_unknown(value):
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return False


def number(value: Any) -> float | None:
    """A number (numeric strings too) or None when missing, unknown or not a number."""
    if isinstance(value, bool) or is_unknown(value):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def text(value: Any) -> str | None:
    """A non-empty string, or None (missing, empty, unknown or not a string)."""
    return value if isinstance(value, str) and value and not is_unknown(value) else None


def items(value: Any) -> list[Any]:
    """A list value as a list (a single object as a one-item list); [] for anything else."""
    if isinstance(value, list):
        return value
    if isinstance(value, Mapping):
        return [value]
    return []


def has_value(value: Any) -> bool:
    """Set to something (an unknown counts: it will be set)."""
    return value is not MISSING and value is not None and value != "" and value != [] and value != {}


# ---------------------------------------------------------------------------------------------------
# Type tokens


def lb_types(resource: str) -> tuple[str, ...]:
    """pulumi-aws exposes elbv2 types under both `aws:lb/` and `aws:alb/`."""
    return (f"aws:lb/{resource}", f"aws:alb/{resource}")


# ---------------------------------------------------------------------------------------------------
# Config

EXEMPTIONS_SCHEMA: dict[str, Any] = {
    "type": "array",
    "description": "Resources this rule does not apply to: each entry has a `urn` or `name` glob and a `reason`.",
    "default": [],
    "items": {
        "type": "object",
        "properties": {
            "urn": {"type": "string", "minLength": 1},
            "name": {"type": "string", "minLength": 1},
            "reason": {"type": "string", "minLength": 1},
        },
        "required": ["reason"],
        "additionalProperties": False,
    },
}
# Pack-wide settings: one `pack-settings` entry in the policy config, read by every rule. A rule's own entry may
# override a shared key (the override keys have no schema default, so only a value someone set overrides).
DEFAULT_ALIASES = {"production": "prod", "prd": "prod", "live": "prod", "staging": "stg", "stage": "stg",
                   "development": "dev"}
SETTINGS_SCHEMA: dict[str, dict[str, Any]] = {
    "system": {"type": "string", "default": "", "pattern": "^([a-z0-9]+)?$",
               "description": "The system's name, the first name segment; empty accepts any one segment."},
    "environment": {"type": "string", "default": "", "pattern": "^([a-z0-9]+(-[a-z0-9]+)*)?$",
                    "description": "The stack's environment (aliases apply); empty derives it from the stack name."},
    "environments": {"type": "array", "items": {"type": "string", "pattern": "^[a-z0-9]+$"}, "minItems": 1,
                     "uniqueItems": True, "default": DEFAULT_ENVIRONMENTS,
                     "description": "Environment names allowed in resource names and stack names."},
    "environmentAliases": {"type": "object", "default": DEFAULT_ALIASES,
                           "additionalProperties": {"type": "string", "pattern": "^[a-z0-9]+$"},
                           "description": "Other spellings of an environment in stack names (replaces the default "
                                          "map)."},
    "productionEnvironments": {"type": "array", "items": {"type": "string", "pattern": "^[a-z0-9]+$"},
                               "uniqueItems": True, "default": DEFAULT_PRODUCTION,
                               "description": "Environments in which the production (resilience) rules apply."},
    "autonamingPattern": {"type": "string", "default": "",
                          "description": "The program's Pulumi autonaming pattern, e.g. ${project}-${stack}-${name}-"
                                         "${hex(6)}; empty reads the stack's `pulumi:autonaming` config, else the "
                                         "provider default ${name}-${hex(7)}."},
    "uncheckedAtPreview": {"type": "boolean", "default": True,
                           "description": "Report (advisory, once per resource) secret and exposure checks that an "
                                          "unknown preview value kept from running."},
}
SHARED_KEYS = tuple(SETTINGS_SCHEMA)


def override(key: str) -> dict[str, Any]:
    """A rule's override of a pack-wide setting: the same schema without a default (unset inherits)."""
    schema = {k: v for k, v in SETTINGS_SCHEMA[key].items() if k != "default"}
    return {**schema, "description": f"Overrides pack-settings.{key} for this rule."}


ENVIRONMENT_SCHEMA = override("environment")
ENVIRONMENTS_SCHEMA = override("environments")
PRODUCTION_SCHEMA = override("productionEnvironments")

# What Configure sent, per policy (set by rules.sdk when the pack serves; empty in direct calls).
_CONFIGURED: dict[str, dict[str, Any]] = {}
_SETTINGS: dict[str, Any] = {}


def set_configured(configs: Mapping[str, Mapping[str, Any]]) -> None:
    """Called on every Configure: each policy's config as sent (the CLI has applied the schema defaults)."""
    global _CONFIGURED, _SETTINGS
    _CONFIGURED = {str(k): dict(v) for k, v in configs.items()}
    settings = {k: v["default"] for k, v in SETTINGS_SCHEMA.items()}
    settings.update({k: v for k, v in _CONFIGURED.get("pack-settings", {}).items() if k in SETTINGS_SCHEMA})
    _SETTINGS = settings


def configured(policy: str) -> dict[str, Any]:
    return _CONFIGURED.get(policy, {})


def pack_settings() -> dict[str, Any]:
    """The pack-wide settings: schema defaults, then the `pack-settings` policy's config (a copy)."""
    return dict(_SETTINGS)


set_configured({})


def stack_name() -> str:
    name = os.environ.get("PULUMI_STACK", "")
    if not name:
        try:
            import pulumi

            name = pulumi.get_stack()
        except Exception:
            name = ""
    return name.rsplit("/", 1)[-1]


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def resolve_environment(config: Mapping[str, Any]) -> tuple[str, bool]:
    """(environment, recognized): the configured environment, else the stack name or its last `-`/`_`/`.` token
    that is an allowed environment or an alias of one (`payments-production` -> prod)."""
    aliases = config.get("environmentAliases")
    aliases = aliases if isinstance(aliases, Mapping) else DEFAULT_ALIASES
    allowed = _strings(config.get("environments")) or DEFAULT_ENVIRONMENTS
    allowed = allowed + _strings(config.get("productionEnvironments"))

    def canonical(token: str) -> str:
        mapped = aliases.get(token, token)
        return mapped if isinstance(mapped, str) else token

    configured_env = config.get("environment")
    if isinstance(configured_env, str) and configured_env:
        env = canonical(configured_env)
        return env, env in allowed
    stack = stack_name().lower()
    for token in [stack, *reversed(re.split(r"[-_.]", stack))]:
        if canonical(token) in allowed:
            return canonical(token), True
    return stack, False


def environment(config: Mapping[str, Any]) -> str:
    return resolve_environment(config)[0]


def is_production(config: Mapping[str, Any]) -> bool:
    production = config.get("productionEnvironments")
    production = production if isinstance(production, list) else DEFAULT_PRODUCTION
    return environment(config) in production


class IdentityMemo:
    """f(x) memoized on `x`'s identity; keeps `x` alive while cached (so its id cannot be reused)."""

    def __init__(self, function: Callable[..., Any], size: int) -> None:
        self.function = function
        self.size = size
        self._cache: OrderedDict[int, tuple[Any, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, value: Any, *args: Any, **kwargs: Any) -> Any:
        if args or kwargs:
            return self.function(value, *args, **kwargs)
        key = id(value)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and hit[0] is value:
                self._cache.move_to_end(key)
                return hit[1]
        result = self.function(value)
        with self._lock:
            self._cache[key] = (value, result)
            if len(self._cache) > self.size:
                self._cache.popitem(last=False)
        return result


# ---------------------------------------------------------------------------------------------------
# Resources and findings


@dataclass
class Resource:
    """What a check sees: plain props, the names, and (in stack policies) edges to other resources."""

    type: str
    name: str
    urn: str
    props: dict[str, Any]
    parent: str = ""
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    dependencies: list[str] = field(default_factory=list)

    def get(self, path: str, default: Any = MISSING) -> Any:
        return get(self.props, path, default)


@dataclass
class Finding:
    message: str
    urn: str = ""  # stack policies: the resource in violation (empty: the checked resource)
    name: str = ""
    unchecked: str = ""  # set instead of a violation: this property was not known (preview), so not checked


@dataclass(frozen=True)
class Unchecked:
    """Yielded by a resource check instead of a message: `what` is not known yet, so it could not be checked."""

    what: str


@dataclass
class Context:
    config: dict[str, Any]
    resources: list[Resource] = field(default_factory=list)  # stack policies only

    @property
    def environment(self) -> str:
        return environment(self.config)

    @property
    def production(self) -> bool:
        return is_production(self.config)

    def by_urn(self) -> dict[str, Resource]:
        return {r.urn: r for r in self.resources}

    def of_type(self, *types: str) -> Iterator[Resource]:
        return (r for r in self.resources if r.type in types)


ResourceCheck = Callable[[Resource, Context], Iterator["str | Unchecked"]]
StackCheck = Callable[[Context], Iterator[Finding]]


@dataclass
class Rule:
    """One policy: id, description, default level, what it checks, how to fix it, its config."""

    id: str
    concern: str
    description: str
    level: EnforcementLevel
    remediation: str
    types: tuple[str, ...] = ()  # resource rules: the type tokens checked; empty = every type
    check: ResourceCheck | None = None
    stack_check: StackCheck | None = None
    config: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def schema_properties(self) -> dict[str, dict[str, Any]]:
        return {**self.config, "exemptions": EXEMPTIONS_SCHEMA}

    def defaults(self) -> dict[str, Any]:
        return {k: v["default"] for k, v in self.schema_properties.items() if "default" in v}  # fresh: callers edit

    def context(self, raw_config: Mapping[str, Any] | None, resources: list[Resource] | None = None) -> Context:
        """The rule's config: pack-wide settings, then the rule's defaults, then what was configured for it.

        Built once per configuration: rules.sdk passes the same config object to every call until the next
        Configure (checks only read it)."""
        cached = self.__dict__.get("_context_cache")
        if cached is not None and cached[0] is raw_config and cached[1] is _SETTINGS:
            return Context(config=cached[2], resources=resources or [])
        config = pack_settings()
        config.update(self.defaults())
        config.update(plain(dict(raw_config or {})))
        self.__dict__["_context_cache"] = (raw_config, _SETTINGS, config)
        return Context(config=config, resources=resources or [])

    def findings(self, resource: Resource, ctx: Context) -> list[Finding]:
        """Every finding of a resource rule on one resource, exemptions not applied."""
        if self.check is None or (self.types and resource.type not in self.types):
            return []
        return [Finding("", resource.urn, resource.name, unchecked=found.what) if isinstance(found, Unchecked)
                else Finding(found, resource.urn, resource.name) for found in self.check(resource, ctx)]

    def stack_findings(self, ctx: Context) -> list[Finding]:
        return list(self.stack_check(ctx)) if self.stack_check else []

    def exemption(self, ctx: Context, urn: str, name: str) -> str | None:
        """The reason a resource is exempt from this rule, or None."""
        for entry in ctx.config.get("exemptions") or []:
            if not isinstance(entry, Mapping):
                continue
            urn_glob, name_glob = entry.get("urn"), entry.get("name")
            if not isinstance(urn_glob, str) and not isinstance(name_glob, str):
                continue
            if isinstance(urn_glob, str) and not fnmatch.fnmatchcase(urn, urn_glob):
                continue
            if isinstance(name_glob, str) and not fnmatch.fnmatchcase(name, name_glob):
                continue
            return str(entry.get("reason") or "no reason given")
        return None

    def message(self, text_: str) -> str:
        return f"[{self.id}] {text_} Fix: {self.remediation}"

    # pulumi_policy objects ------------------------------------------------------------------------
    def policy(self) -> ResourceValidationPolicy | StackValidationPolicy:
        schema = PolicyConfigSchema(self.schema_properties)
        if self.stack_check is not None:
            return StackValidationPolicy(self.id, self.description, self._validate_stack, self.level, schema)
        policy = ResourceValidationPolicy(self.id, self.description, self._validate_resource, self.level, schema)
        policy.resource_types = frozenset(self.types)  # type: ignore[attr-defined]  # read by rules.sdk.analyze
        return policy

    def _validate_resource(self, args: ResourceValidationArgs, report: ReportViolation) -> None:
        if self.types and args.resource_type not in self.types:
            return
        resource = Resource(args.resource_type, args.name, args.urn, _props(args.props))
        ctx = self.context(args.get_config())
        for finding in self.findings(resource, ctx):
            reason = self.exemption(ctx, resource.urn, resource.name)
            if finding.unchecked:
                if reason is None and ctx.config.get("uncheckedAtPreview", True):
                    _record_unchecked(self.id, resource.urn, finding.unchecked)
            elif reason is None:
                report(self.message(finding.message), None)
            else:
                _record(self.id, resource.urn, reason)

    def _validate_stack(self, args: StackValidationArgs, report: ReportViolation) -> None:
        ctx = self.context(args.get_config(), stack_resources(args))
        names = {r.urn: r.name for r in ctx.resources}
        for finding in self.stack_findings(ctx):
            reason = self.exemption(ctx, finding.urn, names.get(finding.urn, "")) if finding.urn else None
            if finding.unchecked:
                if reason is None and ctx.config.get("uncheckedAtPreview", True):
                    _record_unchecked(self.id, finding.urn, finding.unchecked)
            elif reason is None:
                report(finding.message if self.id in PLAIN_MESSAGES else self.message(finding.message),
                       finding.urn or None)
            else:
                _record(self.id, finding.urn, reason)


PLAIN_MESSAGES = ("exemptions-applied", "unchecked-at-preview")  # reports about other rules: no "Fix:" of their own


def _record(rule_id: str, urn: str, reason: str) -> None:
    from . import record_exemption

    record_exemption(rule_id, urn, reason)


def _record_unchecked(rule_id: str, urn: str, what: str) -> None:
    from . import record_unchecked

    record_unchecked(rule_id, urn, what)


def _plain_props(props: Any) -> dict[str, Any]:
    value = plain(props)
    return value if isinstance(value, dict) else {}


# Every rule of a resource reads the same props object (rules.sdk shares one per request): unwrap it once.
_props = IdentityMemo(_plain_props, 50_000)


_last_stack: list[tuple[Any, list[Resource]]] = []  # (the SDK's resource list, ours), for the current AnalyzeStack


def stack_resources(args: StackValidationArgs) -> list[Resource]:
    """The stack's resources as checks see them. With rules.sdk every stack policy of one AnalyzeStack call gets
    the same resource list, so ours is built once per call and shared (checks do not modify it)."""
    if _last_stack and _last_stack[0][0] is args.resources:
        return _last_stack[0][1]
    resources = _build_stack_resources(args)
    _last_stack[:] = [(args.resources, resources)]
    return resources


def _build_stack_resources(args: StackValidationArgs) -> list[Resource]:
    resources = []
    for r in args.resources:
        parent = getattr(r, "parent", None)
        resources.append(Resource(
            type=r.resource_type, name=r.name, urn=r.urn, props=_props(r.props),
            parent=parent.urn if parent is not None else "",
            property_dependencies={k: [d.urn for d in v] for k, v in (r.property_dependencies or {}).items()},
            dependencies=[d.urn for d in (r.dependencies or [])],
        ))
    return resources


def references(resource: Resource, prop: str, target: Resource) -> bool:
    """Whether `resource.prop` points at `target`: a property dependency, or a value equal to its id/name/arn."""
    if target.urn in resource.property_dependencies.get(prop, []):
        return True
    value = resource.get(prop)
    if not isinstance(value, str) or is_unknown(value):
        return False
    ids = {v for v in (target.get(k) for k in ("bucket", "id", "arn", "name")) if isinstance(v, str)}
    return value in ids or value.removeprefix("arn:aws:s3:::") in ids

"""Naming: `{system}-{env}-{component}[-{purpose}]-{kind}` and each AWS type's own name limits.

Which names are checked: the type's name-like property (name, identifier, replicationGroupId, family,
bucket, ...). A `*Prefix` property is checked as the start of a name. A name Pulumi generated from its
autonaming pattern (pulumi-aws's default `${name}-${hex(7)}`, or the stack's `pulumi:autonaming` pattern,
or pack-settings.autonamingPattern) is checked without its random parts, so with the default the logical
name is what must carry `{system}-{env}-`; the random parts count against the length limit.

Path-like names carry the same parts as path segments: log groups and SSM parameters
`/{system}/{env}/...` (log groups also `aws-waf-logs-{system}-{env}-...`, the prefix WAF requires, and
`/aws/{service}/{conventional name}` for groups AWS services write to); KMS aliases `alias/{name}`.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from pulumi_policy import EnforcementLevel

from .core import (
    ENVIRONMENT_SCHEMA,
    ENVIRONMENTS_SCHEMA,
    MISSING,
    Context,
    Resource,
    Rule,
    is_unknown,
    lb_types,
    override,
    resolve_environment,
)


@dataclass(frozen=True)
class NameSpec:
    """How one AWS type is named: properties, AWS limits, and the kinds its names end with."""

    props: tuple[str, ...]
    max_length: int
    charset: str  # regex of one allowed character
    kinds: tuple[str, ...] = ()  # accepted last segments; empty = not checked
    style: str = "hyphen"  # hyphen | path (log groups, SSM) | alias (KMS)
    min_length: int = 1
    prefix_prop: str = ""
    extra: str = ""  # AWS rule beyond length and charset (see _aws_extra)


_ALNUM_HYPHEN = "[A-Za-z0-9-]"
_NAME_SPECS: dict[tuple[str, ...], NameSpec] = {
    ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"): NameSpec(
        ("bucket",), 63, "[a-z0-9.-]", ("s3",), min_length=3, prefix_prop="bucketPrefix", extra="s3"),
    lb_types("loadBalancer:LoadBalancer"): NameSpec(
        ("name",), 32, _ALNUM_HYPHEN, ("alb", "nlb", "lb"), prefix_prop="namePrefix", extra="elb"),
    lb_types("targetGroup:TargetGroup"): NameSpec(
        ("name",), 32, _ALNUM_HYPHEN, ("tg",), prefix_prop="namePrefix", extra="elb"),
    ("aws:elasticache/replicationGroup:ReplicationGroup",): NameSpec(
        ("replicationGroupId",), 40, "[a-z0-9-]", ("redis", "cache", "valkey"), extra="identifier"),
    ("aws:elasticache/cluster:Cluster",): NameSpec(("clusterId",), 50, "[a-z0-9-]", (), extra="identifier"),
    ("aws:elasticache/parameterGroup:ParameterGroup",): NameSpec(("name",), 255, "[a-z0-9-]", ("pg",)),
    ("aws:elasticache/subnetGroup:SubnetGroup",): NameSpec(("name",), 255, "[a-z0-9-]", ("subnetgroup",)),
    ("aws:rds/instance:Instance",): NameSpec(
        ("identifier",), 63, "[a-z0-9-]", ("rds", "db"), prefix_prop="identifierPrefix", extra="identifier"),
    ("aws:rds/cluster:Cluster",): NameSpec(
        ("clusterIdentifier",), 63, "[a-z0-9-]", ("rds", "db"), prefix_prop="clusterIdentifierPrefix",
        extra="identifier"),
    ("aws:rds/parameterGroup:ParameterGroup", "aws:rds/clusterParameterGroup:ClusterParameterGroup"): NameSpec(
        ("name",), 255, "[a-z0-9-]", ("pg",), prefix_prop="namePrefix", extra="identifier"),
    ("aws:rds/subnetGroup:SubnetGroup",): NameSpec(
        ("name",), 255, "[a-z0-9 ._-]", ("subnetgroup",), prefix_prop="namePrefix"),
    ("aws:iam/role:Role",): NameSpec(("name",), 64, r"[\w+=,.@-]", ("role",), prefix_prop="namePrefix"),
    ("aws:iam/policy:Policy",): NameSpec(("name",), 128, r"[\w+=,.@-]", ("policy",), prefix_prop="namePrefix"),
    ("aws:iam/rolePolicy:RolePolicy",): NameSpec(("name",), 128, r"[\w+=,.@-]", (), prefix_prop="namePrefix"),
    ("aws:iam/instanceProfile:InstanceProfile",): NameSpec(("name",), 128, r"[\w+=,.@-]", (),
                                                           prefix_prop="namePrefix"),
    ("aws:sqs/queue:Queue",): NameSpec(("name",), 80, r"[A-Za-z0-9_-]", ("sqs", "dlq"), prefix_prop="namePrefix",
                                       extra="fifo"),
    ("aws:sns/topic:Topic",): NameSpec(("name",), 256, r"[A-Za-z0-9_-]", ("sns",), prefix_prop="namePrefix",
                                       extra="fifo"),
    ("aws:cloudwatch/eventRule:EventRule",): NameSpec(("name",), 64, r"[\w.-]", ("rule",),
                                                      prefix_prop="namePrefix"),
    ("aws:scheduler/schedule:Schedule",): NameSpec(("name",), 64, r"[\w.-]", ("schedule",),
                                                   prefix_prop="namePrefix"),
    ("aws:cloudwatch/logGroup:LogGroup",): NameSpec(("name",), 512, r"[\w./#-]", (), style="path",
                                                    prefix_prop="namePrefix"),
    ("aws:cloudwatch/metricAlarm:MetricAlarm",): NameSpec(("name",), 255, r"[^\x00-\x1f]", ("alarm",)),
    ("aws:cloudwatch/dashboard:Dashboard",): NameSpec(("dashboardName",), 255, r"[\w-]", ("dashboard",)),
    ("aws:ecs/cluster:Cluster",): NameSpec(("name",), 255, r"[A-Za-z0-9_-]", ("ecs", "cluster")),
    ("aws:ecs/service:Service",): NameSpec(("name",), 255, r"[A-Za-z0-9_-]", ("svc",)),
    ("aws:ecs/taskDefinition:TaskDefinition",): NameSpec(("family",), 255, r"[A-Za-z0-9_-]", ("task",)),
    ("aws:ecr/repository:Repository",): NameSpec(("name",), 256, r"[a-z0-9._/-]", ("ecr",), min_length=2,
                                                 extra="ecr"),
    ("aws:kms/alias:Alias",): NameSpec(("name",), 256, r"[A-Za-z0-9/_-]", ("kms",), style="alias",
                                       prefix_prop="namePrefix"),
    ("aws:secretsmanager/secret:Secret",): NameSpec(("name",), 512, r"[A-Za-z0-9/_+=.@-]", ("secret",),
                                                    prefix_prop="namePrefix"),
    ("aws:ssm/parameter:Parameter",): NameSpec(("name",), 1011, r"[A-Za-z0-9_./-]", (), style="path"),
    ("aws:ec2/securityGroup:SecurityGroup",): NameSpec(("name",), 255, r"[ -~]", ("sg",), prefix_prop="namePrefix",
                                                       extra="sg"),
    ("aws:codebuild/project:Project",): NameSpec(("name",), 255, r"[A-Za-z0-9_-]", ("cb",), min_length=2),
    ("aws:codepipeline/pipeline:Pipeline",): NameSpec(("name",), 100, r"[A-Za-z0-9.@_-]", ("cp", "pipeline")),
    ("aws:codestarconnections/connection:Connection", "aws:codeconnections/connection:Connection"): NameSpec(
        ("name",), 32, r"[A-Za-z0-9_-]", ("conn",)),
    ("aws:wafv2/webAcl:WebAcl",): NameSpec(("name",), 128, r"[\w-]", ("waf",)),
}
NAME_SPECS: dict[str, NameSpec] = {t: spec for types, spec in _NAME_SPECS.items() for t in types}


@dataclass(frozen=True)
class NameValue:
    value: str
    source: str  # the property, "<prop> (prefix)" or "logical name ..."
    complete: bool  # False for prefixes and logical names (AWS/Pulumi add to them)
    length: int  # the physical name's length: exact when known, else estimated from the autonaming pattern
    logical: str = ""  # the logical name when the checked value is derived from it (renaming replaces the resource)


# Pulumi autonaming (https://www.pulumi.com/docs/iac/concepts/resources/names/#autonaming-configuration): the stack
# config `pulumi:autonaming` sets a pattern globally, per provider or per resource type; pulumi-aws's own default
# is the logical name, "-" and 7 random hex characters.
DEFAULT_AUTONAMING = "${name}-${hex(7)}"
_RANDOM = {"hex": "[0-9a-f]", "alphanum": "[a-z0-9]", "string": "[a-z]", "num": "[0-9]"}
_UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def autonaming_pattern(resource_type: str, configured: str) -> str | None:
    """The pattern that named a resource: pack-settings.autonamingPattern, else the stack's `pulumi:autonaming`
    (resource type, then the aws provider, then global), else pulumi-aws's default. None: autonaming disabled."""
    if configured:
        return configured
    raw = _stack_autonaming()
    for scope in (((raw.get("providers") or {}).get("aws") or {}).get("resources", {}).get(resource_type),
                  (raw.get("providers") or {}).get("aws"), raw):
        if isinstance(scope, str):
            return scope
        if isinstance(scope, dict) and (scope.get("pattern") or scope.get("mode")):
            mode = scope.get("mode")
            if mode == "verbatim":
                return "${name}"
            if mode == "disabled":
                return None
            if isinstance(scope.get("pattern"), str):
                return str(scope["pattern"])
    return DEFAULT_AUTONAMING


@functools.cache
def _stack_autonaming_from(raw_config: str) -> dict[str, Any]:
    try:
        value = json.loads(raw_config or "{}").get("pulumi:autonaming")
        value = json.loads(value) if isinstance(value, str) else value
    except (ValueError, AttributeError):
        return {}
    return value if isinstance(value, dict) else {}


def _stack_autonaming() -> dict[str, Any]:
    """The stack's `pulumi:autonaming` config: the CLI passes the stack config to the pack as PULUMI_CONFIG."""
    return _stack_autonaming_from(os.environ.get("PULUMI_CONFIG", ""))


def _pattern_parts(pattern: str) -> list[tuple[str, str]]:
    """(kind, text) per part: ("literal", "-"), ("name", ""), ("random", regex), ("fixed", value), ("any", "")."""
    parts: list[tuple[str, str]] = []
    for token in re.split(r"(\$\{[^}]*\})", pattern):
        if not token:
            continue
        expr = token[2:-1] if token.startswith("${") and token.endswith("}") else None
        if expr is None:
            parts.append(("literal", token))
        elif expr == "name":
            parts.append(("name", ""))
        elif expr in ("project", "stack", "organization"):
            parts.append(("fixed", _runtime(expr)))
        elif expr == "uuid":
            parts.append(("random", _UUID))
        elif (m := re.fullmatch(r"(hex|alphanum|string|num)\((\d+)\)", expr)) is not None:
            parts.append(("random", f"{_RANDOM[m.group(1)]}{{{m.group(2)}}}"))
        else:  # ${config.key} and anything newer: some text
            parts.append(("any", ".+?"))
    return parts


def _runtime(what: str) -> str:
    env = {"project": "PULUMI_PROJECT", "stack": "PULUMI_STACK", "organization": "PULUMI_ORGANIZATION"}[what]
    value = os.environ.get(env, "")
    return value.rsplit("/", 1)[-1] if what == "stack" else value


def auto_name_stem(value: str, logical: str, pattern: str = DEFAULT_AUTONAMING) -> str | None:
    """The name without its random parts when `value` is what `pattern` generates for `logical`, else None.

    The engine calls Analyze with the provider-checked inputs, where the provider has already filled an unset
    name from the autonaming pattern (lowercased for types such as S3 buckets; `.fifo` kept at the end of FIFO
    queues and topics). With `${project}-${stack}-${name}-${hex(6)}` the stem is `{project}-{stack}-{name}`.
    """
    regex = []
    for index, (kind, text_) in enumerate(_pattern_parts(pattern)):
        if kind == "literal" or kind == "fixed":
            regex.append(re.escape(text_))
        elif kind == "name":
            regex.append(f"(?P<name>{re.escape(logical.removesuffix('.fifo'))})")
        else:
            regex.append(f"(?P<r{index}>{text_})")
    match = re.fullmatch("".join(regex), value.removesuffix(".fifo"), re.IGNORECASE)
    if match is None or "(?P<name>" not in "".join(regex) or len(regex) == 1:
        return None
    stem = value.removesuffix(".fifo")
    for group in sorted((g for g in match.groupdict() if g.startswith("r")), key=match.start, reverse=True):
        stem = stem[:match.start(group)] + stem[match.end(group):]
    return re.sub(r"([-_.])[-_.]+", r"\1", stem).strip("-_.")


def _generated_length(pattern: str | None, logical: str) -> int:
    """How long the name generated from `pattern` is (random parts at their length)."""
    if pattern is None:
        return len(logical)
    total = 0
    for kind, text_ in _pattern_parts(pattern):
        if kind in ("literal", "fixed"):
            total += len(text_)
        elif kind == "name":
            total += len(logical)
        elif kind == "random":
            total += 36 if text_ == _UUID else int(re.search(r"\{(\d+)\}", text_).group(1))  # type: ignore[union-attr]
    return total


def name_of(resource: Resource, spec: NameSpec, pattern: str | None = DEFAULT_AUTONAMING) -> NameValue | None:
    """The name to check, or None when it is unknown (preview) or cannot be determined."""
    for prop in spec.props:
        value = resource.get(prop)
        if value is MISSING:
            continue
        if is_unknown(value) or not isinstance(value, str):
            return None
        stem = auto_name_stem(value, resource.name, pattern) if pattern else None
        if stem is not None:
            return NameValue(stem, f"logical name {resource.name!r} (auto-named {prop} {value!r})", False,
                             len(value), logical=resource.name)
        return NameValue(value, prop, True, len(value))
    if spec.prefix_prop:
        value = resource.get(spec.prefix_prop)
        if is_unknown(value):
            return None
        if isinstance(value, str) and value:
            return NameValue(value, f"{spec.prefix_prop} (prefix)", False, len(value))
    return NameValue(resource.name, f"logical name {resource.name!r} (auto-named)", False,
                     _generated_length(pattern, resource.name) if pattern else len(resource.name),
                     logical=resource.name)


# ---------------------------------------------------------------------------------------------------
# naming-convention


def _segments_ok(name: str) -> bool:
    return re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name) is not None


@dataclass(frozen=True)
class Convention:
    system: str
    env: str
    environments: tuple[str, ...]  # allowed environments and their aliases: segments that mean an environment
    require_kind: bool

    @property
    def system_label(self) -> str:
        return self.system or "{system}"


def suggest(name: NameValue, spec: NameSpec, convention: Convention) -> str:
    """The name that follows the convention, made from the words of the current one."""
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1-\2", name.value.removeprefix("alias/"))
    if name.logical and words.lower() == name.logical.lower():
        words = re.sub(r"([a-z0-9])([A-Z])", r"\1-\2", name.logical)  # keep the logical name's camelCase words
    words = words.lower()
    tokens = [t for t in re.split(r"[^a-z0-9]+", words) if t]
    foreign_system = len(tokens) > 1 and tokens[1] in convention.environments
    if convention.system and (tokens[:1] == [convention.system] or foreign_system):
        tokens = tokens[1:]  # this system's segment, or another system's in front of an environment
    system = convention.system or (tokens.pop(0) if len(tokens) > 1 else "{system}")
    while tokens and tokens[0] in convention.environments:
        tokens = tokens[1:]
    rest = tokens or ["app"]
    if convention.require_kind and spec.kinds and rest[-1] not in spec.kinds:
        rest.append(spec.kinds[0])
    suggestion = "-".join([system, convention.env, *rest])
    return f"alias/{suggestion}" if spec.style == "alias" else suggestion


def convention_problems(name: NameValue, spec: NameSpec, convention: Convention) -> list[str]:
    """Why a name does not follow the convention (empty: it does)."""
    problem = _convention_problem(name, spec, convention)
    if problem is None:
        return []
    if spec.style == "hyphen" or (spec.style == "alias" and name.value.startswith("alias/")) or name.logical:
        suggestion = suggest(name, spec, convention)
        if not name.logical:
            problem += f"; set it to {suggestion!r}"
        elif name.value.lower() == name.logical.lower():
            problem += f"; rename the logical name to {suggestion!r} (or set the name property to it)"
        else:
            problem += (f"; the name generated from the autonaming pattern should read {suggestion!r}: change the "
                        "logical name or the pattern")
        if not convention.system:
            problem += " (pack-settings.system is empty: the first segment is taken as the system)"
    if name.logical:
        problem += (". Renaming a logical name replaces the resource unless the new one carries an alias to the "
                    "old: opts aliases=[Alias(name=...)] (https://www.pulumi.com/docs/iac/concepts/options/aliases/)")
    return [problem]


def _convention_problem(name: NameValue, spec: NameSpec, convention: Convention) -> str | None:
    value = name.value
    system, env = convention.system, convention.env
    sys_part = re.escape(system) if system else "[a-z0-9]+"
    what = name.source if name.logical and repr(value) in name.source else f"{name.source} {value!r}"
    if spec.extra == "fifo":
        value = value.removesuffix(".fifo")
    if spec.style == "alias":
        if not value.startswith("alias/"):
            return f"{what} must be alias/{{name}}"
        value = value.removeprefix("alias/")
    if spec.style == "path" and value.startswith("/"):
        if value.startswith("/aws/"):  # names AWS services write to, e.g. /aws/rds/instance/{identifier}/...
            segments = value.split("/")[3:]
            return None if any(re.match(rf"^{sys_part}-{re.escape(env)}-", s) for s in segments) else (
                f"{what}: an /aws/{{service}}/... path must contain the resource's {convention.system_label}-{env}-"
                "... name")
        match = re.match(rf"^/({sys_part})/([a-z0-9]+)/[a-z0-9]", value)
        if not match:
            return f"{what} must start /{convention.system_label}/{env}/ followed by lowercase segments"
        if match.group(2) != env:
            return f"{what} carries environment {match.group(2)!r}, the stack's environment is {env!r}"
        return None
    if spec.style == "path" and value.startswith("aws-waf-logs-"):
        value = value.removeprefix("aws-waf-logs-")
    if "/" in value.lstrip("/") and spec.style == "hyphen":  # secrets, ECR namespaces: {system}/{env}/...
        match = re.match(rf"^/?({sys_part})/([a-z0-9]+)/[a-z0-9]", value)
        if not match:
            return f"{what} must start {convention.system_label}/{env}/ followed by lowercase segments"
        return None if match.group(2) == env else (
            f"{what} carries environment {match.group(2)!r}, the stack's environment is {env!r}")
    if not _segments_ok(value if name.complete else value.rstrip("-")):
        return f"{what} must be lowercase letters, digits and single hyphens"
    parts = value.rstrip("-").split("-")
    if system and not re.match(rf"^{sys_part}(-|$)", value):
        return f"{what} must start with {system}-{env}-"
    found = parts[1] if len(parts) > 1 else ""
    if found != env:
        if found in convention.environments:
            return f"{what} carries environment {found!r}; the stack's environment is {env!r}"
        return (f"{what} has no environment segment: it must start with {convention.system_label}-{env}- "
                f"(system, then the stack's environment {env!r})")
    if name.complete and len(parts) < 4 and spec.kinds:
        return f"{what} needs {{system}}-{{env}}-{{component}}[-{{purpose}}]-{{kind}}"
    if convention.require_kind and name.complete and spec.kinds and parts[-1] not in spec.kinds:
        kinds = "/".join(spec.kinds)
        return f"{what} must end with the kind -{kinds}"
    return None


def checked_name(resource: Resource, ctx: Context) -> tuple[NameSpec, NameValue] | None:
    """The type's naming spec and the name to check, or None (type not covered, or name unknown)."""
    spec = NAME_SPECS.get(resource.type)
    if spec is None:
        return None
    pattern = autonaming_pattern(resource.type, str(ctx.config.get("autonamingPattern") or ""))
    name = name_of(resource, spec, pattern)
    return (spec, name) if name is not None else None


def _check_convention(resource: Resource, ctx: Context) -> Iterator[str]:
    found = checked_name(resource, ctx)
    if found is None:
        return
    spec, name = found
    environments = [e for e in ctx.config.get("environments") or [] if isinstance(e, str)]
    env, recognized = resolve_environment(ctx.config)
    if not recognized:
        yield (f"the stack's environment {env!r} is not one of {', '.join(environments)} (nor an alias of one), so "
               "names cannot be checked; set pack-settings.environment or environmentAliases.")
        return
    kinds = ctx.config.get("kinds") or {}
    if isinstance(kinds, dict) and isinstance(kinds.get(resource.type), list):
        spec = replace(spec, kinds=tuple(str(k) for k in kinds[resource.type]))
    aliases = ctx.config.get("environmentAliases")
    known = (*environments, *(aliases if isinstance(aliases, dict) else {}))
    convention = Convention(str(ctx.config.get("system") or ""), env, tuple(known),
                            bool(ctx.config.get("requireKind")))
    yield from convention_problems(name, spec, convention)


# ---------------------------------------------------------------------------------------------------
# naming-aws-limits


def limit_problems(name: NameValue, spec: NameSpec) -> list[str]:
    value = name.value
    what = f"{name.source} {value!r}"
    problems = []
    length = name.length
    limit = spec.max_length + (len("alias/") if spec.style == "alias" else 0)
    if length > limit:
        extra = f" ({len(value)} + {length - len(value)} for the auto-name suffix)" if length > len(value) else ""
        problems.append(f"{what} is {length} characters{extra}; AWS allows at most {limit}")
    if name.complete and len(value) < spec.min_length:
        problems.append(f"{what} is shorter than {spec.min_length} characters")
    checked = value.removesuffix(".fifo") if spec.extra == "fifo" else value
    bad = [] if re.fullmatch(f"(?:{spec.charset})*", checked) else sorted(
        {c for c in checked if not re.fullmatch(spec.charset, c)})
    if name.logical:
        bad = []  # Pulumi lowercases nothing; logical names are checked by naming-convention
    if bad:
        problems.append(f"{what} contains {''.join(bad)!r}, outside {spec.charset}")
    problems += _aws_extra(spec.extra, value, name.complete)
    return [p for p in problems if p]


def _aws_extra(kind: str, value: str, complete: bool) -> list[str]:
    if kind == "s3" and complete:
        if not re.fullmatch(r"[a-z0-9][a-z0-9.-]*[a-z0-9]", value) or ".." in value:
            return [f"bucket {value!r} must be DNS-compatible: start and end with a letter or digit, no '..'"]
        if re.fullmatch(r"\d+\.\d+\.\d+\.\d+", value) or value.startswith(("xn--", "sthree-")) or value.endswith(
                ("-s3alias", "--ol-s3", ".mrap", "--x-s3")):
            return [f"bucket {value!r} uses a form AWS reserves (IP address, xn--, sthree-, -s3alias, --ol-s3)"]
    if kind == "elb" and (value.startswith(("internal-", "-")) or (complete and value.endswith("-"))):
        return [f"{value!r}: elbv2 names cannot start with 'internal-' or a hyphen, nor end with a hyphen"]
    if kind == "identifier" and (not re.match(r"[A-Za-z]", value) or "--" in value or (
            complete and value.endswith("-"))):
        return [f"{value!r}: identifiers start with a letter, have no '--' and do not end with '-'"]
    if kind == "sg" and value.lower().startswith("sg-"):
        return [f"{value!r}: security group names cannot start with 'sg-'"]
    if kind == "ecr" and complete and not re.fullmatch(
            r"(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*", value):
        return [f"{value!r}: ECR names are lowercase segments separated by '/', '.', '_' or '-'"]
    return []


def _check_limits(resource: Resource, ctx: Context) -> Iterator[str]:
    found = checked_name(resource, ctx)
    if found is not None:
        yield from limit_problems(found[1], found[0])


CHECKED_TYPES = tuple(sorted(NAME_SPECS))

RULES = [
    Rule(
        id="naming-convention",
        concern="naming",
        description="Resource names follow {system}-{env}-{component}[-{purpose}]-{kind} for the stack's "
                    "environment (path names /{system}/{env}/..., KMS aliases alias/{name}).",
        level=EnforcementLevel.MANDATORY,
        remediation="name the resource {system}-{env}-{component}[-{purpose}]-{kind} in lowercase with hyphens "
                    "(or exempt it with a reason in this policy's `exemptions`).",
        types=CHECKED_TYPES,
        check=_check_convention,
        config={
            "system": override("system"),
            "environments": ENVIRONMENTS_SCHEMA,
            "environment": ENVIRONMENT_SCHEMA,
            "requireKind": {"type": "boolean", "default": True,
                            "description": "Names must end with the type's kind (alb, tg, rds, s3, role, ...)."},
            "kinds": {"type": "object", "default": {}, "additionalProperties": {"type": "array",
                                                                                "items": {"type": "string"}},
                      "description": "Per type token, the accepted kinds (replaces the built-in list)."},
        },
    ),
    Rule(
        id="naming-aws-limits",
        concern="naming",
        description="Names fit their AWS type's length and character limits (ALB/target group 32, replication "
                    "group 40, RDS identifier 63, IAM role 64, S3 bucket 3-63 DNS-compatible, log group 512, ...).",
        level=EnforcementLevel.MANDATORY,
        remediation="shorten the name (the length counts the autonaming pattern's random part) and keep to the "
                    "type's characters.",
        types=CHECKED_TYPES,
        check=_check_limits,
    ),
]

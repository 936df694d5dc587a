"""Naming: `{system}-{env}-{component}[-{purpose}]-{kind}` and each AWS type's own name limits.

Which names are checked: the type's name-like property (name, identifier, replicationGroupId, family,
bucket, ...). A `*Prefix` property is checked as the start of a name. When neither is set, Pulumi
auto-names the resource from its logical name plus a 7-character random suffix, so the logical name
is checked instead (it must carry `{system}-{env}-`; the suffix is counted against the length limit).

Path-like names carry the same parts as path segments: log groups and SSM parameters
`/{system}/{env}/...` (log groups also `aws-waf-logs-{system}-{env}-...`, the prefix WAF requires, and
`/aws/{service}/{conventional name}` for groups AWS services write to); KMS aliases `alias/{name}`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace

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
)

AUTO_NAME_SUFFIX = 8  # Pulumi auto-naming: "-" + 7 random characters


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
    source: str  # the property, "<prop> (prefix)" or "logical name"
    complete: bool  # False for prefixes and logical names (AWS/Pulumi append to them)


def auto_name_stem(value: str, logical: str) -> str | None:
    """The logical-name part of a name Pulumi generated, or None when `value` was not auto-named.

    The engine calls Analyze with the provider-checked inputs, and pulumi-aws's Check fills an unset name
    with `{logical name}-{7 hex}` (lowercased for types such as S3 buckets; `.fifo` kept at the end of FIFO
    queues and topics). Such a name is the logical name plus a suffix, not a name someone chose.
    """
    match = re.fullmatch(r"(.+)-[0-9a-f]{7}", value.removesuffix(".fifo"))
    if match is None or match.group(1).lower() != logical.removesuffix(".fifo").lower():
        return None
    return match.group(1)


def name_of(resource: Resource, spec: NameSpec) -> NameValue | None:
    """The name to check, or None when it is unknown (preview) or cannot be determined."""
    for prop in spec.props:
        value = resource.get(prop)
        if value is MISSING:
            continue
        if is_unknown(value) or not isinstance(value, str):
            return None
        stem = auto_name_stem(value, resource.name)
        if stem is not None:
            return NameValue(stem, f"logical name (auto-named {prop} {value!r})", False)
        return NameValue(value, prop, True)
    if spec.prefix_prop:
        value = resource.get(spec.prefix_prop)
        if is_unknown(value):
            return None
        if isinstance(value, str) and value:
            return NameValue(value, f"{spec.prefix_prop} (prefix)", False)
    return NameValue(resource.name, "logical name (auto-named)", False)


# ---------------------------------------------------------------------------------------------------
# naming-convention


def _segments_ok(name: str) -> bool:
    return re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name) is not None


def convention_problems(name: NameValue, spec: NameSpec, system: str, env: str, environments: list[str],
                        require_kind: bool) -> list[str]:
    """Why a name does not follow the convention (empty: it does)."""
    value = name.value
    sys_part = re.escape(system) if system else "[a-z0-9]+"
    what = f"{name.source} {value!r}"
    if spec.extra == "fifo":
        value = value.removesuffix(".fifo")
    if spec.style == "alias":
        if not value.startswith("alias/"):
            return [f"{what} must be alias/{{name}}"]
        value = value.removeprefix("alias/")
    if spec.style == "path" and value.startswith("/"):
        if value.startswith("/aws/"):  # names AWS services write to, e.g. /aws/rds/instance/{identifier}/...
            segments = value.split("/")[3:]
            return [] if any(re.match(rf"^{sys_part}-{re.escape(env)}-", s) for s in segments) else [
                f"{what}: an /aws/{{service}}/... path must contain the resource's {system or '{system}'}-{env}-... "
                "name"]
        match = re.match(rf"^/({sys_part})/([a-z0-9]+)/[a-z0-9]", value)
        if not match:
            return [f"{what} must start /{system or '{system}'}/{env}/ followed by lowercase segments"]
        if match.group(2) != env:
            return [f"{what} carries environment {match.group(2)!r}, the stack's environment is {env!r}"]
        return []
    if spec.style == "path" and value.startswith("aws-waf-logs-"):
        value = value.removeprefix("aws-waf-logs-")
    if "/" in value.lstrip("/") and spec.style == "hyphen":  # secrets, ECR namespaces: {system}/{env}/...
        match = re.match(rf"^/?({sys_part})/([a-z0-9]+)/[a-z0-9]", value)
        if not match:
            return [f"{what} must start {system or '{system}'}/{env}/ followed by lowercase segments"]
        return [] if match.group(2) == env else [
            f"{what} carries environment {match.group(2)!r}, the stack's environment is {env!r}"]
    if not _segments_ok(value if name.complete else value.rstrip("-")):
        return [f"{what} must be lowercase letters, digits and single hyphens"]
    parts = value.rstrip("-").split("-")
    match = re.match(rf"^({sys_part})-([a-z0-9]+)(-|$)", value)
    if not match:
        return [f"{what} must start with {system or '{system}'}-{env}-"]
    if match.group(2) != env:
        found = match.group(2)
        known = "an allowed environment" if found in environments else "not an allowed environment"
        return [f"{what} carries environment {found!r} ({known}); the stack's environment is {env!r}"]
    if name.complete and len(parts) < 4 and spec.kinds:
        return [f"{what} needs {{system}}-{{env}}-{{component}}[-{{purpose}}]-{{kind}}"]
    if require_kind and name.complete and spec.kinds and parts[-1] not in spec.kinds:
        kinds = "/".join(spec.kinds)
        return [f"{what} must end with the kind -{kinds}"]
    return []


def checked_name(resource: Resource) -> tuple[NameSpec, NameValue] | None:
    """The type's naming spec and the name to check, or None (type not covered, or name unknown)."""
    spec = NAME_SPECS.get(resource.type)
    name = name_of(resource, spec) if spec is not None else None
    return (spec, name) if spec is not None and name is not None else None


def _check_convention(resource: Resource, ctx: Context) -> Iterator[str]:
    found = checked_name(resource)
    if found is None:
        return
    spec, name = found
    system = ctx.config.get("system") or ""
    environments = [e for e in ctx.config.get("environments") or [] if isinstance(e, str)]
    env = ctx.environment
    if env not in environments:
        yield (f"the stack's environment {env!r} is not one of {', '.join(environments)}; name the stack after "
               "its environment or set `environment`/`environments` in this policy's config.")
        return
    kinds = ctx.config.get("kinds") or {}
    if isinstance(kinds, dict) and isinstance(kinds.get(resource.type), list):
        spec = replace(spec, kinds=tuple(str(k) for k in kinds[resource.type]))
    yield from convention_problems(name, spec, str(system), env, environments, bool(ctx.config.get("requireKind")))


# ---------------------------------------------------------------------------------------------------
# naming-aws-limits


def limit_problems(name: NameValue, spec: NameSpec) -> list[str]:
    value = name.value
    what = f"{name.source} {value!r}"
    problems = []
    length = len(value) + (AUTO_NAME_SUFFIX if name.source.startswith("logical") else 0)
    limit = spec.max_length + (len("alias/") if spec.style == "alias" else 0)
    if length > limit:
        extra = f" ({len(value)} + {AUTO_NAME_SUFFIX} for the auto-name suffix)" if length != len(value) else ""
        problems.append(f"{what} is {length} characters{extra}; AWS allows at most {limit}")
    if name.complete and len(value) < spec.min_length:
        problems.append(f"{what} is shorter than {spec.min_length} characters")
    checked = value.removesuffix(".fifo") if spec.extra == "fifo" else value
    bad = sorted({c for c in checked if not re.fullmatch(spec.charset, c)})
    if name.source.startswith("logical"):
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
    found = checked_name(resource)
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
            "system": {"type": "string", "default": "", "pattern": "^([a-z0-9]+)?$",
                       "description": "The system's name, the first name segment; empty accepts any one segment."},
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
        remediation="shorten the name (the length counts Pulumi's 8-character auto-name suffix) and keep to the "
                    "type's characters.",
        types=CHECKED_TYPES,
        check=_check_limits,
    ),
]

"""Network exposure: nothing reachable from the internet except load balancers on their web ports."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pulumi_policy import EnforcementLevel

from .core import (
    MISSING,
    Context,
    Finding,
    Resource,
    Rule,
    Unchecked,
    get,
    is_unknown,
    items,
    lb_types,
    number,
    references,
    truthy,
)
from .encryption import BUCKET_TYPES

OPEN_CIDRS = ("0.0.0.0/0", "::/0")
SG_TYPE = "aws:ec2/securityGroup:SecurityGroup"
INGRESS_RULE_TYPES = ("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
                      "aws:ec2/securityGroupRule:SecurityGroupRule")
PAB_TYPES = ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",)
PAB_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


def _rds_public(resource: Resource, ctx: Context) -> Iterator[str | Unchecked]:
    public = truthy(resource.get("publiclyAccessible"))
    if public is None:
        yield Unchecked("publiclyAccessible")
    elif public:
        yield f"{resource.name!r} is publicly accessible."


def _public_ip(resource: Resource, ctx: Context) -> Iterator[str | Unchecked]:
    paths = {
        "aws:ecs/service:Service": "networkConfiguration.assignPublicIp",
        "aws:cloudwatch/eventTarget:EventTarget": "ecsTarget.networkConfiguration.assignPublicIp",
        "aws:scheduler/schedule:Schedule": "target.ecsParameters.networkConfiguration.assignPublicIp",
    }
    path = paths[resource.type]
    if is_unknown(resource.get(path)):
        yield Unchecked(path)
    elif truthy(resource.get(path)) or str(resource.get(path)).upper() == "ENABLED":
        yield f"{resource.name!r} gives its tasks a public IP ({path})."


def _read(rule: dict[str, Any] | Resource, key: str) -> Any:
    value = rule.get(key) if isinstance(rule, Resource) else get(rule, key)
    return None if value is MISSING else value


def _ports(rule: dict[str, Any] | Resource) -> tuple[float | None, float | None, Any] | None:
    """(from, to, protocol), or None when one of them is unknown."""
    protocol = _read(rule, "ipProtocol")
    if protocol is None:
        protocol = _read(rule, "protocol")
    raw = (_read(rule, "fromPort"), _read(rule, "toPort"), protocol)
    if any(is_unknown(v) for v in raw):
        return None
    return number(raw[0]), number(raw[1]), protocol


def _open_ingress(rule: dict[str, Any] | Resource, cidr_keys: tuple[str, ...]) -> bool | None:
    values: list[Any] = []
    for key in cidr_keys:
        value = _read(rule, key)
        if is_unknown(value):
            return None
        values += value if isinstance(value, list) else [value]
    if any(is_unknown(v) for v in values):
        return None
    return any(v in OPEN_CIDRS for v in values)


def _allowed(from_port: float | None, to_port: float | None, protocol: Any, allowed: list[float]) -> bool:
    if str(protocol).lower() in ("-1", "all"):
        return False
    return from_port is not None and from_port == to_port and from_port in allowed


def _describe(from_port: float | None, to_port: float | None, protocol: Any) -> str:
    if str(protocol).lower() in ("-1", "all"):
        return "all ports"
    if from_port == to_port:
        return f"port {from_port:g}" if from_port is not None else "unknown ports"
    return f"ports {from_port:g}-{to_port:g}" if from_port is not None and to_port is not None else "ports"


def _security_groups(ctx: Context) -> Iterator[Finding]:
    allowed = [float(p) for p in ctx.config.get("allowedPublicPorts") or [] if isinstance(p, int | float)]
    by_urn = ctx.by_urn()
    lb_groups: set[str] = set()
    for lb in ctx.of_type(*lb_types("loadBalancer:LoadBalancer")):
        lb_groups.update(lb.property_dependencies.get("securityGroups", []))
        for value in items(lb.get("securityGroups")):
            lb_groups.update(sg.urn for sg in ctx.of_type(SG_TYPE) if value in (sg.get("id"), sg.get("name")))

    def check(group_urn: str, rule: dict[str, Any] | Resource, where: str, cidr_keys: tuple[str, ...]) -> Iterator[
            Finding]:
        where_urn = rule.urn if isinstance(rule, Resource) else group_urn
        opened = _open_ingress(rule, cidr_keys)
        if opened is None:
            yield Finding("", where_urn, unchecked="/".join(cidr_keys))
        if not opened:
            return
        ports = _ports(rule)
        if ports is None:
            yield Finding("", where_urn, unchecked="fromPort/toPort/protocol")
            return
        from_port, to_port, protocol = ports
        if group_urn in lb_groups and _allowed(from_port, to_port, protocol, allowed):
            return
        group = by_urn.get(group_urn)
        label = group.name if group else "a security group"
        target = "its load balancer only on ports " + ", ".join(f"{p:g}" for p in allowed) if group_urn in \
            lb_groups else "load balancer groups only"
        yield Finding(f"{where} opens {_describe(from_port, to_port, protocol)} of {label!r} to the internet "
                      f"(0.0.0.0/0 or ::/0); public ingress is allowed to {target}.",
                      rule.urn if isinstance(rule, Resource) else group_urn)

    for sg in ctx.of_type(SG_TYPE):
        for index, rule in enumerate(items(sg.get("ingress"))):
            if isinstance(rule, dict):
                yield from check(sg.urn, rule, f"{sg.name!r} ingress[{index}]", ("cidrBlocks", "ipv6CidrBlocks"))
    for rule in ctx.of_type(*INGRESS_RULE_TYPES):
        if rule.type.startswith("aws:ec2/") and rule.get("type") != "ingress":
            continue
        group = next((sg.urn for sg in ctx.of_type(SG_TYPE) if references(rule, "securityGroupId", sg)), "")
        keys = ("cidrIpv4", "cidrIpv6") if rule.type.startswith("aws:vpc/") else ("cidrBlocks", "ipv6CidrBlocks")
        yield from check(group, rule, f"rule {rule.name!r}", keys)


def _public_access_block(ctx: Context) -> Iterator[Finding]:
    blocks = list(ctx.of_type(*PAB_TYPES))
    for bucket in ctx.of_type(*BUCKET_TYPES):
        mine = [b for b in blocks if references(b, "bucket", bucket)]
        if not mine:
            if any(is_unknown(b.get("bucket")) for b in blocks):
                yield Finding("", bucket.urn, unchecked="the bucket of a BucketPublicAccessBlock")
                continue
            yield Finding(f"bucket {bucket.name!r} has no BucketPublicAccessBlock.", bucket.urn)
            continue
        flags = {flag: [truthy(b.get(flag)) for b in mine] for flag in PAB_FLAGS}
        off = [flag for flag, values in flags.items() if None not in values and not any(values)]
        unknown = [flag for flag, values in flags.items() if None in values and not any(values)]
        if unknown:
            yield Finding("", bucket.urn, unchecked=", ".join(unknown))
        if off:
            yield Finding(f"bucket {bucket.name!r}: public access block leaves {', '.join(off)} off.", bucket.urn)


def _nlb_listeners(ctx: Context) -> Iterator[Finding]:
    """Network load balancers have no security group by default, so a listener is the internet exposure."""
    allowed = [float(p) for p in ctx.config.get("allowedPorts") or [] if isinstance(p, int | float)]
    public = []
    for lb in ctx.of_type(*lb_types("loadBalancer:LoadBalancer")):
        kind, internal = lb.get("loadBalancerType"), lb.get("internal")
        if kind != "network":
            continue
        if is_unknown(internal):
            yield Finding("", lb.urn, unchecked="internal")
        elif truthy(internal) is False:
            public.append(lb)
    for listener in ctx.of_type(*lb_types("listener:Listener")):
        owner = next((lb for lb in public if references(listener, "loadBalancerArn", lb)), None)
        if owner is None:
            continue
        port = listener.get("port")
        if is_unknown(port):
            yield Finding("", listener.urn, unchecked="port")
        elif number(port) not in allowed:
            shown = f"{number(port):g}" if number(port) is not None else "no port"
            yield Finding(f"listener {listener.name!r} of the internet-facing network load balancer {owner.name!r} "
                          f"listens on {shown}; only {', '.join(f'{p:g}' for p in allowed)} may face the internet.",
                          listener.urn)


RULES = [
    Rule("rds-not-public", "exposure", "RDS instances and clusters are not publicly accessible.",
         EnforcementLevel.MANDATORY, "set publiclyAccessible: false and keep the database in isolated subnets.",
         ("aws:rds/instance:Instance", "aws:rds/clusterInstance:ClusterInstance", "aws:rds/cluster:Cluster"),
         _rds_public),
    Rule("ecs-no-public-ip", "exposure", "ECS services and scheduled tasks do not assign public IPs.",
         EnforcementLevel.MANDATORY, "set assignPublicIp: false and run tasks in private subnets behind NAT.",
         ("aws:ecs/service:Service", "aws:cloudwatch/eventTarget:EventTarget", "aws:scheduler/schedule:Schedule"),
         _public_ip),
    Rule("security-group-no-public-ingress", "exposure", "No security group ingress from 0.0.0.0/0 or ::/0, "
         "except the allowed web ports on load balancer groups.", EnforcementLevel.MANDATORY,
         "restrict the source to a security group or a known CIDR; only a load balancer's group may take "
         "0.0.0.0/0 on 80/443.", stack_check=_security_groups,
         config={"allowedPublicPorts": {"type": "array", "items": {"type": "integer", "minimum": 0,
                                                                    "maximum": 65535}, "default": [80, 443],
                                        "description": "Ports a load balancer's group may open to the internet."}}),
    Rule("nlb-public-listener-ports", "exposure", "Internet-facing network load balancers listen only on the allowed "
         "web ports (an NLB without security groups exposes every listener).", EnforcementLevel.MANDATORY,
         "make the load balancer internal (internal: true), or move the service behind the allowed ports.",
         stack_check=_nlb_listeners,
         config={"allowedPorts": {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 65535},
                                  "default": [80, 443], "description": "Ports an internet-facing NLB may listen on."}}),
    Rule("s3-public-access-blocked", "exposure", "Every S3 bucket has a public access block with all four flags on.",
         EnforcementLevel.MANDATORY, "add aws.s3.BucketPublicAccessBlock for the bucket with blockPublicAcls, "
         "blockPublicPolicy, ignorePublicAcls and restrictPublicBuckets true.", stack_check=_public_access_block),
]

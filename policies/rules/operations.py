"""Logging and supply chain: log retention, ECR tag immutability and scanning, IAM least privilege."""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterator
from typing import Any

from pulumi_policy import EnforcementLevel

from .core import Context, Resource, Rule, is_unknown, items, number, truthy

IAM_DOCUMENT_PROPS = {
    "aws:iam/policy:Policy": ("policy",),
    "aws:iam/rolePolicy:RolePolicy": ("policy",),
    "aws:iam/userPolicy:UserPolicy": ("policy",),
    "aws:iam/groupPolicy:GroupPolicy": ("policy",),
    "aws:iam/role:Role": ("inlinePolicies",),
}
# Attachments of AWS-managed policies that allow `*` on `*` (the document lives in AWS, not in the stack).
IAM_ATTACHMENT_PROPS = {
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": "policyArn",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment": "policyArn",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment": "policyArn",
    "aws:iam/policyAttachment:PolicyAttachment": "policyArn",
    "aws:iam/role:Role": "managedPolicyArns",
}
ADMIN_POLICY_ARNS = re.compile(r"^arn:aws[a-z-]*:iam::aws:policy/AdministratorAccess$")


def _retention(resource: Resource, ctx: Context) -> Iterator[str]:
    value = resource.get("retentionInDays")
    if is_unknown(value):
        return
    days = number(value)
    minimum = float(ctx.config.get("minimumDays") or 1)
    if days is None or days <= 0:
        yield f"log group {resource.get('name', resource.name)!r} keeps logs forever; set retentionInDays."
    elif days < minimum:
        yield f"log group {resource.get('name', resource.name)!r} keeps logs {days:g} days; at least {minimum:g}."


def _ecr(resource: Resource, ctx: Context) -> Iterator[str]:
    mutability = resource.get("imageTagMutability")
    if not is_unknown(mutability) and mutability not in ("IMMUTABLE", "IMMUTABLE_WITH_EXCLUSION"):
        yield f"repository {resource.name!r} has mutable tags; set imageTagMutability: IMMUTABLE."
    if truthy(resource.get("imageScanningConfiguration.scanOnPush")) is False:
        yield f"repository {resource.name!r} does not scan on push; set imageScanningConfiguration.scanOnPush."


def _documents(resource: Resource) -> Iterator[Any]:
    for prop in IAM_DOCUMENT_PROPS.get(resource.type, ()):
        value = resource.get(prop)
        for item in items(value) if prop == "inlinePolicies" else [value]:
            document = item.get("policy") if prop == "inlinePolicies" and isinstance(item, dict) else item
            if isinstance(document, str) and not is_unknown(document):
                try:
                    document = json.loads(document)
                except ValueError:
                    continue
            if isinstance(document, dict):
                yield document


def _listed(value: Any) -> list[str] | None:
    """A statement's Action/Resource as strings; None when any part is unknown."""
    values = value if isinstance(value, list) else [value]
    if any(is_unknown(v) for v in values):
        return None
    return [v for v in values if isinstance(v, str)]


def _iam(resource: Resource, ctx: Context) -> Iterator[str]:
    attached = resource.get(IAM_ATTACHMENT_PROPS.get(resource.type, "-"))
    for arn in attached if isinstance(attached, list) else [attached]:
        if isinstance(arn, str) and ADMIN_POLICY_ARNS.match(arn):
            yield f"{resource.name!r} attaches {arn}, which allows every action on every resource."
    for document in _documents(resource):
        for statement in items(document.get("Statement")):
            if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
                continue
            sid = f" (Sid {statement['Sid']})" if isinstance(statement.get("Sid"), str) else ""
            # NotResource: every resource but the listed ones, as broad as "*" for these checks.
            targets = ["*"] if "NotResource" in statement else _listed(statement.get("Resource"))
            if targets is None or "*" not in targets:
                continue
            if "NotAction" in statement:  # every action except the listed ones
                excluded = _listed(statement.get("NotAction"))
                if excluded is None:
                    continue
                yield (f"{resource.name!r} allows every action except {', '.join(excluded) or 'none'} on every "
                       f"resource (NotAction){sid}; list the actions instead.")
                continue
            actions = _listed(statement.get("Action"))
            if actions is None:
                continue
            if any(a in ("*", "*:*") for a in actions):
                yield f"{resource.name!r} allows every action on every resource{sid}."
            passing = [a for a in actions if fnmatch.fnmatchcase("iam:passrole", a.lower())]
            if passing:
                yield f"{resource.name!r} allows {passing[0]} on '*'{sid}; name the roles that may be passed."


RULES = [
    Rule("log-group-retention", "logging", "CloudWatch log groups have a retention period.",
         EnforcementLevel.MANDATORY, "set retentionInDays (e.g. 30 in development, 365 in production).",
         ("aws:cloudwatch/logGroup:LogGroup",), _retention,
         config={"minimumDays": {"type": "integer", "minimum": 1, "default": 1,
                                 "description": "Least retention in days."}}),
    Rule("ecr-immutable-scanned", "supply-chain", "ECR repositories have immutable tags and scan images on push.",
         EnforcementLevel.MANDATORY, "set imageTagMutability: IMMUTABLE and imageScanningConfiguration.scanOnPush: "
         "true.", ("aws:ecr/repository:Repository",), _ecr),
    Rule("iam-no-wildcard-admin", "supply-chain", "IAM policies allow no `*` action on `*` (nor NotAction on `*`, nor "
         "an attached AdministratorAccess) and no iam:PassRole on `*`.", EnforcementLevel.MANDATORY,
         "list the actions and the resource ARNs (for PassRole: the exact roles; no AdministratorAccess).",
         tuple(sorted({*IAM_DOCUMENT_PROPS, *IAM_ATTACHMENT_PROPS})), _iam),
]

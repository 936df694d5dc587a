"""Every IAM role carries a permissions boundary, so no policy attached to it later can exceed the ceiling.

An organization that delegates role creation to CI (or to teams) makes the boundary the condition of
that delegation (https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html); a
role without one is where a privilege escalation starts. Advisory by default: roles created by an
administrator outside such a delegation are legitimate, and exemptions name them with a reason.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator

from pulumi_policy import EnforcementLevel

from .core import Context, Resource, Rule, is_unknown, text

ROLE_TYPES = ("aws:iam/role:Role",)


def _boundary(resource: Resource, ctx: Context) -> Iterator[str]:
    boundary = resource.get("permissionsBoundary")
    if is_unknown(boundary):
        return  # a boundary computed from another resource: known at `up`, when the rule runs again
    arn = text(boundary)
    if arn is None:
        yield f"IAM role {resource.name!r} has no permissions boundary."
        return
    patterns = [p for p in ctx.config.get("boundaryPatterns") or [] if isinstance(p, str)]
    if patterns and not any(fnmatch.fnmatchcase(arn, p) for p in patterns):
        yield (f"IAM role {resource.name!r} has the permissions boundary {arn!r}, which matches none of "
               f"{', '.join(patterns)}.")


RULES = [
    Rule("iam-role-permissions-boundary", "exposure",
         "Every IAM role has a permissions boundary (one of the organization's, when boundaryPatterns names them).",
         EnforcementLevel.ADVISORY,
         "set the role's permissionsBoundary to the organization's boundary policy ARN (or exempt an "
         "administrator's role with a reason).",
         ROLE_TYPES, _boundary,
         config={"boundaryPatterns": {
             "type": "array", "items": {"type": "string", "minLength": 1}, "default": ["arn:aws*:iam::*:policy/*"],
             "description": "Globs over the boundary's policy ARN (e.g. arn:aws:iam::*:policy/"
                            "*-platform-boundary-policy); a boundary matching none is a finding."}}),
]

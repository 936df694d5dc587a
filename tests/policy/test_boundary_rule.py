"""iam-role-permissions-boundary over gRPC: compliant, violating, configured pattern, exemptions, preview,
advisory by default; and the platform's own graphs comply."""

from __future__ import annotations

import pytest

from tests.harness import Graph
from tools.analyzer import UNKNOWN, WireResource, make_urn, wire_resource

RULE = "iam-role-permissions-boundary"
ROLE = "aws:iam/role:Role"
BOUNDARY = "arn:aws:iam::123456789012:policy/django-bootstrap-platform-boundary-policy"


def role(name: str = "django-dev-web-task-role", **props) -> WireResource:
    props = {"name": name, "assumeRolePolicy": "{}", **props}
    return WireResource(ROLE, name, {k: v for k, v in props.items() if v is not None}, urn=make_urn(ROLE, name))


def mine(found) -> list:
    return [d for d in found if d.policy == RULE]


def test_a_role_with_a_boundary_complies(pack):
    assert mine(pack.analyze(role(permissionsBoundary=BOUNDARY))) == []


def test_a_role_without_a_boundary_is_reported_advisory_by_default(pack):
    (finding,) = mine(pack.analyze(role()))
    assert "has no permissions boundary" in finding.message and finding.level == "advisory"
    assert "Fix: " in finding.message


def test_mandatory_when_the_organization_says_so(pack):
    (finding,) = mine(pack.analyze(role(), config={RULE: {"enforcementLevel": "mandatory"}}))
    assert finding.level == "mandatory"


def test_the_boundary_must_match_a_configured_pattern(pack):
    config = {RULE: {"boundaryPatterns": ["arn:aws:iam::*:policy/*-platform-boundary-policy"]}}
    assert mine(pack.analyze(role(permissionsBoundary=BOUNDARY), config=config)) == []
    (finding,) = mine(pack.analyze(role(permissionsBoundary="arn:aws:iam::123456789012:policy/anything"),
                                   config=config))
    assert "matches none of" in finding.message


def test_an_unknown_boundary_during_preview_is_no_finding(pack):
    assert mine(pack.analyze(role(permissionsBoundary=UNKNOWN))) == []


def test_exempted_roles_are_reported_with_their_reason(pack):
    config = {RULE: {"exemptions": [{"name": "*-bootstrap-github-*-role",
                                     "reason": "CI roles created by the administrator"}]}}
    assert mine(pack.analyze(role("django-bootstrap-github-preview-role"), config=config)) == []
    report = pack.analyze_stack(config=config)
    assert any("CI roles created by the administrator" in d.message for d in report
               if d.policy == "exemptions-applied")


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_platforms_roles_comply(pack, stack, dev: Graph, prod: Graph):
    graph = {"dev": dev, "prod": prod}[stack]
    roles = [wire_resource(r, stack=stack) for r in graph.of_type(ROLE)]
    assert roles and mine(pack.analyze(*roles)) == []

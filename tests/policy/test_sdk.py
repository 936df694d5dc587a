"""rules/sdk.py's Analyze/AnalyzeStack answer exactly as pulumi-policy's own methods do, on the program's graph."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import rules
from google.protobuf import json_format
from pulumi.runtime.proto import analyzer_pb2
from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, StackValidationPolicy
from pulumi_policy.policy import _PolicyAnalyzerServicer
from rules import sdk

from tests.policy.conftest import PACK_DIR
from tools.analyzer import UNKNOWN, _options, _struct, wire_resource


def _reads_unknown(args, report) -> None:
    if args.props.get("bucket") == "x":  # the SDK's proxy raises on an unknown value: "can't run policy"
        report("never")


def _not_applicable(args, report) -> None:
    args.not_applicable("not for this stack")


EXTRA = [ResourceValidationPolicy("reads-unknown", "Reads an unknown.", _reads_unknown, EnforcementLevel.MANDATORY),
         ResourceValidationPolicy("not-applicable", "Says so.", _not_applicable, EnforcementLevel.ADVISORY),
         StackValidationPolicy("stack-not-applicable", "Says so.", _not_applicable, EnforcementLevel.ADVISORY)]


@pytest.fixture(scope="module")
def servicer() -> Iterator[_PolicyAnalyzerServicer]:
    server = _PolicyAnalyzerServicer("aws-platform-guardrails", "1.0.0", [*rules.policies(), *EXTRA],
                                     EnforcementLevel.ADVISORY)
    request = analyzer_pb2.ConfigureAnalyzerRequest()
    request.policyConfig["pack-settings"].properties.update({"system": "django"})
    request.policyConfig["rds-not-public"].enforcementLevel = analyzer_pb2.DISABLED
    server.Configure(request, None)
    stack = os.environ.get("PULUMI_STACK")
    os.environ["PULUMI_STACK"] = "dev"  # as the CLI sets it; else the stack of whichever program ran last here
    yield server
    if stack is None:
        del os.environ["PULUMI_STACK"]
    else:
        os.environ["PULUMI_STACK"] = stack


def _answer(response) -> dict:
    return json_format.MessageToDict(response)


def test_sdk_hooks_fit_the_pinned_sdk() -> None:
    """The pack's lock pins the SDK version the hooks were copied from (elsewhere install() changes nothing)."""
    pins = [line.split()[0] for line in (PACK_DIR / "requirements.txt").read_text().splitlines() if "==" in line]
    assert f"pulumi-policy=={sdk.SDK_VERSION}" in pins
    assert not getattr(_PolicyAnalyzerServicer, "_pack_hooks", False)  # this process compares against the SDK


def test_analyze_answers_as_the_sdk_does(servicer, dev) -> None:
    resources = [wire_resource(r) for r in dev.resources]
    resources[0].props["bucket"] = UNKNOWN
    database = next(r for r in resources if r.type == "aws:rds/instance:Instance")
    database.props.update(storageEncrypted=False, publiclyAccessible=True)  # one finding, one disabled rule
    compared = 0
    for resource in resources:
        request = analyzer_pb2.AnalyzeRequest(type=resource.type, urn=resource.urn, name=resource.name,
                                              properties=_struct(resource.props), options=_options(resource))
        expected = _answer(_PolicyAnalyzerServicer.Analyze(servicer, request, None))
        assert _answer(sdk.analyze(servicer, request, None)) == expected, resource.urn
        compared += bool(expected.get("diagnostics"))
    assert compared >= 2  # the unknown read and at least one finding were compared, not only empty answers


def test_analyze_stack_answers_as_the_sdk_does(servicer, dev) -> None:
    request = analyzer_pb2.AnalyzeStackRequest()
    for resource in (wire_resource(r, state="outputs") for r in dev.resources):
        item = analyzer_pb2.AnalyzerResource(type=resource.type, urn=resource.urn, name=resource.name,
                                             properties=_struct(resource.props), options=_options(resource),
                                             parent=resource.parent, dependencies=resource.dependencies)
        for key, urns in resource.property_dependencies.items():
            item.propertyDependencies[key].urns.extend(urns)
        request.resources.append(item)
    expected = _answer(_PolicyAnalyzerServicer.AnalyzeStack(servicer, request, None))
    assert expected.get("diagnostics") and expected.get("notApplicable")
    assert _answer(sdk.analyze_stack(servicer, request, None)) == expected

"""Property test: random, missing, unknown and mistyped values for every covered type never make the pack fail.

The example counts are what one `make test` can afford (1500/300/100 cost a tenth of the suite's CPU time;
600 draws still give each covered type about eight random resources). On a workstation every run draws new
examples, so runs add up, and a failing one is kept in .hypothesis/ and replayed first; on CI (a `CI` variable
set) Hypothesis's own `ci` profile derandomizes, so there each run checks the same examples.

Infinity and NaN are left out: the engine cannot send them (its wire form is JSON). The pack fails an
Analyze/AnalyzeStack call (gRPC error) when a rule raises anything but the SDK's
unknown-value error; reading an unknown makes the SDK answer "can't run policy" instead, which the rules
avoid by design. Both are asserted absent.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
import rules
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rules.encryption import BUCKET_POLICY_TYPES, BUCKET_TYPES
from rules.naming import NAME_SPECS

from tools.analyzer import SIG_KEY, UNKNOWN, WireResource, make_urn, wire_resource

COVERED = sorted({t for r in rules.RULES for t in r.types} | set(NAME_SPECS) | set(BUCKET_TYPES) | set(
    BUCKET_POLICY_TYPES) | {"aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
                            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                            "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
                            "aws:ec2/securityGroupRule:SecurityGroupRule"})
KEYS = sorted({"name", "bucket", "identifier", "replicationGroupId", "family", "storageEncrypted", "kmsKeyId",
               "publiclyAccessible", "multiAz", "protocol", "port", "sslPolicy", "defaultActions", "redirect", "type",
               "containerDefinitions", "environment", "policy", "inlinePolicies", "Statement", "Action", "Resource",
               "Effect", "rules", "applyServerSideEncryptionByDefault", "sseAlgorithm", "kmsMasterKeyId",
               "ingress", "cidrBlocks", "cidrIpv4", "fromPort", "toPort", "ipProtocol", "securityGroupId",
               "accessLogs", "securityGroups", "networkConfiguration", "assignPublicIp", "ecsTarget",
               "encryptionConfigurations", "encryptionType", "imageScanningConfiguration", "scanOnPush",
               "imageTagMutability", "retentionInDays", "parameters", "value", "artifactStores", "encryptionKey",
               "artifacts", "encryptionDisabled", "enableKeyRotation", "customerMasterKeySpec", "namePrefix",
               "backupRetentionPeriod", "deletionProtection", "automaticFailoverEnabled", "atRestEncryptionEnabled",
               "transitEncryptionEnabled", "performanceInsightsEnabled", "description", "sqsManagedSseEnabled",
               "NotAction", "NotResource", "policyArn", "managedPolicyArns", "serverSideEncryptionConfiguration",
               "rule", "engine", "engineVersion", "parameterGroupName", "dbClusterParameterGroupName", "command",
               "entryPoint", "variables", "kmsKeyArn", "metadataOptions", "httpTokens", "httpEndpoint",
               "associatePublicIpAddress", "subnetId", "userData", "rootBlockDevice", "ebsBlockDevices",
               "blockDeviceMappings", "ebs", "encrypted", "accessLogSettings", "destinationArn", "securityPolicy",
               "domainNameConfiguration", "loadBalancerType", "internal", "loadBalancerArn"})

scalars = st.one_of(st.none(), st.booleans(), st.integers(-2, 70000), st.floats(allow_nan=False, allow_infinity=False),
                    st.text(max_size=80), st.just(UNKNOWN), st.just("0.0.0.0/0"), st.just("*"),
                    st.just("HTTPS"), st.just("HTTP"), st.just("aws:kms"), st.just("AES256"),
                    st.just('{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}'),
                    st.just('[{"name": "web", "environment": [{"name": "API_TOKEN"}]}]'),
                    st.just('[{"name": "web", "command": ["--password", "x"], "entryPoint": "sh -c \'A_TOKEN=1\'"}]'),
                    st.just("network"), st.just("required"), st.just("default.postgres14"),
                    st.just("AKIAIOSFODNN7EXAMPLE"))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS), inner, max_size=5)), max_leaves=12)
props = st.dictionaries(st.sampled_from(KEYS), values, max_size=8)
resources = st.builds(lambda t, n, p: WireResource(t, n, p, urn=make_urn(t, n)), st.sampled_from(COVERED),
                      st.text(min_size=1, max_size=40), props)


def _fails(found) -> list[str]:
    return [d.message for d in found if "can't run policy" in d.message]


@settings(max_examples=600, deadline=None, suppress_health_check=list(HealthCheck))
@given(resource=resources)
def test_analyze_never_errors(pack_process, resource: WireResource) -> None:
    assert _fails(pack_process.analyze(resource)) == []


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(stack=st.lists(resources, max_size=8))
def test_analyze_stack_never_errors(pack_process, stack: list[WireResource]) -> None:
    if len(stack) > 1:  # wire some property dependencies between random resources
        stack[0].property_dependencies = {"bucket": [stack[1].urn], "securityGroupId": [stack[-1].urn]}
    assert _fails(pack_process.analyze_stack(stack)) == []


# --- AnalyzeStack over a real graph: every property path of every resource's outputs, every type -------------

def _with(value, path: tuple, replacement):
    """`value` with the node at `path` replaced (a secret envelope is entered through its `value`)."""
    if not path:
        return replacement
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _with(value[head], rest, replacement)}
    return [_with(v, rest, replacement) if i == head else v for i, v in enumerate(value)]


def _paths(value, prefix: tuple = ()) -> list[tuple]:
    """Every node below `value`, containers included; the secret envelope's signature is not a property."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            if key != SIG_KEY:
                found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


def _at_depth(value, depth: int, replacement):
    """`value` with every node `depth` levels down replaced."""
    if depth == 0:
        return replacement
    if isinstance(value, dict) and SIG_KEY in value:  # a secret: its value is the property
        return {**value, "value": _at_depth(value["value"], depth, replacement)}
    if isinstance(value, dict):
        return {k: _at_depth(v, depth - 1, replacement) for k, v in value.items()}
    if isinstance(value, list):
        return [_at_depth(v, depth - 1, replacement) for v in value]
    return value


@pytest.fixture(scope="module")
def outputs(dev) -> list[WireResource]:
    return [wire_resource(r, state="outputs") for r in dev.resources]


REPLACEMENTS = [{"bucket": "x", "id": ["y"]}, ["a", {"b": 1}], 3.0, True, None, "", UNKNOWN, "0.0.0.0/0"]


@pytest.mark.parametrize("replacement", REPLACEMENTS, ids=[type(r).__name__ for r in REPLACEMENTS])
def test_analyze_stack_survives_any_type_at_every_depth(pack_process, outputs, replacement) -> None:
    """Every node at each depth of every resource's outputs replaced at once: joins see lists and maps (these
    raised `unhashable type` before) and every rule meets the wrong type everywhere."""
    pack_process.configure({})
    for depth in range(1, 7):
        stack = [replace(r, props=_at_depth(r.props, depth, replacement)) for r in outputs]
        assert _fails(pack_process.analyze_stack(stack)) == []


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_analyze_stack_survives_random_values_at_random_paths(pack_process, outputs, data) -> None:
    stack = list(outputs)
    for _ in range(data.draw(st.integers(1, 12))):
        index = data.draw(st.integers(0, len(stack) - 1))
        paths = _paths(stack[index].props)
        if not paths:
            continue
        path = data.draw(st.sampled_from(paths))
        stack[index] = replace(stack[index], props=_with(stack[index].props, path, data.draw(values)))
    assert _fails(pack_process.analyze_stack(stack)) == []

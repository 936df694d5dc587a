"""Property test: random, missing, unknown and mistyped values for every covered type never make the pack fail.

Infinity and NaN are left out: the engine cannot send them (its wire form is JSON). The pack fails an
Analyze/AnalyzeStack call (gRPC error) when a rule raises anything but the SDK's
unknown-value error; reading an unknown makes the SDK answer "can't run policy" instead, which the rules
avoid by design. Both are asserted absent.
"""

from __future__ import annotations

import rules
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rules.encryption import BUCKET_POLICY_TYPES, BUCKET_TYPES
from rules.naming import NAME_SPECS

from tools.analyzer import UNKNOWN, WireResource, make_urn

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
               "rule", "engine"})

scalars = st.one_of(st.none(), st.booleans(), st.integers(-2, 70000), st.floats(allow_nan=False, allow_infinity=False),
                    st.text(max_size=80), st.just(UNKNOWN), st.just("0.0.0.0/0"), st.just("*"),
                    st.just("HTTPS"), st.just("HTTP"), st.just("aws:kms"), st.just("AES256"),
                    st.just('{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}'),
                    st.just('[{"name": "web", "environment": [{"name": "API_TOKEN"}]}]'))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS), inner, max_size=5)), max_leaves=12)
props = st.dictionaries(st.sampled_from(KEYS), values, max_size=8)
resources = st.builds(lambda t, n, p: WireResource(t, n, p, urn=make_urn(t, n)), st.sampled_from(COVERED),
                      st.text(min_size=1, max_size=40), props)


def _fails(found) -> list[str]:
    return [d.message for d in found if "can't run policy" in d.message]


@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
@given(resource=resources)
def test_analyze_never_errors(pack_process, resource: WireResource) -> None:
    assert _fails(pack_process.analyze(resource)) == []


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(stack=st.lists(resources, max_size=8))
def test_analyze_stack_never_errors(pack_process, stack: list[WireResource]) -> None:
    if len(stack) > 1:  # wire some property dependencies between random resources
        stack[0].property_dependencies = {"bucket": [stack[1].urn], "securityGroupId": [stack[-1].urn]}
    assert _fails(pack_process.analyze_stack(stack)) == []

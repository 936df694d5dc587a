"""KMS keys (rotation, aliases, key policies confined to the account) and default tags on everything."""

from __future__ import annotations

import json

import pytest

from tests.harness import ACCOUNT_ID, Graph, statements

KEY = "aws:kms/key:Key"


@pytest.mark.parametrize("purpose", ["data", "telemetry"])
def test_keys_rotate_and_have_an_alias(stack_graph: Graph, purpose: str):
    key = stack_graph.one(KEY, f"*-platform-{purpose}-kms")
    assert key.inputs["enableKeyRotation"] is True and key.inputs["rotationPeriodInDays"] == 365
    alias = stack_graph.one("aws:kms/alias:Alias", f"*-platform-{purpose}-kms")
    assert alias.inputs["targetKeyId"] == key.outputs["keyId"]
    assert alias.inputs["name"] == f"alias/{key.name}"


def test_deletion_window_and_protection_per_env(dev: Graph, prod: Graph):
    for key in dev.of_type(KEY):
        assert key.inputs["deletionWindowInDays"] == 7 and not key.protect
    for key in prod.of_type(KEY):
        assert key.inputs["deletionWindowInDays"] == 30 and key.protect and key.retain_on_delete


def test_data_key_admits_only_the_account(stack_graph: Graph):
    (root,) = statements(stack_graph.one(KEY, "*-data-kms"))
    assert root["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"}


def test_telemetry_key_admits_services_only_for_this_account_and_region(stack_graph: Graph):
    by_sid = {s["Sid"]: s for s in statements(stack_graph.one(KEY, "*-telemetry-kms"))}
    logs = by_sid["CloudWatchLogsEncryptsThisAccountsLogGroups"]
    assert logs["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}
    assert logs["Condition"] == {"ArnLike": {
        "kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:us-east-1:{ACCOUNT_ID}:log-group:*"}}
    alarms = by_sid["CloudWatchAlarmsOfThisAccountPublishToEncryptedTopics"]
    assert alarms["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert alarms["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT_ID},
                                   "ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:us-east-1:{ACCOUNT_ID}:alarm:*"}}
    # EventBridge's KMS requests for an encrypted topic carry no aws:SourceAccount / aws:SourceArn (SNS guide,
    # sns-key-management): a condition on them would silently drop every rule's notification.
    events = by_sid["EventBridgeDeliversToEncryptedTopicsAndQueues"]
    assert events["Principal"] == {"Service": "events.amazonaws.com"} and "Condition" not in events
    for statement in (logs, alarms, events):
        assert "kms:*" not in str(statement["Action"])
    assert {"kms:Decrypt", "kms:GenerateDataKey*"} == set(alarms["Action"]) == set(events["Action"])


def test_every_resource_uses_the_tagged_provider(stack_graph: Graph):
    provider = stack_graph.one("pulumi:providers:aws", "aws")
    tags = json.loads(provider.inputs["defaultTags"])["tags"]  # provider inputs travel as JSON strings
    assert tags == {"system": "django", "environment": tags["environment"], "managed-by": "pulumi",
                    "repository": "example-org/django-app", "pulumi-stack": tags["environment"]}
    assert tags["environment"] in ("dev", "prod")
    edge = [p for p in stack_graph.of_type("pulumi:providers:aws") if p.name == "aws-us-east-1"]
    for resource in stack_graph.custom():
        if edge and resource.provider.startswith(edge[0].urn + "::"):
            # CloudFront's viewer certificate, in us-east-1 (components/static_site.py), tagged the same way
            assert resource.type in ("aws:acm/certificate:Certificate",
                                     "aws:acm/certificateValidation:CertificateValidation"), resource.urn
            continue
        assert resource.provider.startswith(provider.urn + "::"), resource.urn
    for other in edge:
        assert other.inputs["region"] == "us-east-1"
        assert json.loads(other.inputs["defaultTags"]) == json.loads(provider.inputs["defaultTags"])


def test_default_provider_is_disabled_for_users_of_the_cli():
    import yaml

    from tools.mock_runtime import ROOT

    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert project["config"]["pulumi:disable-default-providers"]["value"] == ["aws"]

"""The preview role can run the preview of both stacks: every AWS call the program makes while it runs.

Under the mock runtime every provider function the program calls is recorded (Graph.invokes). Each
maps to the IAM actions the provider's implementation calls (pulumi-aws wraps terraform-provider-aws'
data sources); the table is checked against the preview role's policies: its inline policy, where the
statement names the action, and otherwise AWS's ReadOnlyAccess, whose action list (version v178) is in
read_only_access.json. Covered: the program's data sources during `pulumi preview`. Not covered here:
the provider's Read calls of `pulumi preview --refresh` (the workflows do not refresh); ReadOnlyAccess
grants the Describe/Get/List calls of every service the platform uses, and the role's deny on secret
values makes a refresh of a SecretVersion or SecureString parameter fail by design (docs/security.md).
"""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path

import pytest

from tests.bootstrap.test_bootstrap import bootstrap, inline
from tests.harness import ACCOUNT_ID, Graph
from tests.iam_documents import decide

READ_ONLY_ACCESS = json.loads((Path(__file__).parent / "read_only_access.json").read_text())

# Provider function -> the IAM actions it needs (`None`: answered by the provider without calling AWS).
INVOKE_ACTIONS: dict[str, tuple[str, ...]] = {
    # DescribeAvailabilityZones (terraform-provider-aws data source aws_availability_zones)
    "aws:index/getAvailabilityZones:getAvailabilityZones": ("ec2:DescribeAvailabilityZones",),
    # Needs no permission at all: https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html
    "aws:index/getCallerIdentity:getCallerIdentity": (),
    "aws:index/getRegion:getRegion": (),  # the provider's configured region
    "aws:index/getPartition:getPartition": (),  # derived from the region
    "aws:elb/getServiceAccount:getServiceAccount": (),  # a table inside the provider
    # Finds the zone by name and reads it with its tags (aws_route53_zone data source)
    "aws:route53/getZone:getZone": ("route53:ListHostedZones", "route53:GetHostedZone",
                                    "route53:ListTagsForResource"),
    # https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetRandomPassword.html
    "aws:secretsmanager/getRandomPassword:getRandomPassword": ("secretsmanager:GetRandomPassword",),
    # The release parameter, a plain String: no kms:Decrypt (components/release.py)
    "aws:ssm/getParameter:getParameter": ("ssm:GetParameter",),
}


def in_read_only_access(action: str) -> bool:
    return any(fnmatch.fnmatchcase(action.lower(), pattern.lower()) for pattern in READ_ONLY_ACCESS["actions"])


def resource_of(token: str, args: dict) -> str:
    if token == "aws:ssm/getParameter:getParameter":
        return f"arn:aws:ssm:us-east-1:{ACCOUNT_ID}:parameter{args['name']}"
    return "*"


@pytest.fixture(scope="module")
def preview_statements() -> list[dict]:
    statements = inline(bootstrap(), "preview")
    # ReadOnlyAccess as one more Allow statement, the way IAM adds up a role's policies
    return [*statements, {"Effect": "Allow", "Action": READ_ONLY_ACCESS["actions"], "Resource": "*"}]


def test_every_provider_function_the_program_calls_is_in_the_table(dev: Graph, prod: Graph):
    called = {token for graph in (dev, prod) for token, _ in graph.invokes}
    assert called, "the mock runtime records the program's invokes"
    assert called - set(INVOKE_ACTIONS) == set(), "map the new function to the IAM actions it calls"
    assert "aws:secretsmanager/getRandomPassword:getRandomPassword" in called


def test_the_preview_role_may_make_every_call_a_preview_of_either_stack_makes(dev: Graph, prod: Graph,
                                                                              preview_statements):
    refused = []
    for stack, graph in (("dev", dev), ("prod", prod)):
        for token, args in graph.invokes:
            for action in INVOKE_ACTIONS[token]:
                verdict = decide(preview_statements, action, resource_of(token, args))
                if verdict != "allowed":
                    refused.append(f"{stack}: {token} needs {action}: {verdict}")
    assert refused == [], "\n".join(refused)


def test_what_grants_each_call(preview_statements):
    """ReadOnlyAccess grants the reads; GetRandomPassword is not in it and needs the inline statement."""
    needed = {a for actions in INVOKE_ACTIONS.values() for a in actions}
    from_managed = {a for a in needed if in_read_only_access(a)}
    assert from_managed == {"ec2:DescribeAvailabilityZones", "route53:ListHostedZones", "route53:GetHostedZone",
                            "route53:ListTagsForResource", "ssm:GetParameter"}
    assert needed - from_managed == {"secretsmanager:GetRandomPassword"}
    inline_only = [s for s in preview_statements[:-1] if s["Effect"] == "Allow"]
    assert decide(inline_only, "secretsmanager:GetRandomPassword") == "allowed"


def test_the_preview_role_still_reads_no_secret_value(preview_statements):
    secret = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT_ID}:secret:django-prod-cache-auth-token-secret-AbCdEf"
    assert decide(preview_statements, "secretsmanager:GetSecretValue", secret) == "denied"
    parameter = f"arn:aws:ssm:us-east-1:{ACCOUNT_ID}:parameter/django/prod/app/DATABASE_HOST"
    assert decide(preview_statements, "ssm:GetParameter", parameter) == "denied"
    release = f"arn:aws:ssm:us-east-1:{ACCOUNT_ID}:parameter/django/prod/release/image-tag"
    assert decide(preview_statements, "ssm:GetParameter", release) == "allowed"
    assert decide(preview_statements, "s3:GetObject", "arn:aws:s3:::someone-elses-bucket/key") == "denied"


# Prefixes whose reads ReadOnlyAccess grants under an older name of the same service: AWS renamed
# CodeStar Connections to CodeConnections and accepts both prefixes
# (https://docs.aws.amazon.com/dtconsole/latest/userguide/rename.html).
READ_UNDER = {"codeconnections": "codestar-connections"}


def test_read_only_access_reads_every_service_the_stacks_use(dev: Graph, prod: Graph):
    """What a `--refresh` would need at the service level: Describe/Get/List of every resource's service."""
    from tests.bootstrap.test_bootstrap import service_of

    used = {service_of(r.type) for graph in (dev, prod) for r in graph.custom()}
    granted = {a.split(":")[0] for a in READ_ONLY_ACCESS["actions"]}
    missing = {s for s in used if READ_UNDER.get(s, s) not in granted}
    assert missing == set(), f"ReadOnlyAccess has no reads of {missing}: a refresh needs an inline statement"

"""Every IAM document the platform's dev and prod stacks and the bootstrap create, linted with parliament.

Documents are collected from the recorded graphs by shape (tests/iam_documents.py): trust, inline and
managed policies, key, bucket, topic and queue policies, and whatever a new component adds. Every
finding fails the test unless a suppression below matches it, and each suppression says why; a
suppression that no longer matches anything fails too, so the list never outlives its reasons.
Action names (wildcards must expand to at least one action) and the condition keys used with them are
checked against parliament's IAM definitions, taken from AWS's Service Authorization Reference
(UNKNOWN_ACTION, UNKNOWN_PREFIX, UNKNOWN_CONDITION_FOR_ACTION). IAM actions are not API operations
(s3:ListBucket is ListObjectsV2, ecr:PutImage has no API), so botocore's models are no reference for them.
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass
from pathlib import Path

import parliament
import pytest

from tests.harness import Graph, run_stack
from tests.iam_documents import Document, documents

BOOTSTRAP = Path(__file__).resolve().parent.parent / "bootstrap"


@dataclass(frozen=True)
class Suppression:
    issue: str
    where: str  # glob over "<type> <resource name> .<property>"
    detail: str  # glob over the finding's detail
    reason: str


TRUST = "aws:iam/role:Role * .assumeRolePolicy"
KEY_POLICY = "aws:kms/key:Key * .policy"
SUPPRESSIONS = (
    Suppression("MALFORMED", TRUST, "*neither Resource nor NotResource*",
                "a trust policy has no Resource: the role is the resource (parliament lints identity policies)"),
    Suppression("UNKNOWN_FEDERATION_SOURCE", TRUST, "*:oidc-provider/token.actions.githubusercontent.com",
                "GitHub's OIDC provider, as AWS documents it: https://docs.aws.amazon.com/IAM/latest/UserGuide/"
                "id_roles_providers_create_oidc.html; parliament knows only a few federation sources"),
    Suppression("RESOURCE_STAR", KEY_POLICY, "*",
                "in a key policy Resource \"*\" means this key: https://docs.aws.amazon.com/kms/latest/"
                "developerguide/key-policy-overview.html"),
    Suppression("RESOURCE_STAR", "aws:kms/keyPolicy:KeyPolicy * .policy", "*",
                "the same key policy, as its own resource (components/static_site.py: it names the distribution): "
                "Resource \"*\" means this key"),
    Suppression("UNKNOWN_CONDITION_FOR_ACTION", "aws:kms/key:Key *-telemetry-kms .policy",
                "*kms:EncryptionContext:aws:logs:arn for action kms:Describe*",
                "CloudWatch Logs' documented key policy grants kms:Describe* under this condition: "
                "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html"),
    Suppression("MISMATCHED_TYPE", "aws:kms/key:Key *-telemetry-kms .policy", "*ArnLike requires a value of type Arn*",
                "kms:EncryptionContext:aws:logs:arn holds a log group ARN; AWS's example compares it with "
                "ArnLike (same page as above)"),
    Suppression("UNKNOWN_CONDITION_FOR_ACTION", "aws:s3/bucketPolicy:BucketPolicy *-bootstrap-state-* .policy",
                "*s3:TlsVersion*",
                "a Deny of s3:* below TLS 1.2: the key is absent on a few actions, which the deny then does not "
                "cover; AWS's example does the same: https://docs.aws.amazon.com/AmazonS3/latest/userguide/"
                "amazon-s3-policy-keys.html#example-object-tls-version"),
    Suppression("MISMATCHED_TYPE", "aws:s3/bucketPolicy:BucketPolicy *-bootstrap-state-* .policy",
                "*s3:TlsVersion requires a value of type Numeric*",
                "TLS versions are decimals (1.2); parliament's Numeric pattern takes integers only, and a JSON number "
                "crashes it. A string is a valid numeric condition value in IAM"),
    Suppression("RESOURCE_STAR", "aws:iam/policy:Policy *-bootstrap-platform-boundary-policy .policy", "*",
                "a permissions boundary is a ceiling, not a grant: each platform role's own policy scopes resources"),
    Suppression("RESOURCE_STAR", "aws:iam/rolePolicy:RolePolicy *-bootstrap-github-deploy-*-policy .policy", "*",
                "the deploy role creates the platform's resources, whose ARNs do not exist before; limited to the "
                "platform's services and regions, IAM scoped by name and boundary (docs/security.md)"),
    Suppression("MISMATCHED_TYPE_BUT_USABLE",
                "aws:iam/rolePolicy:RolePolicy *-bootstrap-github-deploy-*-policy .policy",
                "*StringEquals requires a value of type String but given Arn*",
                "iam:PermissionsBoundary compared with StringEquals, as in AWS's example: https://docs.aws.amazon.com/"
                "IAM/latest/UserGuide/access_policies_boundaries.html"),
    Suppression("INVALID_ARN", "aws:iam/rolePolicy:RolePolicy *-bootstrap-github-deploy-*-policy .policy",
                "Account expected to be of form like 123456789012",
                "AWS managed policies have the account `aws` in their ARN (arn:aws:iam::aws:policy/ReadOnlyAccess)"),
    # The delivery pipeline (components/delivery_pipeline.py): RegisterTaskDefinition and DescribeTasks are
    # scoped to the families and the cluster; ListTasks is authorized on container instances only.
    Suppression("RESOURCE_STAR", "aws:iam/rolePolicy:RolePolicy *-delivery-cp .policy", "*'ecs:ListTasks'*",
                "ListTasks takes the container instance, not the task, as resource (Fargate has none); the statement "
                "is conditioned on ecs:cluster"),
    Suppression("RESOURCE_MISMATCH", "aws:iam/rolePolicy:RolePolicy *-pipeline-build-cb .policy",
                "*ecr:BatchImportUpstreamImage*",
                "ECR grants it on the cached repositories, as in its own policy example scoped to "
                "repository/<prefix>/*: https://docs.aws.amazon.com/AmazonECR/latest/userguide/pull-through-cache.html"
                "; parliament's definitions predate that"),
    Suppression("RESOURCE_MISMATCH", "aws:iam/rolePolicy:RolePolicy *-delivery-cp .policy",
                "*codestar-connections:UseConnection*",
                "the connection ARN is arn:aws:codeconnections:...; AWS accepts both prefixes' actions on it: "
                "https://docs.aws.amazon.com/dtconsole/latest/userguide/rename.html"),
)


@pytest.fixture(scope="module")
def every_document(dev: Graph, prod: Graph) -> list[tuple[str, Document]]:
    bootstrap = run_stack("bootstrap", project_dir=BOOTSTRAP)
    return [(stack, d) for stack, graph in (("dev", dev), ("prod", prod), ("bootstrap", bootstrap))
            for d in documents(graph)]


def findings(document: Document) -> list[tuple[str, str]]:
    policy = parliament.analyze_policy_string(json.dumps(document.policy))
    return [(f.issue, str(f.detail)) for f in policy.findings]


def suppression_for(document: Document, issue: str, detail: str) -> Suppression | None:
    return next((s for s in SUPPRESSIONS if s.issue == issue and fnmatch.fnmatchcase(document.where, s.where)
                 and fnmatch.fnmatchcase(detail, s.detail)), None)


def test_the_collector_finds_every_kind_of_document(every_document):
    kinds = {d.where.split(" ")[0] + " ." + d.prop for _, d in every_document}
    assert kinds >= {
        "aws:iam/role:Role .assumeRolePolicy", "aws:iam/rolePolicy:RolePolicy .policy",
        "aws:iam/policy:Policy .policy", "aws:kms/key:Key .policy", "aws:s3/bucketPolicy:BucketPolicy .policy",
        "aws:sns/topicPolicy:TopicPolicy .policy", "aws:sqs/queuePolicy:QueuePolicy .policy"}


def test_every_document_passes_parliament(every_document):
    unexplained, used = [], set()
    for stack, document in every_document:
        for issue, detail in findings(document):
            suppression = suppression_for(document, issue, detail)
            if suppression is None:
                unexplained.append(f"{stack}: {document.where}: {issue} {detail[:300]}")
            else:
                used.add(suppression)
    assert unexplained == [], "\n".join(unexplained)
    stale = [s for s in SUPPRESSIONS if s not in used]
    assert stale == [], f"these suppressions match nothing any more; remove them: {stale}"


@pytest.mark.parametrize("policy, issue", [
    ({"Effect": "Allow", "Action": "sns:Receive", "Resource": "*"}, "UNKNOWN_ACTION"),
    ({"Effect": "Allow", "Action": "ecs:RegisterTaskDefinition", "Resource": "*",
      "Condition": {"StringEquals": {"ecs:cluster": "x"}}}, "UNKNOWN_CONDITION_FOR_ACTION"),
    ({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket"}, "RESOURCE_MISMATCH"),
])
def test_the_linter_catches_what_it_is_here_for(policy, issue):
    document = Document("test", "test", "policy", {"Version": "2012-10-17", "Statement": [policy]})
    assert issue in [i for i, _ in findings(document)]
    assert suppression_for(document, issue, "anything") is None

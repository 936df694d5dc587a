"""CrossGuard pack: `pulumi preview --policy-pack policies`. Rules live in rules/ (see README.md)."""

from pulumi_policy import EnforcementLevel, PolicyPack
from rules import PACK_NAME, policies, sdk

sdk.install()  # pack-wide settings for every rule, and one conversion of each request (see rules/sdk.py)

PolicyPack(
    name=PACK_NAME,
    policies=policies(),
    enforcement_level=EnforcementLevel.ADVISORY,  # each rule sets its own level; this only covers none set
    description="Naming convention, encryption at rest and in transit, and the AWS security baseline.",
    provider="aws",
)

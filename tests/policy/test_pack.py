"""The pack as a whole: analyzer info, config validation, exemptions, unknowns, environments, README."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import rules
from rules import docs

from tests.policy.conftest import PACK_DIR
from tests.policy.test_rules import LB, bucket_stack, rds, res
from tools.analyzer import UNKNOWN, PolicyConfigError, PolicyPackProcess


def test_analyzer_info_lists_every_rule_with_level_and_schema(pack) -> None:
    info = pack.process.info()
    assert info.name == rules.PACK_NAME
    assert [p.name for p in info.policies] == [r.id for r in rules.RULES]
    levels = {p.name: p.level for p in info.policies}
    assert levels["exemptions-applied"] == "advisory" and levels["rds-storage-encrypted"] == "mandatory"
    assert info.policy("s3-bucket-encrypted").stack_policy and not info.policy("rds-not-public").stack_policy
    assert all("exemptions" in p.config_schema for p in info.policies)
    assert info.policy("alb-https-tls-policy").config_schema["minimumTls"]["enum"] == ["1.2", "1.3"]


@pytest.mark.parametrize(("config", "error"), [
    ({"alb-https-tls-policy": {"minimumTls": "1.1"}}, "alb-https-tls-policy.minimumTls: minimumTls must be one of"),
    ({"naming-convention": {"system": "Django!"}}, "naming-convention.system: Does not match pattern"),
    ({"naming-convention": {"environments": []}}, "naming-convention.environments: Array must have at least 1"),
    ({"log-group-retention": {"minimumDays": "thirty"}}, "log-group-retention.minimumDays: Invalid type"),
    ({"rds-not-public": {"exemptions": [{"name": "db-*"}]}}, "rds-not-public.exemptions.0: reason is required"),
    ({"rds-not-public": {"exemptions": [{"name": "x", "reason": "y", "until": 1}]}}, "Additional property until"),
    ({"rds-not-public": "sometimes"}, "enforcement level 'sometimes'"),
])
def test_invalid_policy_config_is_rejected_with_the_key_named(pack, config: dict, error: str) -> None:
    with pytest.raises(PolicyConfigError) as caught:
        pack.configure(config)
    assert error in str(caught.value)


def test_levels_from_config_override_the_defaults(pack) -> None:
    public = rds(publiclyAccessible=True)
    assert [d.level for d in pack.analyze(public, config={"rds-not-public": "advisory"})
            if d.policy == "rds-not-public"] == ["advisory"]
    assert pack.analyze(public, config={"all": "disabled"}) == []


def test_exemption_by_name_glob_waives_the_finding_and_echoes_the_reason(pack) -> None:
    config = {"rds-not-public": {"exemptions": [{"name": "django-dev-db-*", "reason": "migration window, OPS-7"}]}}
    public = rds(publiclyAccessible=True)
    found = pack.preview([public], config=config)
    assert [d.policy for d in found if d.level == "mandatory" and d.policy == "rds-not-public"] == []
    echoed = [d for d in found if d.policy == "exemptions-applied"]
    assert len(echoed) == 1 and echoed[0].level == "advisory" and echoed[0].urn == public.urn
    assert "rds-not-public does not apply" in echoed[0].message and "migration window, OPS-7" in echoed[0].message


def test_all_mandatory_needs_exemptions_applied_kept_advisory(pack) -> None:
    """`all` sets exemptions-applied too (the README says so): a rule's own entry must keep it advisory."""
    exempt = {"rds-not-public": {"exemptions": [{"name": "django-dev-db-*", "reason": "OPS-7"}]}}
    public = rds(publiclyAccessible=True)
    trap = pack.preview([public], config={"all": "mandatory", **exempt})
    assert [(d.policy, d.level) for d in trap if d.mandatory] == [("exemptions-applied", "mandatory")]
    kept = pack.preview([public], config={"all": "mandatory", "exemptions-applied": "advisory", **exempt})
    assert [d for d in kept if d.mandatory] == [] and [d.policy for d in kept] == ["exemptions-applied"]


def test_exemption_by_urn_glob_on_a_stack_rule(pack) -> None:
    resources = bucket_stack(pab=False)
    config = {"s3-public-access-blocked": {"exemptions": [{"urn": "*::django-dev-web-logs-s3",
                                                           "reason": "public website bucket"}]}}
    found = pack.analyze_stack(*resources, config=config)
    assert [d.policy for d in found] == ["exemptions-applied"] and "public website bucket" in found[0].message
    other = {"s3-public-access-blocked": {"exemptions": [{"urn": "*::other", "reason": "x"}]}}
    assert [d.policy for d in pack.analyze_stack(*resources, config=other)] == ["s3-public-access-blocked"]


UNKNOWN_CASES = [
    rds(storageEncrypted=UNKNOWN, kmsKeyId=UNKNOWN, publiclyAccessible=UNKNOWN, identifier=UNKNOWN),
    res(LB, "django-dev-web-alb", None, name=UNKNOWN, enableDeletionProtection=UNKNOWN),
    res("aws:lb/listener:Listener", "l", None, protocol="HTTPS", sslPolicy=UNKNOWN),
    res("aws:lb/listener:Listener", "l", None, protocol="HTTP", defaultActions=UNKNOWN),
    res("aws:lb/listener:Listener", "l", None, protocol="HTTP", defaultActions=[{"type": "redirect",
                                                                                  "redirect": UNKNOWN}]),
    res("aws:cloudwatch/logGroup:LogGroup", "l", None, name=UNKNOWN, kmsKeyId=UNKNOWN, retentionInDays=UNKNOWN),
    res("aws:ecs/taskDefinition:TaskDefinition", "t", None, family="django-dev-web-task", containerDefinitions=UNKNOWN),
    res("aws:iam/rolePolicy:RolePolicy", "django-dev-x-role", None, policy=UNKNOWN),
    res("aws:ecr/repository:Repository", "r", None, name="django-dev-app-ecr", imageTagMutability=UNKNOWN,
        imageScanningConfiguration=UNKNOWN, encryptionConfigurations=UNKNOWN),
]


def test_unknown_values_are_silent_not_errors_or_advisories(pack) -> None:
    found = pack.analyze(*UNKNOWN_CASES, config={"all": "mandatory"})
    assert found == [], [d.message for d in found]
    stack = bucket_stack()
    stack[1].props["rules"] = UNKNOWN  # the encryption configuration's rules are computed
    stack[2].props["bucket"] = UNKNOWN
    assert [d for d in pack.analyze_stack(*stack) if d.policy.startswith("s3-")] == []


def test_environment_is_derived_from_the_stack_name() -> None:
    alb = res(LB, "alb", None, name="django-prod-web-alb")
    with PolicyPackProcess(PACK_DIR, stack="acme/django-platform/payments-prod") as process:
        process.configure({"naming-convention": {"system": "django"}})
        found = process.analyze(alb)
    assert [d.policy for d in found] == ["alb-production-deletion-protection"]  # prod rules on, name matches prod


def test_readme_is_generated_from_the_rules() -> None:
    readme = (PACK_DIR / "README.md").read_text()
    assert readme == docs.render(), "policies/README.md is stale: cd policies && python -m rules.docs --write"
    for rule in rules.RULES:
        assert f"| `{rule.id}`" in readme


def test_pack_does_not_import_pulumi_aws() -> None:
    for path in Path(PACK_DIR).rglob("*.py"):
        tree = ast.parse(path.read_text())
        imported = {n.name for node in ast.walk(tree) if isinstance(node, ast.Import) for n in node.names}
        imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert not any(name.startswith("pulumi_aws") for name in imported), path
    pins = [line.split("==")[0].lower().replace("_", "-") for line in (PACK_DIR / "requirements.txt").read_text()
            .splitlines() if "==" in line and not line.startswith("#")]
    assert "pulumi-policy" in pins and "pulumi-aws" not in pins

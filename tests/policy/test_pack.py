"""The pack as a whole: analyzer info, config validation, exemptions, unknowns, environments, README."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
import rules
from rules import docs

from tests.policy.conftest import PACK_DIR
from tests.policy.test_rules import LB, bucket_stack, rds, res, sg_stack
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


REPORTS_ADVISORY = {"pack-settings": "advisory", "unchecked-at-preview": "advisory", "exemptions-applied": "advisory"}


def test_all_mandatory_needs_the_reports_kept_advisory(pack) -> None:
    """`all` sets the three reports too (the README says so): their own entries must keep them advisory."""
    exempt = {"rds-not-public": {"exemptions": [{"name": "django-dev-db-*", "reason": "OPS-7"}]}}
    public = rds(publiclyAccessible=True)
    trap = pack.preview([public], config={"all": "mandatory", **exempt})
    assert [(d.policy, d.level) for d in trap if d.mandatory] == [("pack-settings", "mandatory"),
                                                                  ("exemptions-applied", "mandatory")]
    kept = pack.preview([public], config={"all": "mandatory", **REPORTS_ADVISORY, **exempt})
    assert [d for d in kept if d.mandatory] == []
    assert [d.policy for d in kept] == ["pack-settings", "exemptions-applied"]  # dev: production rules are off


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


def test_unknown_values_are_silent_not_errors_or_violations(pack) -> None:
    found = pack.analyze(*UNKNOWN_CASES, config={"all": "mandatory"})
    assert found == [], [d.message for d in found]
    stack = bucket_stack()
    stack[1].props["rules"] = UNKNOWN  # the encryption configuration's rules are computed
    stack[2].props["bucket"] = UNKNOWN
    assert [d for d in pack.analyze_stack(*stack) if d.policy.startswith("s3-")] == []


def test_unknown_secret_and_exposure_values_get_one_advisory_per_resource(pack) -> None:
    unknown_task = res("aws:ecs/taskDefinition:TaskDefinition", "t", None, family="django-dev-web-task",
                       containerDefinitions=UNKNOWN)
    unknown_db = rds(publiclyAccessible=UNKNOWN)
    known = rds(identifier="django-dev-db2-rds")
    found = [d for d in pack.preview([unknown_task, unknown_db, known]) if d.policy == "unchecked-at-preview"]
    assert [(d.urn, d.level) for d in found] == sorted([(unknown_db.urn, "advisory"), (unknown_task.urn, "advisory")])
    by_urn = {d.urn: d.message for d in found}
    assert "(rds-not-public: publiclyAccessible)" in by_urn[unknown_db.urn]
    assert "(ecs-task-no-plaintext-secrets: containerDefinitions)" in by_urn[unknown_task.urn]
    stack = [*sg_stack(), *bucket_stack()]
    stack[1].props["cidrIpv4"] = UNKNOWN
    stack[-1].props["restrictPublicBuckets"] = UNKNOWN
    found = [d for d in pack.analyze_stack(*stack) if d.policy == "unchecked-at-preview"]
    assert [d.urn for d in found] == sorted([stack[1].urn, stack[3].urn])  # the rule, the bucket
    off = pack.preview([unknown_task, unknown_db], config={"pack-settings": {"uncheckedAtPreview": False}})
    assert [d for d in off if d.policy == "unchecked-at-preview"] == []


@pytest.mark.parametrize(("stack", "production"), [
    ("acme/django-platform/payments-prod", True), ("production", True), ("shop-prd", True), ("live", True),
    ("payments-staging", False), ("stage", False), ("development", False)])
def test_environment_is_derived_from_the_stack_name_and_its_aliases(stack: str, production: bool) -> None:
    alb = res(LB, "alb", None, name="django-prod-web-alb")
    with PolicyPackProcess(PACK_DIR, stack=stack) as process:
        process.configure({"pack-settings": {"system": "django"}})
        found = process.preview([alb])
    policies = sorted(d.policy for d in found)
    if production:  # prod rules on, the name matches prod
        assert policies == ["alb-production-deletion-protection"], [d.message for d in found]
    else:  # not production: the name carries the wrong environment, and the advisory says prod rules are off
        assert policies == ["naming-convention", "pack-settings"], [d.message for d in found]
        assert "production rules are inactive" in next(d.message for d in found if d.policy == "pack-settings")


def test_unrecognized_stack_name_is_reported_once_and_custom_aliases_apply() -> None:
    alb = res(LB, "alb", None, name="django-qa-web-alb")
    with PolicyPackProcess(PACK_DIR, stack="team-sandbox") as process:
        process.configure({"pack-settings": {"system": "django"}})
        found = process.preview([alb])
        assert sorted(d.policy for d in found) == ["naming-convention", "pack-settings"]
        report = next(d for d in found if d.policy == "pack-settings")
        assert report.level == "advisory" and report.urn == ""  # one stack-level finding
        assert "the environment of stack 'team-sandbox' could not be recognized" in report.message
        process.configure({"pack-settings": {"system": "django", "environments": ["qa", "prod"],
                                             "environmentAliases": {"sandbox": "qa"}}})
        found = process.preview([alb])
    assert [d.policy for d in found] == ["pack-settings"] and "'qa' is not one of productionEnvironments" in \
        found[0].message


def test_autonaming_pattern_comes_from_the_stack_config() -> None:
    """`pulumi:autonaming` reaches the pack in PULUMI_CONFIG, as the CLI passes the stack config."""
    pattern = json.dumps({"providers": {"aws": {"pattern": "${project}-${stack}-${name}-${hex(6)}"}}})
    alb = res(LB, "web-alb", None, name="django-dev-web-alb-0a1b2c")
    with PolicyPackProcess(PACK_DIR, stack="dev", project="django", stack_config={"pulumi:autonaming": pattern}) \
            as process:
        process.configure({"pack-settings": {"system": "django"}})
        assert [d.policy for d in process.analyze(alb) if d.policy.startswith("naming")] == []
        wrong = process.analyze(res(LB, "webAlb", None, name="django-dev-webAlb-0a1b2c"))
    assert [d.policy for d in wrong if d.policy.startswith("naming")] == ["naming-convention"]


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

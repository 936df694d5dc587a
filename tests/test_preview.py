"""tools/preview.py: the offline preview's exit codes, tree, JSON shape, policy report and secret masking.

The preview runs in-process through `main(argv)` (one real subprocess checks the exit code path the
Makefile uses). A test-only policy pack, started over gRPC like the real one, makes the outcome of each
run depend only on its policy config: `forbidden-types` (mandatory) flags the listed types,
`echo-config` (advisory) repeats the stack config the pack received (secrets included, to prove the
preview masks them), `explode` raises inside the pack, and `stack-size` (advisory, stack policy)
proves AnalyzeStack ran.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.harness import SECRET_PLACEHOLDER, Graph
from tools.mock_runtime import ROOT, UNKNOWN_SECRET
from tools.preview import (
    EXIT_CONFIG,
    EXIT_INTERNAL,
    EXIT_MANDATORY,
    EXIT_OK,
    MASK,
    Masker,
    PreviewError,
    config_overrides,
    display_type,
    main,
    policy_config,
)

TEST_PACK = '''
import os

from pulumi_policy import (EnforcementLevel, PolicyConfigSchema, PolicyPack, ResourceValidationPolicy,
                           StackValidationPolicy)


def forbid(args, report):
    if args.resource_type in (args.get_config().get("types") or []):
        report(f"{args.resource_type} is forbidden in this stack: remove {args.name}")


def echo(args, report):
    if args.resource_type == args.get_config().get("type"):
        report("stack config seen by the pack: " + os.environ.get("PULUMI_CONFIG", ""))


def explode(args, report):
    if args.resource_type == args.get_config().get("type"):
        raise RuntimeError("a policy bug")


def size(args, report):
    report(f"{len(args.resources)} resources in the stack")


string = {"type": "string", "default": ""}
PolicyPack("preview-test", [
    ResourceValidationPolicy(
        "forbidden-types", "Resource types this stack may not use.", forbid, EnforcementLevel.MANDATORY,
        config_schema=PolicyConfigSchema({"types": {"type": "array", "items": {"type": "string"}, "default": []}})),
    ResourceValidationPolicy("echo-config", "Echoes the stack config.", echo, EnforcementLevel.ADVISORY,
                             config_schema=PolicyConfigSchema({"type": string})),
    ResourceValidationPolicy("explode", "Raises inside the pack.", explode, EnforcementLevel.ADVISORY,
                             config_schema=PolicyConfigSchema({"type": string})),
    StackValidationPolicy("stack-size", "Counts the resources of the stack.", size, EnforcementLevel.ADVISORY),
])
'''

NAT = "aws:ec2/natGateway:NatGateway"
FORBID_NAT = json.dumps({"forbidden-types": {"types": [NAT]}})


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> str:
    directory = tmp_path_factory.mktemp("preview-pack")
    (directory / "PulumiPolicy.yaml").write_text("runtime: python\nversion: 0.0.1\n")
    (directory / "__main__.py").write_text(TEST_PACK)
    return str(directory)


def preview(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["--stack", "dev", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_clean_run_exits_0_with_tree_counts_advisories_and_placeholder_note(
        pack: str, capsys: pytest.CaptureFixture[str], dev: Graph) -> None:
    code, out, _ = preview(capsys, "--policy-pack", pack)
    assert code == EXIT_OK  # the stack-size advisory does not fail the run
    lines = out.splitlines()
    assert re.fullmatch(r" \+   pulumi:pulumi:Stack\s+django-platform-dev\s+create\s+1 advisory", lines[3])
    network = next(i for i, line in enumerate(lines) if re.search(r"[├└]─ django-platform:network:Network", line))
    vpc = next(i for i, line in enumerate(lines) if "aws:ec2:Vpc" in line)
    assert vpc > network and re.search(r"│  [├└]─ aws:ec2:Vpc\s+django-dev-net-vpc\s+create$", lines[vpc])
    total = len(dev.resources) + 1
    assert f"    + {total} to create" in out
    by_type = Counter(r.type for r in dev.resources)
    for type_, count in by_type.items():
        assert re.search(rf"^\s+{count}  {re.escape(type_)}$", out, re.M), type_
    assert "    ⚠️  preview-test@v0.0.1" in out  # advisory only
    assert "- [advisory]  stack-size  (pulumi:pulumi:Stack: django-platform-dev)" in out
    assert f"{len(dev.resources)} resources in the stack" in out  # AnalyzeStack saw every resource
    assert "[mandatory]" not in out
    assert "provider-computed values" in out and "placeholders" in out


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_readme_command_passes_the_real_policy_pack(stack: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--stack", stack])  # `make preview [STACK=prod]`: default pack, policies/
    out = capsys.readouterr().out
    assert code == EXIT_OK, out[out.find("Policies:"):]
    assert re.search(r"^    (✅|⚠️ ) \S+@v\S+ \(local: policies\)$", out, re.M)


def test_mandatory_violation_exits_1_json_shape(pack: str, capsys: pytest.CaptureFixture[str], dev: Graph) -> None:
    code, out, _ = preview(capsys, "--policy-pack", pack, "--policy-pack-config", FORBID_NAT, "--json")
    assert code == EXIT_MANDATORY
    report = json.loads(out)
    assert set(report) >= {"version", "project", "stack", "stackUrn", "offline", "placeholders", "secretConfigKeys",
                           "resources", "edges", "counts", "outputs", "policyPacks", "violations", "summary",
                           "exitCode"}
    assert report["exitCode"] == code and report["offline"] is True and report["stack"] == "dev"
    assert len(report["resources"]) == len(dev.resources)
    assert report["counts"] == dict(Counter(r.type for r in dev.resources))
    vpc = next(r for r in report["resources"] if r["type"] == "aws:ec2/vpc:Vpc")
    assert set(vpc) >= {"urn", "type", "name", "parent", "custom", "protect", "dependencies", "inputs"}
    assert vpc["inputs"]["cidrBlock"] == "10.10.0.0/16"
    subnet = next(r for r in report["resources"] if r["type"] == "aws:ec2/subnet:Subnet")
    assert {"from": subnet["urn"], "to": vpc["urn"], "kind": "dependency", "properties": ["vpcId"]} in report["edges"]
    assert {"from": vpc["urn"], "to": vpc["parent"], "kind": "parent"} in report["edges"]
    mandatory = [v for v in report["violations"] if v["enforcementLevel"] == "mandatory"]
    nat = dev.one(NAT)
    assert [(v["policy"], v["urn"], v["type"], v["name"]) for v in mandatory] == [
        ("forbidden-types", nat.urn, NAT, nat.name)]
    assert report["summary"]["mandatory"] == 1 and report["summary"]["advisory"] == 1
    assert report["policyPacks"][0]["name"] == "preview-test"
    # Secrets: stack outputs marked secret and secret inputs show as [secret]; no generated value leaks.
    from pulumi.runtime import rpc

    assert SECRET_PLACEHOLDER not in out
    for key, output in dev.outputs.items():
        assert (report["outputs"][key] == MASK) == output["secret"], key
    recorded = {r.urn: r for r in dev.resources}
    for resource in report["resources"]:
        for prop, value in recorded[resource["urn"]].inputs.items():
            if rpc.is_rpc_secret(value):
                assert resource["inputs"][prop] == MASK


def test_config_override_reaches_the_program(pack: str, capsys: pytest.CaptureFixture[str]) -> None:
    # Without NAT gateways (and with the endpoints tasks then need) the same policy config passes.
    code, out, _ = preview(capsys, "--policy-pack", pack, "--policy-pack-config", FORBID_NAT, "--json",
                           "--config", "network.nat=none", "--config", "network.endpoints=[s3, ecr, logs]")
    report = json.loads(out)
    assert code == EXIT_OK and report["summary"]["mandatory"] == 0
    assert NAT not in report["counts"]


def test_mandatory_violation_from_a_real_subprocess_prints_the_cli_policy_block(pack: str) -> None:
    done = subprocess.run([sys.executable, "-m", "tools.preview", "--stack", "dev", "--policy-pack", pack,
                           "--policy-pack-config", FORBID_NAT], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == EXIT_MANDATORY, done.stderr
    block = done.stdout[done.stdout.index("Policies:"):]
    assert block.startswith("Policies:\n    ❌ preview-test@v0.0.1 (local: ")
    mandatory = block.index("- [mandatory]  forbidden-types  (aws:ec2/natGateway:NatGateway: django-dev-net-")
    assert mandatory < block.index("- [advisory]  stack-size")  # grouped: mandatory first
    assert "is forbidden in this stack" in block
    assert "Policy check FAILED: mandatory policy violations: 1 mandatory" in done.stdout


def test_invalid_config_exits_2_naming_every_bad_key(pack: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = preview(capsys, "--policy-pack", pack, "--config", "network.az_count=9",
                             "--config", "service.cpu=3")
    assert code == EXIT_CONFIG and out == ""
    assert "django-platform:network.az_count: got 9" in err and "django-platform:service.cpu: got 3" in err


def test_config_pairs_and_policy_config_files(tmp_path: Path) -> None:
    assert config_overrides(["django-platform:service.cpu=512", "aws:region=eu-west-1", "jobs=[]"]) == {
        "service.cpu": "512", "aws:region": "eu-west-1", "jobs": "[]"}
    with pytest.raises(PreviewError, match="KEY=VALUE") as caught:
        config_overrides(["service.cpu", "=1"])
    assert caught.value.code == EXIT_CONFIG and caught.value.keys == ["service.cpu", "=1"]
    config = tmp_path / "policy.json"
    config.write_text(FORBID_NAT)
    assert policy_config(str(config)) == json.loads(FORBID_NAT) == policy_config(FORBID_NAT)
    for bad in (str(tmp_path / "missing.json"), "[1]", "{"):
        with pytest.raises(PreviewError) as caught:
            policy_config(bad)
        assert caught.value.code == EXIT_CONFIG


def test_usage_and_policy_config_errors_exit_2(pack: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert preview(capsys, "--config", "no-equals-sign")[0] == EXIT_CONFIG
    assert preview(capsys, "--policy-pack", str(Path(pack).parent))[0] == EXIT_CONFIG  # not a pack
    assert preview(capsys, "--stack", "nosuchstack")[0] == EXIT_CONFIG
    assert preview(capsys, "--policy-pack", pack, "--policy-pack-config", "{not json")[0] == EXIT_CONFIG
    code, out, _ = preview(capsys, "--policy-pack", pack, "--json",
                           "--policy-pack-config", '{"forbidden-types": {"types": "x"}}')
    error = json.loads(out)["error"]
    assert code == EXIT_CONFIG and error["kind"] == "policy-config" and "forbidden-types.types" in error["message"]


def test_a_program_that_raises_exits_2_with_the_error(monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    def failing(*_args: object, **_kwargs: object) -> None:
        raise ValueError("the web tier needs a certificate")

    monkeypatch.setattr("tools.preview.run_stack", failing)
    code, out, err = preview(capsys, "--diagram", "dot")  # --diagram: no pack to start
    assert code == EXIT_CONFIG and out == ""
    assert "the program failed" in err and "ValueError: the web tier needs a certificate" in err


def test_a_policy_that_crashes_is_an_internal_error(pack: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = preview(capsys, "--policy-pack", pack,
                           "--policy-pack-config", '{"explode": {"type": "aws:ec2/vpc:Vpc"}}')
    assert code == EXIT_INTERNAL and "a policy bug" in err


def test_secret_config_is_a_placeholder_never_printed(pack: str, capsys: pytest.CaptureFixture[str],
                                                      tmp_path: Path) -> None:
    # Secret webhooks as `pulumi config set --secret --path 'monitoring.webhooks[0]' ...` writes them: each
    # gets the placeholder the setting declares (an https URL, so the check passes), none is printed.
    stack_file = tmp_path / "Pulumi.dev.yaml"
    stack_file.write_text((ROOT / "Pulumi.dev.yaml").read_text() + (
        "  django-platform:monitoring:\n"
        "    webhooks:\n"
        "      - secure: v1:c2VjcmV0LWNpcGhlcnRleHQ=\n"
        "      - secure: v1:b3RoZXItY2lwaGVydGV4dA==\n"))
    code, out, err = preview(capsys, "--policy-pack", pack, "--config-file", str(stack_file),
                             "--policy-pack-config", '{"echo-config": {"type": "aws:ec2/vpc:Vpc"}}')
    assert code == EXIT_OK, err
    assert len(re.findall(r"aws:sns:TopicSubscription\s+alarm-topic-webhook-[0-9a-f]{8}\s", out)) == 2
    echoed = out[out.index("stack config seen by the pack"):].splitlines()[0]
    assert echoed.count(MASK) == 2  # the pack got both placeholders, the output shows [secret]
    assert "offline-placeholder" not in out and "c2VjcmV0LWNpcGhlcnRleHQ" not in out and SECRET_PLACEHOLDER not in out
    assert ("Secret config cannot be decrypted offline: django-platform:monitoring was replaced by a placeholder"
            in out)
    code, out, _ = preview(capsys, "--config-file", str(stack_file), "--json")
    assert code == EXIT_OK and "offline-placeholder" not in out
    assert json.loads(out)["secretConfigKeys"] == ["django-platform:monitoring"]
    # A secure value where no key is secret (it would reach the task definition in plain text) is refused,
    # and the error says the placeholder was involved, without printing it.
    for extra, key in (("  django-platform:service:\n    environment:\n      SENTRY_DSN:\n        secure: v1:AAAA\n",
                        "service"), ("  django-platform:system:\n    secure: v1:AAAA\n", "system")):
        stack_file.write_text((ROOT / "Pulumi.dev.yaml").read_text() + extra)
        code, _, err = preview(capsys, "--config-file", str(stack_file))
        assert code == EXIT_CONFIG and f'django-platform:{key}: got "{MASK}"; expected no `secure:` value' in err
        assert f"django-platform:{key} cannot be decrypted offline" in err and "offline-placeholder" not in err


def test_generated_secrets_and_secret_outputs_are_masked(dev: Graph) -> None:
    from pulumi.runtime import rpc

    masker = Masker()
    secret_input = rpc.wrap_rpc_secret(f"{SECRET_PLACEHOLDER}007")
    assert masker.value({"a": secret_input, "b": [f"x {SECRET_PLACEHOLDER}012 y"], "c": 3}) == {
        "a": MASK, "b": [f"x {MASK} y"], "c": 3}
    assert masker.text(f"token={SECRET_PLACEHOLDER}123, key={UNKNOWN_SECRET}") == f"token={MASK}, key={MASK}"
    hook = "https://offline-placeholder-secret-12.invalid/webhook"  # declared by monitoring.webhooks
    assert masker.text(f'{{"webhooks": ["{hook}"]}}') == f'{{"webhooks": ["{MASK}"]}}'
    # On the real graph: no generated secret survives masking of any input, output or stack output.
    dumped = json.dumps([masker.value(r.inputs) for r in dev.resources]
                        + [masker.value(r.outputs) for r in dev.resources]
                        + [masker.value(o["value"]) for o in dev.outputs.values()], default=str)
    assert SECRET_PLACEHOLDER not in dumped


def test_display_type_is_the_clis_short_form() -> None:
    assert display_type("aws:ec2/vpc:Vpc") == "aws:ec2:Vpc"
    rule = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
    assert display_type(rule) == "aws:vpc:SecurityGroupIngressRule"
    assert display_type("aws:s3/bucketV2:BucketV2") == "aws:s3:BucketV2"
    assert display_type("django-platform:network:Network") == "django-platform:network:Network"
    assert display_type("aws:index/provider:Provider") == "aws:index:Provider"


def test_diagram_option_prints_only_the_diagram(capsys: pytest.CaptureFixture[str], dev: Graph) -> None:
    from tools.diagram import mermaid

    code, out, _ = preview(capsys, "--diagram", "mermaid")
    assert code == EXIT_OK and out == mermaid(dev)

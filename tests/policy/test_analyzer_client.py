"""tools/analyzer.py: starting a pack the CLI's way, the wire form, and the CLI's config reconciliation."""

from __future__ import annotations

import os
import resource
from pathlib import Path

import grpc
import pytest

from tools.analyzer import (
    UNKNOWN,
    AnalyzerInfo,
    PolicyConfigError,
    PolicyInfo,
    PolicyPackProcess,
    PolicyPackStartError,
    WireResource,
    make_urn,
    reconcile_config,
    secret,
    to_wire,
    wire_resource,
)

MINI_PACK = '''
import os
from pulumi_policy import EnforcementLevel, PolicyConfigSchema, PolicyPack, ResourceValidationPolicy

def validate(args, report):
    if args.props.get("bucket") == "bad":
        report(f"stack={os.environ['PULUMI_STACK']} n={args.get_config().get('n')}")

PolicyPack("mini", [ResourceValidationPolicy(
    "no-bad", "No bad buckets.", validate, EnforcementLevel.MANDATORY,
    config_schema=PolicyConfigSchema({"n": {"type": "integer", "default": 3}}))])
'''


@pytest.fixture(scope="module")
def mini(tmp_path_factory) -> PolicyPackProcess:
    pack = tmp_path_factory.mktemp("mini")
    (pack / "__main__.py").write_text(MINI_PACK)
    (pack / "PulumiPolicy.yaml").write_text("runtime: python\nversion: 0.1.0\n")
    with PolicyPackProcess(pack, stack="qa") as process:
        yield process


def test_pack_started_like_the_cli_answers_over_grpc(mini: PolicyPackProcess) -> None:
    info = mini.info()
    assert info.name == "mini" and info.policy("no-bad").level == "mandatory"
    mini.configure({"no-bad": {"n": 5}})
    found = mini.analyze(WireResource("aws:s3/bucket:Bucket", "b", {"bucket": "bad"}))
    assert [(d.policy, d.level) for d in found] == [("no-bad", "mandatory")]
    assert "stack=qa n=5" in found[0].message  # PULUMI_STACK reached the pack, config reached the policy
    assert found[0].urn == "urn:pulumi:qa::django-platform::aws:s3/bucket:Bucket::b"
    assert mini.analyze(WireResource("aws:s3/bucket:Bucket", "b", {"bucket": "good"})) == []


def test_unknown_sentinel_reaches_the_pack_as_unknown(mini: PolicyPackProcess) -> None:
    mini.configure()
    found = mini.analyze(WireResource("aws:s3/bucket:Bucket", "b", {"bucket": UNKNOWN}))
    assert [d.level for d in found] == ["advisory"] and "can't be known during preview" in found[0].message


def test_disabled_by_all_and_schema_violations_rejected(mini: PolicyPackProcess) -> None:
    mini.configure({"all": "disabled"})
    assert mini.analyze(WireResource("aws:s3/bucket:Bucket", "b", {"bucket": "bad"})) == []
    with pytest.raises(PolicyConfigError, match=r"no-bad.n: Invalid type. Expected: integer, given: string"):
        mini.configure({"no-bad": {"n": "x"}})
    with pytest.raises(PolicyConfigError, match="enforcement level 'loud'"):
        mini.configure({"no-bad": "loud"})
    with pytest.raises(PolicyConfigError, match="no policy of that name"):
        mini.configure({"typo": "mandatory"})


def test_reconcile_applies_defaults_all_then_policy_entries() -> None:
    info = AnalyzerInfo("p", "1", (
        PolicyInfo("a", "", "advisory", {"k": {"type": "array", "items": {"type": "string"}, "default": []}}, (),
                   False),
        PolicyInfo("b", "", "mandatory", {"r": {"type": "string", "minLength": 1}}, ("r",), True),
    ), {})
    assert reconcile_config(info, {"all": "mandatory", "a": "advisory", "b": {"r": "x"}}) == {
        "a": ("advisory", {"k": []}), "b": ("mandatory", {"r": "x"})}
    with pytest.raises(PolicyConfigError) as caught:
        reconcile_config(info, {"a": {"k": [1]}, "b": {"r": ""}})
    assert "a.k.0: Invalid type" in str(caught.value) and "b.r: String length" in str(caught.value)
    with pytest.raises(PolicyConfigError, match="b: r is required"):
        reconcile_config(info, {})


def test_start_failure_reports_stderr(tmp_path: Path) -> None:
    (tmp_path / "__main__.py").write_text("raise SystemExit('pack is broken')\n")
    with pytest.raises(PolicyPackStartError, match="pack is broken"):
        PolicyPackProcess(tmp_path, start_timeout=30).start()


def test_wire_form_of_mock_runtime_values() -> None:
    from pulumi.output import Unknown
    from pulumi.runtime.rpc import wrap_rpc_secret

    assert to_wire({"a": 1, "b": [True, None], "c": Unknown(), "d": wrap_rpc_secret("s")}) == {
        "a": 1.0, "b": [True, None], "c": UNKNOWN, "d": secret("s")}
    assert make_urn("aws:s3/bucket:Bucket", "x", "dev", "p", "urn:pulumi:dev::p::my:mod:Comp::c") == (
        "urn:pulumi:dev::p::my:mod:Comp$aws:s3/bucket:Bucket::x")


def test_wire_resource_keeps_camel_case_inputs_and_edges(dev) -> None:
    log_group = dev.one("aws:cloudwatch/logGroup:LogGroup", "*-net-flow-log")
    wire = wire_resource(log_group)
    assert "retentionInDays" in wire.props and "kmsKeyId" in wire.props  # recorded camelCase, as the engine sends
    assert isinstance(wire.props["retentionInDays"], float)
    assert wire.urn == log_group.urn and wire.property_dependencies == log_group.property_dependencies
    assert wire_resource(log_group, stack="prod").urn.startswith("urn:pulumi:prod::")
    assert "arn" in wire_resource(log_group, state="outputs").props


def test_a_pack_starts_in_a_process_holding_over_1024_descriptors(tmp_path):
    """A long test session or an editor may hold many files; select() cannot watch a descriptor past 1,023
    ("filedescriptor out of range in select()"), so the port is read through `selectors`."""
    pack = tmp_path / "mini"
    pack.mkdir()
    (pack / "__main__.py").write_text(MINI_PACK)
    (pack / "PulumiPolicy.yaml").write_text("runtime: python\nversion: 0.1.0\n")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert hard >= 1100, f"the hard limit on open files ({hard}) is too low to reproduce this"
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1100), hard))
    held = []
    try:
        with open(os.devnull) as devnull:
            while not held or held[-1] < 1030:
                held.append(os.dup(devnull.fileno()))
        with PolicyPackProcess(pack, stack="qa") as process:
            assert process.port > 0
    finally:
        for descriptor in held:
            os.close(descriptor)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_a_pack_that_fails_after_printing_its_port_is_stopped(tmp_path: Path) -> None:
    """A failure past the port line (here: no gRPC server behind it) must not leave the pack process running."""
    pid_file = tmp_path / "pid"
    (tmp_path / "__main__.py").write_text(f"import os, time\nopen({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
                                          "print(1, flush=True)\ntime.sleep(60)\n")
    with pytest.raises(grpc.FutureTimeoutError):
        PolicyPackProcess(tmp_path, start_timeout=1).start()
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)

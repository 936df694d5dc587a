"""The two CodeBuild buildspecs of the delivery pipeline, as data (tests parse them back).

build:   docker build of the checked-out commit, tagged with the commit id, pushed to ECR, and
         `imagedefinitions.json` ([{"name": <container>, "imageUri": <repo>:<commit>}]) for the ECS
         deploy action. Tags are immutable, so re-running a commit that was already pushed skips the
         build and reuses the image instead of failing on ImageTagAlreadyExistsException. With a
         static bucket (static.cdn), the collectstatic output inside that very image is published
         to it before anything deploys (`_PUBLISH_STATIC`).
migrate: registers a revision of the service's current task definition with the new image, runs it
         once on Fargate with the migrate command as a container override, in the private subnets with
         the batch security group and no public IP, waits for it to stop and fails the pipeline unless
         the container exited 0. Then the scheduled jobs' task definitions get a revision with the new
         image too, so jobs run the same code as the service, and the tag is released: written to the
         release parameter that `pulumi up` reads (components/release.py).

Both run with `bash -eo pipefail` semantics: every multi-line command starts with `set -euo pipefail`.
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

# Reads a task definition (stdin), points every container that runs an image of REPOSITORY_URI at
# IMAGE_URI, and prints what register-task-definition takes.
_RETAG = f"""retag() {{
  python3 -c '
import json, os, sys
definition = json.load(sys.stdin)
registrable = {json.dumps(list(REGISTRABLE_KEYS))}
for container in definition["containerDefinitions"]:
    if container["image"].startswith(os.environ["REPOSITORY_URI"] + ":"):
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


# Django's ManifestStaticFilesStorage names each file `name.<12 hex digits>.ext`: those never change, so they
# are cached for a year; everything else (the unhashed copies, the manifest) for five minutes. The AWS
# CLI's --exclude/--include take fnmatch patterns ("Use of Exclude and Include Filters", `aws s3`
# reference). No --delete: tasks still on the previous image (a rollout, a rollback) keep their files.
HASHED_STATIC_FILE = "*." + "[0-9a-f]" * 12 + ".*"
IMMUTABLE = "public, max-age=31536000, immutable"
SHORT_LIVED = "public, max-age=300"
_PUBLISH_STATIC = f"""{STRICT}
if [ -z "${{STATIC_BUCKET:-}}" ]; then
  echo "static.cdn is off: the web tasks serve the static files"
else
  CONTAINER=$(docker create "$IMAGE_URI")
  mkdir -p collected-static
  docker cp "$CONTAINER:$STATIC_ROOT/." collected-static/
  docker rm "$CONTAINER" >/dev/null
  if [ -z "$(ls -A collected-static)" ]; then
    echo "$STATIC_ROOT is empty in $IMAGE_URI: the Dockerfile must run collectstatic"; exit 1
  fi
  aws s3 sync collected-static/ "s3://$STATIC_BUCKET/static/" --exclude '{HASHED_STATIC_FILE}' \\
    --cache-control '{SHORT_LIVED}'
  aws s3 sync collected-static/ "s3://$STATIC_BUCKET/static/" --exclude '*' --include '{HASHED_STATIC_FILE}' \\
    --cache-control '{IMMUTABLE}'
  echo "Published the static files of $IMAGE_URI to s3://$STATIC_BUCKET/static/"
fi"""


def build_spec() -> str:
    """Environment: REPOSITORY_URI, REPOSITORY_NAME, CONTAINER_NAME, STATIC_BUCKET (empty: no CDN), STATIC_ROOT
    (project); COMMIT_ID (pipeline action)."""
    return dump({
        "version": 0.2,
        "env": {"shell": "bash"},
        "phases": {
            "pre_build": {"commands": [
                'IMAGE_TAG="${COMMIT_ID:-$CODEBUILD_RESOLVED_SOURCE_VERSION}"',
                'test -n "$IMAGE_TAG"',
                'IMAGE_URI="$REPOSITORY_URI:$IMAGE_TAG"',
                'aws ecr get-login-password --region "$AWS_REGION"'
                ' | docker login --username AWS --password-stdin "${REPOSITORY_URI%%/*}"',
            ]},
            "build": {"commands": [
                f"""{STRICT}
if aws ecr describe-images --repository-name "$REPOSITORY_NAME" --image-ids imageTag="$IMAGE_TAG" >/dev/null 2>&1; then
  echo "$IMAGE_URI already exists (tags are immutable): reusing it"
else
  docker build --tag "$IMAGE_URI" .
  docker push "$IMAGE_URI"
fi""",
                'printf \'[{"name":"%s","imageUri":"%s"}]\' "$CONTAINER_NAME" "$IMAGE_URI" > imagedefinitions.json',
                "cat imagedefinitions.json",
                _PUBLISH_STATIC,
            ]},
        },
        "artifacts": {"files": ["imagedefinitions.json"]},
    })


def migrate_spec() -> str:
    """Environment: CLUSTER, SERVICE, CONTAINER_NAME, REPOSITORY_URI, SUBNETS (comma-separated),
    SECURITY_GROUP, MIGRATE_COMMAND (JSON list), JOB_FAMILIES (space-separated, may be empty),
    RELEASE_PARAMETER (SSM parameter name: the released image tag)."""
    return dump({
        "version": 0.2,
        "env": {"shell": "bash"},
        "phases": {"build": {"commands": [f"{_PRELUDE}\n{_MIGRATE}", f"{_PRELUDE}\n{_ROLL_JOBS}",
                                          f"{_PRELUDE}\n{_RELEASE}"]}},
    })


# Every migrate command starts with: strict mode, retag(), and IMAGE_URI read from imagedefinitions.json.
_PRELUDE = f"""{STRICT}
{_RETAG}
IMAGE_URI=$(python3 -c 'import json, os; print(next(d["imageUri"] for d in json.load(open("imagedefinitions.json"))
  if d["name"] == os.environ["CONTAINER_NAME"]))')
export IMAGE_URI"""

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
# the parameter exists (Pulumi created it), and overwriting must not change what it is.
_RELEASE = """IMAGE_TAG="${IMAGE_URI##*:}"
aws ssm put-parameter --name "$RELEASE_PARAMETER" --value "$IMAGE_TAG" --overwrite >/dev/null
echo "Released $IMAGE_TAG to $RELEASE_PARAMETER (pulumi up deploys this tag from now on)"
""".rstrip("\n")

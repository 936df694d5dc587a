"""The release handoff (components/release.py): the pipeline writes the released tag, `pulumi up` reads it.

With `service.pipeline_owns_deployments` (default) the web service's and every job's task definition
take their tag from the live value of `/{system}/{env}/release/image-tag`; the parameter keeps the
pipeline's value (ignore_changes); the service no longer ignores `taskDefinition`. With the setting
off, `pulumi up` deploys `service.image_tag` and reads no parameter.
"""

from __future__ import annotations

import json

import pytest

from tests.harness import Graph, Resource, run_stack, statements
from tools.mock_runtime import PlaceholderMocks

PARAMETER = "aws:ssm/parameter:Parameter"
TASK = "aws:ecs/taskDefinition:TaskDefinition"
GET_PARAMETER = "aws:ssm/getParameter:getParameter"
RELEASED = "0123abc"  # what the pipeline wrote after a migration


def release_parameter(graph: Graph) -> Resource:
    return graph.one(PARAMETER, "*-release-image-tag-ssm")


def images(graph: Graph) -> dict[str, str]:
    """Task definition name -> image of its (single) container."""
    return {task.name: json.loads(task.inputs["containerDefinitions"])[0]["image"] for task in graph.of_type(TASK)}


@pytest.fixture(scope="module")
def released() -> Graph:
    """dev after the pipeline released RELEASED: the SSM parameter's live value is no longer service.image_tag."""
    call = PlaceholderMocks.call

    def live(self, args):  # type: ignore[no-untyped-def]
        if args.token == GET_PARAMETER and args.args["name"] == "/django/dev/release/image-tag":
            return {"name": args.args["name"], "value": RELEASED, "insecureValue": RELEASED, "type": "String"}, []
        return call(self, args)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(PlaceholderMocks, "call", live)
        return run_stack("dev")


def test_release_parameter_is_a_plain_string_created_with_the_configured_tag_and_owned_by_the_pipeline(
        stack_graph: Graph):
    parameter = release_parameter(stack_graph)
    assert parameter.inputs["name"] in ("/django/dev/release/image-tag", "/django/prod/release/image-tag")
    assert parameter.inputs["type"] == "String" and parameter.inputs["insecureValue"] == "bootstrap"
    assert "value" not in parameter.inputs  # `value` would make every task definition a secret
    assert parameter.ignore_changes == ["insecureValue"]  # `pulumi up` never writes service.image_tag back
    assert stack_graph.outputs["release_parameter_name"]["value"] == parameter.inputs["name"]


def test_service_and_jobs_run_the_released_tag_not_service_image_tag(released: Graph):
    repository = released.one("aws:ecr/repository:Repository").outputs["repositoryUrl"]
    found = images(released)
    # the worker runs the web service's image (and released tag) too
    assert set(found) == {"django-dev-web-task", "django-dev-job-clearsessions-task", "django-dev-worker-default-task"}
    assert set(found.values()) == {f"{repository}:{RELEASED}"}
    assert release_parameter(released).inputs["insecureValue"] == "bootstrap"  # still the creation value


def test_task_definitions_depend_on_the_release_parameter(stack_graph: Graph):
    # The invoke depends on the parameter: the engine reads it only once the parameter exists.
    parameter = release_parameter(stack_graph)
    for task in stack_graph.of_type(TASK):
        assert parameter.urn in task.property_dependencies["containerDefinitions"], task.name


def test_service_deploys_task_definition_changes_and_leaves_the_count_to_autoscaling(stack_graph: Graph):
    service = stack_graph.one("aws:ecs/service:Service", "*-web-svc")
    assert service.ignore_changes == ["desiredCount"]
    assert service.inputs["taskDefinition"] == stack_graph.one(TASK, "*-web-task").outputs["arn"]


def test_without_pipeline_ownership_pulumi_up_deploys_service_image_tag_and_reads_no_parameter():
    graph = run_stack("dev", {"service.pipeline_owns_deployments": "false", "service.image_tag": "v9.9.9"})
    parameter = release_parameter(graph)  # the pipeline still records its releases there
    assert parameter.inputs["insecureValue"] == "v9.9.9"
    repository = graph.one("aws:ecr/repository:Repository").outputs["repositoryUrl"]
    assert set(images(graph).values()) == {f"{repository}:v9.9.9"}
    for task in graph.of_type(TASK):
        assert parameter.urn not in task.property_dependencies["containerDefinitions"], task.name


def test_only_the_migrate_role_may_write_the_release_parameter_and_only_that_one(stack_graph: Graph):
    parameter = release_parameter(stack_graph)
    writers = {}
    for policy in stack_graph.of_type("aws:iam/rolePolicy:RolePolicy"):
        for statement in statements(policy):
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if any(a.startswith("ssm:Put") or a == "ssm:*" for a in actions):
                writers[policy.name] = statement
    (writer,) = writers
    assert writer.endswith("-pipeline-migrate-cb")
    (statement,) = writers.values()
    assert (statement["Action"], statement["Resource"]) == ("ssm:PutParameter", parameter.outputs["arn"])
    migrate = stack_graph.one("aws:codebuild/project:Project", "*-pipeline-migrate-cb")
    variables = {v["name"]: v["value"] for v in migrate.inputs["environment"]["environmentVariables"]}
    assert variables["RELEASE_PARAMETER"] == parameter.inputs["name"]


def test_a_release_by_digest_is_deployed_as_it_is():
    """The pipeline writes `<repository>@sha256:...`; older releases wrote a bare tag (above)."""
    digest_ref = "123456789012.dkr.ecr.us-east-1.amazonaws.com/django-dev-app-ecr@sha256:" + "b" * 64
    call = PlaceholderMocks.call

    def live(self, args):  # type: ignore[no-untyped-def]
        if args.token == GET_PARAMETER and args.args["name"] == "/django/dev/release/image-tag":
            return {"name": args.args["name"], "value": digest_ref, "insecureValue": digest_ref}, []
        return call(self, args)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(PlaceholderMocks, "call", live)
        graph = run_stack("dev")
    assert set(images(graph).values()) == {digest_ref}

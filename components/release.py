"""Release: the image the delivery pipeline released last, as an SSM parameter `pulumi up` reads.

The handoff between the pipeline and `pulumi up` (docs/delivery.md, "Who owns what after the first `pulumi up`"):
- `/{system}/{env}/release/image-tag` (String, not a secret) is created with `service.image_tag` and
  `ignore_changes` on its value: after creation only the pipeline writes it, from its migrate step,
  once the migration of a new image succeeded. It holds the image by digest, `<repository>@sha256:...`
  (releases before digests held a bare tag, still understood); its version history
  (`aws ssm get-parameter-history`) is the environment's release log.
- Every `pulumi up` reads its live value (an invoke that depends on the parameter, so the engine runs it
  after the parameter exists; while the parameter is still pending creation a preview shows the image as
  unknown) and builds the web service's and the jobs' task definitions with that image. So a
  configuration change made with `pulumi up` is deployed with the image that is released, and nothing
  rolls the service or a job back to `service.image_tag`.
- With `follow=False` (`service.pipeline_owns_deployments: false`) the parameter is not read: the image is
  `<repository>:<service.image_tag>`, and `pulumi up` deploys exactly that.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.context import StackContext


@dataclass
class ReleaseArgs:
    ctx: StackContext
    initial_image_tag: str  # service.image_tag: the parameter's value on creation
    repository_url: pulumi.Input[str]  # where a bare tag (the initial value, older releases) is looked up
    follow: bool = True  # read the released image (service.pipeline_owns_deployments); else use initial_image_tag


def image_reference(released: str, repository_url: str) -> str:
    """The released value as an image: `repo@sha256:...` as written by the pipeline, a bare tag in the repository."""
    return released if "@" in released or "/" in released else f"{repository_url}:{released}"


class Release(pulumi.ComponentResource):
    """The release parameter and the image the task definitions use."""

    image: pulumi.Output[str]
    released: pulumi.Output[bool]  # the image is one the pipeline released (or one configured to deploy as is)

    def __init__(self, name: str, args: ReleaseArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("django-platform:release:Release", name, None, opts)
        ctx = args.ctx
        self.parameter = aws.ssm.Parameter(
            ctx.namer.name("release", "ssm", "image-tag"),
            name=ctx.namer.path("release", "image-tag"),
            type="String",
            # insecure_value, not value: a tag is no secret, and `value` would make every task definition
            # that embeds it a secret in previews and state.
            insecure_value=args.initial_image_tag,
            description="Image (repository@digest) released by the delivery pipeline; pulumi up deploys it "
                        "(components/release.py)",
            # The pipeline owns the value after creation: `pulumi up` must never write service.image_tag back.
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["insecure_value"]),
        )
        self.parameter_name = self.parameter.name
        self.parameter_arn = self.parameter.arn
        if args.follow:
            released = aws.ssm.get_parameter_output(
                name=self.parameter.name,
                opts=pulumi.InvokeOutputOptions(parent=self, depends_on=[self.parameter]))
            # The provider marks `value` sensitive whatever the type; this String holds an image reference.
            value = pulumi.Output.unsecret(released.value)
            # Until the pipeline writes a release, the parameter holds service.image_tag, whose image the first
            # `pulumi up` cannot expect to exist (docs/deploy-safety.md): nothing to wait for or roll back to.
            self.released = value.apply(lambda tag: tag != args.initial_image_tag)
        else:
            value = pulumi.Output.from_input(args.initial_image_tag)
            self.released = pulumi.Output.from_input(True)  # the configured tag is the user's to have pushed
        self.image = pulumi.Output.all(value, args.repository_url).apply(lambda v: image_reference(v[0], v[1]))
        self.register_outputs({"parameter_name": self.parameter_name, "image": self.image})

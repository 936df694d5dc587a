"""Release: the image tag the delivery pipeline released last, as an SSM parameter `pulumi up` reads.

The handoff between the pipeline and `pulumi up` (docs/delivery.md, "Who owns what after the first `pulumi up`"):
- `/{system}/{env}/release/image-tag` (String, not a secret) is created with `service.image_tag` and
  `ignore_changes` on its value: after creation only the pipeline writes it, from its migrate step,
  once the migration of a new image succeeded.
- Every `pulumi up` reads its live value (an invoke that depends on the parameter, so the engine runs it
  after the parameter exists; while the parameter is still pending creation a preview shows the image as
  unknown) and builds the web service's and the jobs' task definitions with `<repository>:<that tag>`.
  So a configuration change made with `pulumi up` is deployed with the image that is released, and
  nothing rolls the service or a job back to `service.image_tag`.
- With `follow=False` (`service.pipeline_owns_deployments: false`) the parameter is not read: the tag is
  the configured one, and `pulumi up` deploys exactly `service.image_tag`.
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
    follow: bool = True  # read the released tag (service.pipeline_owns_deployments); else use initial_image_tag


class Release(pulumi.ComponentResource):
    """The release parameter and the image tag the task definitions use."""

    image_tag: pulumi.Output[str]
    released: pulumi.Output[bool]  # the tag is one the pipeline released (or one configured to deploy as is)

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
            description="Image tag released by the delivery pipeline; pulumi up deploys it (components/release.py)",
            # The pipeline owns the value after creation: `pulumi up` must never write service.image_tag back.
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["insecure_value"]),
        )
        self.parameter_name = self.parameter.name
        self.parameter_arn = self.parameter.arn
        if args.follow:
            released = aws.ssm.get_parameter_output(
                name=self.parameter.name,
                opts=pulumi.InvokeOutputOptions(parent=self, depends_on=[self.parameter]))
            # The provider marks `value` sensitive whatever the type; this String holds a Docker tag.
            self.image_tag = pulumi.Output.unsecret(released.value)
            # Until the pipeline writes a tag, the parameter holds service.image_tag, whose image the first
            # `pulumi up` cannot expect to exist (docs/deploy-safety.md): nothing to wait for or roll back to.
            self.released = self.image_tag.apply(lambda tag: tag != args.initial_image_tag)
        else:
            self.image_tag = pulumi.Output.from_input(args.initial_image_tag)
            self.released = pulumi.Output.from_input(True)  # the configured tag is the user's to have pushed
        self.register_outputs({"parameter_name": self.parameter_name, "image_tag": self.image_tag})

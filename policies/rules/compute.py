"""Lambda, EC2 and EBS: secrets in plain configuration, encryption, public exposure, instance metadata.

Resource types of the public programs in tests/policy/corpus that the pack's concerns apply to.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pulumi_policy import EnforcementLevel

from .core import Context, Resource, Rule, Unchecked, get, has_value, is_unknown, items, text, truthy
from .secrets import DEFAULT_ALLOWED_ENV_NAMES, SECRET_NAME_PATTERN, command_problems, environment_problems

LAMBDA = "aws:lambda/function:Function"
INSTANCE = "aws:ec2/instance:Instance"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
VOLUME = "aws:ebs/volume:Volume"
AWS_MANAGED_ALIASES = ("alias/aws/",)


def _lambda_secrets(resource: Resource, ctx: Context) -> Iterator[str | Unchecked]:
    variables = resource.get("environment.variables")
    if is_unknown(variables):
        yield Unchecked("environment.variables")
        return
    pattern = str(ctx.config.get("secretPattern") or SECRET_NAME_PATTERN)
    allowed = [g for g in ctx.config.get("allowedNames") or [] if isinstance(g, str)]
    for problem in environment_problems(variables if isinstance(variables, dict) else {}, pattern, allowed):
        yield (f"function {resource.name!r}: {problem} in plain `environment.variables`; store it in Secrets "
               "Manager or a SecureString parameter and read it at run time (or through the Parameters and "
               "Secrets Lambda extension).")


def _lambda_cmk(resource: Resource, ctx: Context) -> Iterator[str]:
    variables = resource.get("environment.variables")
    if not isinstance(variables, dict) or not variables:
        return  # nothing to encrypt (or not known yet)
    key = resource.get("kmsKeyArn")
    if is_unknown(key):
        return
    if text(key) is None or any(a in str(key) for a in AWS_MANAGED_ALIASES):
        yield (f"function {resource.name!r} has environment variables encrypted with the AWS-managed aws/lambda "
               "key; set kmsKeyArn to a customer-managed key.")


def _metadata_tokens(resource: Resource, ctx: Context) -> Iterator[str]:
    tokens = resource.get("metadataOptions.httpTokens")
    endpoint = resource.get("metadataOptions.httpEndpoint")
    if is_unknown(tokens) or endpoint == "disabled":
        return
    if tokens != "required":
        shown = tokens if isinstance(tokens, str) else "unset (optional unless the AMI says otherwise)"
        yield (f"{resource.name!r} accepts IMDSv1 (metadataOptions.httpTokens {shown}); set httpTokens: required "
               "so the instance metadata (and its role credentials) need a session token.")


def _public_instance(resource: Resource, ctx: Context) -> Iterator[str | Unchecked]:
    public = resource.get("associatePublicIpAddress")
    if is_unknown(public):
        yield Unchecked("associatePublicIpAddress")
    elif truthy(public):
        yield f"instance {resource.name!r} gets a public IP (associatePublicIpAddress: true)."
    elif not has_value(public) and not has_value(resource.get("subnetId")) and not has_value(
            resource.get("networkInterfaces")):
        # No subnet: the default VPC's default subnet, which gives every instance a public IPv4 address
        # (https://docs.aws.amazon.com/vpc/latest/userguide/default-vpc.html).
        yield (f"instance {resource.name!r} has no subnetId, so it runs in the default VPC's default subnet and "
               "gets a public IP; place it in a private subnet (associatePublicIpAddress: false).")


def _user_data_secrets(resource: Resource, ctx: Context) -> Iterator[str | Unchecked]:
    data = resource.get("userData")
    if is_unknown(data):
        yield Unchecked("userData")
        return
    for problem in command_problems([data] if isinstance(data, str) else []):
        yield (f"{resource.name!r}: userData {problem.removeprefix('argument 0 ')}; anyone who can describe the "
               "instance reads userData: fetch the secret at boot from Secrets Manager or SSM instead.")


def _unencrypted(device: Any) -> bool | None:
    """True when a block device is not encrypted, None when unknown."""
    if not isinstance(device, dict):
        return False
    encrypted = device.get("encrypted")
    if is_unknown(encrypted):
        return None
    return truthy(encrypted) is not True and not has_value(device.get("snapshotId"))  # a snapshot keeps its own


def _ebs(resource: Resource, ctx: Context) -> Iterator[str]:
    if ctx.config.get("accountEncryptsByDefault"):
        return
    devices: list[tuple[str, Any]] = []
    if resource.type == VOLUME:
        devices.append(("the volume", resource.props))
    elif resource.type == INSTANCE:
        devices.append(("rootBlockDevice", resource.get("rootBlockDevice", {})))
        devices += [(f"ebsBlockDevices[{i}]", d) for i, d in enumerate(items(resource.get("ebsBlockDevices")))]
    else:
        devices += [(f"blockDeviceMappings[{i}].ebs", get(d, "ebs", None))
                    for i, d in enumerate(items(resource.get("blockDeviceMappings"))) if isinstance(d, dict)
                    and isinstance(d.get("ebs"), dict)]
    for where, device in devices:
        if _unencrypted(device):
            yield f"{resource.name!r}: {where} is not encrypted; set encrypted: true (and kmsKeyId)."


SECRET_CONFIG: dict[str, dict[str, Any]] = {
    "secretPattern": {"type": "string", "default": SECRET_NAME_PATTERN, "minLength": 1,
                      "description": "Regex (Python) of variable names that look secret."},
    "allowedNames": {"type": "array", "items": {"type": "string"}, "default": DEFAULT_ALLOWED_ENV_NAMES,
                     "description": "Globs of names that only point at secrets (e.g. *_ARN)."},
}

RULES = [
    Rule("lambda-no-plaintext-secrets", "encryption", "Lambda functions pass no secret in plain environment "
         "variables (secret-looking names, credential-shaped values, passwords in URLs).", EnforcementLevel.MANDATORY,
         "read secrets at run time from Secrets Manager or SSM SecureString parameters.", (LAMBDA,), _lambda_secrets,
         config=SECRET_CONFIG),
    Rule("lambda-environment-cmk", "encryption", "Lambda functions with environment variables encrypt them with a "
         "customer-managed KMS key.", EnforcementLevel.MANDATORY, "set kmsKeyArn to a customer-managed KMS key.",
         (LAMBDA,), _lambda_cmk),
    Rule("ec2-user-data-no-secrets", "encryption", "EC2 user data holds no secret (credential-shaped values, "
         "secret assignments or flags with literal values).", EnforcementLevel.MANDATORY,
         "fetch secrets at boot from Secrets Manager or SSM with the instance role.", (INSTANCE, LAUNCH_TEMPLATE),
         _user_data_secrets),
    Rule("ebs-encrypted", "encryption", "EBS volumes, instance block devices and launch template block devices are "
         "encrypted.", EnforcementLevel.MANDATORY, "set encrypted: true (with kmsKeyId for a customer-managed key), "
         "or enable EBS encryption by default for the account and set accountEncryptsByDefault.",
         (VOLUME, INSTANCE, LAUNCH_TEMPLATE), _ebs,
         config={"accountEncryptsByDefault": {"type": "boolean", "default": False,
                                              "description": "The accounts enable EBS encryption by default "
                                                             "(aws.ebs.EncryptionByDefault): new volumes are "
                                                             "encrypted whatever the resource says."}}),
    Rule("ec2-no-public-ip", "exposure", "EC2 instances get no public IP (explicitly, or from the default VPC's "
         "default subnet).", EnforcementLevel.MANDATORY, "run instances in private subnets "
         "(subnetId, associatePublicIpAddress: false) behind a load balancer or SSM Session Manager.", (INSTANCE,),
         _public_instance),
    Rule("ec2-imdsv2", "exposure", "EC2 instances and launch templates require IMDSv2 (session tokens for the "
         "instance metadata service).", EnforcementLevel.MANDATORY,
         "set metadataOptions: {httpTokens: required} (launch templates: the same).", (INSTANCE, LAUNCH_TEMPLATE),
         _metadata_tokens),
]

"""The namer's length limits against the AWS API models botocore ships (the source of the SDKs).

Where a model declares a name's max length and pattern, components/naming.py must agree, and the
longest name the namer makes must pass the model's own constraint. Names whose shape is a plain String
in the model (no max) keep the limit documented next to them in naming.py.
"""

from __future__ import annotations

import re

import botocore.session
import pytest

from components.naming import NAME_LIMITS, Namer

# Namer kind -> (botocore service, operation, input member holding the name, prefix the API adds to the
# namer's name). A KMS alias name is "alias/" + the namer's name, and AWS's 256 includes the prefix.
MODELLED: dict[str, tuple[str, str, str, str]] = {
    "cb": ("codebuild", "CreateProject", "name", ""),
    "kms": ("kms", "CreateAlias", "AliasName", "alias/"),
    "role": ("iam", "CreateRole", "RoleName", ""),
    "policy": ("iam", "CreatePolicy", "PolicyName", ""),
    "rule": ("events", "PutRule", "Name", ""),
    "schedule": ("scheduler", "CreateSchedule", "Name", ""),
    "schedulegroup": ("scheduler", "CreateScheduleGroup", "Name", ""),
    "conn": ("codeconnections", "CreateConnection", "ConnectionName", ""),
    "waf": ("wafv2", "CreateWebACL", "Name", ""),
    "ecr": ("ecr", "CreateRepository", "repositoryName", ""),
    "secret": ("secretsmanager", "CreateSecret", "Name", ""),
    "alarm": ("cloudwatch", "PutMetricAlarm", "AlarmName", ""),
}


def constraint(service: str, operation: str, member: str) -> dict:
    model = botocore.session.get_session().get_service_model(service)
    return model.operation_model(operation).input_shape.members[member].metadata


def test_codepipeline_name_limit():
    model = botocore.session.get_session().get_service_model("codepipeline")
    assert NAME_LIMITS["cp"] == model.shape_for("PipelineName").metadata["max"]


@pytest.mark.parametrize("kind", sorted(MODELLED))
def test_name_limit_is_the_api_models(kind):
    service, operation, member, prefix = MODELLED[kind]
    limits = constraint(service, operation, member)
    assert NAME_LIMITS[kind] + len(prefix) == limits["max"], f"{service} {operation} {member}: {limits}"


@pytest.mark.parametrize("kind", sorted(MODELLED))
@pytest.mark.parametrize("env", ["dev", "prod"])
def test_the_longest_name_the_namer_makes_passes_the_api_model(kind, env):
    service, operation, member, prefix = MODELLED[kind]
    limits = constraint(service, operation, member)
    name = prefix + Namer("abcdefghijkl", env).name("component" * 40, kind, "purpose" * 40)
    assert len(name) <= limits["max"]
    if "pattern" in limits:
        assert re.fullmatch(limits["pattern"].removeprefix("^").removesuffix("$"), name), (name, limits["pattern"])

"""Every CloudFormation template the stacks hand to AWS (the secrets Secrets Manager generates inside AWS,
components/generated_secret.py) passes cfn-lint, which checks them against CloudFormation's own resource
schemas: property names, types, DeletionPolicy values, Ref targets."""

from __future__ import annotations

import json

import pytest

from tests.harness import Graph

STACK = "aws:cloudformation/stack:Stack"


def findings(template: str) -> list[str]:
    from cfnlint.api import ManualArgs, lint  # here, not at collection: cfn-lint pulls in sympy (3 CPU s cold)

    return [str(match) for match in lint(template, config=ManualArgs(regions=["us-east-1"]))]


def templates(graph: Graph) -> dict[str, str]:
    return {stack.name: stack.inputs["templateBody"] for stack in graph.of_type(STACK)}


def test_every_template_passes_cfn_lint(stack_graph: Graph):
    found = templates(stack_graph)
    assert found, "the Django key's stack"
    for name, template in found.items():
        assert findings(template) == [], name


@pytest.mark.parametrize("path, value, rule", [
    (("Properties", "GenerateSecretString", "PasswordLenght"), 64, "E3002"),  # a misspelt property
    (("DeletionPolicy",), "Keep", "E3035"),  # not a deletion policy
    (("Properties", "GenerateSecretString", "PasswordLength"), "long", "E3012"),  # not an integer
])
def test_cfn_lint_catches_a_broken_template(dev: Graph, path, value, rule):
    template = json.loads(next(iter(templates(dev).values())))
    target = template["Resources"]["Secret"]
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    assert any(rule in f for f in findings(json.dumps(template))), findings(json.dumps(template))

"""mypy checks our calls into pulumi_aws against the services we use only (pyproject.toml: the other ~200
services are skipped, which keeps a cold type check fast). These tests keep that list complete: a service
the code uses but mypy skips would be typed Any, and a wrong argument to it would pass unnoticed."""

from __future__ import annotations

import ast
import fnmatch
import tomllib
from pathlib import Path

import pulumi_aws

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = Path(pulumi_aws.__file__).parent
SERVICES = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}


def followed_patterns() -> list[str]:
    overrides = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]["overrides"]
    patterns: list[str] = []
    for override in overrides:
        if override.get("follow_imports") == "normal":
            module = override["module"]
            patterns += [module] if isinstance(module, str) else module
    return patterns


def is_followed(module: str, patterns: list[str]) -> bool:
    """mypy's rule: `a.b.*` matches a.b and its submodules; a concrete name matches itself."""
    return any(module == p or (p.endswith(".*") and fnmatch.fnmatch(module + ".", p[:-1] + "*")) for p in patterns)


def services_used(source: str) -> set[str]:
    """pulumi_aws services a module reaches: `aws.ec2.X` (any alias), `import pulumi_aws.ec2`,
    `from pulumi_aws import ec2`, `from pulumi_aws.ec2 import X`."""
    tree = ast.parse(source)
    aliases, used = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for name in node.names:
                parts = name.name.split(".")
                if parts[0] == "pulumi_aws":
                    aliases.add(name.asname or "pulumi_aws")
                    used.update(parts[1:2])
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "pulumi_aws":
            parts = (node.module or "").split(".")
            used.update(parts[1:2] or [n.name for n in node.names])
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
            used.add(node.attr)
    return used & SERVICES


def project_sources() -> list[Path]:
    skip = {".venv", ".tools", ".git", "node_modules"}
    return [p for p in ROOT.rglob("*.py") if not skip & set(p.relative_to(ROOT).parts)]


def test_every_service_the_code_uses_is_type_checked() -> None:
    patterns = followed_patterns()
    missing = {(service, str(path.relative_to(ROOT))) for path in project_sources()
               for service in services_used(path.read_text()) if not is_followed(f"pulumi_aws.{service}", patterns)}
    assert not missing, f"add these to pyproject.toml's mypy follow list (pulumi_aws.<service>.*): {sorted(missing)}"


def test_the_package_root_is_type_checked_whole() -> None:
    """Provider, get_caller_identity & co. live in top-level modules: every one of them is followed."""
    patterns = followed_patterns()
    top_level = ["pulumi_aws"] + [f"pulumi_aws.{p.stem}" for p in PACKAGE.glob("*.py") if p.stem != "__init__"]
    assert [m for m in top_level if not is_followed(m, patterns)] == []


def test_a_service_outside_the_list_is_reported() -> None:
    code = ("import pulumi_aws as aws\nfrom pulumi_aws import sagemaker\nimport pulumi_aws.glue\n"
            "aws.lambda_.Function('f')\naws.get_region()\n")
    assert services_used(code) == {"lambda_", "sagemaker", "glue"}
    patterns = followed_patterns()
    assert is_followed("pulumi_aws.ec2", patterns) and is_followed("pulumi_aws.ec2.vpc", patterns)
    assert not is_followed("pulumi_aws.lambda_", patterns) and not is_followed("pulumi_aws.ec2x", patterns)

"""Record the resource graph of another team's Pulumi Python program, for the policy pack's corpus tests.

    .venv/bin/python -m tools.record_program <program dir> --repo pulumi/examples --path aws-py-fargate \\
        --commit <sha> --out tests/policy/corpus/aws-py-fargate.json [--stack dev] [--config key=value ...]

Runs the program's __main__.py under Pulumi's mock runtime (tools.mock_runtime's recording monitor and
placeholder outputs, plus placeholders for the data sources such programs read: the default VPC, its
subnets, an AMI) and writes every registered resource in the engine's wire form: inputs (what Analyze
gets), outputs (what AnalyzeStack gets), parent, dependencies and property dependencies, with the source
(repository, path, commit) named. Like any mocked run, provider-computed values are placeholders and no
auto-name is filled in.
"""

from __future__ import annotations

import argparse
import json
import os
import runpy
import sys
from pathlib import Path
from typing import Any

from pulumi.runtime import config as runtime_config
from pulumi.runtime import mocks, stack
from pulumi.runtime.sync_await import _sync_await

from tools.analyzer import to_wire, wire_resource
from tools.mock_runtime import ACCOUNT_ID, Graph, PlaceholderMocks, RecordingMonitor, _reset_runtime, project_name


class ProgramMocks(PlaceholderMocks):
    """Placeholders for the data sources the public example programs read."""

    def call(self, args: mocks.MockCallArgs):
        token = args.token
        if token == "aws:ec2/getVpc:getVpc":
            return {"id": "vpc-0default", "cidrBlock": "172.31.0.0/16", "default": True,
                    "arn": self._arn("ec2", "vpc/vpc-0default")}, []
        if token in ("aws:ec2/getSubnets:getSubnets", "aws:ec2/getSubnetIds:getSubnetIds"):
            return {"ids": ["subnet-0a", "subnet-0b", "subnet-0c"], "id": self.region}, []
        if token == "aws:ec2/getAmi:getAmi":
            return {"id": "ami-0123456789abcdef0", "imageId": "ami-0123456789abcdef0", "architecture": "x86_64",
                    "name": "al2023-ami-placeholder", "ownerId": "137112412989"}, []
        if token == "aws:iam/getPolicyDocument:getPolicyDocument":
            return {"json": json.dumps({"Version": "2012-10-17", "Statement": []}), "id": "policy"}, []
        return super().call(args)


def record(program: Path, stack_name: str, config: dict[str, str], preview: bool = True) -> Graph:
    region = config.setdefault("aws:region", "us-east-1")
    monitor = RecordingMonitor(ProgramMocks(region))
    _reset_runtime()
    runtime_config.set_all_config(dict(config), [])
    mocks.set_mocks(monitor.mocks, project=project_name(program), stack=stack_name, preview=preview,
                    monitor=monitor)
    sys.path.insert(0, str(program))
    cwd = Path.cwd()
    os.chdir(program)  # programs read their files (web content, Lambda code) relative to the project, as under the CLI
    def run() -> None:
        runpy.run_path(str(program / "__main__.py"), run_name="__main__")

    try:
        _sync_await(stack.run_pulumi_func(run))
    finally:
        os.chdir(cwd)
        sys.path.remove(str(program))
    return monitor.graph


def document(graph: Graph, source: dict[str, str], project: str, stack_name: str) -> dict[str, Any]:
    resources = []
    for resource in sorted(graph.resources, key=lambda r: r.urn):  # registration order varies from run to run
        inputs, outputs = wire_resource(resource), wire_resource(resource, state="outputs")
        resources.append({"type": resource.type, "name": resource.name, "urn": resource.urn, "custom": resource.custom,
                          "parent": resource.parent, "dependencies": sorted(inputs.dependencies),
                          "propertyDependencies": {k: sorted(v) for k, v in inputs.property_dependencies.items()},
                          "inputs": inputs.props, "outputs": outputs.props})
    return {"source": source, "project": project, "stack": stack_name, "account": ACCOUNT_ID,
            "resources": to_wire(resources)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("program", type=Path)
    parser.add_argument("--repo", required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--commit", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--stack", default="dev")
    parser.add_argument("--config", action="append", default=[], help="key=value (namespaced keys: aws:region=...)")
    parser.add_argument("--update", action="store_true",
                        help="record an update (values computed from other resources known) instead of a preview")
    args = parser.parse_args()
    project = project_name(args.program)
    config = {}
    for item in args.config:
        key, _, value = item.partition("=")
        config[key if ":" in key else f"{project}:{key}"] = value
    graph = record(args.program.resolve(), args.stack, config, preview=not args.update)
    source = {"repo": args.repo, "path": args.path, "commit": args.commit, "language": "python",
              "recorded": "tools/record_program.py, run under the mock runtime as "
                          + ("an update" if args.update else "a preview")}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document(graph, source, project, args.stack), indent=1, sort_keys=True) + "\n")
    print(f"{args.out}: {len(graph.resources)} resources")


if __name__ == "__main__":
    main()

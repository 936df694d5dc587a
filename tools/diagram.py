"""Architecture diagrams (Mermaid and Graphviz DOT) drawn from a recorded resource graph.

Readable rather than complete: components become (nested) subgraphs, only the main resources of the
platform become nodes (no rules, attachments, policies, records or alarms), and an arrow A --> B means
"A needs B": a dependency of A reached directly or through resources left out of the picture, with
arrows already implied by a longer path dropped (transitive reduction).

    python -m tools.diagram --stack dev                       # Mermaid on stdout
    python -m tools.diagram --stack prod --format dot | dot -Tsvg > prod.svg
    python -m tools.diagram --write                           # refresh the README's architecture section

Output is sorted by component, type and name, so the same program always gives the same text (the
README freshness test compares it byte for byte).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from tools.doc_sections import ROOT, update_section
from tools.mock_runtime import Graph, Resource

# The resources a reader of the architecture cares about. Both lb and alb modules: pulumi-aws exposes
# the load balancer types under each.
MAIN_TYPES = frozenset({
    "aws:ec2/vpc:Vpc",
    "aws:ec2/internetGateway:InternetGateway",
    "aws:ec2/natGateway:NatGateway",
    "aws:ec2/vpcEndpoint:VpcEndpoint",
    "aws:ec2/securityGroup:SecurityGroup",
    "aws:kms/key:Key",
    "aws:acm/certificate:Certificate",
    "aws:cloudfront/distribution:Distribution",
    "aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer",
    "aws:lb/listener:Listener", "aws:alb/listener:Listener",
    "aws:lb/targetGroup:TargetGroup", "aws:alb/targetGroup:TargetGroup",
    "aws:wafv2/webAcl:WebAcl",
    "aws:ecr/repository:Repository",
    "aws:ecs/cluster:Cluster",
    "aws:ecs/service:Service",
    "aws:ecs/taskDefinition:TaskDefinition",
    "aws:rds/instance:Instance",
    "aws:rds/cluster:Cluster",
    "aws:elasticache/replicationGroup:ReplicationGroup",
    "aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2",
    "aws:secretsmanager/secret:Secret",
    "aws:cloudwatch/eventRule:EventRule",
    "aws:scheduler/schedule:Schedule",
    "aws:sqs/queue:Queue",
    "aws:sns/topic:Topic",
    "aws:codepipeline/pipeline:Pipeline",
    "aws:codebuild/project:Project",
    "aws:codestarconnections/connection:Connection", "aws:codeconnections/connection:Connection",
})

DOC = ROOT / "README.md"
SECTION = "architecture"  # the README section the dev diagram lives in (tools.doc_sections markers)


def short_type(type_: str) -> str:
    """`aws:ec2/vpc:Vpc` -> `ec2:Vpc`, `django-platform:network:Network` -> `Network`."""
    parts = type_.split(":")
    if len(parts) != 3:
        return type_
    package, module, kind = parts
    if package == "aws":
        return f"{module.split('/')[0]}:{kind}"
    return kind


@dataclass
class Cluster:
    """A component and what is drawn inside it."""

    resource: Resource
    nodes: list[Resource] = field(default_factory=list)
    clusters: list[Cluster] = field(default_factory=list)
    hidden: Counter[str] = field(default_factory=Counter)  # short type -> resources not drawn

    def summary(self) -> list[str]:
        """For a component with nothing drawn: what it holds, such as `4 cloudwatch:MetricAlarm`."""
        if not self.hidden:
            return ["no resources"]
        ranked = sorted(self.hidden.items(), key=lambda item: (-item[1], item[0]))
        lines = [f"{count} {kind}" for kind, count in ranked[:3]]
        if len(ranked) > 3:
            lines.append(f"and {sum(c for _, c in ranked[3:])} more")
        return lines


@dataclass
class Picture:
    top_nodes: list[Resource]
    top_clusters: list[Cluster]
    edges: list[tuple[Resource, Resource]]


def _key(resource: Resource) -> tuple[str, str]:
    return (short_type(resource.type), resource.name)


def build(graph: Graph, main_types: Iterable[str] = MAIN_TYPES) -> Picture:
    """Select the main resources, group them by component and reduce the dependency edges."""
    main_set = set(main_types)
    by_urn = {r.urn: r for r in graph.resources}
    components = {r.urn: r for r in graph.resources if not r.custom}
    mains = [r for r in graph.resources if r.custom and r.type in main_set]

    def component_of(resource: Resource) -> str:
        parent = resource.parent
        while parent and parent not in components:
            parent = by_urn[parent].parent if parent in by_urn else ""
        return parent

    clusters = {urn: Cluster(resource) for urn, resource in components.items()}
    top_nodes: list[Resource] = []
    top_clusters: list[Cluster] = []
    for cluster in clusters.values():
        owner = component_of(cluster.resource)
        (clusters[owner].clusters if owner else top_clusters).append(cluster)
    for resource in mains:
        owner = component_of(resource)
        (clusters[owner].nodes if owner else top_nodes).append(resource)
    for resource in graph.resources:
        if resource.custom and resource.type not in main_set and component_of(resource):
            clusters[component_of(resource)].hidden[short_type(resource.type)] += 1
    for cluster in clusters.values():
        cluster.nodes.sort(key=_key)
        cluster.clusters.sort(key=lambda c: _key(c.resource))
    top_nodes.sort(key=_key)
    top_clusters.sort(key=lambda c: _key(c.resource))

    main_urns = {r.urn for r in mains}
    needs = {r.urn: _main_dependencies(r, by_urn, main_urns) for r in mains}
    edges = [(by_urn[a], by_urn[b]) for a in sorted(needs) for b in sorted(needs[a])
             if not _reachable_without(needs, a, b)]
    edges.sort(key=lambda e: (_key(e[0]), _key(e[1])))
    return Picture(top_nodes, top_clusters, edges)


def _direct(resource: Resource) -> set[str]:
    found = set(resource.dependencies)
    for urns in resource.property_dependencies.values():
        found.update(urns)
    return found


def _main_dependencies(resource: Resource, by_urn: dict[str, Resource], main_urns: set[str]) -> set[str]:
    """Main resources `resource` depends on, directly or through resources that are not drawn."""
    found: set[str] = set()
    seen = {resource.urn}
    stack = list(_direct(resource))
    while stack:
        urn = stack.pop()
        if urn in seen:
            continue
        seen.add(urn)
        if urn in main_urns:
            found.add(urn)
        elif urn in by_urn:
            stack.extend(_direct(by_urn[urn]))
    return found


def _reachable_without(needs: dict[str, set[str]], start: str, target: str) -> bool:
    """Whether `target` is reachable from `start` by a path longer than the direct edge."""
    stack = [n for n in needs[start] if n != target]
    seen: set[str] = set()
    while stack:
        urn = stack.pop()
        if urn == target:
            return True
        if urn in seen:
            continue
        seen.add(urn)
        stack.extend(needs.get(urn, ()))
    return False


def _ident(prefix: str, resource: Resource) -> str:
    return prefix + re.sub(r"[^A-Za-z0-9_]", "_", f"{short_type(resource.type)}_{resource.name}")


def _ids(picture: Picture) -> dict[str, str]:
    ids: dict[str, str] = {}
    used: set[str] = set()

    def assign(resource: Resource, prefix: str) -> None:
        base = candidate = _ident(prefix, resource)
        n = 2
        while candidate in used:
            candidate, n = f"{base}_{n}", n + 1
        used.add(candidate)
        ids[resource.urn] = candidate

    def walk(clusters: list[Cluster]) -> None:
        for cluster in clusters:
            assign(cluster.resource, "c_")
            for node in cluster.nodes:
                assign(node, "r_")
            walk(cluster.clusters)

    for node in picture.top_nodes:
        assign(node, "r_")
    walk(picture.top_clusters)
    return ids


@dataclass(frozen=True)
class Syntax:
    """How one diagram language writes each part; `_emit` walks the picture once for both languages."""

    header: list[str]
    footer: list[str]
    node: Callable[[str, str, str], str]  # id, type, name
    open: Callable[[str, str], list[str]]  # id, title
    holds: Callable[[str, list[str]], str]  # id, lines of what an otherwise empty component holds
    close: str
    edge: Callable[[str, str], str]


def _emit(picture: Picture, syntax: Syntax) -> str:
    ids = _ids(picture)
    lines = list(syntax.header)

    def node(resource: Resource, indent: str) -> None:
        lines.append(indent + syntax.node(ids[resource.urn], short_type(resource.type), resource.name))

    def cluster(c: Cluster, indent: str) -> None:
        lines.extend(indent + line for line in syntax.open(ids[c.resource.urn],
                                                           f"{c.resource.name} ({short_type(c.resource.type)})"))
        if not c.nodes and not c.clusters:
            # An empty subgraph renders as nothing; say what the component holds instead.
            lines.append(indent + "  " + syntax.holds(f"{ids[c.resource.urn]}_holds", c.summary()))
        for n in c.nodes:
            node(n, indent + "  ")
        for inner in c.clusters:
            cluster(inner, indent + "  ")
        lines.append(indent + syntax.close)

    for n in picture.top_nodes:
        node(n, "  ")
    for c in picture.top_clusters:
        cluster(c, "  ")
    lines.extend(syntax.edge(ids[a.urn], ids[b.urn]) for a, b in picture.edges)
    return "\n".join([*lines, *syntax.footer]) + "\n"


def _mermaid_label(text: str) -> str:
    return '"' + text.replace('"', "#quot;") + '"'


def _dot_quote(text: str) -> str:
    """A DOT string; newlines become DOT's \\n line breaks."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


MERMAID = Syntax(
    header=["flowchart LR"],
    footer=[],
    node=lambda id_, type_, name: f"{id_}[{_mermaid_label(f'{type_}<br/>{name}')}]",
    open=lambda id_, title: [f"subgraph {id_}[{_mermaid_label(title)}]"],
    holds=lambda id_, lines: f"{id_}[{_mermaid_label('<br/>'.join(lines))}]",
    close="end",
    edge=lambda a, b: f"  {a} --> {b}",
)


def _dot(title: str) -> Syntax:
    return Syntax(
        header=[f"digraph {_dot_quote(title)} {{", "  rankdir=LR;", "  compound=true;",
                '  node [shape=box, style="rounded,filled", fillcolor="#f5f5f5", fontname="Helvetica"];',
                '  graph [fontname="Helvetica", style=rounded];'],
        footer=["}"],
        node=lambda id_, type_, name: id_ + " [label=" + _dot_quote(type_ + "\n" + name) + "];",
        open=lambda id_, title: [f"subgraph cluster_{id_} {{", f"  label={_dot_quote(title)};"],
        holds=lambda id_, lines: id_ + " [label=" + _dot_quote("\n".join(lines)) + ", shape=plaintext];",
        close="}",
        edge=lambda a, b: f"  {a} -> {b};",
    )


def mermaid(graph: Graph, main_types: Iterable[str] = MAIN_TYPES) -> str:
    """A Mermaid flowchart: components as subgraphs, main resources as nodes, A --> B when A needs B."""
    return _emit(build(graph, main_types), MERMAID)


def dot(graph: Graph, main_types: Iterable[str] = MAIN_TYPES, title: str = "platform") -> str:
    """Graphviz DOT: components as clusters, main resources as boxes, A -> B when A needs B."""
    return _emit(build(graph, main_types), _dot(title))


def render(graph: Graph, fmt: str, title: str = "platform") -> str:
    if fmt == "mermaid":
        return mermaid(graph)
    if fmt == "dot":
        return dot(graph, title=title)
    raise ValueError(f"unknown diagram format {fmt!r}: mermaid or dot")


# --- README -----------------------------------------------------------------------------------------------

REGENERATE = "make docs"


def architecture_section(graph: Graph, stack: str = "dev") -> str:
    """The README's architecture section body (between its markers), generated from the graph."""
    return (
        f"The {stack} stack as the offline preview records it: each box is a component, each node one of its\n"
        "main resources (rules, attachments, records, policies and alarms are left out), and an arrow A --> B\n"
        "means A needs B (directly or through resources not drawn). Generated from the program by\n"
        f"`{REGENERATE}` (`python -m tools.diagram --stack {stack} --write`); "
        "`tests/test_diagram.py` fails when\n"
        "it is stale. For another stack or format: `make preview STACK=prod ARGS=\"--diagram dot\"`.\n"
        "\n"
        "```mermaid\n"
        f"{mermaid(graph)}"
        "```\n"
    )


def main(argv: list[str] | None = None) -> int:
    from tools.mock_runtime import run_stack

    parser = argparse.ArgumentParser(prog="python -m tools.diagram", description=__doc__.split("\n")[0])
    parser.add_argument("--stack", default="dev")
    parser.add_argument("--format", choices=("mermaid", "dot"), default="mermaid")
    parser.add_argument("--write", action="store_true",
                        help=f"update the README's {SECTION} section (Mermaid of the given stack; also: make docs)")
    args = parser.parse_args(argv)
    graph = run_stack(args.stack)
    if args.write:
        changed = update_section(DOC, SECTION, architecture_section(graph, args.stack))
        print("README.md architecture diagram " + ("updated" if changed else "already up to date"))
        return 0
    sys.stdout.write(render(graph, args.format, title=f"django-platform-{args.stack}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""tools/diagram.py: components as subgraphs, main resources only, reduced dependency arrows; README freshness."""

from __future__ import annotations

import re

from tests.harness import Graph, Resource
from tools.diagram import DOC, MAIN_TYPES, SECTION, architecture_section, build, dot, mermaid, short_type
from tools.doc_sections import section

STACK = "urn:pulumi:dev::django-platform::pulumi:pulumi:Stack::django-platform-dev"


def res(type_: str, name: str, parent: str = STACK, deps: tuple[str, ...] = (), custom: bool = True) -> Resource:
    parent_type = parent.split("::")[2] if parent != STACK else ""
    qualified = f"{parent_type}${type_}" if parent_type else type_
    return Resource(urn=f"urn:pulumi:dev::django-platform::{qualified}::{name}", type=type_, name=name,
                    custom=custom, parent=parent, inputs={}, outputs={}, dependencies=list(deps),
                    property_dependencies={}, provider="", protect=False, retain_on_delete=False, ignore_changes=[],
                    delete_before_replace=False)


def sample() -> Graph:
    """web (component) holding a service that reaches the VPC only through a subnet and a security group."""
    net = res("django-platform:network:Network", "network", custom=False)
    vpc = res("aws:ec2/vpc:Vpc", "vpc", net.urn)
    subnet = res("aws:ec2/subnet:Subnet", "subnet", net.urn, (vpc.urn,))
    web = res("django-platform:web:Web", "web", custom=False)
    inner = res("django-platform:web:Inner", "inner", web.urn, custom=False)
    sg = res("aws:ec2/securityGroup:SecurityGroup", "sg", web.urn, (vpc.urn,))
    rule = res("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "rule", sg.urn, (sg.urn,))
    service = res("aws:ecs/service:Service", 'svc"x', inner.urn, (subnet.urn, sg.urn, vpc.urn))
    empty = res("django-platform:misc:Empty", "empty", custom=False)
    alarms = res("django-platform:misc:Alarms", "alarms", custom=False)
    alarm = [res("aws:cloudwatch/metricAlarm:MetricAlarm", f"alarm{i}", alarms.urn) for i in range(2)]
    return Graph(resources=[net, vpc, subnet, web, inner, sg, rule, service, empty, alarms, *alarm])


def test_main_resources_nested_in_their_components_and_arrows_reduced() -> None:
    picture = build(sample())
    clusters = {c.resource.name: c for c in picture.top_clusters}
    assert sorted(clusters) == ["alarms", "empty", "network", "web"]
    assert clusters["alarms"].summary() == ["2 cloudwatch:MetricAlarm"]
    assert [n.name for n in clusters["network"].nodes] == ["vpc"]  # the subnet is not a main resource
    assert [n.name for n in clusters["web"].nodes] == ["sg"]  # the ingress rule neither
    assert [c.resource.name for c in clusters["web"].clusters] == ["inner"]
    assert [n.name for n in clusters["web"].clusters[0].nodes] == ['svc"x']
    edges = {(a.name, b.name) for a, b in picture.edges}
    # svc -> vpc (direct and through the subnet) is implied by svc -> sg -> vpc: dropped.
    assert edges == {('svc"x', "sg"), ("sg", "vpc")}


def test_mermaid_has_subgraphs_escaped_labels_and_declared_ids_only() -> None:
    text = mermaid(sample())
    assert text.startswith("flowchart LR\n")
    assert 'subgraph c_Web_web["web (Web)"]' in text and text.count("subgraph") == text.count("end\n") == 5
    assert 'ecs:Service<br/>svc#quot;x' in text  # a quote in a name cannot break the label
    assert 'c_Empty_empty_holds["no resources"]' in text  # an empty component still says what it holds
    declared = set(re.findall(r"^\s*(\w+)\[", text, re.M))
    for a, b in re.findall(r"(\w+) --> (\w+)", text):
        assert a in declared and b in declared
    assert "Subnet" not in text and "Ingress" not in text


def test_dot_has_a_cluster_per_component_and_balanced_braces() -> None:
    text = dot(sample(), title="t")
    assert text.startswith('digraph "t" {') and text.count("{") == text.count("}")
    assert text.count("subgraph cluster_") == 5
    assert 'c_Alarms_alarms_holds [label="2 cloudwatch:MetricAlarm", shape=plaintext];' in text
    assert '"ecs:Service\\nsvc\\"x"' in text  # two-line label, quote escaped
    assert len(re.findall(r" -> ", text)) == 2


def test_output_is_deterministic_whatever_the_registration_order() -> None:
    graph = sample()
    shuffled = Graph(resources=list(reversed(graph.resources)))
    assert mermaid(graph) == mermaid(shuffled) and dot(graph) == dot(shuffled)


def test_dev_diagram_shows_every_component_and_no_minor_resource(dev: Graph) -> None:
    text = mermaid(dev)
    for component in (r for r in dev.resources if not r.custom):
        assert f'["{component.name} ({short_type(component.type)})"]' in text
    drawn = {short_type(t) for t in MAIN_TYPES}
    for label in re.findall(r'\br_\w+\["([^"<]+)<br/>', text):
        assert label in drawn
    assert "ec2:Vpc<br/>" in text and " --> " in text


def test_readme_architecture_diagram_is_fresh(dev: Graph) -> None:
    expected = architecture_section(dev, "dev")
    assert section(DOC, SECTION) == expected, "README architecture diagram is stale: run `make docs`"

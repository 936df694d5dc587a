"""Network: subnet layout, routing per tier, NAT strategy, flow logs and endpoints, for dev and prod."""

from __future__ import annotations

import ipaddress
import itertools

import pytest

from components.subnets import SubnetLayoutError, plan_subnets
from tests.harness import Graph, run_stack, statements

SUBNET = "aws:ec2/subnet:Subnet"
ROUTE = "aws:ec2/route:Route"
NAT = "aws:ec2/natGateway:NatGateway"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
BITS = {"public": 8, "private": 4, "isolated": 8}


# --- the pure layout ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("cidr", "azs"), [("10.10.0.0/16", 2), ("10.20.0.0/16", 3), ("172.16.0.0/16", 6),
                                           ("192.168.0.0/20", 3)])
def test_layout_never_overlaps_and_stays_inside_the_vpc(cidr: str, azs: int):
    bits = BITS if cidr.endswith("/16") else {"public": 6, "private": 3, "isolated": 6}
    plan = plan_subnets(cidr, azs, bits)
    blocks = [ipaddress.ip_network(b) for b in plan.all_blocks()]
    assert len(blocks) == 3 * azs
    assert all(b.subnet_of(ipaddress.ip_network(cidr)) for b in blocks)
    assert not any(a.overlaps(b) for a, b in itertools.combinations(blocks, 2))


def test_layout_sizes_follow_the_bits():
    plan = plan_subnets("10.10.0.0/16", 2, BITS)
    assert plan.private == ("10.10.0.0/20", "10.10.16.0/20")
    assert {ipaddress.ip_network(b).prefixlen for b in plan.public + plan.isolated} == {24}


def test_adding_an_az_never_moves_an_existing_subnet():
    two, three = plan_subnets("10.10.0.0/16", 2, BITS), plan_subnets("10.10.0.0/16", 3, BITS)
    for tier in ("public", "private", "isolated"):
        assert getattr(three, tier)[:2] == getattr(two, tier)


@pytest.mark.parametrize(("cidr", "bits", "message"), [
    ("10.10.0.0/24", {"public": 8, "private": 4, "isolated": 8}, "smaller than the AWS minimum /28"),
    ("10.10.0.0/16", {"public": 1, "private": 1, "isolated": 1}, "has no room for 6"),
])
def test_layouts_that_do_not_fit_say_which_tier(cidr: str, bits: dict[str, int], message: str):
    with pytest.raises(SubnetLayoutError, match=message):
        plan_subnets(cidr, 2, bits)


# --- the recorded graph ---------------------------------------------------------------------------------


def subnets(graph: Graph, tier: str) -> list:
    return [s for s in graph.of_type(SUBNET) if s.inputs["tags"]["tier"] == tier]


def table_of(graph: Graph, subnet) -> object:
    association = next(a for a in graph.of_type("aws:ec2/routeTableAssociation:RouteTableAssociation")
                       if a.inputs["subnetId"] == subnet.outputs["id"])
    return next(t for t in graph.of_type("aws:ec2/routeTable:RouteTable")
                if t.outputs["id"] == association.inputs["routeTableId"])


def routes_of(graph: Graph, table) -> list:
    return [r for r in graph.of_type(ROUTE) if r.inputs["routeTableId"] == table.outputs["id"]]


@pytest.mark.parametrize(("stack", "azs"), [("dev", 2), ("prod", 3)])
def test_each_tier_spreads_over_distinct_azs(stack: str, azs: int, dev: Graph, prod: Graph):
    graph = {"dev": dev, "prod": prod}[stack]
    for tier in ("public", "private", "isolated"):
        zones = [s.inputs["availabilityZone"] for s in subnets(graph, tier)]
        assert len(zones) == len(set(zones)) == azs
    assert not any(s.inputs.get("mapPublicIpOnLaunch") for s in subnets(graph, "private") + subnets(graph, "isolated"))


def test_subnet_cidrs_are_the_validated_plan(prod: Graph):
    plan = plan_subnets("10.20.0.0/16", 3, BITS)
    for tier in ("public", "private", "isolated"):
        by_zone = sorted((s.inputs["availabilityZone"], s.inputs["cidrBlock"]) for s in subnets(prod, tier))
        assert [cidr for _, cidr in by_zone] == list(getattr(plan, tier))


def test_public_subnets_route_to_the_internet_gateway(stack_graph: Graph):
    gateway = stack_graph.one("aws:ec2/internetGateway:InternetGateway")
    for subnet in subnets(stack_graph, "public"):
        (route,) = routes_of(stack_graph, table_of(stack_graph, subnet))
        assert route.inputs == {**route.inputs, "destinationCidrBlock": "0.0.0.0/0",
                                "gatewayId": gateway.outputs["id"]}


def test_isolated_subnets_have_no_route_out(stack_graph: Graph):
    for subnet in subnets(stack_graph, "isolated"):
        assert routes_of(stack_graph, table_of(stack_graph, subnet)) == []


def test_dev_shares_one_nat_gateway(dev: Graph):
    (nat,) = dev.of_type(NAT)
    assert nat.inputs["subnetId"] in {s.outputs["id"] for s in subnets(dev, "public")}
    for subnet in subnets(dev, "private"):
        (route,) = routes_of(dev, table_of(dev, subnet))
        assert route.inputs["natGatewayId"] == nat.outputs["id"]


def test_prod_has_a_nat_gateway_per_az_in_that_az(prod: Graph):
    nats = prod.of_type(NAT)
    assert len(nats) == 3
    zone_of_subnet = {s.outputs["id"]: s.inputs["availabilityZone"] for s in prod.of_type(SUBNET)}
    for subnet in subnets(prod, "private"):
        (route,) = routes_of(prod, table_of(prod, subnet))
        nat = next(n for n in nats if n.outputs["id"] == route.inputs["natGatewayId"])
        assert zone_of_subnet[nat.inputs["subnetId"]] == subnet.inputs["availabilityZone"]


def test_nat_none_leaves_private_subnets_without_routes():
    graph = run_stack("dev", overrides={"network.nat": "none", "network.endpoints": "[s3, ecr, logs]"})
    assert graph.of_type(NAT) == [] and graph.of_type("aws:ec2/eip:Eip") == []
    for subnet in subnets(graph, "private"):
        assert routes_of(graph, table_of(graph, subnet)) == []


def test_flow_logs_capture_everything_into_an_encrypted_log_group(dev: Graph):
    stack_graph = dev  # prod sends them to S3 (tests/test_deploy_safety.py)
    flow = stack_graph.one("aws:ec2/flowLog:FlowLog")
    group = stack_graph.one("aws:cloudwatch/logGroup:LogGroup", "*-net-flow-log")
    telemetry = stack_graph.one("aws:kms/key:Key", "*-telemetry-kms")
    assert flow.inputs["trafficType"] == "ALL" and flow.inputs["logDestination"] == group.outputs["arn"]
    assert group.inputs["kmsKeyId"] == telemetry.outputs["arn"] and group.inputs["retentionInDays"] > 0
    role = stack_graph.one("aws:iam/role:Role", "*-net-flow-logs-role")
    assert flow.inputs["iamRoleArn"] == role.outputs["arn"]
    write, describe = statements(stack_graph.one("aws:iam/rolePolicy:RolePolicy", "*-flow-logs-role"))
    assert write["Resource"] == [group.outputs["arn"], group.outputs["arn"] + ":*"]
    # a list action without resource-level permissions: parliament requires "*" (tests/test_iam_lint.py)
    assert describe == {"Sid": "ListLogGroups", "Effect": "Allow", "Action": "logs:DescribeLogGroups",
                        "Resource": "*"}


def test_flow_logs_can_be_switched_off():
    graph = run_stack("dev", overrides={"network.flow_logs": "false"})
    assert graph.of_type("aws:ec2/flowLog:FlowLog") == []
    assert [g.name for g in graph.of_type("aws:cloudwatch/logGroup:LogGroup") if "flow" in g.name] == []


def test_dev_has_only_the_free_s3_gateway_endpoint(dev: Graph):
    (s3,) = dev.of_type(ENDPOINT)
    assert s3.inputs["vpcEndpointType"] == "Gateway" and s3.inputs["serviceName"] == "com.amazonaws.us-east-1.s3"
    private_tables = {table_of(dev, s).outputs["id"] for s in subnets(dev, "private")}
    assert private_tables <= set(s3.inputs["routeTableIds"])


def test_prod_interface_endpoints_live_in_private_subnets_behind_https_only(prod: Graph):
    interface = [e for e in prod.of_type(ENDPOINT) if e.inputs["vpcEndpointType"] == "Interface"]
    services = {e.inputs["serviceName"].removeprefix("com.amazonaws.us-east-1.") for e in interface}
    assert services == {"ecr.api", "ecr.dkr", "logs", "secretsmanager", "ssm"}
    private_ids = sorted(s.outputs["id"] for s in subnets(prod, "private"))
    group = prod.one("aws:ec2/securityGroup:SecurityGroup", "*-net-endpoints-sg")
    (ingress,) = group.inputs["ingress"]
    assert (ingress["fromPort"], ingress["toPort"], ingress["cidrBlocks"]) == (443, 443, ["10.20.0.0/16"])
    for endpoint in interface:
        assert sorted(endpoint.inputs["subnetIds"]) == private_ids and endpoint.inputs["privateDnsEnabled"]
        assert endpoint.inputs["securityGroupIds"] == [group.outputs["id"]]


def test_endpoints_can_be_switched_off():
    graph = run_stack("prod", overrides={"network.endpoints": "[]"})
    assert graph.of_type(ENDPOINT) == []


def test_default_security_group_is_emptied(stack_graph: Graph):
    default = stack_graph.one("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert not default.inputs.get("ingress") and not default.inputs.get("egress")


def test_ipv6_gives_public_subnets_a_64_each_and_a_route_to_the_internet():
    graph = run_stack("dev", overrides={"dns.ipv6": "true"})
    vpc = graph.one("aws:ec2/vpc:Vpc")
    assert vpc.inputs["assignGeneratedIpv6CidrBlock"] is True
    blocks = [s.inputs["ipv6CidrBlock"] for s in subnets(graph, "public")]
    assert sorted(blocks) == ["2600:1f18:1234:5600::/64", "2600:1f18:1234:5601::/64"]
    assert not any("ipv6CidrBlock" in s.inputs for s in subnets(graph, "private") + subnets(graph, "isolated"))
    public_routes = routes_of(graph, table_of(graph, subnets(graph, "public")[0]))
    assert {r.inputs.get("destinationIpv6CidrBlock") for r in public_routes} == {None, "::/0"}
    assert graph.one("aws:lb/loadBalancer:LoadBalancer").inputs["ipAddressType"] == "dualstack"


def test_ipv4_only_by_default(dev: Graph):
    assert "assignGeneratedIpv6CidrBlock" not in dev.one("aws:ec2/vpc:Vpc").inputs

"""LoadBalancer: ALB, security groups, listeners, target group, access logs, aliases and WAF."""

from __future__ import annotations

import pytest

from tests.harness import Graph, run_stack, settings_error, statements

ALB = "aws:lb/loadBalancer:LoadBalancer"
LISTENER = "aws:lb/listener:Listener"
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
RECORD = "aws:route53/record:Record"
WEB_ACL = "aws:wafv2/webAcl:WebAcl"
OPTIONS = {
    "load_balancer.ssl_policy": "ELBSecurityPolicy-TLS13-1-3-2021-06",
    "load_balancer.health_check_path": "/up/",
    "load_balancer.health_check_matcher": "200-399",
    "load_balancer.health_check_interval": "30",
    "load_balancer.health_check_timeout": "10",
    "load_balancer.healthy_threshold": "3",
    "load_balancer.unhealthy_threshold": "5",
    "load_balancer.deregistration_delay": "30",
    "load_balancer.idle_timeout": "120",
    "load_balancer.deletion_protection": "true",
    "load_balancer.access_logs": "false",
    "load_balancer.waf": "true",
    "load_balancer.waf_rate_limit": "500",
    "dns.ipv6": "true",
}


@pytest.fixture(scope="module")
def options() -> Graph:
    """dev with every load balancer option turned away from its default."""
    return run_stack("dev", OPTIONS)


def group_id(graph: Graph, name_glob: str) -> str:
    return graph.one(SG, name_glob).outputs["id"]


def test_alb_is_internet_facing_in_the_public_subnets_and_drops_invalid_headers(stack_graph: Graph):
    alb = stack_graph.one(ALB)
    public = [s.outputs["id"] for s in stack_graph.of_type("aws:ec2/subnet:Subnet")
              if s.inputs["tags"]["tier"] == "public"]
    assert alb.inputs["internal"] is False and alb.inputs["loadBalancerType"] == "application"
    assert sorted(alb.inputs["subnets"]) == sorted(public)
    assert alb.inputs["securityGroups"] == [group_id(stack_graph, "*-alb-sg")]
    assert alb.inputs["dropInvalidHeaderFields"] is True and alb.inputs["ipAddressType"] == "ipv4"
    assert len(alb.inputs["name"]) <= 32


def test_deletion_protection_is_on_in_prod_only(dev: Graph, prod: Graph, options: Graph):
    assert dev.one(ALB).inputs["enableDeletionProtection"] is False
    assert prod.one(ALB).inputs["enableDeletionProtection"] is True
    assert options.one(ALB).inputs["enableDeletionProtection"] is True
    assert options.one(ALB).inputs["idleTimeout"] == 120


def test_internet_reaches_only_80_and_443_and_the_tasks_only_from_the_alb(stack_graph: Graph):
    alb_sg, web_sg = group_id(stack_graph, "*-alb-sg"), group_id(stack_graph, "*-web-sg")
    alb_in = [r.inputs for r in stack_graph.of_type(INGRESS) if r.inputs["securityGroupId"] == alb_sg]
    assert sorted((r["fromPort"], r["toPort"], r["cidrIpv4"]) for r in alb_in) == [
        (80, 80, "0.0.0.0/0"), (443, 443, "0.0.0.0/0")]
    alb_out = [r.inputs for r in stack_graph.of_type(EGRESS) if r.inputs["securityGroupId"] == alb_sg]
    assert [(r["fromPort"], r["toPort"], r["referencedSecurityGroupId"]) for r in alb_out] == [
        (8000, 8000, web_sg)]
    web_in = [r.inputs for r in stack_graph.of_type(INGRESS) if r.inputs["securityGroupId"] == web_sg]
    assert [(r["fromPort"], r["toPort"], r.get("referencedSecurityGroupId"), r.get("cidrIpv4")) for r in web_in] == [
        (8000, 8000, alb_sg, None)]


def test_https_listener_uses_tls13_and_the_validated_certificate(stack_graph: Graph):
    https = stack_graph.one(LISTENER, "*-https-listener")
    validation = stack_graph.one("aws:acm/certificateValidation:CertificateValidation", "*-edge-cert")
    assert (https.inputs["port"], https.inputs["protocol"]) == (443, "HTTPS")
    assert https.inputs["sslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert https.inputs["certificateArn"] == validation.outputs["certificateArn"]
    assert validation.urn in https.property_dependencies["certificateArn"]  # waits for an issued certificate
    assert https.inputs["defaultActions"] == [
        {"type": "forward", "targetGroupArn": stack_graph.one(TARGET_GROUP).outputs["arn"]}]


def test_http_listener_only_redirects_to_https(stack_graph: Graph):
    http = stack_graph.one(LISTENER, "*-http-listener")
    assert (http.inputs["port"], http.inputs["protocol"]) == (80, "HTTP")
    assert http.inputs["defaultActions"] == [
        {"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}}]


def test_target_group_is_ip_with_the_default_health_check(dev: Graph):
    tg = dev.one(TARGET_GROUP)
    assert (tg.inputs["targetType"], tg.inputs["protocol"], tg.inputs["port"]) == ("ip", "HTTP", 8000)
    assert tg.inputs["deregistrationDelay"] == 60 and tg.inputs["name"] == "django-dev-web-8000-tg"
    assert tg.inputs["healthCheck"] == {"enabled": True, "protocol": "HTTP", "port": "traffic-port",
                                        "path": "/healthz/", "matcher": "200", "interval": 15, "timeout": 5,
                                        "healthyThreshold": 2, "unhealthyThreshold": 3}


def test_listener_policy_and_health_check_follow_settings(options: Graph):
    assert options.one(LISTENER, "*-https-listener").inputs["sslPolicy"] == "ELBSecurityPolicy-TLS13-1-3-2021-06"
    tg = options.one(TARGET_GROUP)
    check = tg.inputs["healthCheck"]
    assert (check["path"], check["matcher"], check["interval"], check["timeout"]) == ("/up/", "200-399", 30, 10)
    assert (check["healthyThreshold"], check["unhealthyThreshold"], tg.inputs["deregistrationDelay"]) == (3, 5, 30)


def test_access_logs_go_to_a_private_tls_only_sse_s3_bucket(stack_graph: Graph):
    alb = stack_graph.one(ALB)
    bucket = stack_graph.one("aws:s3/bucket:Bucket", "*-edge-alb-logs-*")
    assert alb.inputs["accessLogs"] == {"enabled": True, "bucket": bucket.outputs["bucket"], "prefix": "alb"}
    sse = stack_graph.one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                          bucket.name)
    assert sse.inputs["rules"] == [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]
    assert "SSE-S3" in bucket.inputs["tags"]["encryption-exception"]  # the documented exception, findable
    block = stack_graph.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", bucket.name)
    assert all(block.inputs[k] for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                         "restrictPublicBuckets"))
    policy = stack_graph.one("aws:s3/bucketPolicy:BucketPolicy", bucket.name)
    allow, deny = statements(policy)
    assert allow["Action"] == "s3:PutObject" and allow["Principal"]["Service"] == \
        "logdelivery.elasticloadbalancing.amazonaws.com"
    assert allow["Resource"] == f"{bucket.outputs['arn']}/alb/AWSLogs/123456789012/*"
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert {policy.urn, sse.urn} <= set(alb.dependencies)  # AWS test-writes the bucket when logging is enabled


def test_access_logs_expire_per_environment_and_prod_keeps_the_bucket(dev: Graph, prod: Graph):
    def days(graph: Graph) -> int:
        (rule,) = graph.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
                            "*-alb-logs-*").inputs["rules"]
        return rule["expiration"]["days"]

    assert (days(dev), days(prod)) == (30, 365)
    assert not dev.one("aws:s3/bucket:Bucket", "*-alb-logs-*").protect
    assert prod.one("aws:s3/bucket:Bucket", "*-alb-logs-*").protect


def test_access_logs_can_be_turned_off(options: Graph):
    assert options.one(ALB).inputs.get("accessLogs") is None
    assert not [b for b in options.of_type("aws:s3/bucket:Bucket") if "alb-logs" in b.name]


def test_alias_records_point_every_site_name_at_the_alb(prod: Graph):
    alb = prod.one(ALB)
    aliases = [r for r in prod.of_type(RECORD) if r.inputs.get("aliases") and r.parent_type.endswith("LoadBalancer")]
    assert sorted((r.inputs["name"], r.inputs["type"]) for r in aliases) == [("example.com", "A"),
                                                                             ("www.example.com", "A")]
    for record in aliases:
        assert record.inputs["aliases"] == [{"name": alb.outputs["dnsName"], "zoneId": alb.outputs["zoneId"],
                                             "evaluateTargetHealth": True}]
        assert record.inputs["zoneId"] == "Z0OFFLINE0PLACEHOLDER"


def test_dual_stack_adds_aaaa_records_and_ipv6_ingress(options: Graph):
    assert options.one(ALB).inputs["ipAddressType"] == "dualstack"
    # AWS refuses a dual-stack ALB in a subnet without an IPv6 block: every one of its subnets has a /64.
    by_id = {s.outputs["id"]: s for s in options.of_type("aws:ec2/subnet:Subnet")}
    assert all(by_id[i].inputs.get("ipv6CidrBlock", "").endswith("/64") for i in options.one(ALB).inputs["subnets"])
    aliases = [r for r in options.of_type(RECORD) if r.inputs.get("aliases") and r.parent_type.endswith("LoadBalancer")]
    assert sorted(r.inputs["type"] for r in aliases) == ["A", "AAAA"]
    alb_sg = group_id(options, "*-alb-sg")
    v6 = [r.inputs for r in options.of_type(INGRESS) if r.inputs["securityGroupId"] == alb_sg and
          r.inputs.get("cidrIpv6")]
    assert sorted((r["fromPort"], r["cidrIpv6"]) for r in v6) == [(80, "::/0"), (443, "::/0")]


def test_waf_is_off_in_dev_and_on_in_prod_with_rate_limit_managed_rules_and_logs(dev: Graph, prod: Graph):
    assert dev.of_type(WEB_ACL) == []
    acl = prod.one(WEB_ACL)
    assert acl.inputs["scope"] == "REGIONAL" and acl.inputs["defaultAction"] == {"allow": {}}
    rules = sorted(acl.inputs["rules"], key=lambda r: r["priority"])
    assert rules[0]["statement"] == {"rateBasedStatement": {"limit": 2000, "aggregateKeyType": "IP"}}
    assert rules[0]["action"] == {"block": {}}
    groups = [r["statement"]["managedRuleGroupStatement"]["name"] for r in rules[1:]]
    assert {"AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet",
            "AWSManagedRulesAmazonIpReputationList"} <= set(groups)
    association = prod.one("aws:wafv2/webAclAssociation:WebAclAssociation")
    assert association.inputs == {"resourceArn": prod.one(ALB).outputs["arn"], "webAclArn": acl.outputs["arn"]}
    logging = prod.one("aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration")
    log_group = prod.one("aws:cloudwatch/logGroup:LogGroup", "*-waf-logs")
    assert log_group.inputs["name"].startswith("aws-waf-logs-")  # the only names WAF delivers to
    assert log_group.inputs["kmsKeyId"] == prod.one("aws:kms/key:Key", "*-telemetry-kms").outputs["arn"]
    assert logging.inputs["logDestinationConfigs"] == [log_group.outputs["arn"]]
    assert {"authorization", "cookie"} == {f["singleHeader"]["name"] for f in logging.inputs["redactedFields"]}


def test_waf_can_be_turned_on_in_dev_with_its_own_rate_limit(options: Graph):
    (rate,) = [r for r in options.one(WEB_ACL).inputs["rules"] if "rateBasedStatement" in r["statement"]]
    assert rate["statement"]["rateBasedStatement"]["limit"] == 500


def test_stack_exports_the_site_url_and_alb_dns_name(dev: Graph):
    assert dev.outputs["site_url"]["value"] == "https://dev.example.com"
    assert dev.outputs["alb_dns_name"]["value"] == dev.one(ALB).outputs["dnsName"]


@pytest.mark.parametrize(("overrides", "message"), [
    ({"load_balancer.ssl_policy": "ELBSecurityPolicy-2016-08"}, "load_balancer.ssl_policy"),
    ({"load_balancer.health_check_timeout": "20"}, "less than load_balancer.health_check_interval (15)"),
    ({"load_balancer.health_check_matcher": "ok"}, "load_balancer.health_check_matcher"),
    ({"load_balancer.health_check_path": "healthz"}, "a path starting with /"),
    ({"load_balancer.healthy_threshold": "1"}, "load_balancer.healthy_threshold"),
    ({"load_balancer.deregistration_delay": "4000"}, "load_balancer.deregistration_delay"),
    ({"load_balancer.waf_rate_limit": "5"}, "load_balancer.waf_rate_limit"),
    ({"load_balancer.access_log_days": "0"}, "load_balancer.access_log_days"),
    ({"load_balancer.waf": "maybe"}, "load_balancer.waf: got \"maybe\"; expected true or false"),
])
def test_bad_load_balancer_settings_fail_before_any_resource(overrides: dict[str, str], message: str):
    error, graph = settings_error("dev", overrides)
    assert message in str(error)
    assert graph.resources == []


"""Every rule over gRPC: at least one compliant and one violating case, plus config and exemptions."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest
import rules

from tools.analyzer import UNKNOWN, WireResource, make_urn

KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd"
LB = "aws:lb/loadBalancer:LoadBalancer"
LISTENER = "aws:lb/listener:Listener"
BUCKET = "aws:s3/bucket:Bucket"
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
RDS = "aws:rds/instance:Instance"
REDIS = "aws:elasticache/replicationGroup:ReplicationGroup"
LAMBDA = "aws:lambda/function:Function"
EC2 = "aws:ec2/instance:Instance"


def res(type_: str, logical: str, deps: dict[str, list[str]] | None = None, /, **props) -> WireResource:
    """A resource with its logical name; keyword arguments are its wire properties (None drops one)."""
    props = {k: v for k, v in props.items() if v is not None}
    return WireResource(type_, logical, props, urn=make_urn(type_, logical), property_dependencies=deps or {})


def urn(type_: str, name: str) -> str:
    return make_urn(type_, name)


def rds(**overrides) -> WireResource:
    props = {"identifier": "django-dev-db-rds", "storageEncrypted": True, "kmsKeyId": KEY, "multiAz": True,
             "deletionProtection": True, "backupRetentionPeriod": 7, "publiclyAccessible": False}
    return res(RDS, "django-dev-db-rds", None, **{**props, **overrides})


def redis(**overrides) -> WireResource:
    props = {"replicationGroupId": "django-dev-cache-redis", "atRestEncryptionEnabled": True, "kmsKeyId": KEY,
             "transitEncryptionEnabled": True, "automaticFailoverEnabled": True, "multiAzEnabled": True}
    return res(REDIS, "django-dev-cache-redis", None, **{**props, **overrides})


def bucket_stack(algorithm: str = "aws:kms", key: str | None = KEY, alb_logs: bool = False, pab: bool = True,
                 flags: bool = True) -> list[WireResource]:
    b = res(BUCKET, "django-dev-web-logs-s3", bucket="django-dev-web-logs-123456789012-s3")
    default = {"sseAlgorithm": algorithm, **({"kmsMasterKeyId": key} if key else {})}
    found = [b, res(SSE, "logs-sse", {"bucket": [b.urn]}, bucket=b.props["bucket"],
                    rules=[{"applyServerSideEncryptionByDefault": default}])]
    if pab:
        found.append(res(PAB, "logs-pab", {"bucket": [b.urn]}, bucket=b.props["bucket"], blockPublicAcls=True,
                         blockPublicPolicy=True, ignorePublicAcls=True, restrictPublicBuckets=flags))
    if alb_logs:
        found.append(res(LB, "django-dev-web-alb", {"accessLogs": [b.urn]}, name="django-dev-web-alb",
                         accessLogs={"bucket": b.props["bucket"], "enabled": True}))
    return found


def sg_stack(cidr: str = "0.0.0.0/0", port: int = 443, attached_to_lb: bool = True) -> list[WireResource]:
    group = res(SG, "django-dev-web-alb-sg", name="django-dev-web-alb-sg")
    found = [group, res(INGRESS, "alb-https", {"securityGroupId": [group.urn]}, securityGroupId="sg-1",
                        cidrIpv4=cidr, fromPort=port, toPort=port, ipProtocol="tcp")]
    if attached_to_lb:
        found.append(res(LB, "django-dev-web-alb", {"securityGroups": [group.urn]}, name="django-dev-web-alb",
                         securityGroups=["sg-1"]))
    return found


def task(environment: list[dict], **container) -> WireResource:
    containers = [{"name": "web", "image": "x", "environment": environment,
                   "secrets": [{"name": "DJANGO_SECRET_KEY", "valueFrom": "arn:aws:secretsmanager:..."}], **container}]
    return res("aws:ecs/taskDefinition:TaskDefinition", "django-dev-web-task", family="django-dev-web-task",
               containerDefinitions=json.dumps(containers))


def nlb_stack(port: int = 443, internal: bool = False, kind: str = "network") -> list[WireResource]:
    lb = res(LB, "django-dev-ingest-nlb", name="django-dev-ingest-nlb", loadBalancerType=kind, internal=internal)
    return [lb, res(LISTENER, "ingest", {"loadBalancerArn": [lb.urn]}, loadBalancerArn="arn:aws:elb:lb", port=port,
                    protocol="TCP")]


def preview_outputs(stack: list[WireResource]) -> list[WireResource]:
    """The bucket as a preview's outputs show it: its computed inline encryption block not known yet."""
    stack[0].props["serverSideEncryptionConfiguration"] = UNKNOWN
    return stack


def policy_doc(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


PROD = {"environment": "prod"}


@dataclass
class Case:
    rule: str
    resources: list[WireResource]
    expect: str | None  # a substring of the violation, or None for compliant
    config: dict = field(default_factory=dict)


CASES: dict[str, Case] = {
    # naming-convention
    "naming ok": Case("naming-convention", [res(LB, "alb", name="django-dev-web-alb")], None),
    "naming wrong env": Case("naming-convention", [res(LB, "alb", name="django-prod-web-alb")],
                             "carries environment 'prod'"),
    "naming wrong system": Case("naming-convention", [res(LB, "alb", name="shop-dev-web-alb")],
                                "must start with django-dev-"),
    "naming no kind": Case("naming-convention", [res(LB, "alb", name="django-dev-web-front")],
                           "must end with the kind -alb/nlb/lb"),
    "naming kind optional": Case("naming-convention", [res(LB, "alb", name="django-dev-web-front")], None,
                                 {"naming-convention": {"requireKind": False}}),
    "naming uppercase": Case("naming-convention", [res("aws:iam/role:Role", "r", name="Django-dev-web-role")],
                             "lowercase"),
    "naming any system": Case("naming-convention", [res(LB, "alb", name="shop-dev-web-alb")], None,
                              {"naming-convention": {"system": ""}}),
    "naming logical name": Case("naming-convention", [res("aws:sqs/queue:Queue", "django-dev-batch-dlq")], None),
    "naming bad logical name": Case("naming-convention", [res("aws:sqs/queue:Queue", "jobsQueue")],
                                    "logical name 'jobsQueue' (auto-named) must be lowercase letters, digits and "
                                    "single hyphens; rename the logical name to 'django-dev-jobs-queue-sqs'"),
    "naming log group path": Case("naming-convention", [res("aws:cloudwatch/logGroup:LogGroup", "lg",
                                                            name="/django/dev/vpc/flow-logs")], None),
    "naming log group path env": Case("naming-convention", [res("aws:cloudwatch/logGroup:LogGroup", "lg",
                                                                name="/django/prod/vpc/flow-logs")],
                                      "carries environment 'prod'"),
    "naming waf log group": Case("naming-convention", [res("aws:cloudwatch/logGroup:LogGroup", "lg",
                                                           name="aws-waf-logs-django-dev-edge-waf")], None),
    "naming waf log group bad": Case("naming-convention", [res("aws:cloudwatch/logGroup:LogGroup", "lg",
                                                               name="aws-waf-logs-edge")], "must start with"),
    "naming ssm path": Case("naming-convention", [res("aws:ssm/parameter:Parameter", "p",
                                                      name="/django/dev/app/allowed-hosts")], None),
    "naming ssm bad path": Case("naming-convention", [res("aws:ssm/parameter:Parameter", "p",
                                                          name="/app/allowed-hosts")], "must start /django/dev/"),
    "naming kms alias": Case("naming-convention", [res("aws:kms/alias:Alias", "a",
                                                       name="alias/django-dev-platform-data-kms")], None),
    "naming kms alias bad": Case("naming-convention", [res("aws:kms/alias:Alias", "a",
                                                           name="django-dev-platform-data-kms")], "alias/{name}"),
    "naming stack env not allowed": Case("naming-convention", [res(LB, "alb", name="django-qa-web-alb")],
                                         "environment 'qa' is not one of",
                                         {"naming-convention": {"environment": "qa"}}),
    "naming env configured": Case("naming-convention", [res(LB, "alb", name="django-qa-web-alb")], None,
                                  {"naming-convention": {"environment": "qa", "environments": ["dev", "qa"]}}),
    "naming fifo": Case("naming-convention", [res("aws:sqs/queue:Queue", "q", name="django-dev-jobs-sqs.fifo")],
                        None),
    "naming kinds config": Case("naming-convention", [res(LB, "alb", name="django-dev-web-front")], None,
                                {"naming-convention": {"kinds": {LB: ["front"]}}}),
    # naming-aws-limits
    "limits ok": Case("naming-aws-limits", [res(LB, "alb", name="django-dev-web-alb")], None),
    "limits alb 33": Case("naming-aws-limits", [res(LB, "alb", name="django-dev-web-public-frontend-alb")],
                          "AWS allows at most 32"),
    "limits alb type": Case("naming-aws-limits", [res("aws:alb/targetGroup:TargetGroup", "t",
                                                      name="django-dev-web-application-http-tg")], "at most 32"),
    "limits redis 40": Case("naming-aws-limits",
                            [redis(replicationGroupId="django-dev-cache-sessions-primary-node-redis")], "at most 40"),
    "limits rds --": Case("naming-aws-limits", [rds(identifier="django-dev--db-rds")], "no '--'"),
    "limits role 64": Case("naming-aws-limits", [res("aws:iam/role:Role", "r", name="d" * 65)], "at most 64"),
    "limits bucket dns": Case("naming-aws-limits", [res(BUCKET, "b", bucket="django-dev-Logs-s3")], "contains 'L'"),
    "limits bucket short": Case("naming-aws-limits", [res(BUCKET, "b", bucket="ab")], "shorter than 3"),
    "limits bucket ok": Case("naming-aws-limits", [res(BUCKET, "b", bucket="django-dev-web-logs-123456789012-s3")],
                             None),
    "limits auto-name suffix": Case("naming-aws-limits", [res(LB, "django-dev-web-public-alb")],
                                    "25 + 8 for the auto-name suffix"),
    "limits log group 512": Case("naming-aws-limits", [res("aws:cloudwatch/logGroup:LogGroup", "lg",
                                                           name="/django/dev/" + "x" * 510)], "at most 512"),
    # encryption
    "rds enc ok": Case("rds-storage-encrypted", [rds()], None),
    "rds unencrypted": Case("rds-storage-encrypted", [rds(storageEncrypted=False)], "storage is not encrypted"),
    "rds aws key": Case("rds-storage-encrypted", [rds(kmsKeyId="alias/aws/rds")], "AWS-managed key"),
    "rds no key": Case("rds-storage-encrypted", [rds(kmsKeyId=None)], "AWS-managed key"),
    "rds cluster": Case("rds-storage-encrypted", [res("aws:rds/cluster:Cluster", "c", storageEncrypted=True)],
                        "AWS-managed key"),
    "pi ok": Case("rds-performance-insights-encrypted", [rds(performanceInsightsEnabled=True,
                                                             performanceInsightsKmsKeyId=KEY)], None),
    "pi no key": Case("rds-performance-insights-encrypted", [rds(performanceInsightsEnabled=True)],
                      "without performanceInsightsKmsKeyId"),
    "redis enc ok": Case("elasticache-encrypted", [redis()], None),
    "redis no transit": Case("elasticache-encrypted", [redis(transitEncryptionEnabled=False)], "in transit"),
    "redis no key": Case("elasticache-encrypted", [redis(kmsKeyId=None)], "without kmsKeyId"),
    "redis preferred": Case("elasticache-encrypted", [redis(transitEncryptionMode="preferred")], "preferred"),
    "s3 kms ok": Case("s3-bucket-encrypted", bucket_stack(), None),
    "s3 missing config": Case("s3-bucket-encrypted", bucket_stack()[:1], "has no BucketServerSideEncryption"),
    "s3 sse-s3": Case("s3-bucket-encrypted", bucket_stack("AES256", None), "uses AES256"),
    "s3 kms no key": Case("s3-bucket-encrypted", bucket_stack("aws:kms", None), "without kmsMasterKeyId"),
    "s3 kms no key allowed": Case("s3-bucket-encrypted", bucket_stack("aws:kms", None), None,
                                  {"s3-bucket-encrypted": {"requireCustomerManagedKey": False}}),
    "s3 alb logs sse-s3": Case("s3-bucket-encrypted", bucket_stack("AES256", None, alb_logs=True), None),
    "s3 alb logs disallowed": Case("s3-bucket-encrypted", bucket_stack("AES256", None, alb_logs=True), "AES256",
                                   {"s3-bucket-encrypted": {"allowSseS3ForAlbLogs": False}}),
    "s3 elb policy sse-s3": Case("s3-bucket-encrypted", [
        *bucket_stack("AES256", None),
        res("aws:s3/bucketPolicy:BucketPolicy", "p", {"bucket": [urn(BUCKET, "django-dev-web-logs-s3")]},
            bucket="django-dev-web-logs-123456789012-s3",
            policy=policy_doc({"Effect": "Allow", "Principal": {"Service": "logdelivery.elasticloadbalancing"
                                                                           ".amazonaws.com"},
                               "Action": "s3:PutObject", "Resource": "arn:aws:s3:::x/*"}))], None),
    "ecr kms ok": Case("ecr-kms-encrypted", [res("aws:ecr/repository:Repository", "r", encryptionConfigurations=[
        {"encryptionType": "KMS", "kmsKey": KEY}])], None),
    "ecr aes": Case("ecr-kms-encrypted", [res("aws:ecr/repository:Repository", "r")], "uses AES256"),
    "ecr no key": Case("ecr-kms-encrypted", [res("aws:ecr/repository:Repository", "r", encryptionConfigurations=[
        {"encryptionType": "KMS"}])], "AWS-managed ECR key"),
    "log kms ok": Case("log-group-kms-encrypted", [res("aws:cloudwatch/logGroup:LogGroup", "l", kmsKeyId=KEY)], None),
    "log no kms": Case("log-group-kms-encrypted", [res("aws:cloudwatch/logGroup:LogGroup", "l")], "no kmsKeyId"),
    "sns ok": Case("messaging-encrypted", [res("aws:sns/topic:Topic", "t", kmsMasterKeyId=KEY)], None),
    "sns plain": Case("messaging-encrypted", [res("aws:sns/topic:Topic", "t")], "not encrypted"),
    "sqs sse ok": Case("messaging-encrypted", [res("aws:sqs/queue:Queue", "q", sqsManagedSseEnabled=True)], None),
    "sqs plain": Case("messaging-encrypted", [res("aws:sqs/queue:Queue", "q", sqsManagedSseEnabled=False)],
                      "not encrypted"),
    "sqs cmk required": Case("messaging-encrypted", [res("aws:sqs/queue:Queue", "q", sqsManagedSseEnabled=True)],
                             "no kmsMasterKeyId", {"messaging-encrypted": {"requireCustomerManagedKey": True}}),
    "secret ok": Case("secret-customer-managed-key", [res("aws:secretsmanager/secret:Secret", "s", kmsKeyId=KEY)],
                      None),
    "secret aws key": Case("secret-customer-managed-key", [res("aws:secretsmanager/secret:Secret", "s")],
                           "aws/secretsmanager"),
    "ssm secure ok": Case("ssm-secret-securestring", [res("aws:ssm/parameter:Parameter", "p",
                                                          name="/django/dev/db/password", type="SecureString")], None),
    "ssm plain secret": Case("ssm-secret-securestring", [res("aws:ssm/parameter:Parameter", "p",
                                                             name="/django/dev/db/password", type="String")],
                             "use SecureString"),
    "ssm secret description": Case("ssm-secret-securestring", [res("aws:ssm/parameter:Parameter", "p",
                                                                   name="/django/dev/x", type="String",
                                                                   description="Stripe API key")], "description"),
    "ssm plain ok": Case("ssm-secret-securestring", [res("aws:ssm/parameter:Parameter", "p",
                                                         name="/django/dev/app/hosts", type="String")], None),
    "codebuild ok": Case("build-artifacts-encrypted", [res("aws:codebuild/project:Project", "p", encryptionKey=KEY,
                                                           artifacts={"type": "CODEPIPELINE"})], None),
    "codebuild no key": Case("build-artifacts-encrypted", [res("aws:codebuild/project:Project", "p")],
                             "no encryptionKey"),
    "codebuild disabled": Case("build-artifacts-encrypted", [res("aws:codebuild/project:Project", "p",
                                                                 encryptionKey=KEY,
                                                                 artifacts={"encryptionDisabled": True})],
                               "disables artifact encryption"),
    "pipeline ok": Case("build-artifacts-encrypted", [res("aws:codepipeline/pipeline:Pipeline", "p", artifactStores=[
        {"location": "b", "type": "S3", "encryptionKey": {"id": KEY, "type": "KMS"}}])], None),
    "pipeline no key": Case("build-artifacts-encrypted", [res("aws:codepipeline/pipeline:Pipeline", "p",
                                                              artifactStores=[{"location": "b", "type": "S3"}])],
                            "artifactStores[0] has no encryptionKey"),
    "kms rotates": Case("kms-key-rotation", [res("aws:kms/key:Key", "k", enableKeyRotation=True)], None),
    "kms no rotation": Case("kms-key-rotation", [res("aws:kms/key:Key", "k")], "does not rotate"),
    "kms asymmetric": Case("kms-key-rotation", [res("aws:kms/key:Key", "k", customerMasterKeySpec="RSA_2048",
                                                    keyUsage="SIGN_VERIFY")], None),
    "tls13 ok": Case("alb-https-tls-policy", [res(LISTENER, "l", protocol="HTTPS", port=443,
                                                  sslPolicy="ELBSecurityPolicy-TLS13-1-2-2021-06")], None),
    "tls12 weak": Case("alb-https-tls-policy", [res(LISTENER, "l", protocol="HTTPS",
                                                    sslPolicy="ELBSecurityPolicy-TLS-1-2-2017-01")], "use a TLS 1.3+"),
    "tls12 allowed": Case("alb-https-tls-policy", [res(LISTENER, "l", protocol="HTTPS",
                                                       sslPolicy="ELBSecurityPolicy-TLS-1-2-2017-01")], None,
                          {"alb-https-tls-policy": {"minimumTls": "1.2"}}),
    "tls default policy": Case("alb-https-tls-policy", [res("aws:alb/listener:Listener", "l", protocol="HTTPS")],
                               "ELBSecurityPolicy-2016-08"),
    "tls allowed list": Case("alb-https-tls-policy", [res(LISTENER, "l", protocol="HTTPS",
                                                          sslPolicy="ELBSecurityPolicy-TLS13-1-2-2021-06")],
                             "use ELBSecurityPolicy-TLS13-1-3-2021-06",
                             {"alb-https-tls-policy": {"allowedPolicies": ["ELBSecurityPolicy-TLS13-1-3-2021-06"]}}),
    "http redirect ok": Case("alb-http-redirects-to-https", [res(LISTENER, "l", protocol="HTTP", port=80,
                                                                 defaultActions=[{"type": "redirect", "redirect": {
                                                                     "protocol": "HTTPS", "port": "443",
                                                                     "statusCode": "HTTP_301"}}])], None),
    "http forward": Case("alb-http-redirects-to-https", [res(LISTENER, "l", port=80, defaultActions=[
        {"type": "forward", "targetGroupArn": "arn"}])], "does 'forward'"),
    "http redirect to http": Case("alb-http-redirects-to-https", [res(LISTENER, "l", protocol="HTTP", defaultActions=[
        {"type": "redirect", "redirect": {"protocol": "HTTP"}}])], "must redirect to HTTPS"),
    "pg tls ok": Case("rds-parameter-group-forces-tls", [res("aws:rds/parameterGroup:ParameterGroup", "pg",
                                                             family="postgres16",
                                                             parameters=[{"name": "rds.force_ssl", "value": "1"}])],
                      None),
    "pg tls missing": Case("rds-parameter-group-forces-tls", [res("aws:rds/parameterGroup:ParameterGroup", "pg",
                                                                  family="postgres16", parameters=[])],
                           "does not set rds.force_ssl=1"),
    "mysql tls off": Case("rds-parameter-group-forces-tls", [res("aws:rds/parameterGroup:ParameterGroup", "pg",
                                                                 family="mysql8.0", parameters=[
                                                                     {"name": "require_secure_transport",
                                                                      "value": "0"}])],
                          "sets require_secure_transport=0"),
    "task env ok": Case("ecs-task-no-plaintext-secrets", [task([{"name": "DB_SECRET_ARN", "value": "arn:..."},
                                                                {"name": "DJANGO_DEBUG", "value": "0"}])], None),
    "task env url password": Case("ecs-task-no-plaintext-secrets", [task([
        {"name": "DATABASE_URL", "value": "postgres://django:hunter2@db.internal:5432/app"}])],
        "DATABASE_URL has a password in its URL in plain `environment`"),
    "task env url no password": Case("ecs-task-no-plaintext-secrets", [task([
        {"name": "CACHE_URL", "value": "rediss://cache.internal:6379/0"},
        {"name": "ALLOWED_ORIGIN", "value": "https://app.example.com"}])], None),
    "task env secret": Case("ecs-task-no-plaintext-secrets", [task([{"name": "DATABASE_PASSWORD", "value": "x"}])],
                            "DATABASE_PASSWORD has a secret-looking name in plain `environment`"),
    # exposure
    "rds private": Case("rds-not-public", [rds()], None),
    "rds public": Case("rds-not-public", [rds(publiclyAccessible=True)], "publicly accessible"),
    "ecs private": Case("ecs-no-public-ip", [res("aws:ecs/service:Service", "s", networkConfiguration={
        "assignPublicIp": False, "subnets": ["a"]})], None),
    "ecs public": Case("ecs-no-public-ip", [res("aws:ecs/service:Service", "s", networkConfiguration={
        "assignPublicIp": True})], "public IP"),
    "event target public": Case("ecs-no-public-ip", [res("aws:cloudwatch/eventTarget:EventTarget", "t", ecsTarget={
        "networkConfiguration": {"assignPublicIp": True}})], "ecsTarget.networkConfiguration"),
    "sg alb 443": Case("security-group-no-public-ingress", sg_stack(), None),
    "sg alb 22": Case("security-group-no-public-ingress", sg_stack(port=22), "opens port 22"),
    "sg not lb 443": Case("security-group-no-public-ingress", sg_stack(attached_to_lb=False), "load balancer groups"),
    "sg ipv6": Case("security-group-no-public-ingress", sg_stack(cidr="::/0", attached_to_lb=False), "::/0"),
    "sg private cidr": Case("security-group-no-public-ingress", sg_stack(cidr="10.0.0.0/16", port=5432), None),
    "sg inline all": Case("security-group-no-public-ingress", [res(SG, "g", ingress=[
        {"protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlocks": ["0.0.0.0/0"]}])], "all ports"),
    "sg legacy rule": Case("security-group-no-public-ingress", [res("aws:ec2/securityGroupRule:SecurityGroupRule",
                                                                    "r", type="ingress", protocol="tcp", fromPort=3306,
                                                                    toPort=3306, cidrBlocks=["0.0.0.0/0"])],
                           "port 3306"),
    "sg ports config": Case("security-group-no-public-ingress", sg_stack(port=8443), None,
                            {"security-group-no-public-ingress": {"allowedPublicPorts": [8443]}}),
    "pab ok": Case("s3-public-access-blocked", bucket_stack(), None),
    "pab missing": Case("s3-public-access-blocked", bucket_stack(pab=False), "has no BucketPublicAccessBlock"),
    "pab flag off": Case("s3-public-access-blocked", bucket_stack(flags=False), "restrictPublicBuckets off"),
    # resilience (production only)
    "rds prod ok": Case("rds-production-resilience", [rds()], None, {"rds-production-resilience": PROD}),
    "rds prod single az": Case("rds-production-resilience", [rds(multiAz=False)], "single-AZ",
                               {"rds-production-resilience": PROD}),
    "rds prod backups": Case("rds-production-resilience", [rds(backupRetentionPeriod=3)], "keeps backups 3 days",
                             {"rds-production-resilience": PROD}),
    "rds prod no protection": Case("rds-production-resilience", [rds(deletionProtection=False)],
                                   "deletion protection", {"rds-production-resilience": PROD}),
    "rds dev single az": Case("rds-production-resilience", [rds(multiAz=False, deletionProtection=False)], None),
    "redis prod ok": Case("redis-production-failover", [redis()], None, {"redis-production-failover": PROD}),
    "redis prod no failover": Case("redis-production-failover", [redis(automaticFailoverEnabled=False)],
                                   "no automatic failover", {"redis-production-failover": PROD}),
    "alb prod ok": Case("alb-production-deletion-protection", [res(LB, "a", enableDeletionProtection=True)], None,
                        {"alb-production-deletion-protection": PROD}),
    "alb prod unprotected": Case("alb-production-deletion-protection", [res("aws:alb/loadBalancer:LoadBalancer",
                                                                            "a")], "no deletion protection",
                                 {"alb-production-deletion-protection": PROD}),
    "alb staging as prod": Case("alb-production-deletion-protection", [res(LB, "a")], "no deletion protection",
                                {"alb-production-deletion-protection": {"environment": "stg",
                                                                        "productionEnvironments": ["stg", "prod"]}}),
    # logging and supply chain
    "retention ok": Case("log-group-retention", [res("aws:cloudwatch/logGroup:LogGroup", "l", retentionInDays=30)],
                         None),
    "retention forever": Case("log-group-retention", [res("aws:cloudwatch/logGroup:LogGroup", "l")], "forever"),
    "retention short": Case("log-group-retention", [res("aws:cloudwatch/logGroup:LogGroup", "l", retentionInDays=7)],
                            "keeps logs 7 days", {"log-group-retention": {"minimumDays": 30}}),
    "ecr ok": Case("ecr-immutable-scanned", [res("aws:ecr/repository:Repository", "r", imageTagMutability="IMMUTABLE",
                                                 imageScanningConfiguration={"scanOnPush": True})], None),
    "ecr mutable": Case("ecr-immutable-scanned", [res("aws:ecr/repository:Repository", "r",
                                                      imageScanningConfiguration={"scanOnPush": True})], "mutable"),
    "ecr no scan": Case("ecr-immutable-scanned", [res("aws:ecr/repository:Repository", "r",
                                                      imageTagMutability="IMMUTABLE")], "does not scan"),
    "iam ok": Case("iam-no-wildcard-admin", [res("aws:iam/rolePolicy:RolePolicy", "p", policy=policy_doc(
        {"Effect": "Allow", "Action": ["iam:PassRole"], "Resource": "arn:aws:iam::1:role/x"},
        {"Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": "*"}))], None),
    "iam admin": Case("iam-no-wildcard-admin", [res("aws:iam/policy:Policy", "p", policy=policy_doc(
        {"Effect": "Allow", "Action": "*", "Resource": "*"}))], "every action on every resource"),
    "iam passrole": Case("iam-no-wildcard-admin", [res("aws:iam/role:Role", "r", inlinePolicies=[{
        "name": "x", "policy": policy_doc({"Sid": "Pass", "Effect": "Allow", "Action": "iam:Pass*",
                                           "Resource": ["*"]})}])], "iam:Pass* on '*' (Sid Pass)"),
    "iam deny star": Case("iam-no-wildcard-admin", [res("aws:iam/policy:Policy", "p", policy=policy_doc(
        {"Effect": "Deny", "Action": "*", "Resource": "*"}))], None),
    "iam not action": Case("iam-no-wildcard-admin", [res("aws:iam/policy:Policy", "p", policy=policy_doc(
        {"Effect": "Allow", "NotAction": ["iam:*", "organizations:*"], "Resource": "*"}))],
        "every action except iam:*, organizations:* on every resource (NotAction)"),
    "iam not action scoped": Case("iam-no-wildcard-admin", [res("aws:iam/policy:Policy", "p", policy=policy_doc(
        {"Effect": "Allow", "NotAction": "s3:DeleteBucket", "Resource": "arn:aws:s3:::django-dev-x-s3"}))], None),
    "iam not resource": Case("iam-no-wildcard-admin", [res("aws:iam/policy:Policy", "p", policy=policy_doc(
        {"Effect": "Allow", "Action": "*", "NotResource": "arn:aws:s3:::audit/*"}))], "every action on every"),
    "iam admin attached": Case("iam-no-wildcard-admin", [res(
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment", "a", role="r",
        policyArn="arn:aws:iam::aws:policy/AdministratorAccess")], "attaches arn:aws:iam::aws:policy/Administrator"),
    "iam admin managed arns": Case("iam-no-wildcard-admin", [res("aws:iam/role:Role", "r", managedPolicyArns=[
        "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy",
        "arn:aws:iam::aws:policy/AdministratorAccess"])], "AdministratorAccess"),
    "iam managed attached ok": Case("iam-no-wildcard-admin", [res(
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment", "a", role="r",
        policyArn="arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy")], None),
    # What the engine really sends: Analyze gets the provider-checked inputs, where pulumi-aws has filled an
    # unset name with `{logical name}-{7 hex}` (lowercased for buckets); the logical name is what is checked.
    "naming auto-named": Case("naming-convention", [res("aws:sqs/queue:Queue", "django-dev-batch-dlq",
                                                        name="django-dev-batch-dlq-1a2b3c4")], None),
    "naming auto-named fifo": Case("naming-convention", [res("aws:sqs/queue:Queue", "django-dev-jobs-sqs",
                                                             name="django-dev-jobs-sqs-1a2b3c4.fifo")], None),
    "naming auto-named bucket": Case("naming-convention", [res(BUCKET, "Django-dev-web-assets",
                                                               bucket="django-dev-web-assets-0f1e2d3")], None),
    "naming auto-named bad logical": Case("naming-convention", [res("aws:sns/topic:Topic", "alertsTopic",
                                                                    name="alertsTopic-0f1e2d3")],
                                          "logical name 'alertsTopic' (auto-named name 'alertsTopic-0f1e2d3') must"),
    "naming chosen suffix-like name": Case("naming-convention", [res("aws:sqs/queue:Queue", "q",
                                                                     name="django-dev-batch-dlq-1a2b3c4")],
                                           "must end with the kind"),
    "limits auto-named": Case("naming-aws-limits", [res(LB, "django-dev-web-alb",
                                                        name="django-dev-web-alb-0f1e2d3")], None),
    # the bucket's own (deprecated) block is `serverSideEncryptionConfiguration.rule` in pulumi-aws 7
    "s3 inline kms": Case("s3-bucket-encrypted", [res(BUCKET, "b", bucket="django-dev-x-s3",
                                                      serverSideEncryptionConfiguration={"rule": {
                                                          "applyServerSideEncryptionByDefault": {
                                                              "sseAlgorithm": "aws:kms", "kmsMasterKeyId": KEY}}})],
                          None),
    "s3 inline aes256": Case("s3-bucket-encrypted", [res(BUCKET, "b", bucket="django-dev-x-s3",
                                                         serverSideEncryptionConfiguration={"rule": {
                                                             "applyServerSideEncryptionByDefault": {
                                                                 "sseAlgorithm": "AES256"}}})], "uses AES256"),
    # preview outputs: the computed inline block is unknown when the program did not set it
    "s3 preview no config": Case("s3-bucket-encrypted", [res(BUCKET, "b", bucket="django-dev-x-s3",
                                                             serverSideEncryptionConfiguration=UNKNOWN)],
                                 "has no BucketServerSideEncryptionConfiguration"),
    "s3 preview with config": Case("s3-bucket-encrypted", preview_outputs(bucket_stack()), None),
    "s3 preview aes256 config": Case("s3-bucket-encrypted", preview_outputs(bucket_stack("AES256", None)),
                                     "uses AES256"),
    "sqs aws managed key": Case("messaging-encrypted", [res("aws:sqs/queue:Queue", "q",
                                                            kmsMasterKeyId="alias/aws/sqs")], None),
    "sqs aws managed key cmk required": Case("messaging-encrypted", [res("aws:sqs/queue:Queue", "q",
                                                                         kmsMasterKeyId="alias/aws/sqs")],
                                             "has the AWS-managed key alias/aws/sqs",
                                             {"messaging-encrypted": {"requireCustomerManagedKey": True}}),
    "sns aws managed key": Case("messaging-encrypted", [res("aws:sns/topic:Topic", "t",
                                                            kmsMasterKeyId="alias/aws/sns")],
                                "uses the AWS-managed key alias/aws/sns"),
    "pi aurora instance": Case("rds-performance-insights-encrypted", [res(
        "aws:rds/clusterInstance:ClusterInstance", "i", performanceInsightsEnabled=True)],
        "without performanceInsightsKmsKeyId"),
    "pi aurora instance ok": Case("rds-performance-insights-encrypted", [res(
        "aws:rds/clusterInstance:ClusterInstance", "i", performanceInsightsEnabled=True,
        performanceInsightsKmsKeyId=KEY)], None),
    "cache standalone cluster": Case("elasticache-encrypted", [res("aws:elasticache/cluster:Cluster", "c",
                                                                   engine="redis", numCacheNodes=1)],
                                     "cannot encrypt data at rest"),
    "cache member cluster": Case("elasticache-encrypted", [res("aws:elasticache/cluster:Cluster", "c",
                                                               replicationGroupId="django-dev-cache-redis")], None),
    "cache serverless no key": Case("elasticache-encrypted", [res("aws:elasticache/serverlessCache:ServerlessCache",
                                                                  "s", engine="valkey")], "no kmsKeyId"),
    "role with boundary": Case("iam-role-permissions-boundary", [res("aws:iam/role:Role", "r", name="r",
        permissionsBoundary="arn:aws:iam::1:policy/b")], None),
    "role without boundary": Case("iam-role-permissions-boundary", [res("aws:iam/role:Role", "r", name="r")],
                                  "no permissions boundary",
                                  {"iam-role-permissions-boundary": {"enforcementLevel": "mandatory"}}),
    "cache serverless key": Case("elasticache-encrypted", [res("aws:elasticache/serverlessCache:ServerlessCache",
                                                               "s", engine="valkey", kmsKeyId=KEY)], None),
    # pack-wide settings (the pack under test runs as stack "dev")
    "settings prod ok": Case("pack-settings", [rds()], None, {"pack-settings": {"environment": "prod"}}),
    "settings production rules off": Case("pack-settings", [rds()], "production rules are inactive on this stack: "
                                          "its environment 'dev' is not one of productionEnvironments (prod); off: "
                                          "rds-production-resilience"),
    "settings no production types": Case("pack-settings", [res("aws:sqs/queue:Queue", "django-dev-jobs-sqs")], None),
    "settings unrecognized": Case("pack-settings", [rds()], "the environment of stack 'dev' could not be recognized",
                                  {"pack-settings": {"environments": ["qa", "prod"]}}),
    "settings alias of configured env": Case("rds-production-resilience", [rds(multiAz=False)], "single-AZ",
                                             {"pack-settings": {"environment": "production"}}),
    "settings rule override wins": Case("rds-production-resilience", [rds(multiAz=False)], None,
                                        {"pack-settings": {"environment": "prod"},
                                         "rds-production-resilience": {"environment": "dev"}}),
    "settings system for naming": Case("naming-convention", [res(LB, "alb", name="shop-dev-web-alb")],
                                       "must start with acme-dev-; set it to 'acme-dev-web-alb'",
                                       {"pack-settings": {"system": "acme"}}),
    # autonaming patterns (https://www.pulumi.com/docs/iac/concepts/resources/names/#autonaming-configuration)
    "naming pattern recognized": Case("naming-convention", [res(LB, "web-alb", name="django-dev-web-alb-a1b2c3")],
                                      None,
                                      {"pack-settings": {"autonamingPattern": "django-${stack}-${name}-${hex(6)}"}}),
    "naming pattern unset": Case("naming-convention", [res(LB, "web-alb", name="django-dev-web-alb-a1b2c3")],
                                 "must end with the kind"),
    "naming pattern stem checked": Case("naming-convention", [res(LB, "web-alb", name="dev-web-alb-x9z1")],
                                        "the name generated from the autonaming pattern should read",
                                        {"pack-settings": {"autonamingPattern": "${stack}-${name}-${alphanum(4)}"}}),
    "limits pattern length": Case("naming-aws-limits", [res(LB, "django-dev-web-public-alb")],
                                  "is 38 characters (25 + 13 for the auto-name suffix)",
                                  {"pack-settings": {"autonamingPattern": "${name}-${alphanum(12)}"}}),
    "naming empty system no misread": Case("naming-convention", [res(BUCKET, "b", bucket="my-bucket-s3")],
                                           "has no environment segment", {"pack-settings": {"system": ""}}),
    # secrets beyond names: credential-shaped values, command lines
    "task env token name": Case("ecs-task-no-plaintext-secrets", [task([{"name": "STRIPE_API_KEY", "value": "x"}])],
                                "STRIPE_API_KEY has a secret-looking name"),
    "task env dsn name": Case("ecs-task-no-plaintext-secrets", [task([{"name": "SENTRY_DSN", "value": "x"}])],
                              "SENTRY_DSN has a secret-looking name"),
    "task env aws key value": Case("ecs-task-no-plaintext-secrets", [task([{"name": "UPLOAD_ID",
                                                                            "value": "AKIAIOSFODNN7EXAMPLE"}])],
                                   "UPLOAD_ID holds an AWS access key id"),
    "task command flag": Case("ecs-task-no-plaintext-secrets", [task([], command=["migrate", "--db-password",
                                                                                  "hunter2"])],
                              "`command` flag db-password is given a literal value"),
    "task entrypoint assignment": Case("ecs-task-no-plaintext-secrets", [task([], entryPoint=[
        "sh", "-c", "export API_TOKEN=abc123 && exec gunicorn"])], "`entryPoint` argument 2 assigns API_TOKEN"),
    "task command reference ok": Case("ecs-task-no-plaintext-secrets", [task([], command=[
        "sh", "-c", "exec app --password \"$DB_PASSWORD\" --token=${TOKEN}"])], None),
    "task plain command ok": Case("ecs-task-no-plaintext-secrets", [task([{"name": "WORKERS", "value": "4"}],
                                                                         command=["gunicorn", "--workers", "4"])],
                                  None),
    # RDS on a default parameter group (TLS not forced)
    "rds default pg": Case("rds-custom-parameter-group", [rds(engine="postgres", engineVersion="14.9")],
                           "uses no parameter group (the engine's default group)"),
    "rds default pg named": Case("rds-custom-parameter-group", [rds(engine="mysql", engineVersion="8.0.35",
                                                                    parameterGroupName="default.mysql8.0")],
                                 "uses the default parameter group default.mysql8.0"),
    "rds custom pg": Case("rds-custom-parameter-group", [rds(engine="postgres", engineVersion="14.9",
                                                             parameterGroupName="django-dev-db-pg")], None),
    "rds pg15 default forces tls": Case("rds-custom-parameter-group", [rds(engine="postgres", engineVersion="16.3")],
                                        None),
    "rds pg default version": Case("rds-custom-parameter-group", [rds(engine="postgres")], None),
    "rds mysql default version": Case("rds-custom-parameter-group", [rds(engine="mysql")], "(mysql) uses no parameter"),
    "aurora cluster default pg": Case("rds-custom-parameter-group", [res(
        "aws:rds/cluster:Cluster", "c", engine="aurora-postgresql", engineVersion="16.1")],
        "dbClusterParameterGroupName"),
    # internet-facing NLB listeners
    "nlb 443": Case("nlb-public-listener-ports", nlb_stack(), None),
    "nlb 5432": Case("nlb-public-listener-ports", nlb_stack(5432), "listens on 5432; only 80, 443 may face"),
    "nlb internal": Case("nlb-public-listener-ports", nlb_stack(5432, internal=True), None),
    "nlb alb is not nlb": Case("nlb-public-listener-ports", nlb_stack(8080, kind="application"), None),
    "nlb ports config": Case("nlb-public-listener-ports", nlb_stack(8883), None,
                             {"nlb-public-listener-ports": {"allowedPorts": [443, 8883]}}),
    # Lambda, EC2, EBS, API Gateway (types of the corpus programs)
    "lambda env ok": Case("lambda-no-plaintext-secrets", [res(LAMBDA, "f", environment={"variables": {
        "TABLE_NAME": "t", "DB_SECRET_ARN": "arn:aws:secretsmanager:..."}})], None),
    "lambda env secret": Case("lambda-no-plaintext-secrets", [res(LAMBDA, "f", environment={"variables": {
        "SLACK_TOKEN": "x"}})], "SLACK_TOKEN has a secret-looking name in plain `environment.variables`"),
    "lambda env key value": Case("lambda-no-plaintext-secrets", [res(LAMBDA, "f", environment={"variables": {
        "GH": "ghp_" + "a" * 36}})], "GH holds a GitHub token"),
    "lambda cmk ok": Case("lambda-environment-cmk", [res(LAMBDA, "f", kmsKeyArn=KEY, environment={"variables": {
        "A": "1"}})], None),
    "lambda no env no key ok": Case("lambda-environment-cmk", [res(LAMBDA, "f")], None),
    "lambda env aws key": Case("lambda-environment-cmk", [res(LAMBDA, "f", environment={"variables": {"A": "1"}})],
                               "AWS-managed aws/lambda key"),
    "imdsv2 ok": Case("ec2-imdsv2", [res(EC2, "i", metadataOptions={"httpTokens": "required"})], None),
    "imdsv1": Case("ec2-imdsv2", [res(EC2, "i")], "accepts IMDSv1"),
    "imdsv1 template": Case("ec2-imdsv2", [res("aws:ec2/launchTemplate:LaunchTemplate", "t", metadataOptions={
        "httpTokens": "optional"})], "httpTokens optional"),
    "ec2 private": Case("ec2-no-public-ip", [res(EC2, "i", subnetId="subnet-1", associatePublicIpAddress=False)],
                        None),
    "ec2 public ip": Case("ec2-no-public-ip", [res(EC2, "i", subnetId="subnet-1", associatePublicIpAddress=True)],
                          "associatePublicIpAddress: true"),
    "ec2 default subnet": Case("ec2-no-public-ip", [res(EC2, "i")], "default VPC's default subnet"),
    "user data ok": Case("ec2-user-data-no-secrets", [res(EC2, "i", userData="#!/bin/bash\nyum install -y httpd")],
                         None),
    "user data secret": Case("ec2-user-data-no-secrets", [res(EC2, "i", userData="#!/bin/bash\nexport "
                                                              "DB_PASSWORD=hunter2\n")], "assigns DB_PASSWORD"),
    "ebs ok": Case("ebs-encrypted", [res("aws:ebs/volume:Volume", "v", encrypted=True, kmsKeyId=KEY)], None),
    "ebs plain": Case("ebs-encrypted", [res("aws:ebs/volume:Volume", "v", size=8)], "the volume is not encrypted"),
    "ebs root": Case("ebs-encrypted", [res(EC2, "i", rootBlockDevice={"encrypted": True},
                                           ebsBlockDevices=[{"deviceName": "/dev/sdf"}])],
                     "ebsBlockDevices[0] is not encrypted"),
    "ebs account default": Case("ebs-encrypted", [res("aws:ebs/volume:Volume", "v")], None,
                                {"ebs-encrypted": {"accountEncryptsByDefault": True}}),
    "ebs template": Case("ebs-encrypted", [res("aws:ec2/launchTemplate:LaunchTemplate", "t", blockDeviceMappings=[
        {"deviceName": "/dev/xvda", "ebs": {"volumeSize": 8}}])], "blockDeviceMappings[0].ebs is not encrypted"),
    "apigw logs ok": Case("apigateway-access-logging", [res("aws:apigateway/stage:Stage", "s", accessLogSettings={
        "destinationArn": "arn:aws:logs:...", "format": "$context.requestId"})], None),
    "apigw no logs": Case("apigateway-access-logging", [res("aws:apigatewayv2/stage:Stage", "s", apiId="a")],
                          "writes no access log"),
    "apigw domain tls12": Case("apigateway-domain-tls", [res("aws:apigateway/domainName:DomainName", "d",
                                                             securityPolicy="TLS_1_2")], None),
    "apigw domain default": Case("apigateway-domain-tls", [res("aws:apigateway/domainName:DomainName", "d")],
                                 "TLS_1_0 for REST API domains"),
    "apigw v2 domain": Case("apigateway-domain-tls", [res("aws:apigatewayv2/domainName:DomainName", "d",
                                                          domainNameConfiguration={"securityPolicy": "TLS_1_2"})],
                            None),
}


@pytest.mark.parametrize("case_id", list(CASES))
def test_rule(pack, case_id: str) -> None:
    case = CASES[case_id]
    stack = rules.rule(case.rule).stack_check is not None
    found = (pack.analyze_stack if stack else pack.analyze)(*case.resources, config=case.config)
    mine = [d for d in found if d.policy == case.rule]
    if case.expect is None:
        assert mine == [], [d.message for d in mine]
    else:
        assert any(case.expect in d.message for d in mine), [d.message for d in found]
        configured = case.config.get(case.rule, {})
        level = configured.get("enforcementLevel") if isinstance(configured, dict) else configured
        assert all(d.level == (level or rules.rule(case.rule).level.value) for d in mine)
        assert all("Fix: " in d.message for d in mine)  # remediation guidance in every message


def test_every_rule_has_a_compliant_and_a_violating_case() -> None:
    from tests.policy.test_cdn_rules import CDN_CASES  # the CloudFront rules' cases (policies/rules/cdn.py)

    covered = {(c.rule, c.expect is None) for c in [*CASES.values(), *CDN_CASES.values()]}
    for rule in rules.RULES:
        if rule.id in ("exemptions-applied", "unchecked-at-preview"):  # reports: test_pack.py
            continue
        assert (rule.id, True) in covered and (rule.id, False) in covered, rule.id

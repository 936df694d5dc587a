"""LoadBalancer: the internet-facing ALB, its listeners, the web target group, DNS aliases and WAF.

- Only 80 and 443 are open to the internet; the ALB's own egress goes only to the web tasks' group on
  the container port, and the web group admits only the ALB group (the rule is added here, on the
  group `WorkloadSecurityGroups` created without ingress).
- HTTP does nothing but answer 301 to HTTPS. HTTPS uses a TLS 1.3 policy and the ARN that comes out
  of the `CertificateValidation`, so the listener waits for an issued certificate.
- Access logs go to a bucket of their own. ALB log delivery writes only to buckets encrypted with
  SSE-S3 (AES256); SSE-KMS, with a customer key or the AWS-managed one, is not supported for access
  logs (Elastic Load Balancing user guide, "Access logs": "the only server-side encryption option that's
  supported is Amazon S3-managed keys (SSE-S3)"). That bucket is therefore the one deliberate
  exception to "data at rest uses the platform's KMS key", and it is tagged `encryption-exception`
  with the reason, so a policy pack can exempt exactly it.
- The optional WAF web ACL puts a per-IP rate limit in front of AWS managed rule groups.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.buckets import versioned_with_expiry
from components.context import StackContext
from components.logs import encrypted_log_group
from components.settings import LoadBalancerSettings

ACCESS_LOG_PREFIX = "alb"
ENCRYPTION_EXCEPTION = "ALB access log delivery supports only SSE-S3"

# AWS managed rule groups, in evaluation order after the rate limit; (name, rules switched to count).
# The common rule set blocks request bodies over 8 KB (SizeRestrictions_BODY), which breaks ordinary
# Django form posts and uploads; it is counted (visible in the logs) instead of blocked.
WAF_MANAGED_RULE_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("AWSManagedRulesAmazonIpReputationList", ()),
    ("AWSManagedRulesCommonRuleSet", ("SizeRestrictions_BODY",)),
    ("AWSManagedRulesKnownBadInputsRuleSet", ()),
    ("AWSManagedRulesSQLiRuleSet", ()),
)
# Headers that carry credentials (Django session cookie, bearer tokens) never reach the WAF logs.
WAF_REDACTED_HEADERS = ("authorization", "cookie")


@dataclass
class LoadBalancerArgs:
    ctx: StackContext
    settings: LoadBalancerSettings
    vpc_id: pulumi.Input[str]
    public_subnet_ids: Sequence[pulumi.Input[str]]
    certificate_arn: pulumi.Input[str]  # the *validated* ARN (Certificate.certificate_arn)
    zone_id: pulumi.Input[str]
    site_names: Sequence[str]  # alias records to create, e.g. Certificate.site_names
    target_port: int  # the container port the target group sends traffic to
    target_security_group_id: pulumi.Input[str]  # the web tasks' group: gets the only ingress rule
    log_key_arn: pulumi.Input[str]  # telemetry key, for the WAF log group
    ipv6: bool = False  # dual-stack ALB and AAAA records (the subnets need IPv6 CIDRs)


class LoadBalancer(pulumi.ComponentResource):
    """Internet-facing ALB with HTTPS (TLS 1.3), an HTTP->HTTPS redirect, an ip target group and aliases."""

    load_balancer: aws.lb.LoadBalancer
    target_group: aws.lb.TargetGroup
    https_listener: aws.lb.Listener
    http_listener: aws.lb.Listener
    # Not `aws.wafv2.WebAcl | None`: Pulumi evaluates a component's class annotations when it registers
    # outputs, and naming wafv2 here would import its 0.4 s of generated types in stacks without WAF.
    web_acl: pulumi.CustomResource | None
    access_log_bucket: aws.s3.Bucket | None = None

    def __init__(self, name: str, args: LoadBalancerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("django-platform:load_balancer:LoadBalancer", name, None, opts)
        self._ctx = ctx = args.ctx
        settings = args.settings
        self.security_group_id = self._security_groups(args)
        log_dependencies = self._access_log_bucket(settings) if settings.access_logs else []
        access_logs = aws.lb.LoadBalancerAccessLogsArgs(
            bucket=self.access_log_bucket.bucket, prefix=ACCESS_LOG_PREFIX, enabled=True,
        ) if self.access_log_bucket else None

        alb_name = ctx.namer.name("edge", "alb")
        self.load_balancer = aws.lb.LoadBalancer(
            alb_name,
            name=alb_name,
            internal=False,
            load_balancer_type="application",
            subnets=list(args.public_subnet_ids),
            security_groups=[self.security_group_id],
            ip_address_type="dualstack" if args.ipv6 else "ipv4",
            drop_invalid_header_fields=True,  # request smuggling through malformed headers
            desync_mitigation_mode="defensive",
            enable_deletion_protection=settings.deletion_protection,
            idle_timeout=settings.idle_timeout,
            access_logs=access_logs,
            opts=self._child(depends_on=log_dependencies),  # AWS checks it can write a test object
        )

        # A changed port replaces the target group (port is create-only); Pulumi creates the new one before
        # deleting the old, so the physical name carries the port: a fixed name would collide with itself.
        self.target_group = aws.lb.TargetGroup(
            ctx.namer.name("web", "tg"),
            name=ctx.namer.name("web", "tg", str(args.target_port)),
            target_type="ip",  # Fargate tasks register by ENI address
            protocol="HTTP",
            port=args.target_port,
            vpc_id=args.vpc_id,
            deregistration_delay=settings.deregistration_delay,
            health_check=aws.lb.TargetGroupHealthCheckArgs(
                enabled=True,
                protocol="HTTP",
                port="traffic-port",
                path=settings.health_check_path,
                matcher=settings.health_check_matcher,
                interval=settings.health_check_interval,
                timeout=settings.health_check_timeout,
                healthy_threshold=settings.healthy_threshold,
                unhealthy_threshold=settings.unhealthy_threshold,
            ),
            opts=self._child(),
        )
        self.https_listener = aws.lb.Listener(
            ctx.namer.name("edge", "listener", "https"),
            load_balancer_arn=self.load_balancer.arn,
            port=443,
            protocol="HTTPS",
            ssl_policy=settings.ssl_policy,
            certificate_arn=args.certificate_arn,
            default_actions=[aws.lb.ListenerDefaultActionArgs(type="forward",
                                                              target_group_arn=self.target_group.arn)],
            opts=self._child(),
        )
        self.http_listener = aws.lb.Listener(
            ctx.namer.name("edge", "listener", "http"),
            load_balancer_arn=self.load_balancer.arn,
            port=80,
            protocol="HTTP",
            default_actions=[aws.lb.ListenerDefaultActionArgs(
                type="redirect",
                redirect=aws.lb.ListenerDefaultActionRedirectArgs(protocol="HTTPS", port="443",
                                                                  status_code="HTTP_301"),
            )],
            opts=self._child(),
        )
        self._alias_records(args)
        self.web_acl = self._web_acl(settings, args.log_key_arn) if settings.waf else None

        self.arn = self.load_balancer.arn
        self.arn_suffix = self.load_balancer.arn_suffix
        self.dns_name = self.load_balancer.dns_name
        self.url = f"https://{args.site_names[0]}" if args.site_names else None
        # ECS refuses a target group that no listener uses yet: this ARN carries the listener as a
        # dependency, so a service built from it waits for the listener.
        self.target_group_arn: pulumi.Output[str] = pulumi.Output.all(
            self.target_group.arn, self.https_listener.arn).apply(lambda arns: arns[0])
        self.target_group_arn_suffix = self.target_group.arn_suffix
        # ALBRequestCountPerTarget's resource label: app/<alb>/<id>/targetgroup/<tg>/<id>
        self.request_count_resource_label = pulumi.Output.concat(self.load_balancer.arn_suffix, "/",
                                                                 self.target_group.arn_suffix)
        self.register_outputs({"arn": self.arn, "arn_suffix": self.arn_suffix, "dns_name": self.dns_name,
                               "target_group_arn": self.target_group_arn,
                               "target_group_arn_suffix": self.target_group_arn_suffix,
                               "security_group_id": self.security_group_id})

    def _child(self, **kwargs) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, **kwargs)

    def _security_groups(self, args: LoadBalancerArgs) -> pulumi.Output[str]:
        ctx = self._ctx
        sg_name = ctx.namer.name("alb", "sg")
        group = aws.ec2.SecurityGroup(sg_name, name=sg_name, description="Internet-facing ALB: 80 and 443 only",
                                      vpc_id=args.vpc_id, tags={"Name": sg_name}, opts=self._child())
        sources = [("ipv4", "0.0.0.0/0")] + ([("ipv6", "::/0")] if args.ipv6 else [])
        for port in (80, 443):
            for family, cidr in sources:
                aws.vpc.SecurityGroupIngressRule(
                    f"{sg_name}-in-{port}-{family}", security_group_id=group.id, ip_protocol="tcp",
                    from_port=port, to_port=port, description=f"{'HTTPS' if port == 443 else 'HTTP'} from anywhere",
                    cidr_ipv4=cidr if family == "ipv4" else None, cidr_ipv6=cidr if family == "ipv6" else None,
                    opts=pulumi.ResourceOptions(parent=group))
        aws.vpc.SecurityGroupEgressRule(
            f"{sg_name}-out-web", security_group_id=group.id, ip_protocol="tcp", from_port=args.target_port,
            to_port=args.target_port, referenced_security_group_id=args.target_security_group_id,
            description="To the web tasks (traffic and health checks)", opts=pulumi.ResourceOptions(parent=group))
        aws.vpc.SecurityGroupIngressRule(
            ctx.namer.name("web", "sg", "in-alb"), security_group_id=args.target_security_group_id,
            ip_protocol="tcp", from_port=args.target_port, to_port=args.target_port,
            referenced_security_group_id=group.id, description="From the ALB only", opts=self._child())
        return group.id

    def _access_log_bucket(self, settings: LoadBalancerSettings) -> list[pulumi.Resource]:
        """A private, TLS-only, SSE-S3 bucket that ELB log delivery may write to (see the module doc)."""
        ctx = self._ctx
        name = ctx.namer.bucket("edge", "alb-logs", ctx.account_id)
        bucket = aws.s3.Bucket(
            name, bucket=name, force_destroy=not ctx.production_like,
            tags={"Name": name, "encryption-exception": ENCRYPTION_EXCEPTION},
            opts=ctx.stateful(self._child()),
        )
        self.access_log_bucket = bucket
        child = pulumi.ResourceOptions(parent=bucket)
        blocked = aws.s3.BucketPublicAccessBlock(name, bucket=bucket.id, block_public_acls=True,
                                                 block_public_policy=True, ignore_public_acls=True,
                                                 restrict_public_buckets=True, opts=child)
        aws.s3.BucketOwnershipControls(name, bucket=bucket.id, rule=aws.s3.BucketOwnershipControlsRuleArgs(
            object_ownership="BucketOwnerEnforced"), opts=child)
        encrypted = aws.s3.BucketServerSideEncryptionConfiguration(
            name, bucket=bucket.id,
            rules=[aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=aws.s3.
                BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                    sse_algorithm="AES256"))],  # SSE-S3: the only encryption ALB log delivery supports
            opts=child)
        versioned_with_expiry(name, bucket, "expire-access-logs", settings.access_log_days)
        policy = aws.s3.BucketPolicy(name, bucket=bucket.id, policy=self._log_delivery_policy(bucket),
                                     opts=pulumi.ResourceOptions(parent=bucket, depends_on=[blocked]))
        return [policy, encrypted]

    def _log_delivery_policy(self, bucket: aws.s3.Bucket) -> pulumi.Output[str]:
        """ELB log delivery writes only under this account's prefix; nobody reads or writes without TLS.

        Regions opened before August 2022 deliver as a regional ELB account, newer ones as the
        `logdelivery.elasticloadbalancing.amazonaws.com` service; both are allowed, for the same objects.
        """
        ctx = self._ctx
        writers: dict[str, object] = {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}
        # Regions without a legacy ELB account fail the lookup: the service principal suffices there.
        with contextlib.suppress(Exception):
            writers["AWS"] = aws.elb.get_service_account(opts=pulumi.InvokeOptions(parent=self)).arn
        objects = pulumi.Output.concat(bucket.arn, f"/{ACCESS_LOG_PREFIX}/AWSLogs/{ctx.account_id}/*")
        return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": [
            {"Sid": "ElbLogDeliveryWritesAccessLogs", "Effect": "Allow", "Principal": writers,
             "Action": "s3:PutObject", "Resource": objects},
            {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
             "Resource": [bucket.arn, pulumi.Output.concat(bucket.arn, "/*")],
             "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        ]})

    def _alias_records(self, args: LoadBalancerArgs) -> None:
        types = ["A", "AAAA"] if args.ipv6 else ["A"]
        for site in args.site_names:
            for record_type in types:
                aws.route53.Record(
                    f"{self._ctx.namer.name('edge', 'dns', re.sub(r'[^a-z0-9]+', '-', site))}-{record_type.lower()}",
                    zone_id=args.zone_id,
                    name=site,
                    type=record_type,
                    aliases=[aws.route53.RecordAliasArgs(name=self.load_balancer.dns_name,
                                                         zone_id=self.load_balancer.zone_id,
                                                         evaluate_target_health=True)],
                    opts=self._child(),
                )

    def _web_acl(self, settings: LoadBalancerSettings, log_key_arn: pulumi.Input[str]) -> aws.wafv2.WebAcl:
        ctx = self._ctx
        acl_name = ctx.namer.name("edge", "waf")

        def visibility(metric: str) -> aws.wafv2.WebAclRuleVisibilityConfigArgs:
            return aws.wafv2.WebAclRuleVisibilityConfigArgs(cloudwatch_metrics_enabled=True, metric_name=metric,
                                                            sampled_requests_enabled=True)

        rules = [aws.wafv2.WebAclRuleArgs(
            name="rate-limit-per-ip", priority=0,
            action=aws.wafv2.WebAclRuleActionArgs(block=aws.wafv2.WebAclRuleActionBlockArgs()),
            statement=aws.wafv2.WebAclRuleStatementArgs(
                rate_based_statement=aws.wafv2.WebAclRuleStatementRateBasedStatementArgs(
                    limit=settings.waf_rate_limit, aggregate_key_type="IP")),
            visibility_config=visibility(f"{acl_name}-rate-limit"),
        )]
        for priority, (group, counted) in enumerate(WAF_MANAGED_RULE_GROUPS, start=1):
            rules.append(aws.wafv2.WebAclRuleArgs(
                name=group, priority=priority,
                override_action=aws.wafv2.WebAclRuleOverrideActionArgs(none=aws.wafv2.WebAclRuleOverrideActionNoneArgs()),
                statement=aws.wafv2.WebAclRuleStatementArgs(
                    managed_rule_group_statement=aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementArgs(
                        vendor_name="AWS", name=group,
                        rule_action_overrides=[
                            aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementRuleActionOverrideArgs(
                                name=rule,
                                action_to_use=aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementRuleActionOverrideActionToUseArgs(
                                    count=aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementRuleActionOverrideActionToUseCountArgs()),
                            ) for rule in counted] or None,
                    )),
                visibility_config=visibility(f"{acl_name}-{group}"),
            ))
        acl = aws.wafv2.WebAcl(
            acl_name, name=acl_name, scope="REGIONAL", description=f"{ctx.namer.prefix} ALB protection",
            default_action=aws.wafv2.WebAclDefaultActionArgs(allow=aws.wafv2.WebAclDefaultActionAllowArgs()),
            rules=rules,
            visibility_config=aws.wafv2.WebAclVisibilityConfigArgs(cloudwatch_metrics_enabled=True,
                                                                   metric_name=acl_name,
                                                                   sampled_requests_enabled=True),
            opts=self._child(),
        )
        aws.wafv2.WebAclAssociation(acl_name, resource_arn=self.load_balancer.arn, web_acl_arn=acl.arn,
                                    opts=pulumi.ResourceOptions(parent=acl))
        # WAF delivers only to log groups whose name starts with aws-waf-logs-.
        log_group = encrypted_log_group(f"{acl_name}-logs", f"aws-waf-logs-{acl_name}", ctx, log_key_arn, self)
        aws.wafv2.WebAclLoggingConfiguration(
            acl_name, resource_arn=acl.arn, log_destination_configs=[log_group.arn],
            redacted_fields=[aws.wafv2.WebAclLoggingConfigurationRedactedFieldArgs(
                single_header=aws.wafv2.WebAclLoggingConfigurationRedactedFieldSingleHeaderArgs(name=header))
                for header in WAF_REDACTED_HEADERS],
            opts=pulumi.ResourceOptions(parent=acl),
        )
        return acl

"""StaticSite: Django's collectstatic output, from a private S3 bucket through CloudFront at a hostname of its own.

Layout: a separate static hostname (static.<domain>) rather than CloudFront in front of the whole site.
- The site keeps its regional WAF on the ALB, its ALB health checks, Host-header routing and
  X-Forwarded-Proto as they are; fronting the ALB with CloudFront would need the WAF re-created in
  CLOUDFRONT scope in us-east-1, the ALB locked to CloudFront (prefix list plus a secret origin header),
  every Django cookie, header and query string forwarded uncached, and a second TLS hop to re-check.
- Static files carry no cookies and need no WAF: they are public, immutable, content-hashed files. Only
  their distribution changes, and turning it off (`static.cdn: false`) touches nothing else: the web
  tasks serve /static/ with WhiteNoise, as every Django deployment without a CDN does.
- The cost: one more DNS name and certificate, and fonts loaded cross-origin need CORS (the managed
  CORS-and-SecurityHeadersPolicy adds `Access-Control-Allow-Origin: *` and the security headers).

What CloudFront needs, and where:
- Its viewer certificate must come from ACM in us-east-1 (components/provider.py `edge_provider`); with
  a custom certificate and SNI the viewer policy can be TLSv1.2_2021 (the default *.cloudfront.net
  certificate forces TLSv1: CloudFront API reference, ViewerCertificate.MinimumProtocolVersion).
- Origin access control (SigV4, always) reads the bucket; the bucket policy allows s3:GetObject on
  static/* to cloudfront.amazonaws.com only with AWS:SourceArn = this distribution, and the bucket
  stays fully private (public access block, no ACLs). OAC can read SSE-KMS objects when the key policy
  lets cloudfront.amazonaws.com decrypt, again only for this distribution (CloudFront developer guide,
  "Restrict access to an Amazon S3 origin", "SSE-KMS"). That grant would put a service principal on the
  platform data key, which has none by design (components/keys.py), so static files get a key of their own.
- The key policy and the bucket policy name the distribution, which needs the bucket: both are separate
  resources created after it (aws.kms.KeyPolicy, aws.s3.BucketPolicy).
- Caching: the managed CachingOptimized policy honours the origin's Cache-Control (1 s to 1 year).
  `PUBLISH_SCRIPT` uploads Django's content-hashed files with `max-age=31536000, immutable` and the rest
  with a short max-age, and never deletes: pages rendered by a task still on the previous image (during
  a rollout or after a rollback) keep finding their files.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.buckets import private_bucket
from components.certificate import _option_field
from components.context import StackContext
from components.keys import key_policy
from components.settings import StaticSettings

PREFIX = "static"  # object keys and URL paths: https://<hostname>/static/...
ORIGIN_ID = "static-files"
# CloudFront managed policies (developer guide, "Use managed cache policies" / "... response headers policies").
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
CORS_AND_SECURITY_HEADERS = "e61eb60c-9c35-4d20-a928-2b84e02af89c"
VIEWER_TLS_POLICY = "TLSv1.2_2021"


# Django's ManifestStaticFilesStorage names each file `name.<12 hex digits>.ext`: those never change, so they
# are cached for a year; everything else (the unhashed copies, the manifest) for five minutes. The AWS
# CLI's --exclude/--include take fnmatch patterns ("Use of Exclude and Include Filters", `aws s3`
# reference). No --delete: tasks still on the previous image (a rollout, a rollback) keep their files.
HASHED_STATIC_FILE = "*." + "[0-9a-f]" * 12 + ".*"
IMMUTABLE = "public, max-age=31536000, immutable"
SHORT_LIVED = "public, max-age=300"
# The publish step for a pipeline stage that has Docker, IMAGE_URI (the released image), STATIC_BUCKET
# (StaticSite.bucket_name, empty without a CDN) and STATIC_ROOT (static.image_root); its role needs
# `publisher_statements`: the pipeline's Publish stage (components/buildspecs.py publish_spec).
PUBLISH_SCRIPT = f"""set -euo pipefail
if [ -z "${{STATIC_BUCKET:-}}" ]; then
  echo "static.cdn is off: the web tasks serve the static files"
else
  CONTAINER=$(docker create "$IMAGE_URI")
  mkdir -p collected-static
  docker cp "$CONTAINER:$STATIC_ROOT/." collected-static/
  docker rm "$CONTAINER" >/dev/null
  if [ -z "$(ls -A collected-static)" ]; then
    echo "$STATIC_ROOT is empty in $IMAGE_URI: the Dockerfile must run collectstatic"; exit 1
  fi
  aws s3 sync collected-static/ "s3://$STATIC_BUCKET/static/" --exclude '{HASHED_STATIC_FILE}' \\
    --cache-control '{SHORT_LIVED}'
  aws s3 sync collected-static/ "s3://$STATIC_BUCKET/static/" --exclude '*' --include '{HASHED_STATIC_FILE}' \\
    --cache-control '{IMMUTABLE}'
  echo "Published the static files of $IMAGE_URI to s3://$STATIC_BUCKET/static/"
fi"""


def publisher_statements(bucket_arn: pulumi.Input[str], key_arn: pulumi.Input[str]) -> list[dict[str, Any]]:
    """What the pipeline's build needs to publish collectstatic output (`aws s3 sync`, never --delete)."""
    return [
        {"Sid": "PublishStaticFiles", "Effect": "Allow", "Action": "s3:PutObject",
         "Resource": pulumi.Output.concat(bucket_arn, f"/{PREFIX}/*")},
        {"Sid": "ListPublishedStaticFiles", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": bucket_arn,
         "Condition": {"StringLike": {"s3:prefix": [f"{PREFIX}/*", f"{PREFIX}/"]}}},
        # SSE-KMS uploads: GenerateDataKey, plus Decrypt for multipart ones (S3 user guide, "Using SSE-KMS").
        {"Sid": "EncryptStaticFiles", "Effect": "Allow", "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
         "Resource": key_arn},
    ]


@dataclass
class StaticSiteArgs:
    ctx: StackContext
    settings: StaticSettings
    hostname: str  # settings.static.hostname_for(dns.domain)
    zone_id: pulumi.Input[str]  # Certificate.zone_id: the hosted zone the hostname lives in
    edge_provider: aws.Provider  # us-east-1: the viewer certificate
    key_deletion_window_days: int


class StaticSite(pulumi.ComponentResource):
    """Key, bucket, us-east-1 certificate, origin access control, distribution, DNS aliases."""

    def __init__(self, name: str, args: StaticSiteArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("django-platform:static_site:StaticSite", name, None, opts)
        ctx, settings = args.ctx, args.settings
        child = pulumi.ResourceOptions(parent=self)

        key_name = ctx.namer.name("static", "kms")
        self.key = aws.kms.Key(key_name, description=f"{ctx.namer.prefix} static files (CloudFront reads them)",
                               enable_key_rotation=True, rotation_period_in_days=365,
                               deletion_window_in_days=args.key_deletion_window_days, opts=ctx.stateful(child))
        aws.kms.Alias(key_name, name=f"alias/{key_name}", target_key_id=self.key.key_id, opts=child)
        # Published files are rebuilt from any image: no versioning, and the bucket may go with the stack.
        stored = private_bucket(ctx.namer.bucket("static", "files", ctx.account_id), self.key.arn, self,
                                force_destroy=True)

        certificate = self._certificate(ctx, args)
        oac_name = ctx.namer.name("static", "oac")
        oac = aws.cloudfront.OriginAccessControl(
            oac_name, name=oac_name, description="CloudFront signs every request to the static files bucket",
            origin_access_control_origin_type="s3", signing_behavior="always", signing_protocol="sigv4", opts=child)

        distribution_name = ctx.namer.name("static", "cdn")
        self.distribution = aws.cloudfront.Distribution(
            distribution_name,
            comment=f"{ctx.namer.prefix} static files",
            enabled=True,
            is_ipv6_enabled=True,
            http_version="http2and3",
            price_class=settings.price_class,
            aliases=[args.hostname],
            origins=[aws.cloudfront.DistributionOriginArgs(
                origin_id=ORIGIN_ID, domain_name=stored.bucket.bucket_regional_domain_name,
                origin_access_control_id=oac.id)],
            default_cache_behavior=aws.cloudfront.DistributionDefaultCacheBehaviorArgs(
                target_origin_id=ORIGIN_ID,
                viewer_protocol_policy="redirect-to-https",
                allowed_methods=["GET", "HEAD", "OPTIONS"],
                cached_methods=["GET", "HEAD"],
                compress=True,
                cache_policy_id=CACHING_OPTIMIZED,
                response_headers_policy_id=CORS_AND_SECURITY_HEADERS),
            restrictions=aws.cloudfront.DistributionRestrictionsArgs(
                geo_restriction=aws.cloudfront.DistributionRestrictionsGeoRestrictionArgs(restriction_type="none")),
            viewer_certificate=aws.cloudfront.DistributionViewerCertificateArgs(
                acm_certificate_arn=certificate, ssl_support_method="sni-only",
                minimum_protocol_version=VIEWER_TLS_POLICY),
            # The bucket's encryption and access block first: the first request must not find it half set up.
            opts=pulumi.ResourceOptions(parent=self, depends_on=stored.ready))

        source = {"StringEquals": {"AWS:SourceArn": self.distribution.arn}}
        stored.attach_policy([{
            "Sid": "ThisDistributionReadsStaticFiles", "Effect": "Allow",
            "Principal": {"Service": "cloudfront.amazonaws.com"}, "Action": "s3:GetObject",
            "Resource": pulumi.Output.concat(stored.arn, f"/{PREFIX}/*"), "Condition": source}])
        aws.kms.KeyPolicy(key_name, key_id=self.key.key_id, policy=key_policy(ctx, [{
            "Sid": "ThisDistributionDecryptsStaticFiles", "Effect": "Allow",
            "Principal": {"Service": "cloudfront.amazonaws.com"}, "Action": "kms:Decrypt", "Resource": "*",
            "Condition": source}]), opts=pulumi.ResourceOptions(parent=self.key))

        for record_type in ("A", "AAAA"):
            aws.route53.Record(
                f"{distribution_name}-{record_type.lower()}", zone_id=args.zone_id, name=args.hostname,
                type=record_type, allow_overwrite=True,
                aliases=[aws.route53.RecordAliasArgs(name=self.distribution.domain_name,
                                                     zone_id=self.distribution.hosted_zone_id,
                                                     evaluate_target_health=False)],
                opts=child)

        self.bucket_name = stored.name
        self.bucket_arn = stored.arn
        self.key_arn = self.key.arn
        self.distribution_id = self.distribution.id
        self.url = f"https://{args.hostname}/{PREFIX}/"  # Django's STATIC_URL
        self.register_outputs({"bucket_name": self.bucket_name, "distribution_id": self.distribution_id,
                               "url": self.url})

    def publisher_statements(self) -> list[dict[str, Any]]:
        return publisher_statements(self.bucket_arn, self.key_arn)

    def _certificate(self, ctx: StackContext, args: StaticSiteArgs) -> pulumi.Output[str]:
        """The hostname's certificate in us-east-1, DNS-validated in the site's zone; the validated ARN."""
        name = ctx.namer.name("static", "cert")
        on_edge = pulumi.ResourceOptions(parent=self, provider=args.edge_provider)
        certificate = aws.acm.Certificate(name, domain_name=args.hostname, validation_method="DNS",
                                          tags={"Name": name}, opts=on_edge)
        options = certificate.domain_validation_options
        record = aws.route53.Record(
            f"{name}-validation", zone_id=args.zone_id,
            name=_option_field(options, args.hostname, "resource_record_name"),
            type=_option_field(options, args.hostname, "resource_record_type"),
            records=[_option_field(options, args.hostname, "resource_record_value")],
            ttl=60, allow_overwrite=True, opts=pulumi.ResourceOptions(parent=self))
        validation = aws.acm.CertificateValidation(name, certificate_arn=certificate.arn,
                                                   validation_record_fqdns=[record.fqdn], opts=on_edge)
        return validation.certificate_arn

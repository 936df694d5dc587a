"""CloudFront: TLS 1.2+ towards viewers, HTTPS only, and S3 origins that stay private.

- With the default *.cloudfront.net certificate CloudFront negotiates TLSv1 whatever
  `minimumProtocolVersion` says (CloudFront API reference, ViewerCertificate); a TLS 1.2 floor needs a
  custom certificate with `sni-only` and a `TLSv1.2_*` (or newer) policy.
- `allow-all` serves content over plain HTTP: every cache behavior must redirect or refuse it.
- An S3 origin without origin access control (or the legacy origin access identity) can only be read if
  the bucket is public; an S3 *website* endpoint cannot use either, so it always needs a public bucket
  (CloudFront developer guide, "Restrict access to an Amazon S3 origin").
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from pulumi_policy import EnforcementLevel

from .core import MISSING, Context, Resource, Rule, get, is_unknown, items, text, truthy

DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
SECURE_VIEWER_POLICIES = ("redirect-to-https", "https-only")
DEFAULT_TLS_POLICIES = ["TLSv1.2_2018", "TLSv1.2_2019", "TLSv1.2_2021", "TLSv1.2_2025", "TLSv1.3_2025"]
# REST endpoints: bucket.s3.amazonaws.com, bucket.s3.<region>.amazonaws.com, bucket.s3-<region>.amazonaws.com
S3_REST = re.compile(r".+\.s3([.-][a-z0-9-]+)?\.amazonaws\.com(\.cn)?$")
S3_WEBSITE = re.compile(r".+\.s3-website[.-][a-z0-9-]+\.amazonaws\.com(\.cn)?$")


def _viewer_tls(resource: Resource, ctx: Context) -> Iterator[str]:
    certificate = resource.get("viewerCertificate")
    if is_unknown(certificate) or certificate is MISSING:
        return
    default = truthy(get(certificate, "cloudfrontDefaultCertificate"))
    if default:
        yield (f"distribution {resource.name!r} uses the default *.cloudfront.net certificate, with which "
               "CloudFront accepts TLSv1.")
        return
    version = get(certificate, "minimumProtocolVersion")
    if is_unknown(version) or default is None:
        return
    allowed = [v for v in ctx.config.get("allowedPolicies") or DEFAULT_TLS_POLICIES if isinstance(v, str)]
    if text(version) not in allowed:
        shown = "not set (TLSv1)" if version is MISSING else repr(version)
        yield f"distribution {resource.name!r} has minimumProtocolVersion {shown}; allowed: {', '.join(allowed)}."


def _https_only(resource: Resource, ctx: Context) -> Iterator[str]:
    behaviors = [("defaultCacheBehavior", resource.get("defaultCacheBehavior"))]
    behaviors += [(f"orderedCacheBehaviors[{i}] ({get(b, 'pathPattern', '?')})", b)
                  for i, b in enumerate(items(resource.get("orderedCacheBehaviors")))]
    for where, behavior in behaviors:
        if behavior is MISSING or is_unknown(behavior):
            continue
        policy = get(behavior, "viewerProtocolPolicy")
        if is_unknown(policy):
            continue
        if policy not in SECURE_VIEWER_POLICIES:
            yield (f"distribution {resource.name!r} {where} has viewerProtocolPolicy "
                   f"{'not set' if policy is MISSING else repr(policy)}: plain HTTP is served.")


def _private_s3_origins(resource: Resource, ctx: Context) -> Iterator[str]:
    for origin in items(resource.get("origins")):
        domain = get(origin, "domainName")
        if is_unknown(domain) or not isinstance(domain, str):
            continue  # a bucket created in the same program: its domain is computed (preview)
        name = get(origin, "originId", domain)
        if S3_WEBSITE.fullmatch(domain):
            yield (f"distribution {resource.name!r} origin {name!r} is an S3 website endpoint, which only serves "
                   "public buckets.")
            continue
        if not S3_REST.fullmatch(domain):
            continue  # a custom origin (ALB, API): not an S3 bucket
        oac = get(origin, "originAccessControlId")
        oai = get(origin, "s3OriginConfig.originAccessIdentity")
        if is_unknown(oac) or is_unknown(oai) or text(oac) or text(oai):
            continue
        yield (f"distribution {resource.name!r} origin {name!r} reads S3 without origin access control, so the "
               "bucket must be public.")


RULES = [
    Rule("cloudfront-viewer-tls", "encryption", "CloudFront distributions use a custom certificate and a TLS 1.2+ "
         "viewer security policy.", EnforcementLevel.MANDATORY,
         "set viewerCertificate.acmCertificateArn (an ACM certificate in us-east-1), sslSupportMethod sni-only and "
         "minimumProtocolVersion TLSv1.2_2021.", (DISTRIBUTION,), _viewer_tls,
         config={"allowedPolicies": {"type": "array", "items": {"type": "string"}, "minItems": 1,
                                     "default": DEFAULT_TLS_POLICIES,
                                     "description": "Accepted minimumProtocolVersion values."}}),
    Rule("cloudfront-https-only", "encryption", "Every CloudFront cache behavior redirects HTTP to HTTPS or "
         "refuses it.", EnforcementLevel.MANDATORY,
         "set viewerProtocolPolicy to redirect-to-https (or https-only) on every cache behavior.", (DISTRIBUTION,),
         _https_only),
    Rule("cloudfront-s3-origin-private", "exposure", "CloudFront reads S3 origins through origin access control, "
         "so their buckets stay private.", EnforcementLevel.MANDATORY,
         "create an aws.cloudfront.OriginAccessControl (s3, sigv4, always), set the origin's "
         "originAccessControlId and let only the distribution read the bucket (AWS:SourceArn); use the bucket's "
         "REST endpoint, not its website endpoint.", (DISTRIBUTION,), _private_s3_origins),
]

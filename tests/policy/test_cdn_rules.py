"""The CloudFront rules (policies/rules/cdn.py) over gRPC: compliant and violating cases, unknowns in preview."""

from __future__ import annotations

import pytest

from tests.policy.test_rules import Case, res
from tools.analyzer import UNKNOWN

DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
CERT = "arn:aws:acm:us-east-1:123456789012:certificate/abcd"
BUCKET_DOMAIN = "django-prod-static-files-123456789012-s3.s3.us-east-1.amazonaws.com"


def distribution(**overrides) -> list:
    props = {
        "aliases": ["static.example.com"],
        "viewerCertificate": {"acmCertificateArn": CERT, "sslSupportMethod": "sni-only",
                              "minimumProtocolVersion": "TLSv1.2_2021"},
        "defaultCacheBehavior": {"targetOriginId": "static-files", "viewerProtocolPolicy": "redirect-to-https"},
        "origins": [{"originId": "static-files", "domainName": BUCKET_DOMAIN, "originAccessControlId": "E3OAC"}],
    }
    props.update(overrides)
    return [res(DISTRIBUTION, "django-prod-static-cdn", None, **props)]


ALB_ORIGIN = {"originId": "site", "domainName": "django-prod-edge-alb-1.us-east-1.elb.amazonaws.com",
              "customOriginConfig": {"originProtocolPolicy": "https-only"}}

CDN_CASES: dict[str, Case] = {
    # cloudfront-viewer-tls
    "cdn tls ok": Case("cloudfront-viewer-tls", distribution(), None),
    "cdn tls 1.3 ok": Case("cloudfront-viewer-tls", distribution(viewerCertificate={
        "acmCertificateArn": CERT, "sslSupportMethod": "sni-only", "minimumProtocolVersion": "TLSv1.3_2025"}), None),
    "cdn tls old": Case("cloudfront-viewer-tls", distribution(viewerCertificate={
        "acmCertificateArn": CERT, "sslSupportMethod": "sni-only", "minimumProtocolVersion": "TLSv1_2016"}),
        "minimumProtocolVersion 'TLSv1_2016'"),
    "cdn tls not set": Case("cloudfront-viewer-tls", distribution(viewerCertificate={"acmCertificateArn": CERT}),
                            "not set (TLSv1)"),
    "cdn tls default certificate": Case("cloudfront-viewer-tls", distribution(viewerCertificate={
        "cloudfrontDefaultCertificate": True, "minimumProtocolVersion": "TLSv1.2_2021"}), "accepts TLSv1"),
    "cdn tls unknown in preview": Case("cloudfront-viewer-tls", distribution(viewerCertificate=UNKNOWN), None),
    "cdn tls configured list": Case("cloudfront-viewer-tls", distribution(), "allowed: TLSv1.3_2025",
                                    {"cloudfront-viewer-tls": {"allowedPolicies": ["TLSv1.3_2025"]}}),
    # cloudfront-https-only
    "cdn https ok": Case("cloudfront-https-only", distribution(), None),
    "cdn https-only ok": Case("cloudfront-https-only", distribution(defaultCacheBehavior={
        "targetOriginId": "static-files", "viewerProtocolPolicy": "https-only"}), None),
    "cdn allow-all": Case("cloudfront-https-only", distribution(defaultCacheBehavior={
        "targetOriginId": "static-files", "viewerProtocolPolicy": "allow-all"}), "plain HTTP is served"),
    "cdn ordered allow-all": Case("cloudfront-https-only", distribution(orderedCacheBehaviors=[
        {"pathPattern": "/media/*", "targetOriginId": "static-files", "viewerProtocolPolicy": "allow-all"}]),
        "orderedCacheBehaviors[0] (/media/*)"),
    "cdn https unknown in preview": Case("cloudfront-https-only", distribution(defaultCacheBehavior={
        "targetOriginId": "static-files", "viewerProtocolPolicy": UNKNOWN}), None),
    # cloudfront-s3-origin-private
    "cdn s3 oac ok": Case("cloudfront-s3-origin-private", distribution(), None),
    "cdn s3 oai ok": Case("cloudfront-s3-origin-private", distribution(origins=[{
        "originId": "legacy", "domainName": "assets.s3.amazonaws.com",
        "s3OriginConfig": {"originAccessIdentity": "origin-access-identity/cloudfront/E1OAI"}}]), None),
    "cdn custom origin ok": Case("cloudfront-s3-origin-private", distribution(origins=[ALB_ORIGIN]), None),
    "cdn s3 domain unknown in preview": Case("cloudfront-s3-origin-private", distribution(origins=[{
        "originId": "static-files", "domainName": UNKNOWN}]), None),
    "cdn s3 without oac": Case("cloudfront-s3-origin-private", distribution(origins=[{
        "originId": "static-files", "domainName": BUCKET_DOMAIN}]), "without origin access control"),
    "cdn s3 legacy endpoint without oac": Case("cloudfront-s3-origin-private", distribution(origins=[ALB_ORIGIN, {
        "originId": "old", "domainName": "assets.s3-eu-west-1.amazonaws.com", "s3OriginConfig": {
            "originAccessIdentity": ""}}]), "origin 'old' reads S3 without origin access control"),
    "cdn s3 website": Case("cloudfront-s3-origin-private", distribution(origins=[{
        "originId": "site", "domainName": "assets.s3-website-us-east-1.amazonaws.com",
        "customOriginConfig": {"originProtocolPolicy": "http-only"}}]), "S3 website endpoint"),
}


@pytest.mark.parametrize("case_id", list(CDN_CASES))
def test_cdn_rule(pack, case_id: str) -> None:
    case = CDN_CASES[case_id]
    found = pack.analyze(*case.resources, config=case.config)
    mine = [d for d in found if d.policy == case.rule]
    if case.expect is None:
        assert mine == [], [d.message for d in mine]
        assert not [d for d in found if "can't run policy" in d.message.lower() and d.policy == case.rule]
    else:
        assert any(case.expect in d.message for d in mine), [d.message for d in found]
        assert all(d.level == "mandatory" and "Fix: " in d.message for d in mine)

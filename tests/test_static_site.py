"""Static files: CloudFront + private S3 at static.<domain> (prod default), or WhiteNoise in the web tasks (dev)."""

from __future__ import annotations

import fnmatch
import json
import subprocess

import pytest

from components import static_site
from tests.harness import Graph, Resource, run_stack, settings_error, statements

DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
CERT = "aws:acm/certificate:Certificate"
BUCKET = "aws:s3/bucket:Bucket"
RECORD = "aws:route53/record:Record"


@pytest.fixture(scope="module")
def dev_cdn_in_europe() -> Graph:
    """dev with the CDN on, the default hostname, another region and another price class."""
    return run_stack("dev", overrides={"static.cdn": "true", "static.price_class": "PriceClass_All",
                                       "aws:region": "eu-west-1"})


def web_environment(graph: Graph) -> dict[str, str]:
    task = graph.one("aws:ecs/taskDefinition:TaskDefinition", "*-web-task")
    (container,) = json.loads(task.inputs["containerDefinitions"])
    return {e["name"]: e["value"] for e in container["environment"]}


def edge_provider(graph: Graph) -> Resource:
    return graph.one("pulumi:providers:aws", "aws-us-east-1")


def test_dev_serves_static_files_from_the_web_tasks(dev: Graph):
    assert dev.of_type(DISTRIBUTION) == [] and not [b for b in dev.of_type(BUCKET) if "static" in b.name]
    assert not [p for p in dev.of_type("pulumi:providers:aws") if p.name == "aws-us-east-1"]
    assert web_environment(dev)["DJANGO_STATIC_URL"] == "/static/"


def test_prod_serves_static_files_through_cloudfront_at_its_own_hostname(prod: Graph):
    distribution = prod.one(DISTRIBUTION).inputs
    assert distribution["aliases"] == ["static.example.com"]
    assert web_environment(prod)["DJANGO_STATIC_URL"] == "https://static.example.com/static/"
    assert prod.outputs["static_url"]["value"] == "https://static.example.com/static/"
    behavior = distribution["defaultCacheBehavior"]
    assert behavior["viewerProtocolPolicy"] == "redirect-to-https"
    assert behavior["allowedMethods"] == ["GET", "HEAD", "OPTIONS"] and behavior["compress"] is True
    assert behavior["cachePolicyId"] == "658327ea-f89d-4fab-a63d-7e88639e58f6"  # CachingOptimized
    assert behavior["responseHeadersPolicyId"] == "e61eb60c-9c35-4d20-a928-2b84e02af89c"  # CORS + security
    assert distribution["priceClass"] == "PriceClass_100" and distribution["httpVersion"] == "http2and3"


def test_viewer_certificate_is_a_us_east_1_certificate_with_tls_1_2(prod: Graph, dev_cdn_in_europe: Graph):
    for graph, hostname in ((prod, "static.example.com"), (dev_cdn_in_europe, "static.dev.example.com")):
        cert = graph.one(CERT, "*-static-cert")
        validation = graph.one("aws:acm/certificateValidation:CertificateValidation", "*-static-cert")
        edge = edge_provider(graph)
        assert edge.inputs["region"] == "us-east-1"
        for resource in (cert, validation):
            assert resource.provider.startswith(edge.urn + "::"), resource.name
        assert cert.inputs["domainName"] == hostname and cert.inputs["validationMethod"] == "DNS"
        viewer = graph.one(DISTRIBUTION).inputs["viewerCertificate"]
        assert viewer == {"acmCertificateArn": validation.outputs["certificateArn"], "sslSupportMethod": "sni-only",
                          "minimumProtocolVersion": "TLSv1.2_2021"}
        assert validation.urn in graph.one(DISTRIBUTION).dependencies
    # the site's own certificate stays in the stack's region
    assert not dev_cdn_in_europe.one(CERT, "*-edge-cert").provider.startswith(edge_provider(dev_cdn_in_europe).urn)
    assert dev_cdn_in_europe.one(DISTRIBUTION).inputs["priceClass"] == "PriceClass_All"


def test_bucket_is_private_and_readable_by_this_distribution_only(prod: Graph):
    distribution = prod.one(DISTRIBUTION)
    bucket = prod.one(BUCKET, "*-static-files-*")
    (origin,) = distribution.inputs["origins"]
    assert origin["domainName"] == bucket.outputs["bucketRegionalDomainName"]
    oac = prod.one("aws:cloudfront/originAccessControl:OriginAccessControl")
    assert origin["originAccessControlId"] == oac.outputs["id"]
    assert (oac.inputs["originAccessControlOriginType"], oac.inputs["signingBehavior"],
            oac.inputs["signingProtocol"]) == ("s3", "always", "sigv4")
    children = {r.type.split(":")[-1]: r for r in prod.children(bucket)}
    block = children["BucketPublicAccessBlock"].inputs
    assert all(block[f] is True for f in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                          "restrictPublicBuckets"))
    assert children["BucketOwnershipControls"].inputs["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
    by_sid = {s["Sid"]: s for s in statements(children["BucketPolicy"])}
    read = by_sid["ThisDistributionReadsStaticFiles"]
    assert read["Principal"] == {"Service": "cloudfront.amazonaws.com"} and read["Action"] == "s3:GetObject"
    assert read["Resource"] == bucket.outputs["arn"] + "/static/*"
    assert read["Condition"] == {"StringEquals": {"AWS:SourceArn": distribution.outputs["arn"]}}
    assert by_sid["DenyInsecureTransport"]["Effect"] == "Deny"


def test_static_files_have_their_own_key_which_this_distribution_may_decrypt_with(prod: Graph):
    key = prod.one("aws:kms/key:Key", "*-static-kms")
    (rule,) = prod.one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                       "*-static-files-*").inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "aws:kms",
                                                          "kmsMasterKeyId": key.outputs["arn"]}
    assert key.inputs["enableKeyRotation"] is True and key.protect is True
    policy = prod.one("aws:kms/keyPolicy:KeyPolicy")
    assert policy.inputs["keyId"] == key.outputs["keyId"]
    by_sid = {s["Sid"]: s for s in statements(policy)}
    grant = by_sid["ThisDistributionDecryptsStaticFiles"]
    assert grant["Action"] == "kms:Decrypt" and grant["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert grant["Condition"] == {"StringEquals": {"AWS:SourceArn": prod.one(DISTRIBUTION).outputs["arn"]}}
    # the platform data key gets no service principal (components/keys.py)
    data = statements(prod.one("aws:kms/key:Key", "*-data-kms"))
    assert not [s for s in data if "Service" in s.get("Principal", {})]


def test_hostname_points_at_the_distribution(prod: Graph):
    distribution = prod.one(DISTRIBUTION)
    aliases = [r for r in prod.of_type(RECORD) if r.parent_type.endswith("StaticSite") and r.inputs.get("aliases")]
    assert sorted(r.inputs["type"] for r in aliases) == ["A", "AAAA"]
    for record in aliases:
        assert record.inputs["name"] == "static.example.com"
        assert record.inputs["aliases"] == [{"name": distribution.outputs["domainName"],
                                             "zoneId": distribution.outputs["hostedZoneId"],
                                             "evaluateTargetHealth": False}]


def _resolved(value: object) -> object:
    """A plain value, or the value an Output built from plain values holds."""
    import pulumi
    from pulumi.runtime.sync_await import _sync_await

    return _sync_await(value.future()) if isinstance(value, pulumi.Output) else value


def test_publishing_may_put_under_static_and_use_the_static_key_only(prod: Graph):
    bucket = prod.one(BUCKET, "*-static-files-*").outputs["arn"]
    key = prod.one("aws:kms/key:Key", "*-static-kms").outputs["arn"]
    found = {s["Sid"]: s for s in static_site.publisher_statements(bucket, key)}
    assert {k: v for k, v in found["PublishStaticFiles"].items() if k != "Resource"} == {
        "Sid": "PublishStaticFiles", "Effect": "Allow", "Action": "s3:PutObject"}  # no DeleteObject: nothing removed
    assert _resolved(found["PublishStaticFiles"]["Resource"]) == f"{bucket}/static/*"
    assert found["EncryptStaticFiles"]["Resource"] == key
    assert prod.outputs["static_bucket"]["value"] == prod.one(BUCKET, "*-static-files-*").outputs["bucket"]


@pytest.mark.parametrize(("name", "hashed"), [
    ("css/app.3f2a9c1b7d4e.css", True), ("admin/js/core.0123456789ab.js", True), ("fonts/x.abcdef012345.woff2", True),
    ("css/app.css", False), ("staticfiles.json", False), ("img/logo.3F2A9C1B7D4E.png", False),
    ("js/vendor.min.js", False), ("css/app.3f2a9c1b7d4.css", False),
])
def test_only_djangos_content_hashed_names_are_cached_for_a_year(name: str, hashed: bool):
    """The CLI matches --include/--exclude with fnmatch (`aws s3` reference, "Use of Exclude and Include
    Filters"); ManifestStaticFilesStorage names files name.<12 lowercase hex>.ext."""
    assert fnmatch.fnmatchcase(name, static_site.HASHED_STATIC_FILE) is hashed


def test_publish_script_copies_from_the_image_and_never_deletes():
    publish = static_site.PUBLISH_SCRIPT
    assert 'docker create "$IMAGE_URI"' in publish and 'docker cp "$CONTAINER:$STATIC_ROOT/."' in publish
    syncs = [line for line in publish.splitlines() if "aws s3 sync" in line]
    assert len(syncs) == 2 and "--delete" not in publish
    assert static_site.IMMUTABLE in publish and static_site.SHORT_LIVED in publish
    result = subprocess.run(["bash", "-n", "-c", publish], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(("overrides", "key", "allowed"), [
    ({"static.cdn": "true", "static.hostname": "static.other.org"}, "static.hostname", "inside the hosted zone"),
    ({"static.cdn": "true", "static.hostname": "dev.example.com"}, "static.hostname", "a name of its own"),
    ({"static.price_class": "PriceClass_Cheap"}, "static.price_class", "PriceClass_100"),
    ({"static.hostname": "Static.Example.com"}, "static.hostname", "lowercase DNS name"),
    ({"static.image_root": "staticfiles"}, "static.image_root", "absolute path"),
])
def test_bad_static_settings_are_refused_before_any_resource(overrides: dict[str, str], key: str, allowed: str):
    error, graph = settings_error("dev", overrides=overrides)
    assert any(p.key == key and allowed in p.allowed for p in error.problems), error
    assert graph.resources == []

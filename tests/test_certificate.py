"""Certificate: ACM certificate validated by deduplicated Route53 records in an existing zone."""

from __future__ import annotations

import pytest

from components.certificate import certificate_names, site_names, validation_domains
from tests.harness import Graph, run_stack, settings_error

CERT = "aws:acm/certificate:Certificate"
VALIDATION = "aws:acm/certificateValidation:CertificateValidation"
RECORD = "aws:route53/record:Record"


def validation_records(graph: Graph) -> list:
    return [r for r in graph.of_type(RECORD) if "-validation-" in r.name and "-static-" not in r.name]


def test_pure_name_helpers_dedupe_apex_and_wildcard():
    assert validation_domains("example.com", ["*.example.com", "www.example.com"]) == ["example.com",
                                                                                        "www.example.com"]
    assert certificate_names("example.com", ["example.com", "*.example.com", "*.example.com"]) == ["*.example.com"]
    assert site_names("example.com", ["*.example.com", "www.example.com"]) == ["example.com", "www.example.com"]


def test_dev_certificate_covers_the_domain_and_is_validated_by_dns(dev: Graph):
    cert = dev.one(CERT, "*-edge-cert")
    assert cert.inputs["domainName"] == "dev.example.com"
    assert cert.inputs.get("subjectAlternativeNames", []) == []
    assert cert.inputs["validationMethod"] == "DNS"
    (record,) = validation_records(dev)
    assert record.inputs["name"] == "_x1.dev.example.com." and record.inputs["type"] == "CNAME"
    assert record.inputs["records"] == ["_x2.dev.example.com.acm-validations.aws."]
    assert record.inputs["ttl"] == 60 and record.inputs["allowOverwrite"] is True
    assert record.inputs["zoneId"] == "Z0OFFLINE0PLACEHOLDER"  # from the route53.get_zone lookup by name
    assert cert.urn in record.dependencies


def test_prod_certificate_has_one_record_per_name_and_waits_for_all(prod: Graph):
    cert, validation = prod.one(CERT, "*-edge-cert"), prod.one(VALIDATION, "*-edge-cert")
    assert (cert.inputs["domainName"], cert.inputs["subjectAlternativeNames"]) == ("www.example.com",
                                                                                  ["example.com"])
    records = validation_records(prod)
    assert sorted(r.inputs["name"] for r in records) == ["_x1.example.com.", "_x1.www.example.com."]
    assert validation.inputs["certificateArn"] == cert.outputs["arn"]
    assert sorted(validation.inputs["validationRecordFqdns"]) == sorted(r.outputs["fqdn"] for r in records)
    assert {r.urn for r in records} | {cert.urn} <= set(validation.dependencies)


def test_apex_and_wildcard_share_one_validation_record():
    graph = run_stack("dev", {"dns.domain": "example.com",
                              "dns.alternative_names": "['*.example.com', 'api.example.com']"})
    cert = graph.one(CERT, "*-edge-cert")
    assert cert.inputs["subjectAlternativeNames"] == ["*.example.com", "api.example.com"]
    records = validation_records(graph)
    names = [r.inputs["name"] for r in records]
    assert sorted(names) == ["_x1.api.example.com.", "_x1.example.com."]  # not three: *. shares the apex CNAME
    assert len(set(names)) == len(names)


def test_zone_given_by_id_is_used_without_a_name_lookup():
    graph = run_stack("dev", {"dns.zone_name": "''", "dns.zone_id": "Z0123456789ABCDEFGHIJ"})
    assert {r.inputs["zoneId"] for r in validation_records(graph)} == {"Z0123456789ABCDEFGHIJ"}


def test_domain_outside_a_zone_given_by_id_fails_with_a_plain_sentence():
    # The zone's name is only known after the lookup (the placeholder zone is example.com).
    with pytest.raises(ValueError, match=r"app\.example\.org not inside the hosted zone example\.com") as caught:
        run_stack("dev", {"dns.zone_name": "''", "dns.zone_id": "Z0123456789ABCDEFGHIJ",
                          "dns.domain": "app.example.org"})
    assert not caught.value.graph.of_type(CERT)  # type: ignore[attr-defined]


@pytest.mark.parametrize(("overrides", "message"), [
    ({"dns.domain": "Not_A_Domain"}, "django-platform:dns.domain: got \"Not_A_Domain\"; expected a lowercase DNS"),
    ({"dns.zone_name": "''"}, "django-platform:dns.zone_name: missing; expected exactly one of dns.zone_name"),
    ({"dns.zone_id": "Z0123456789ABCDEFGHIJ"}, "expected exactly one of dns.zone_name and dns.zone_id"),
    ({"dns.alternative_names": "['shop.example.net']"}, "expected a name inside the hosted zone example.com"),
    ({"dns.alternative_names": "['*.*.example.com']"}, "optionally starting with *."),
])
def test_bad_dns_settings_fail_before_any_resource(overrides: dict[str, str], message: str):
    error, graph = settings_error("dev", overrides)
    assert message in str(error)
    assert graph.resources == []

"""Certificate: an ACM certificate for the site, validated by DNS records in an existing Route53 zone.

The pitfalls the seed and the tools' users hit, and what this module does about each:
- `domain_validation_options` is a set with no stable order (terraform-provider-aws #8531): never
  index `[0]`; each record picks its option by domain name.
- `example.com` and `*.example.com` get the *same* CNAME from ACM; one record per name would collide
  (terraform-aws-acm PR #8, aws-cdk #27364). Records are keyed by the distinct validation domain
  (`*.` stripped), computed from the inputs, so there is one resource per record name, with a logical
  name known before the certificate exists and an edge to it.
- A re-run or a second stack validating the same name finds the CNAME already there: `allow_overwrite`.
- Listeners must get the ARN from the `CertificateValidation`, not from the certificate, or the
  HTTPS listener is created while the certificate is still PENDING_VALIDATION and the create fails.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.context import StackContext
from components.settings import DnsSettings


def certificate_names(domain: str, alternative_names: Sequence[str]) -> list[str]:
    """The SANs besides the domain itself, in configured order, without repeats."""
    return [n for i, n in enumerate(alternative_names) if n != domain and n not in alternative_names[:i]]


def validation_domains(domain: str, alternative_names: Sequence[str]) -> list[str]:
    """Distinct names that need one validation record each: `*.x` is validated by x's record."""
    bare = [name.removeprefix("*.") for name in (domain, *alternative_names)]
    return list(dict.fromkeys(bare))


def site_names(domain: str, alternative_names: Sequence[str]) -> list[str]:
    """Names that point at the load balancer: the domain and every SAN that is not a wildcard."""
    return [n for n in (domain, *certificate_names(domain, alternative_names)) if not n.startswith("*.")]


def in_zone(name: str, zone: str) -> bool:
    bare, zone = name.removeprefix("*."), zone.rstrip(".")
    return bare == zone or bare.endswith("." + zone)


def _option_field(options: pulumi.Output[Any], bare: str, field: str) -> pulumi.Output[str]:
    """A field of the validation option of `bare` (or of `*.bare`, which shares its record)."""

    def pick(found: Sequence[Any]) -> str:
        for option in found:
            if option.domain_name in (bare, f"*.{bare}"):
                return getattr(option, field)
        raise ValueError(f"certificate: ACM returned no validation option for {bare}")

    return options.apply(pick)


@dataclass
class CertificateArgs:
    ctx: StackContext
    settings: DnsSettings


class Certificate(pulumi.ComponentResource):
    """ACM certificate (domain + SANs) validated through Route53; `certificate_arn` is the validated ARN."""

    certificate: aws.acm.Certificate
    validation_records: dict[str, aws.route53.Record]

    def __init__(self, name: str, args: CertificateArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("django-platform:certificate:Certificate", name, None, opts)
        ctx, settings = args.ctx, args.settings
        zone = self._zone(settings)
        names = [settings.domain, *settings.alternative_names]
        outside = [n for n in names if not in_zone(n, zone.name)]
        if outside:
            raise ValueError(f"dns: {', '.join(outside)} not inside the hosted zone {zone.name} ({zone.zone_id}); "
                             "certificate names must be validated in that zone")
        self.zone_id: pulumi.Output[str] = pulumi.Output.from_input(zone.zone_id)
        self.zone_name = zone.name

        cert_name = ctx.namer.name("edge", "cert")
        self.certificate = aws.acm.Certificate(
            cert_name,
            domain_name=settings.domain,
            subject_alternative_names=certificate_names(settings.domain, settings.alternative_names),
            validation_method="DNS",  # e-mail validation cannot renew unattended
            tags={"Name": cert_name},
            opts=pulumi.ResourceOptions(parent=self),  # replaced create-before-delete: listeners never lose it
        )
        options = self.certificate.domain_validation_options
        self.validation_records = {}
        for bare in validation_domains(settings.domain, settings.alternative_names):
            self.validation_records[bare] = aws.route53.Record(
                f"{cert_name}-validation-{re.sub(r'[^a-z0-9]+', '-', bare)}",
                zone_id=self.zone_id,
                name=_option_field(options, bare, "resource_record_name"),
                type=_option_field(options, bare, "resource_record_type"),
                records=[_option_field(options, bare, "resource_record_value")],
                ttl=60,
                allow_overwrite=True,
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.validation = aws.acm.CertificateValidation(
            cert_name,
            certificate_arn=self.certificate.arn,
            validation_record_fqdns=[r.fqdn for r in self.validation_records.values()],
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.certificate_arn: pulumi.Output[str] = self.validation.certificate_arn
        self.site_names = site_names(settings.domain, settings.alternative_names)
        self.register_outputs({"certificate_arn": self.certificate_arn, "zone_id": self.zone_id})

    def _zone(self, settings: DnsSettings) -> aws.route53.AwaitableGetZoneResult:
        """The existing public hosted zone, by id or by name (settings guarantee exactly one is set)."""
        on_parent = pulumi.InvokeOptions(parent=self)
        if settings.zone_id:
            return aws.route53.get_zone(zone_id=settings.zone_id, opts=on_parent)
        return aws.route53.get_zone(name=settings.zone_name.rstrip("."), private_zone=False, opts=on_parent)

"""API Gateway: access logs on every stage, TLS 1.2 or newer on custom domains."""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import EnforcementLevel

from .core import Context, Resource, Rule, has_value, is_unknown

STAGES = ("aws:apigateway/stage:Stage", "aws:apigatewayv2/stage:Stage")
DOMAINS = ("aws:apigateway/domainName:DomainName", "aws:apigatewayv2/domainName:DomainName")


def _access_logs(resource: Resource, ctx: Context) -> Iterator[str]:
    destination = resource.get("accessLogSettings.destinationArn")
    if is_unknown(destination) or is_unknown(resource.get("accessLogSettings")):
        return
    if not has_value(destination):
        yield (f"stage {resource.name!r} writes no access log; set accessLogSettings {{destinationArn: <log group "
               "ARN>, format}}.")


def _domain_tls(resource: Resource, ctx: Context) -> Iterator[str]:
    # REST custom domains default to TLS_1_0; HTTP/WebSocket domains offer TLS_1_2 only; the enhanced policies are
    # named SecurityPolicy_TLS13_... (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-custom-domain-tls-version.html)
    path = "securityPolicy" if resource.type.startswith("aws:apigateway/") else \
        "domainNameConfiguration.securityPolicy"
    policy = resource.get(path)
    if is_unknown(policy):
        return
    if not isinstance(policy, str) or not (policy == "TLS_1_2" or policy.startswith("SecurityPolicy_TLS13")):
        shown = policy if isinstance(policy, str) else "unset (TLS_1_0 for REST API domains)"
        yield f"domain {resource.name!r} has {path} {shown}; set TLS_1_2 (or a SecurityPolicy_TLS13_* policy)."


RULES = [
    Rule("apigateway-access-logging", "logging", "API Gateway stages (REST, HTTP and WebSocket) write access logs.",
         EnforcementLevel.MANDATORY, "set accessLogSettings.destinationArn to a CloudWatch log group (and a format).",
         STAGES, _access_logs),
    Rule("apigateway-domain-tls", "encryption", "API Gateway custom domain names accept TLS 1.2 or newer only.",
         EnforcementLevel.MANDATORY, "set securityPolicy: TLS_1_2 (REST) or domainNameConfiguration.securityPolicy: "
         "TLS_1_2 (HTTP/WebSocket).", DOMAINS, _domain_tls),
]

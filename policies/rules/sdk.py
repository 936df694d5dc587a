"""The pack's hooks into pulumi-policy's analyzer server, installed by the pack's __main__.py.

1. Pack-wide settings. The SDK hands each policy only its own config; the pack's rules also read the
   `pack-settings` entry (system, environment, aliases, ...). `Configure` is wrapped to keep every policy's
   config where `core.configured()` finds it.
2. Speed. The SDK's `Analyze` and `AnalyzeStack` convert the request again for every policy
   (`MessageToDict`, `deserialize_properties`, `unknown_checking_proxy`, resource options; for a stack, every
   resource and its parent and dependency links), so with 30 policies one request is converted 30 times,
   which cost more than all the rules together (profiled with cProfile; figures in issue 16's closing note,
   benchmarks/policy_throughput.py). `analyze` and `analyze_stack` below are the SDK's own methods
   (pulumi-policy 1.21.0, policy.py) with the conversion done once per request and shared by the policies,
   and resource policies skipped for types their rule does not check (the rule would return at once).
   tests/policy/test_sdk.py checks that they answer exactly as the SDK's methods do.

Only installed on the SDK version they were copied from; elsewhere (or when rules are used directly) the
rules still work, with the defaults of `pack-settings` plus their own config, at the SDK's own speed.
"""

from __future__ import annotations

import asyncio
from importlib import metadata
from inspect import isawaitable
from typing import Any

from . import core

SDK_VERSION = "1.21.0"


def install() -> bool:
    """Install the hooks; False (nothing changed) on another pulumi-policy version."""
    from pulumi_policy import policy

    servicer: Any = policy._PolicyAnalyzerServicer
    if metadata.version("pulumi-policy") != SDK_VERSION or getattr(servicer, "_pack_hooks", False):
        return False
    configure = servicer.Configure

    def configure_and_share(self: Any, request: Any, context: Any) -> Any:
        response = configure(self, request, context)
        self._pack_plan = {}  # levels and configs changed: plan again
        core.set_configured({name: policy.json_format.MessageToDict(entry.properties)
                             for name, entry in request.policyConfig.items()})
        return response

    servicer.Configure = configure_and_share
    servicer.Analyze = analyze
    servicer.AnalyzeStack = analyze_stack
    servicer._pack_hooks = True
    return True


def _private(servicer: Any, name: str) -> Any:
    return getattr(servicer, f"_PolicyAnalyzerServicer__{name}")


def _props(message: Any) -> Any:
    from pulumi_policy import policy

    return policy.unknown_checking_proxy(policy.deserialize_properties(policy.json_format.MessageToDict(message)))


def _run(servicer: Any, policy_: Any, args: Any, report: Any, response: Any) -> None:
    """policy.validate(args, report), with the SDK's handling of async policies and of its two exceptions."""
    from pulumi.runtime import proto
    from pulumi_policy import policy

    try:
        result = policy_.validate(args, report)
        if isawaitable(result):
            loop = asyncio.new_event_loop()
            loop.run_until_complete(asyncio.ensure_future(result, loop=loop))
            loop.close()
    except policy.UnknownValueError as error:
        name, version = _private(servicer, "policy_pack_name"), _private(servicer, "policy_pack_version")
        response.diagnostics.append(proto.AnalyzeDiagnostic(
            policyName=policy_.name, policyPackName=name, policyPackVersion=version,
            message=f"can't run policy '{policy_.name}' from policy pack '{name}@v{version}' during preview: "
                    f"{error.message}",
            urn="", description=policy_.description,
            enforcementLevel=servicer._map_enforcement_level(policy.EnforcementLevel.ADVISORY)))
    except policy._NotApplicableError as error:
        response.not_applicable.append(proto.PolicyNotApplicable(policy_name=policy_.name, reason=error.reason or ""))


def _plan(self: Any, resource_type: str) -> list[tuple[Any, Any, Any]]:
    """(policy, level, config) of the resource policies that check `resource_type`, for the current config;
    a policy without validation as (policy, None, None) (the SDK reports it as not applicable)."""
    from pulumi_policy import policy

    plans = self.__dict__.setdefault("_pack_plan", {})
    if resource_type not in plans:
        plan = []
        configs = _private(self, "policy_pack_config")
        for policy_ in _private(self, "policies"):
            level = self._get_enforcement_level(policy_)
            if level == policy.EnforcementLevel.DISABLED or not isinstance(policy_, policy.ResourceValidationPolicy):
                continue
            if not policy_.has_validation():
                plan.append((policy_, None, None))
                continue
            types = getattr(policy_, "resource_types", ())
            if types and resource_type not in types:
                continue
            if level == policy.EnforcementLevel.REMEDIATE:
                level = policy.EnforcementLevel.MANDATORY
            # the stored config itself, not the SDK's per-call copy: the rules cache what they derive from it
            plan.append((policy_, level, configs.get(policy_.name) or None))
        plans[resource_type] = plan
    return plans[resource_type]


def analyze(self: Any, request: Any, _context: Any) -> Any:
    from pulumi.runtime import proto
    from pulumi_policy import policy

    self._configure_runtime_settings()
    response = proto.AnalyzeResponse()
    shared: tuple[Any, Any, Any] | None = None
    for policy_, level, config in _plan(self, request.type):
        if level is None:
            response.not_applicable.append(proto.PolicyNotApplicable(
                policy_name=policy_.name, reason="Policy does not implement validate"))
            continue
        if shared is None:
            shared = (_props(request.properties), self._get_resource_options(request),
                      self._get_provider_resource(request))
        props, opts, provider = shared
        report = self._create_report_violation(response, policy_.name, policy_.description, level, policy_.severity)
        args = policy.ResourceValidationArgs(request.type, props, request.urn, request.name, opts, provider, config,
                                             _private(self, "stack_tags"))
        _run(self, policy_, args, report, response)
    return response


def analyze_stack(self: Any, request: Any, _context: Any) -> Any:
    from pulumi.runtime import proto
    from pulumi_policy import policy

    self._configure_runtime_settings()
    response = proto.AnalyzeResponse()
    resources: list[Any] | None = None
    for policy_ in _private(self, "policies"):
        level = self._get_enforcement_level(policy_)
        if level == policy.EnforcementLevel.DISABLED or not isinstance(policy_, policy.StackValidationPolicy):
            continue
        if level == policy.EnforcementLevel.REMEDIATE:
            level = policy.EnforcementLevel.MANDATORY
        if resources is None:
            resources = _stack_resources(self, request)
        report = self._create_report_violation(response, policy_.name, policy_.description, level, policy_.severity)
        args = policy.StackValidationArgs(resources, _private(self, "policy_pack_config").get(policy_.name) or None,
                                          _private(self, "stack_tags"))
        _run(self, policy_, args, report, response)
    return response


def _stack_resources(self: Any, request: Any) -> list[Any]:
    """The request's resources as the SDK builds them, parents and dependencies linked (once per request)."""
    from pulumi_policy import policy

    built = []
    for r in request.resources:
        resource = policy.PolicyResource(r.type, _props(r.properties), r.urn, r.name, self._get_resource_options(r),
                                         self._get_provider_resource(r), None, [], {})
        built.append((resource, r.parent, list(r.dependencies),
                      {k: list(v.urns) for k, v in r.propertyDependencies.items()}))
    by_urn = {resource.urn: resource for resource, *_ in built}
    for resource, parent, dependencies, property_dependencies in built:
        if parent is not None and parent in by_urn:
            resource.parent = by_urn[parent]
        resource.dependencies.extend(by_urn[d] for d in dependencies if d in by_urn)
        for key, urns in property_dependencies.items():
            resource.property_dependencies[key] = [by_urn[d] for d in urns if d in by_urn]
    return [resource for resource, *_ in built]

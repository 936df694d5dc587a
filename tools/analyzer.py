"""Talk to a CrossGuard policy pack over gRPC the way the Pulumi CLI does, without the CLI.

The CLI starts a Python pack as `python -u -m pulumi.policy <engineAddress> <packDir>` in the pack
directory with PULUMI_PROJECT / PULUMI_STACK / PULUMI_DRY_RUN / PULUMI_ORGANIZATION / PULUMI_CONFIG
in the environment; the pack prints the port of its gRPC analyzer server on the first stdout line.
This client does the same, then speaks the analyzer protocol with the SDK's generated stubs:

    with PolicyPackProcess("policies", stack="dev") as pack:
        pack.configure({"all": "mandatory", "naming": {"system": "django"}})
        diagnostics = pack.analyze(WireResource("aws:s3/bucket:Bucket", "logs", props={"bucket": "x"}))
        diagnostics += pack.analyze_stack([...])

Properties travel in the engine's wire form: camelCase keys, numbers as floats, unknown values as
the UNKNOWN sentinel, secrets as the engine's secret envelope. `wire_resource()` converts a resource
recorded by tools.mock_runtime, so the offline preview and the tests share one implementation.

`configure()` does what the CLI does with `--policy-pack-config` before it calls Configure: it starts
from each policy's default level, the schema defaults and the pack's initial config, applies `all` and
then the per-policy entries, and rejects values that do not match a policy's config schema
(PolicyConfigError lists every problem). The CLI validates with a full JSON-schema implementation; the
subset here (type, enum, const, required, items, properties, additionalProperties, min/max,
minLength/maxLength, pattern, minItems, uniqueItems) covers every keyword the pack's schemas use.
"""

from __future__ import annotations

import json
import os
import re
import selectors
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # the engine's sentinel for a value not known yet (preview)
SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"

LEVELS = {
    "advisory": analyzer_pb2.ADVISORY,
    "mandatory": analyzer_pb2.MANDATORY,
    "remediate": analyzer_pb2.REMEDIATE,
    "disabled": analyzer_pb2.DISABLED,
}
LEVEL_NAMES = {value: key for key, value in LEVELS.items()}
_MAX_MESSAGE = 1024 * 1024 * 400


class PolicyConfigError(ValueError):
    """Policy pack config that the CLI would reject (unknown level, value not matching the schema)."""


class PolicyPackStartError(RuntimeError):
    """The pack process exited or printed no port."""


def secret(value: Any) -> dict[str, Any]:
    """A value in the engine's secret envelope."""
    return {SIG_KEY: SECRET_SIG, "value": value}


def make_urn(type_: str, name: str, stack: str = "dev", project: str = "django-platform",
             parent_urn: str = "") -> str:
    """The URN the engine gives a resource: the parent's qualified type chain, then the type and name."""
    qualified = type_
    if parent_urn:
        parent_type = parent_urn.split("::")[2]
        if parent_type != "pulumi:pulumi:Stack":
            qualified = f"{parent_type}${type_}"
    return f"urn:pulumi:{stack}::{project}::{qualified}::{name}"


@dataclass
class WireResource:
    """One resource as the engine describes it to an analyzer."""

    type: str
    name: str
    props: dict[str, Any] = field(default_factory=dict)
    urn: str = ""  # derived from type and name (and parent) when empty
    parent: str = ""
    dependencies: list[str] = field(default_factory=list)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    provider: str = ""
    protect: bool = False
    ignore_changes: list[str] = field(default_factory=list)
    delete_before_replace: bool | None = None
    custom: bool = True


@dataclass(frozen=True)
class Diagnostic:
    """One policy violation (or the SDK's advisory note that a policy could not run during preview)."""

    policy: str
    pack: str
    message: str
    level: str  # advisory | mandatory | remediate | disabled
    urn: str
    description: str = ""

    @property
    def mandatory(self) -> bool:
        return self.level in ("mandatory", "remediate")


@dataclass(frozen=True)
class PolicyInfo:
    name: str
    description: str
    level: str
    config_schema: dict[str, Any]
    required: tuple[str, ...]
    stack_policy: bool


@dataclass(frozen=True)
class AnalyzerInfo:
    name: str
    version: str
    policies: tuple[PolicyInfo, ...]
    initial_config: dict[str, dict[str, Any]]

    def policy(self, name: str) -> PolicyInfo:
        return next(p for p in self.policies if p.name == name)


# ---------------------------------------------------------------------------------------------------
# Wire form


def to_wire(value: Any) -> Any:
    """A Python value (as recorded by the mock monitor) in the engine's JSON wire form."""
    from pulumi import Archive, Asset
    from pulumi.output import Unknown
    from pulumi.runtime import rpc

    if isinstance(value, Unknown):
        return UNKNOWN
    if rpc.is_rpc_secret(value):
        return secret(to_wire(rpc.unwrap_rpc_secret(value)))
    if isinstance(value, Mapping):
        return {str(k): to_wire(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_wire(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return float(value)  # Struct numbers are doubles
    if isinstance(value, Asset | Archive):
        from pulumi_policy.deserialize import serialize_properties

        return serialize_properties({"v": value})["v"]
    return str(value)


def wire_resource(resource: Any, state: str = "inputs", stack: str | None = None) -> WireResource:
    """A tools.mock_runtime.Resource in wire form (`state`: "inputs" as Analyze sees them, or "outputs").

    The mock monitor records inputs with the engine's camelCase names (rpc.deserialize_properties of the
    RegisterResource request), so only the values need converting. `stack` rewrites the URNs' stack part.
    """
    props = resource.inputs if state == "inputs" else resource.outputs
    props = {k: v for k, v in props.items() if not (state == "outputs" and k in ("id", "urn"))}

    def restack(urn: str) -> str:
        if not stack or not urn.startswith("urn:pulumi:"):
            return urn
        return re.sub(r"^urn:pulumi:[^:]*::", f"urn:pulumi:{stack}::", urn)

    return WireResource(
        type=resource.type,
        name=resource.name,
        props=to_wire(props),
        urn=restack(resource.urn),
        parent=restack(resource.parent),
        dependencies=[restack(u) for u in resource.dependencies],
        property_dependencies={k: [restack(u) for u in v] for k, v in resource.property_dependencies.items()},
        provider=resource.provider,
        protect=resource.protect,
        ignore_changes=list(resource.ignore_changes),
        delete_before_replace=resource.delete_before_replace,
        custom=resource.custom,
    )


def _struct(props: Mapping[str, Any]) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(to_wire(dict(props)))
    return message


def _options(resource: WireResource) -> analyzer_pb2.AnalyzerResourceOptions:
    return analyzer_pb2.AnalyzerResourceOptions(
        protect=resource.protect,
        ignoreChanges=resource.ignore_changes,
        deleteBeforeReplace=bool(resource.delete_before_replace),
        deleteBeforeReplaceDefined=resource.delete_before_replace is not None,
        parent=resource.parent,
    )


def _provider(resource: WireResource) -> analyzer_pb2.AnalyzerProviderResource | None:
    if not resource.provider:
        return None
    ref = resource.provider.split("::")
    urn = resource.provider.rsplit("::", 1)[0] if len(ref) > 4 else resource.provider
    parts = urn.split("::")
    return analyzer_pb2.AnalyzerProviderResource(
        type=parts[2] if len(parts) > 3 else "", urn=urn, name=parts[-1] if len(parts) > 3 else "")


# ---------------------------------------------------------------------------------------------------
# Config reconciliation (what the CLI does before Configure)


def _check(value: Any, schema: Mapping[str, Any], where: str) -> list[str]:
    errors: list[str] = []
    expected = schema.get("type")
    types: dict[str, type] = {"string": str, "boolean": bool, "object": dict, "array": list}
    if expected:
        allowed = expected if isinstance(expected, list) else [expected]
        ok = False
        for name in allowed:
            if name in ("number", "integer"):
                is_number = isinstance(value, int | float) and not isinstance(value, bool)
                ok = ok or (is_number and (name == "number" or float(value).is_integer()))
            elif name == "null":
                ok = ok or value is None
            else:
                ok = ok or isinstance(value, types[name])
        if not ok:
            return [f"{where}: Invalid type. Expected: {' or '.join(allowed)}, given: {_json_type(value)}"]
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{where}: {where.rsplit('.', 1)[-1]} must be one of the following: "
                      + ", ".join(json.dumps(v) for v in schema["enum"]))
    if "const" in schema and value != schema["const"]:
        errors.append(f"{where}: does not match: {json.dumps(schema['const'])}")
    if isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            errors.append(f"{where}: String length must be greater than or equal to {schema['minLength']}")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            errors.append(f"{where}: String length must be less than or equal to {schema['maxLength']}")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errors.append(f"{where}: Does not match pattern '{schema['pattern']}'")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(f"{where}: Must be greater than or equal to {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            errors.append(f"{where}: Must be less than or equal to {schema['maximum']}")
    if isinstance(value, list):
        if "minItems" in schema and len(value) < schema["minItems"]:
            errors.append(f"{where}: Array must have at least {schema['minItems']} items")
        if schema.get("uniqueItems") and len({json.dumps(v, sort_keys=True) for v in value}) != len(value):
            errors.append(f"{where}: array items must be unique")
        if isinstance(schema.get("items"), Mapping):
            for index, item in enumerate(value):
                errors += _check(item, schema["items"], f"{where}.{index}")
    if isinstance(value, dict):
        errors += _check_object(value, schema, where)
    return errors


def _check_object(value: Mapping[str, Any], schema: Mapping[str, Any], where: str) -> list[str]:
    errors = [f"{where}: {key} is required" for key in schema.get("required", []) if key not in value]
    properties = schema.get("properties") or {}
    for key, item in value.items():
        if key in properties:
            errors += _check(item, properties[key], f"{where}.{key}")
        elif schema.get("additionalProperties") is False:
            errors.append(f"{where}: Additional property {key} is not allowed")
        elif isinstance(schema.get("additionalProperties"), Mapping):
            errors += _check(item, schema["additionalProperties"], f"{where}.{key}")
    return errors


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    names: dict[type, str] = {str: "string", list: "array", dict: "object"}
    return names.get(type(value), type(value).__name__)


def reconcile_config(info: AnalyzerInfo, config: Mapping[str, Any] | None) -> dict[str, tuple[str, dict[str, Any]]]:
    """policy name -> (level, properties), as the CLI computes it from `--policy-pack-config` JSON."""
    config = dict(config or {})
    errors: list[str] = []
    names = {p.name for p in info.policies}
    for key in config:
        if key != "all" and key not in names:
            errors.append(f"{key}: no policy of that name in pack {info.name}")

    def level_of(raw: Any, where: str) -> str | None:
        if raw is None:
            return None
        if raw not in LEVELS:
            errors.append(f"{where}: enforcement level {raw!r} is not one of {', '.join(LEVELS)}")
            return None
        return str(raw)

    all_level = None
    if "all" in config:
        raw_all = config["all"]
        all_level = level_of(raw_all.get("enforcementLevel") if isinstance(raw_all, dict) else raw_all, "all")
    result: dict[str, tuple[str, dict[str, Any]]] = {}
    for policy in info.policies:
        level = policy.level
        props = {k: v["default"] for k, v in policy.config_schema.items() if isinstance(v, dict) and "default" in v}
        initial = info.initial_config.get(policy.name) or {}
        level = initial.get("enforcementLevel") or level
        props.update({k: v for k, v in initial.items() if k != "enforcementLevel"})
        level = all_level or level
        entry = config.get(policy.name)
        if isinstance(entry, str):
            level = level_of(entry, policy.name) or level
        elif isinstance(entry, dict):
            level = level_of(entry.get("enforcementLevel"), f"{policy.name}.enforcementLevel") or level
            props.update({k: v for k, v in entry.items() if k != "enforcementLevel"})
        elif entry is not None:
            errors.append(f"{policy.name}: expected an enforcement level or an object, given {_json_type(entry)}")
        schema = {"type": "object", "properties": policy.config_schema, "required": list(policy.required)}
        if props or policy.required:
            errors += _check_object(props, schema, policy.name)
        result[policy.name] = (level, props)
    if errors:
        raise PolicyConfigError("invalid policy pack config:\n  " + "\n  ".join(errors))
    return result


# ---------------------------------------------------------------------------------------------------
# The process and the client


class PolicyPackProcess:
    """A policy pack started as the CLI starts it, with a gRPC client; use as a context manager."""

    def __init__(self, pack_dir: str | os.PathLike[str], stack: str = "dev", project: str = "django-platform",
                 organization: str = "organization", dry_run: bool = True,
                 stack_config: Mapping[str, str] | None = None, python: str | None = None,
                 start_timeout: float = 60.0) -> None:
        self.pack_dir = Path(pack_dir).resolve()
        self.stack = stack
        self.project = project
        self.organization = organization
        self.dry_run = dry_run
        self.stack_config = dict(stack_config or {})
        self.python = python or sys.executable
        self.start_timeout = start_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed with the process in close())
        self._channel: grpc.Channel | None = None
        self.stub: analyzer_pb2_grpc.AnalyzerStub | None = None
        self.port = 0
        self._info: AnalyzerInfo | None = None

    # lifecycle --------------------------------------------------------------------------------------
    def start(self) -> PolicyPackProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
        env.update({
            "PULUMI_PROJECT": self.project,
            "PULUMI_STACK": self.stack,
            "PULUMI_DRY_RUN": "true" if self.dry_run else "false",
            "PULUMI_ORGANIZATION": self.organization,
            "PULUMI_CONFIG": json.dumps(self.stack_config),
            "PYTHONUNBUFFERED": "1",
        })
        self._process = subprocess.Popen(
            [self.python, "-u", "-m", "pulumi.policy", "127.0.0.1:0", str(self.pack_dir)],
            cwd=self.pack_dir, env=env, stdout=subprocess.PIPE, stderr=self._stderr, stdin=subprocess.DEVNULL)
        try:
            self.port = self._read_port()
            self._channel = grpc.insecure_channel(
                f"127.0.0.1:{self.port}", options=[("grpc.max_receive_message_length", _MAX_MESSAGE),
                                                   ("grpc.max_send_message_length", _MAX_MESSAGE)])
            grpc.channel_ready_future(self._channel).result(timeout=self.start_timeout)
            self.stub = analyzer_pb2_grpc.AnalyzerStub(self._channel)
            self.configure_stack()
        except BaseException:
            self.close()  # whatever failed, the pack process does not outlive the attempt
            raise
        return self

    def _read_port(self) -> int:
        assert self._process is not None and self._process.stdout is not None
        deadline = time.monotonic() + self.start_timeout
        line = b""
        # selectors, not select.select: select() cannot watch a descriptor numbered 1,024 or more, which a
        # long-lived process (a test session, an editor's language server) may well hand out.
        with selectors.DefaultSelector() as selector:
            selector.register(self._process.stdout, selectors.EVENT_READ)
            while not line.endswith(b"\n"):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._process.poll() is not None:
                    break
                if selector.select(min(remaining, 0.5)):
                    chunk = os.read(self._process.stdout.fileno(), 1)
                    if not chunk:
                        break
                    line += chunk
        if line.strip().isdigit():
            return int(line)
        self.close()
        raise PolicyPackStartError(f"policy pack {self.pack_dir} printed no port (got {line!r}):\n{self.stderr()}")

    def stderr(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")

    def close(self) -> None:
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    def __del__(self) -> None:
        self._stderr.close()

    def __enter__(self) -> PolicyPackProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # protocol ---------------------------------------------------------------------------------------
    def _call(self) -> analyzer_pb2_grpc.AnalyzerStub:
        if self.stub is None:
            raise RuntimeError("policy pack not started")
        return self.stub

    def configure_stack(self, tags: Mapping[str, str] | None = None) -> None:
        request = analyzer_pb2.AnalyzerStackConfigureRequest(
            stack=self.stack, project=self.project, organization=self.organization, dry_run=self.dry_run,
            tags=dict(tags or {}))
        request.config.update(self.stack_config)
        self._call().ConfigureStack(request)

    def info(self) -> AnalyzerInfo:
        if self._info is None:
            raw = self._call().GetAnalyzerInfo(empty_pb2.Empty())
            policies = tuple(
                PolicyInfo(
                    name=p.name, description=p.description, level=LEVEL_NAMES.get(p.enforcementLevel, "advisory"),
                    config_schema=json_format.MessageToDict(p.configSchema.properties),
                    required=tuple(p.configSchema.required),
                    stack_policy=p.policy_type == analyzer_pb2.POLICY_TYPE_STACK)
                for p in raw.policies)
            initial = {}
            for key, value in raw.initialConfig.items():
                entry = dict(json_format.MessageToDict(value.properties))
                if value.enforcementLevel:  # proto3: advisory (0) and "not set" look the same
                    entry["enforcementLevel"] = LEVEL_NAMES[value.enforcementLevel]
                initial[key] = entry
            self._info = AnalyzerInfo(name=raw.name, version=raw.version, policies=policies, initial_config=initial)
        return self._info

    def configure(self, config: Mapping[str, Any] | None = None) -> dict[str, tuple[str, dict[str, Any]]]:
        """Reconcile `--policy-pack-config` JSON (see module doc), then send Configure. Returns the result."""
        reconciled = reconcile_config(self.info(), config)
        request = analyzer_pb2.ConfigureAnalyzerRequest()
        for name, (level, props) in reconciled.items():
            entry = analyzer_pb2.PolicyConfig(enforcementLevel=LEVELS[level])
            entry.properties.update(to_wire(props) if props else {})
            request.policyConfig[name].CopyFrom(entry)
        self._call().Configure(request)
        return reconciled

    def analyze(self, resource: WireResource) -> list[Diagnostic]:
        """One `Analyze` call (resource policies), as the engine makes it for each resource."""
        urn = resource.urn or make_urn(resource.type, resource.name, self.stack, self.project, resource.parent)
        request = analyzer_pb2.AnalyzeRequest(type=resource.type, urn=urn, name=resource.name,
                                              properties=_struct(resource.props), options=_options(resource))
        provider = _provider(resource)
        if provider is not None:
            request.provider.CopyFrom(provider)
        return self._diagnostics(self._call().Analyze(request), urn)

    def analyze_many(self, resources: Iterable[WireResource]) -> list[Diagnostic]:
        found: list[Diagnostic] = []
        for resource in resources:
            found += self.analyze(resource)
        return found

    def analyze_stack(self, resources: Iterable[WireResource]) -> list[Diagnostic]:
        """One `AnalyzeStack` call (stack policies) over the whole set of resources."""
        request = analyzer_pb2.AnalyzeStackRequest()
        for resource in resources:
            urn = resource.urn or make_urn(resource.type, resource.name, self.stack, self.project, resource.parent)
            item = analyzer_pb2.AnalyzerResource(
                type=resource.type, urn=urn, name=resource.name, properties=_struct(resource.props),
                options=_options(resource), parent=resource.parent, dependencies=resource.dependencies)
            for key, urns in resource.property_dependencies.items():
                item.propertyDependencies[key].urns.extend(urns)
            provider = _provider(resource)
            if provider is not None:
                item.provider.CopyFrom(provider)
            request.resources.append(item)
        return self._diagnostics(self._call().AnalyzeStack(request), "")

    def preview(self, resources: Iterable[WireResource]) -> list[Diagnostic]:
        """What a preview does: Analyze each resource, then AnalyzeStack over all of them."""
        resources = list(resources)
        return self.analyze_many(resources) + self.analyze_stack(resources)

    def _diagnostics(self, response: analyzer_pb2.AnalyzeResponse, default_urn: str) -> list[Diagnostic]:
        info = self.info()
        return [
            Diagnostic(policy=d.policyName, pack=d.policyPackName or info.name, message=d.message,
                       level=LEVEL_NAMES.get(d.enforcementLevel, "advisory"), urn=d.urn or default_urn,
                       description=d.description)
            for d in response.diagnostics
        ]


__all__ = [
    "UNKNOWN",
    "AnalyzerInfo",
    "Diagnostic",
    "PolicyConfigError",
    "PolicyInfo",
    "PolicyPackProcess",
    "PolicyPackStartError",
    "WireResource",
    "make_urn",
    "reconcile_config",
    "secret",
    "to_wire",
    "wire_resource",
]

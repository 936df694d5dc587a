"""Run the real Pulumi program under Pulumi's mock runtime and record the resource graph.

One implementation for the tests and the offline preview. Provider-computed values (ARNs, DNS
names, endpoints, ids) are placeholders shaped like the real ones; they are never real.

    graph = run_stack("dev", overrides={"service.cpu": "512"})
    graph.of_type("aws:ec2/subnet:Subnet")

Each run resets the runtime's global state, so several stacks can run in one process.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import json
import re
import runpy
import sys
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import config as runtime_config
from pulumi.runtime import mocks, rpc, settings, stack
from pulumi.runtime import resource as sdk_resource
from pulumi.runtime.proto import source_pb2
from pulumi.runtime.sync_await import _sync_await

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "django-platform"
ACCOUNT_ID = "123456789012"
UNKNOWN_SECRET = "offline-placeholder-secret"  # stands in for config secrets that cannot be decrypted
SECRET_PLACEHOLDER = "mock-generated-secret-"  # prefix of every generated secret value (scanned by tests)


def _declared_placeholders() -> list[str]:
    """The platform's secret keys declare format-valid stand-ins (components/settings.py, `placeholder`)."""
    from components.settings import offline_placeholder_templates

    return offline_placeholder_templates()


# Every secret value an offline run can hold, as text: what the preview masks wherever it prints.
SECRET_TEXT = re.compile("|".join(
    [re.escape(t).replace(re.escape("{n}"), r"\d+") for t in _declared_placeholders()]
    + [re.escape(SECRET_PLACEHOLDER) + r"\d+", re.escape(UNKNOWN_SECRET)]))


@dataclass
class Resource:
    """One registered resource, as the engine saw it."""

    urn: str
    type: str
    name: str
    custom: bool
    parent: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]
    provider: str
    protect: bool
    retain_on_delete: bool
    ignore_changes: list[str]
    delete_before_replace: bool
    custom_timeouts: dict[str, str] = field(default_factory=dict)  # create/update/delete, as set

    @property
    def parent_type(self) -> str:
        return self.parent.split("::")[2].split("$")[-1] if self.parent else ""


@dataclass
class Graph:
    """Every resource a program run registered, in registration order, plus the stack outputs."""

    resources: list[Resource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    # `ns:key`s whose `secure:` values could not be decrypted offline and hold UNKNOWN_SECRET instead
    secret_config_keys: list[str] = field(default_factory=list)
    # Provider functions the program called (token, arguments), in call order: the AWS reads of a preview
    invokes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def of_type(self, *types: str) -> list[Resource]:
        return [r for r in self.resources if r.type in types]

    def one(self, type_: str, name_glob: str = "*") -> Resource:
        found = [r for r in self.of_type(type_) if fnmatch.fnmatch(r.name, name_glob)]
        if len(found) != 1:
            raise AssertionError(f"expected one {type_} named {name_glob}, found {[r.name for r in found]}")
        return found[0]

    def by_urn(self, urn: str) -> Resource:
        return next(r for r in self.resources if r.urn == urn)

    def children(self, parent: Resource) -> list[Resource]:
        return [r for r in self.resources if r.parent == parent.urn]

    def custom(self) -> list[Resource]:
        return [r for r in self.resources if r.custom and not r.type.startswith("pulumi:providers:")]


class RecordingMonitor(mocks.MockMonitor):
    """The SDK's mock monitor, recording every registration with its options and edges."""

    def __init__(self, mocks_: mocks.Mocks):
        super().__init__(mocks_)
        self.graph = Graph()

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return response
        urn = response.urn
        self.graph.resources.append(
            Resource(
                urn=urn,
                type=request.type,
                name=request.name,
                custom=request.custom,
                parent=request.parent,
                inputs=rpc.deserialize_properties(request.object),
                outputs=dict(self.resources[urn].state),
                dependencies=list(request.dependencies),
                property_dependencies={k: list(v.urns) for k, v in request.propertyDependencies.items()},
                provider=request.provider,
                protect=request.protect,
                retain_on_delete=request.retainOnDelete,
                ignore_changes=list(request.ignoreChanges),
                delete_before_replace=request.deleteBeforeReplace,
                custom_timeouts={k: v for k in ("create", "update", "delete")
                                 if (v := getattr(request.customTimeouts, k))},
            )
        )
        return response


class PlaceholderMocks(mocks.Mocks):
    """Outputs shaped like AWS's, derived from the inputs, for every type the program uses."""

    def __init__(self, region: str):
        self.region = region
        self._secrets = 0
        self._parameters: dict[str, str] = {}  # String parameters created so far, name -> value
        self.invokes: list[tuple[str, dict[str, Any]]] = []

    def _arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.region}:{ACCOUNT_ID}:{resource}"

    def call(self, args: mocks.MockCallArgs):
        token = args.token
        self.invokes.append((token, dict(args.args)))
        if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            zones = [z for z in self._zones() if _zone_selected(z, args.args)]
            return {"names": [z["ZoneName"] for z in zones], "zoneIds": [z["ZoneId"] for z in zones],
                    "groupNames": sorted({z["GroupName"] for z in zones}), "id": self.region}, []
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT_ID, "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/offline",
                    "userId": "OFFLINE"}, []
        if token == "aws:index/getRegion:getRegion":
            return {"name": self.region, "region": self.region, "id": self.region}, []
        if token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}, []
        if token == "aws:route53/getZone:getZone":
            name = args.args.get("name") or "example.com"
            return {"zoneId": args.args.get("zoneId") or "Z0OFFLINE0PLACEHOLDER", "name": name.rstrip("."),
                    "id": "Z0OFFLINE0PLACEHOLDER"}, []
        if token == "aws:secretsmanager/getRandomPassword:getRandomPassword":
            return {"randomPassword": self._secret(), "id": "random"}, []
        if token == "aws:ssm/getParameter:getParameter":  # what this program created (the release tag)
            name = args.args["name"]
            value = self._parameters.get(name, "offline-placeholder")
            return {"name": name, "value": value, "insecureValue": value, "type": "String",
                    "arn": self._arn("ssm", f"parameter{name}"), "id": name, "version": 1}, []
        if token == "aws:elb/getServiceAccount:getServiceAccount":
            return {"arn": "arn:aws:iam::127311923021:root", "id": "127311923021"}, []
        raise NotImplementedError(f"offline preview has no placeholder for the function {token}")

    def _zones(self) -> list[dict[str, str]]:
        """What DescribeAvailabilityZones lists for an account that opted into a Local Zone: six
        availability zones, one impaired, the Local Zone (its name sorts before theirs) and a Wavelength
        Zone it did not opt into (listed only with AllAvailabilityZones)."""
        prefix = "".join(part[0] for part in self.region.split("-")[:2]) + self.region.split("-")[-1]  # use1
        zones = [{"ZoneName": f"{self.region}{s}", "ZoneId": f"{prefix}-az{i}", "ZoneType": "availability-zone",
                  "OptInStatus": "opt-in-not-required", "GroupName": self.region,
                  "State": "impaired" if s == "b" else "available"} for i, s in enumerate("abcdef", start=1)]
        return [{"ZoneName": f"{self.region}-bos-1a", "ZoneId": f"{prefix}-bos1-az1", "ZoneType": "local-zone",
                 "OptInStatus": "opted-in", "GroupName": f"{self.region}-bos-1", "State": "available"},
                {"ZoneName": f"{self.region}-wl1-bos-wlz-1", "ZoneId": f"{prefix}-wl1-bos-wlz1",
                 "ZoneType": "wavelength-zone", "OptInStatus": "not-opted-in",
                 "GroupName": f"{self.region}-wl1", "State": "available"}, *zones]

    def _stack_outputs(self, template_body: Any) -> dict[str, str]:
        """A CloudFormation stack's outputs that `Ref` a secret: its ARN (the only kind the program reads)."""
        template = json.loads(template_body) if isinstance(template_body, str) else {}
        resources = template.get("Resources", {})
        outputs = {}
        for key, output in template.get("Outputs", {}).items():
            resource = resources.get(output.get("Value", {}).get("Ref"), {})
            if resource.get("Type") == "AWS::SecretsManager::Secret":
                outputs[key] = self._arn("secretsmanager", f"secret:{resource['Properties']['Name']}-AbCdEf")
        return outputs

    def _secret(self) -> str:
        self._secrets += 1
        return f"{SECRET_PLACEHOLDER}{self._secrets:03d}"

    def new_resource(self, args: mocks.MockResourceArgs):
        inputs = dict(args.inputs)
        name = inputs.get("name") or args.name
        kind = args.typ.split(":")[1].split("/")[0] if ":" in args.typ else ""
        outputs: dict[str, Any] = {**inputs, "arn": self._arn(kind, name)}
        outputs.update(self._computed(args.typ, name, inputs))
        outputs.setdefault("id", f"{name}-id")
        outputs.setdefault("name", name)
        return outputs["id"], outputs

    def _computed(self, typ: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        region = self.region
        if typ == "aws:acm/certificate:Certificate":
            names = [inputs.get("domainName", ""), *inputs.get("subjectAlternativeNames", [])]
            return {"domainValidationOptions": [
                {"domainName": n, "resourceRecordName": f"_x1.{n.removeprefix('*.')}.",
                 "resourceRecordType": "CNAME",
                 "resourceRecordValue": f"_x2.{n.removeprefix('*.')}.acm-validations.aws."}
                for n in names
            ], "arn": self._arn("acm", f"certificate/{name}")}
        if typ in ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer"):
            return {"dnsName": f"{name}-1234567890.{region}.elb.amazonaws.com", "zoneId": "Z35SXDOTRQ7X7K",
                    "arnSuffix": f"app/{name}/50dc6c495c0c9188",
                    "arn": self._arn("elasticloadbalancing", f"loadbalancer/app/{name}/50dc6c495c0c9188")}
        if typ in ("aws:lb/targetGroup:TargetGroup", "aws:alb/targetGroup:TargetGroup"):
            return {"arnSuffix": f"targetgroup/{name}/73e2d6bc24d8a067",
                    "arn": self._arn("elasticloadbalancing", f"targetgroup/{name}/73e2d6bc24d8a067")}
        if typ == "aws:rds/instance:Instance":
            ident = inputs.get("identifier", name)
            return {"address": f"{ident}.abcdefghijkl.{region}.rds.amazonaws.com",
                    "endpoint": f"{ident}.abcdefghijkl.{region}.rds.amazonaws.com:5432",
                    "port": inputs.get("port", 5432), "resourceId": "db-OFFLINEPLACEHOLDER",
                    "masterUserSecrets": [{"secretArn": self._arn("secretsmanager", f"secret:rds!db-{ident}-AbCdEf"),
                                           "secretStatus": "active",
                                           "kmsKeyId": inputs.get("masterUserSecretKmsKeyId")}],
                    "arn": self._arn("rds", f"db:{ident}")}
        if typ == "aws:elasticache/replicationGroup:ReplicationGroup":
            ident = inputs.get("replicationGroupId", name)
            return {"primaryEndpointAddress": f"master.{ident}.abcdef.{region}.cache.amazonaws.com",
                    "readerEndpointAddress": f"replica.{ident}.abcdef.{region}.cache.amazonaws.com",
                    "memberClusters": [f"{ident}-00{i}" for i in range(1, int(inputs.get("numCacheClusters", 1)) + 1)],
                    "arn": self._arn("elasticache", f"replicationgroup:{ident}")}
        if typ == "aws:ecr/repository:Repository":
            return {"repositoryUrl": f"{ACCOUNT_ID}.dkr.ecr.{region}.amazonaws.com/{name}",
                    "registryId": ACCOUNT_ID, "arn": self._arn("ecr", f"repository/{name}")}
        if typ == "aws:kms/key:Key":
            return {"keyId": f"{name}-key-id", "arn": self._arn("kms", f"key/{name}-key-id")}
        if typ == "aws:kms/alias:Alias":
            return {"arn": self._arn("kms", inputs.get("name", name))}
        if typ == "aws:s3/bucket:Bucket":
            bucket = inputs.get("bucket", name)
            return {"id": bucket, "bucket": bucket, "arn": f"arn:aws:s3:::{bucket}",
                    "bucketRegionalDomainName": f"{bucket}.s3.{region}.amazonaws.com"}
        if typ == "aws:iam/role:Role":
            return {"arn": f"arn:aws:iam::{ACCOUNT_ID}:role/{name}", "id": name}
        if typ == "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
            host = str(inputs.get("url", "")).removeprefix("https://")
            return {"arn": f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/{host}"}
        if typ == "aws:iam/policy:Policy":
            return {"arn": f"arn:aws:iam::{ACCOUNT_ID}:policy/{name}"}
        if typ == "aws:codebuild/project:Project":
            return {"arn": self._arn("codebuild", f"project/{name}")}
        if typ == "aws:cloudwatch/metricAlarm:MetricAlarm":
            return {"arn": self._arn("cloudwatch", f"alarm:{name}")}
        if typ == "aws:cloudwatch/eventRule:EventRule":
            return {"arn": self._arn("events", f"rule/{name}")}
        if typ == "aws:cloudwatch/logGroup:LogGroup":
            return {"arn": self._arn("logs", f"log-group:{name}"), "id": name}
        if typ == "aws:ecs/cluster:Cluster":
            return {"arn": self._arn("ecs", f"cluster/{name}")}
        if typ == "aws:ecs/service:Service":
            return {"arn": self._arn("ecs", f"service/{name}")}
        if typ == "aws:ecs/taskDefinition:TaskDefinition":
            family = inputs.get("family", name)
            return {"arn": self._arn("ecs", f"task-definition/{family}:1"),
                    "arnWithoutRevision": self._arn("ecs", f"task-definition/{family}"), "revision": 1}
        if typ == "aws:secretsmanager/secret:Secret":
            return {"arn": self._arn("secretsmanager", f"secret:{name}-AbCdEf")}
        if typ == "aws:cloudformation/stack:Stack":
            return {"outputs": self._stack_outputs(inputs.get("templateBody")),
                    "id": self._arn("cloudformation", f"stack/{name}/00000000-0000-0000-0000-000000000000")}
        if typ == "aws:ssm/parameter:Parameter":
            if inputs.get("type") == "String":
                self._parameters[name] = inputs.get("insecureValue", inputs.get("value", ""))
            return {"arn": self._arn("ssm", f"parameter{name}")}
        if typ == "aws:sfn/stateMachine:StateMachine":
            return {"arn": self._arn("states", f"stateMachine:{name}")}
        if typ == "aws:sns/topic:Topic":
            return {"arn": self._arn("sns", name)}
        if typ == "aws:sqs/queue:Queue":
            return {"arn": self._arn("sqs", name), "url": f"https://sqs.{region}.amazonaws.com/{ACCOUNT_ID}/{name}"}
        if typ in ("aws:codestarconnections/connection:Connection",
                   "aws:codeconnections/connection:Connection"):
            return {"arn": self._arn("codeconnections", "connection/00000000-0000-0000-0000-000000000000"),
                    "connectionStatus": "PENDING"}
        if typ == "aws:cloudfront/distribution:Distribution":
            return {"id": "E2OFFLINE0EXAMPLE", "domainName": "d111111abcdef8.cloudfront.net",
                    "hostedZoneId": "Z2FDTNDATAQYW2",  # CloudFront's alias hosted zone (Route 53 docs)
                    "arn": f"arn:aws:cloudfront::{ACCOUNT_ID}:distribution/E2OFFLINE0EXAMPLE"}
        if typ == "aws:cloudfront/originAccessControl:OriginAccessControl":
            return {"id": "E3OFFLINE0OAC"}
        if typ == "aws:route53/record:Record":
            return {"fqdn": inputs.get("name", name)}
        if typ == "aws:ec2/vpc:Vpc":
            vpc = {"defaultSecurityGroupId": "sg-default", "mainRouteTableId": "rtb-main"}
            return {**vpc, "ipv6CidrBlock": "2600:1f18:1234:5600::/56"} if inputs.get("assignGeneratedIpv6CidrBlock") \
                else vpc
        return {}


# DescribeAvailabilityZones filter names -> the zone attribute each one tests (EC2 API reference).
_ZONE_FILTERS = {"opt-in-status": "OptInStatus", "zone-type": "ZoneType", "state": "State",
                 "zone-name": "ZoneName", "zone-id": "ZoneId", "group-name": "GroupName"}


def _zone_selected(zone: dict[str, str], request: Mapping[str, Any]) -> bool:
    """DescribeAvailabilityZones' selection, as the provider's data source asks for it: zones the
    account did not opt into only with allAvailabilityZones, then `state` and every filter."""
    if zone["OptInStatus"] == "not-opted-in" and not request.get("allAvailabilityZones"):
        return False
    if request.get("state") and zone["State"] != request["state"]:
        return False
    excluded = [*(request.get("excludeNames") or []), *(request.get("excludeZoneIds") or [])]
    if zone["ZoneName"] in excluded or zone["ZoneId"] in excluded:
        return False
    for entry in request.get("filters") or []:
        attribute = _ZONE_FILTERS.get(entry["name"])
        if attribute is None:
            raise NotImplementedError(f"offline preview has no DescribeAvailabilityZones filter {entry['name']}")
        if zone[attribute] not in entry["values"]:
            return False
    return True


def load_stack_config(stack_name: str, overrides: Mapping[str, str] | None = None,
                      path: Path | None = None, project_dir: Path = ROOT) -> tuple[dict[str, str], list[str]]:
    """Read Pulumi.<stack>.yaml (or `path`, like the CLI's --config-file) into the CLI's wire form:
    `ns:key` -> string (JSON for objects).

    Secure values cannot be decrypted offline: each becomes the placeholder its setting declares (a
    value that passes the setting's check, numbered so that no two are equal), else UNKNOWN_SECRET, and
    its top-level key is listed as secret, as the CLI marks it.
    Overrides use dotted paths below the project namespace (`service.cpu=512`) or `aws:region`.
    """
    path = path or project_dir / f"Pulumi.{stack_name}.yaml"
    document = yaml.safe_load(path.read_text()) or {}
    values: dict[str, Any] = dict(document.get("config") or {})
    secret_keys: list[str] = []
    namespace = f"{project_name(project_dir)}:"

    def stand_in(key: str, where: list[str | int]) -> str:
        if project_dir == ROOT and key.startswith(namespace):
            from components.settings import offline_placeholder

            declared = offline_placeholder([key.removeprefix(namespace), *where], len(secret_keys))
            if declared is not None:
                return declared
        return UNKNOWN_SECRET

    def unseal(key: str, value: Any, where: list[str | int]) -> Any:
        if isinstance(value, dict) and set(value) == {"secure"}:
            secret_keys.append(key)
            return stand_in(key, where)
        if isinstance(value, dict):
            return {k: unseal(key, v, [*where, k]) for k, v in value.items()}
        if isinstance(value, list):
            return [unseal(key, v, [*where, i]) for i, v in enumerate(value)]
        return value

    values = {key: unseal(key, value, []) for key, value in values.items()}
    for dotted, raw in (overrides or {}).items():
        key, _, rest = dotted.partition(".") if ":" not in dotted.split(".")[0] else (dotted, "", "")
        full = key if ":" in key else f"{project_name(project_dir)}:{key}"
        parsed = yaml.safe_load(raw) if isinstance(raw, str) else raw
        if rest:
            target = values.setdefault(full, {})
            parts = rest.split(".")
            for part in parts[:-1]:
                target = target.setdefault(part, {})
            target[parts[-1]] = parsed
        else:
            values[full] = parsed
    wire = {k: v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}
    return wire, secret_keys


def project_name(project_dir: Path) -> str:
    """The `name:` of a project's Pulumi.yaml: the namespace of its config keys."""
    if project_dir == ROOT:
        return PROJECT
    return str(yaml.safe_load((project_dir / "Pulumi.yaml").read_text())["name"])


def run_stack(stack_name: str, overrides: Mapping[str, str] | None = None,
              config: dict[str, str] | None = None, preview: bool = True,
              config_file: Path | None = None, project_dir: Path = ROOT) -> Graph:
    """Run __main__.py for a stack under the mocks and return its graph.

    `project_dir` runs another Pulumi project of this repository (its Pulumi.yaml, stack files and
    __main__.py), such as bootstrap/; by default the platform program at the repository root.

    `config` replaces the stack file entirely (wire form); `overrides` edit it. Exceptions raised by
    the program propagate; the partial graph is then on the exception as `graph`.
    """
    if config is None:
        config, secret_keys = load_stack_config(stack_name, overrides, config_file, project_dir)
    else:
        secret_keys = []
    region = config.get("aws:region", "us-east-1")
    placeholders = PlaceholderMocks(region)
    monitor = RecordingMonitor(placeholders)
    monitor.graph.secret_config_keys = list(secret_keys)
    monitor.graph.invokes = placeholders.invokes
    _reset_runtime()
    runtime_config.set_all_config(dict(config), secret_keys)
    mocks.set_mocks(monitor.mocks, project=project_name(project_dir), stack=stack_name, preview=preview,
                    monitor=monitor)
    sys.path.insert(0, str(project_dir))
    try:
        def program() -> None:
            runpy.run_path(str(project_dir / "__main__.py"), run_name="__main__")

        with _without_stack_traces():
            _sync_await(stack.run_pulumi_func(program))
    except BaseException as error:
        error.graph = monitor.graph  # type: ignore[attr-defined]
        raise
    finally:
        sys.path.remove(str(project_dir))
    root = settings.get_root_resource()
    monitor.graph.outputs = _resolve_outputs(root)
    return monitor.graph


@contextlib.contextmanager
def _without_stack_traces() -> Iterator[None]:
    """The SDK walks the Python stack at every registration (traceback.extract_stack, a file URI per frame) so
    that the engine can show where each resource was declared; the mock monitor never reads it, and it was
    13 % of a run. It is restored after the run."""
    original = sdk_resource._get_stack_trace
    sdk_resource._get_stack_trace = source_pb2.StackTrace
    try:
        yield
    finally:
        sdk_resource._get_stack_trace = original


def _resolve_outputs(root: Any) -> dict[str, Any]:
    if root is None:
        return {}
    outputs = getattr(root, "outputs", None) or {}

    async def resolve() -> dict[str, Any]:
        result = {}
        for key, value in outputs.items():
            output = pulumi.Output.from_input(value)
            result[key] = {"value": await output.future(), "secret": await output.is_secret()}
        return result

    return _sync_await(resolve())


_run_loops: list[asyncio.AbstractEventLoop] = []  # the last run's event loops, closed when the next run starts
_run_executor: list[ThreadPoolExecutor] = []


def _thread_loop() -> None:
    """The executor thread's own event loop, which pulumi's mock monitor needs there (mocks.py calls
    sync_await._ensure_event_loop): created here, so that the next run can close it. One thread is enough:
    the monitor's work is Python under the GIL, and more threads only meant more loops."""
    _run_loops.append(asyncio.new_event_loop())
    asyncio.set_event_loop(_run_loops[-1])


def _reset_runtime() -> None:
    """Fresh event loop and root stack, so one process can run several programs (see TESTING.md).

    The previous run's loops are closed first: each holds an epoll descriptor and a socket pair, and a test
    process runs hundreds of programs; left to the garbage collector they pile up past select()'s
    1,024-descriptor limit when it collects rarely (tests/conftest.py).
    """
    for executor in _run_executor:
        executor.shutdown(wait=True)
    for loop in _run_loops:
        loop.close()
    _run_executor[:] = [ThreadPoolExecutor(max_workers=1, thread_name_prefix="mock-monitor", initializer=_thread_loop)]
    _run_loops[:] = [asyncio.new_event_loop()]
    _run_loops[0].set_default_executor(_run_executor[0])
    asyncio.set_event_loop(_run_loops[0])
    settings.ROOT.set(None)
    settings.SETTINGS.outputs.clear()
    settings.SETTINGS.rpc_manager.clear()

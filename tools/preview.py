"""Offline preview: the program under Pulumi's mock runtime, every resource through the real policy pack.

    python -m tools.preview --stack dev                              # what `make preview` runs
    python -m tools.preview --stack prod --config service.cpu=512    # try a change without editing files
    python -m tools.preview --stack dev --policy-pack-config '{"all": "mandatory"}'
    python -m tools.preview --stack dev --json                       # resources, edges, violations
    python -m tools.preview --stack dev --diagram mermaid            # or dot: the platform as a picture

No Pulumi CLI, provider plugin or AWS credentials are needed. The program (`__main__.py`) runs under
tools.mock_runtime, the same implementation the tests use; provider-computed values (ids, ARNs, DNS
names, endpoints, generated passwords) are placeholders shaped like AWS's, and the output says so.
The policy pack is started the way the CLI starts it (a subprocess speaking gRPC, tools.analyzer):
`Analyze` for each resource with its inputs, then `AnalyzeStack` once with every resource's outputs,
parents and dependencies.

Exit codes: 0 clean (advisory violations allowed), 1 mandatory policy violations, 2 the program or its
config failed (the message names every bad key), 3 internal error (the preview itself or a policy pack
that crashed).

Secret config values (`secure:` in Pulumi.<stack>.yaml) cannot be decrypted offline: they become
placeholders and the summary names their keys. Secret values (config secrets, generated passwords,
outputs marked secret) are never printed: they show as [secret] in the tree, outputs and JSON.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import gc
import json
import sys
import time
import traceback
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.mock_runtime import (
    PROJECT,
    ROOT,
    SECRET_TEXT,
    Graph,
    Resource,
    load_stack_config,
    run_stack,
)

EXIT_OK, EXIT_MANDATORY, EXIT_CONFIG, EXIT_INTERNAL = 0, 1, 2, 3
DEFAULT_PACK = ROOT / "policies"
MASK = "[secret]"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # the engine's "not known yet" sentinel
PLACEHOLDER_NOTE = ("provider-computed values (ids, ARNs, DNS names, endpoints, generated passwords) are "
                    "placeholders from the mock runtime, not values AWS would return")
LEVEL_ORDER = ("mandatory", "remediate", "advisory", "disabled")


class PreviewError(Exception):
    """A failure with an exit code and a message meant for the user."""

    def __init__(self, code: int, kind: str, message: str, keys: Sequence[str] = ()):
        super().__init__(message)
        self.code = code
        self.kind = kind
        self.keys = list(keys)


# --- secrets ------------------------------------------------------------------------------------------


class Masker:
    """Keeps secret values out of everything the preview prints.

    Structured values (resource inputs, stack outputs) are masked where the engine marks them secret
    (the secret envelope, outputs marked secret). Free text (policy messages, error messages, the tree)
    is scrubbed of the only secret values an offline run can hold: the placeholders the mock runtime
    hands out for config secrets (those the settings declare, and the generic one) and for generated
    secrets, recognised by their shape.
    """

    PATTERN = SECRET_TEXT

    def text(self, text: str) -> str:
        return self.PATTERN.sub(MASK, text)

    def value(self, value: Any) -> Any:
        """A JSON-safe copy of a recorded value with secrets masked and unknowns spelled out."""
        from pulumi.output import Unknown
        from pulumi.runtime import rpc

        if rpc.is_rpc_secret(value):
            return MASK
        if isinstance(value, Unknown) or value == UNKNOWN:
            return "[unknown]"
        if isinstance(value, Mapping):
            return {str(k): self.value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(v) for v in value]
        if isinstance(value, str):
            return self.text(value)
        if value is None or isinstance(value, bool | int | float):
            return value
        return self.text(str(value))


# --- arguments ----------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tools.preview",
        description="Offline preview of a stack: the program under Pulumi's mock runtime, every resource "
                    "through the policy pack over gRPC. No Pulumi CLI or AWS credentials needed.",
        epilog="Exit codes: 0 clean (advisory allowed), 1 mandatory violations, 2 program or config failed, "
               "3 internal error.")
    parser.add_argument("--stack", "-s", default="dev", help="stack name: reads Pulumi.<stack>.yaml (default dev)")
    parser.add_argument("--config", "-c", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key for this run, dotted below the project namespace "
                             "(service.cpu=512, dns.alternative_names='[a.example.com]', aws:region=eu-west-1); "
                             "repeatable")
    parser.add_argument("--config-file", type=Path, metavar="FILE",
                        help="use this stack config file instead of Pulumi.<stack>.yaml (as the CLI's --config-file)")
    parser.add_argument("--policy-pack", action="append", default=[], type=Path, metavar="DIR",
                        help=f"policy pack directory (default {DEFAULT_PACK.relative_to(ROOT)}/); repeatable")
    parser.add_argument("--policy-pack-config", action="append", default=[], metavar="FILE_OR_JSON",
                        help="policy config for the pack at the same position: a JSON file or inline JSON, "
                             "as the CLI's --policy-pack-config")
    parser.add_argument("--json", action="store_true", help="print one JSON document (resources, edges, "
                        "violations) instead of the tree")
    parser.add_argument("--diagram", choices=("mermaid", "dot"),
                        help="print only a diagram of the platform (components, main resources, dependencies); "
                             "the policy pack is not run")
    args = parser.parse_args(argv)
    if len(args.policy_pack_config) > max(len(args.policy_pack), 1):
        parser.error("more --policy-pack-config than --policy-pack options")
    return args


def config_overrides(pairs: Iterable[str]) -> dict[str, str]:
    """`key=value` pairs as mock_runtime overrides; `django-platform:key` is accepted for `key`."""
    overrides: dict[str, str] = {}
    bad = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip().removeprefix(f"{PROJECT}:")
        if not sep or not key or key.startswith(".") or key.endswith("."):
            bad.append(pair)
            continue
        overrides[key] = value
    if bad:
        raise PreviewError(EXIT_CONFIG, "config", "--config expects KEY=VALUE, got: " + ", ".join(map(repr, bad)),
                           keys=bad)
    return overrides


def policy_config(raw: str) -> dict[str, Any]:
    """A --policy-pack-config value: inline JSON or the path of a JSON file."""
    text = raw
    if not raw.lstrip().startswith("{"):
        path = Path(raw)
        if not path.is_file():
            raise PreviewError(EXIT_CONFIG, "policy-config", f"--policy-pack-config: no such file {raw}")
        text = path.read_text()
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise PreviewError(EXIT_CONFIG, "policy-config", f"--policy-pack-config is not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise PreviewError(EXIT_CONFIG, "policy-config", "--policy-pack-config must be a JSON object")
    return value


# --- policy packs -------------------------------------------------------------------------------------


@dataclass
class PackRun:
    """One policy pack: where it lives, what it is, what it found."""

    directory: Path
    config: dict[str, Any]
    name: str = ""
    version: str = ""
    diagnostics: list[Any] = field(default_factory=list)
    process: Any = None

    @property
    def label(self) -> str:
        try:
            where = self.directory.resolve().relative_to(ROOT)
        except ValueError:
            where = self.directory
        return f"{self.name}@v{self.version} (local: {where})"


def _start_pack(pack: PackRun, stack: str, stack_config: Mapping[str, str]) -> PackRun:
    from tools.analyzer import PolicyPackProcess

    pack.process = PolicyPackProcess(pack.directory, stack=stack, project=PROJECT, stack_config=stack_config)
    pack.process.start()
    info = pack.process.info()
    pack.name, pack.version = info.name, info.version
    return pack


def _analyze(pack: PackRun, graph: Graph) -> None:
    from tools.analyzer import wire_resource

    process = pack.process
    pack.diagnostics = []
    for resource in graph.resources:
        pack.diagnostics += process.analyze(wire_resource(resource, "inputs"))
    pack.diagnostics += process.analyze_stack([wire_resource(r, "outputs") for r in graph.resources])


# --- running ------------------------------------------------------------------------------------------


@dataclass
class Result:
    stack: str
    graph: Graph
    packs: list[PackRun]
    seconds: float

    def diagnostics(self) -> list[tuple[PackRun, Any]]:
        return [(pack, d) for pack in self.packs for d in pack.diagnostics]

    def count(self, level: str) -> int:
        return sum(1 for _, d in self.diagnostics() if d.level == level)

    @property
    def exit_code(self) -> int:
        return EXIT_MANDATORY if self.count("mandatory") else EXIT_OK


def _run_program(stack: str, overrides: Mapping[str, str], config_file: Path | None) -> Graph:
    from components.settings import SettingsError

    try:
        return run_stack(stack, overrides=overrides, config_file=config_file)
    except SettingsError as error:
        keys = [f"{PROJECT}:{p.key}" for p in error.problems]
        raise PreviewError(EXIT_CONFIG, "config", str(error), keys) from None
    except Exception as error:  # the program itself raised: its failure, not the preview's
        where = "".join(traceback.format_exception_only(type(error), error)).strip()
        frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename.startswith(str(ROOT))
                  and "/tools/" not in f.filename and "/.venv/" not in f.filename]
        at = f" (at {Path(frames[-1].filename).relative_to(ROOT)}:{frames[-1].lineno})" if frames else ""
        raise PreviewError(EXIT_CONFIG, "program", f"the program failed{at}: {where}") from None


def preview(args: argparse.Namespace) -> Result:
    """Run the program and the policy packs (started in parallel with the program)."""
    started = time.perf_counter()
    overrides = config_overrides(args.config)
    config_file = args.config_file
    stack_file = config_file or ROOT / f"Pulumi.{args.stack}.yaml"
    if not stack_file.is_file():
        raise PreviewError(EXIT_CONFIG, "config", f"no stack config file {stack_file} (stack {args.stack!r})")
    try:
        stack_config, secret_keys = load_stack_config(args.stack, overrides, config_file)
    except Exception as error:
        raise PreviewError(EXIT_CONFIG, "config", f"cannot read {stack_file.name}: {error}") from None

    packs: list[PackRun] = []
    if not args.diagram:
        directories = args.policy_pack or [DEFAULT_PACK]
        configs = [policy_config(raw) for raw in args.policy_pack_config]
        for index, directory in enumerate(directories):
            if not (directory / "PulumiPolicy.yaml").is_file():
                raise PreviewError(EXIT_CONFIG, "policy-config", f"--policy-pack {directory} is not a policy pack "
                                                                 "(no PulumiPolicy.yaml)")
            packs.append(PackRun(directory, configs[index] if index < len(configs) else {}))

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(len(packs), 1)) as pool:
        # Starting a pack costs about as much as running the program: do both at once.
        starting = [pool.submit(_start_pack, pack, args.stack, stack_config) for pack in packs]
        try:
            try:
                graph = _run_program(args.stack, overrides, config_file)
            except PreviewError as error:
                if secret_keys:  # the placeholder may be what the program tripped over: say so
                    error.args = (f"{error}\nnote: {', '.join(sorted(set(secret_keys)))} "
                                  "cannot be decrypted offline and held a placeholder during this run",)
                raise
            for future in starting:
                _finish_start(future)
            for pack in packs:
                _configure(pack)
                _analyze_or_fail(pack, graph)
        finally:
            concurrent.futures.wait(starting)
            for pack in packs:
                if pack.process is not None:
                    pack.process.close()
    return Result(args.stack, graph, packs, time.perf_counter() - started)


def _finish_start(future: concurrent.futures.Future[PackRun]) -> None:
    try:
        future.result()
    except Exception as error:
        raise PreviewError(EXIT_INTERNAL, "policy-pack", f"the policy pack did not start: {error}") from None


def _configure(pack: PackRun) -> None:
    from tools.analyzer import PolicyConfigError

    try:
        pack.process.configure(pack.config)
    except PolicyConfigError as error:
        raise PreviewError(EXIT_CONFIG, "policy-config", f"{pack.label}: {error}") from None


def _analyze_or_fail(pack: PackRun, graph: Graph) -> None:
    import grpc

    try:
        _analyze(pack, graph)
    except grpc.RpcError as error:
        details = error.details() if hasattr(error, "details") else str(error)
        raise PreviewError(EXIT_INTERNAL, "policy-pack",
                           f"{pack.label} failed while analyzing (the CLI would fail the preview too): {details}"
                           ) from None


# --- text report --------------------------------------------------------------------------------------


def display_type(type_: str) -> str:
    """The CLI's short form: `aws:ec2/vpc:Vpc` -> `aws:ec2:Vpc` (module path dropped when it repeats the type)."""
    parts = type_.split(":")
    if len(parts) == 3 and "/" in parts[1]:
        module, _, leaf = parts[1].partition("/")
        if leaf == parts[2][:1].lower() + parts[2][1:]:
            return f"{parts[0]}:{module}:{parts[2]}"
    return type_


def stack_urn(stack: str) -> str:
    return f"urn:pulumi:{stack}::{PROJECT}::pulumi:pulumi:Stack::{PROJECT}-{stack}"


def _info(resource: Resource | None, levels: Counter[tuple[str, str]]) -> str:
    urn = resource.urn if resource else ""
    notes = [f"{levels[(urn, level)]} {level}" for level in LEVEL_ORDER if levels[(urn, level)]]
    if resource is not None and resource.protect:
        notes.append("protected")
    return ", ".join(notes)


def tree_lines(result: Result) -> list[str]:
    graph = result.graph
    levels: Counter[tuple[str, str]] = Counter()
    root = stack_urn(result.stack)
    for _, d in result.diagnostics():
        levels[(d.urn or root, d.level)] += 1
    children: dict[str, list[Resource]] = {}
    for resource in graph.resources:
        children.setdefault(resource.parent or root, []).append(resource)
    rows: list[tuple[str, str, str, str]] = []
    stack_levels = [f"{levels[(root, lvl)]} {lvl}" for lvl in LEVEL_ORDER if levels[(root, lvl)]]
    rows.append(("", "pulumi:pulumi:Stack", f"{PROJECT}-{result.stack}", ", ".join(stack_levels)))

    def walk(urn: str, prefix: str) -> None:
        kids = children.get(urn, [])
        for index, kid in enumerate(kids):
            last = index == len(kids) - 1
            rows.append((prefix + ("└─ " if last else "├─ "), display_type(kid.type), kid.name, _info(kid, levels)))
            walk(kid.urn, prefix + ("   " if last else "│  "))

    walk(root, "")
    width = max(len(p) + len(t) for p, t, _, _ in rows) + 2
    name_width = max(len(n) for _, _, n, _ in rows) + 2
    lines = [f"     {'Type':<{width}}{'Name':<{name_width}}{'Plan':<8}Info"]
    for prefix, type_, name, info in rows:
        lines.append(f" +   {prefix + type_:<{width}}{name:<{name_width}}{'create':<8}{info}".rstrip())
    return lines


def policy_lines(result: Result) -> list[str]:
    """Grouped like the CLI's `Policies:` block: per pack, mandatory first, then advisory."""
    if not result.packs:
        return []
    by_urn = {r.urn: r for r in result.graph.resources}
    lines = ["Policies:"]
    for pack in result.packs:
        found = sorted(pack.diagnostics, key=lambda d: (LEVEL_ORDER.index(d.level) if d.level in LEVEL_ORDER
                                                        else len(LEVEL_ORDER), d.policy, d.urn))
        icon = "❌" if any(d.level == "mandatory" for d in found) else "⚠️ " if found else "✅"
        lines.append(f"    {icon} {pack.label}")
        for d in found:
            resource = by_urn.get(d.urn)
            subject = (f"{resource.type}: {resource.name}" if resource
                       else f"pulumi:pulumi:Stack: {PROJECT}-{result.stack}")
            lines.append(f"        - [{d.level}]  {d.policy}  ({subject})")
            if d.description and not d.message.startswith(d.description):
                lines.append(f"          {d.description}")  # the SDK's messages usually start with it
            lines.extend(f"          {line}" for line in d.message.splitlines() or [""])
    return lines


def output_lines(graph: Graph, masker: Masker) -> list[str]:
    if not graph.outputs:
        return []
    width = max(len(k) for k in graph.outputs)
    lines = ["Outputs:"]
    for key in sorted(graph.outputs):
        output = graph.outputs[key]
        value = MASK if output.get("secret") else json.dumps(masker.value(output.get("value")))
        lines.append(f"    {key:<{width}}: {value}")
    return lines


def count_by_type(graph: Graph) -> list[tuple[str, int]]:
    counts = Counter(r.type for r in graph.resources)
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def honesty_lines(graph: Graph) -> list[str]:
    secret_keys = sorted(set(graph.secret_config_keys))
    lines = [
        "Offline preview: the program ran under Pulumi's mock runtime (no Pulumi CLI, no AWS credentials,",
        "nothing created or changed).",
        f"  - Placeholders: {PLACEHOLDER_NOTE}.",
    ]
    if secret_keys:
        lines.append(f"  - Secret config cannot be decrypted offline: {', '.join(secret_keys)} "
                     f"{'was' if len(secret_keys) == 1 else 'were'} replaced by a placeholder (never printed).")
    lines.append(f"  - Secret values are never printed; they show as {MASK}.")
    return lines


def text_report(result: Result, masker: Masker) -> str:
    graph = result.graph
    components = sum(1 for r in graph.resources if not r.custom)
    custom = len(graph.custom())
    providers = len(graph.resources) - components - custom
    lines = [f"Previewing update ({result.stack}) offline:", "", *tree_lines(result), ""]
    policies = policy_lines(result)
    if policies:
        lines += [*policies, ""]
    outputs = output_lines(graph, masker)
    if outputs:
        lines += [*outputs, ""]
    total = len(graph.resources) + 1
    lines += ["Resources:",
              f"    + {total} to create ({custom} AWS resources, {components} components, {providers} "
              f"provider{'s' if providers != 1 else ''}, 1 stack)", ""]
    counts = count_by_type(graph)
    width = max(len(str(n)) for _, n in counts) if counts else 1
    lines += ["Resources by type:", *[f"    {n:>{width}}  {t}" for t, n in counts], ""]
    if result.packs:
        mandatory, advisory = result.count("mandatory"), result.count("advisory")
        verdict = ("FAILED: mandatory policy violations" if mandatory else "passed")
        lines += [f"Policy check {verdict}: {mandatory} mandatory, {advisory} advisory "
                  f"({len(graph.resources)} resources analyzed by {len(result.packs)} pack(s)).", ""]
    lines += honesty_lines(graph)
    lines.append(f"Duration: {result.seconds:.1f}s")
    return masker.text("\n".join(lines)) + "\n"


# --- JSON report --------------------------------------------------------------------------------------


def json_report(result: Result, masker: Masker) -> dict[str, Any]:
    graph = result.graph
    by_urn = {r.urn: r for r in graph.resources}
    edges: list[dict[str, Any]] = []
    for r in graph.resources:
        if r.parent:
            edges.append({"from": r.urn, "to": r.parent, "kind": "parent"})
        for dep in sorted(set(r.dependencies).union(*r.property_dependencies.values())):
            properties = sorted(k for k, urns in r.property_dependencies.items() if dep in urns)
            edges.append({"from": r.urn, "to": dep, "kind": "dependency", "properties": properties})
    violations = []
    for pack, d in result.diagnostics():
        resource = by_urn.get(d.urn)
        violations.append({
            "policyPack": pack.name, "policyPackVersion": pack.version, "policy": d.policy,
            "enforcementLevel": d.level, "message": masker.text(d.message),
            "description": masker.text(d.description), "urn": d.urn or stack_urn(result.stack),
            "type": resource.type if resource else "pulumi:pulumi:Stack",
            "name": resource.name if resource else f"{PROJECT}-{result.stack}",
        })
    report: dict[str, Any] = {
        "version": 1,
        "project": PROJECT,
        "stack": result.stack,
        "stackUrn": stack_urn(result.stack),
        "offline": True,
        "placeholders": PLACEHOLDER_NOTE,
        "secretConfigKeys": sorted(set(graph.secret_config_keys)),
        "resources": [
            {
                "urn": r.urn, "type": r.type, "name": r.name, "custom": r.custom, "parent": r.parent,
                "provider": r.provider, "protect": r.protect, "retainOnDelete": r.retain_on_delete,
                "ignoreChanges": r.ignore_changes, "deleteBeforeReplace": r.delete_before_replace,
                "dependencies": sorted(set(r.dependencies)), "inputs": masker.value(r.inputs),
            }
            for r in graph.resources
        ],
        "edges": edges,
        "counts": dict(count_by_type(graph)),
        "outputs": {k: MASK if v.get("secret") else masker.value(v.get("value"))
                    for k, v in sorted(graph.outputs.items())},
        "policyPacks": [{"name": p.name, "version": p.version, "path": str(p.directory)} for p in result.packs],
        "violations": violations,
        "summary": {"resources": len(graph.resources), "mandatory": result.count("mandatory"),
                    "advisory": result.count("advisory"), "seconds": round(result.seconds, 3)},
        "exitCode": result.exit_code,
    }
    return report


# --- entry point --------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    # pulumi-aws's modules and the program allocate millions of objects that all stay alive: with the
    # default thresholds the cyclic GC rescans them again and again, about half of the run time (measured:
    # dev 3.3 s -> 1.6 s). A short-lived command can afford the few cycles it leaves for later.
    gc.set_threshold(100_000, 50, 100)
    try:
        args = parse_args(argv)
    except SystemExit as exit_:  # --help (0) or a usage error (2, config-like)
        return int(exit_.code or 0)
    try:
        result = preview(args)
    except PreviewError as error:
        return _fail(args, error)
    except Exception:
        traceback.print_exc()
        print("internal error in the offline preview (exit 3)", file=sys.stderr)
        return EXIT_INTERNAL
    masker = Masker()
    if args.diagram:
        from tools.diagram import render

        sys.stdout.write(render(result.graph, args.diagram, title=f"{PROJECT}-{args.stack}"))
        return EXIT_OK
    if args.json:
        print(json.dumps(json_report(result, masker), indent=2))
    else:
        sys.stdout.write(text_report(result, masker))
    return result.exit_code


def _fail(args: argparse.Namespace, error: PreviewError) -> int:
    message = Masker().text(str(error))
    if args.json:
        print(json.dumps({"version": 1, "project": PROJECT, "stack": args.stack, "offline": True,
                          "error": {"kind": error.kind, "message": message, "keys": error.keys},
                          "exitCode": error.code}, indent=2))
    else:
        headline = {"config": "the stack config is invalid", "program": "the program failed",
                    "policy-config": "the policy pack config is invalid",
                    "policy-pack": "the policy pack failed"}.get(error.kind, "error")
        print(f"error: {headline} (exit {error.code})\n{message}", file=sys.stderr)
    return error.code


if __name__ == "__main__":
    sys.exit(main())

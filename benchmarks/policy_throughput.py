"""The policy pack's speed over gRPC, against an empty pack measured side by side in the same run.

    .venv/bin/python -m benchmarks.policy_throughput [--resources 1000] [--stack-resources 2000] [--repeat 5]

The stack is the dev program's recorded graph (tools.mock_runtime) repeated with renamed URNs until it
holds the wanted number of resources, so the mix of types is the program's. Two packs run at once, each
started as the CLI starts it: this pack with every rule on, and an empty pack (one resource and one stack
policy that do nothing: the SDK's and gRPC's own cost). The machine is shared, so the two packs take turns
every 50 Analyze calls and each batch counts with its fastest round: a burst of load from other processes
then costs both packs alike and is filtered out. AnalyzeStack: the fastest of the rounds, alternating.

Prints Analyze throughput (one call per resource, the inputs) for both packs and their ratio, and the
time of one AnalyzeStack over --stack-resources resources (the outputs).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from tools.analyzer import PolicyPackProcess, WireResource, wire_resource
from tools.mock_runtime import run_stack

PACK = Path(__file__).resolve().parent.parent / "policies"
EMPTY_PACK = '''
from pulumi_policy import EnforcementLevel, PolicyPack, ResourceValidationPolicy, StackValidationPolicy

PolicyPack("empty", [
    ResourceValidationPolicy("nothing", "Checks nothing.", lambda args, report: None, EnforcementLevel.MANDATORY),
    StackValidationPolicy("nothing-stack", "Checks nothing.", lambda args, report: None, EnforcementLevel.MANDATORY),
])
'''


def scaled(count: int) -> tuple[list[WireResource], list[WireResource]]:
    graph = run_stack("dev")
    base = list(graph.resources)
    inputs: list[WireResource] = []
    outputs: list[WireResource] = []
    copy = 0
    while len(inputs) < count:
        for resource in base:
            if len(inputs) == count:
                break
            for state, target in (("inputs", inputs), ("outputs", outputs)):
                wire = wire_resource(resource, state=state)
                if copy:
                    wire.urn = f"{wire.urn}-{copy}"
                    wire.name = f"{wire.name}-{copy}"
                target.append(wire)
        copy += 1
    return inputs, outputs


BATCH = 50


def timed(run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--resources", type=int, default=1000, help="Analyze calls per round")
    parser.add_argument("--stack-resources", type=int, default=2000, help="resources in the AnalyzeStack call")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    inputs, _ = scaled(args.resources)
    _, outputs = scaled(args.stack_resources)
    with tempfile.TemporaryDirectory() as empty_dir:
        (Path(empty_dir) / "__main__.py").write_text(EMPTY_PACK)
        (Path(empty_dir) / "PulumiPolicy.yaml").write_text("runtime: python\nversion: 0.0.1\n")
        with PolicyPackProcess(PACK, stack="dev") as pack, PolicyPackProcess(empty_dir, stack="dev") as empty:
            pack.configure({"pack-settings": {"system": "django"}})
            empty.configure({})
            diagnostics = len(pack.analyze_many(inputs)) + len(pack.analyze_stack(outputs))  # also warms up
            empty.analyze_many(inputs)
            batches = [inputs[i:i + BATCH] for i in range(0, len(inputs), BATCH)]
            fastest = {"pack": [float("inf")] * len(batches), "empty": [float("inf")] * len(batches)}
            stack = {"pack": float("inf"), "empty": float("inf")}
            for _ in range(args.repeat):
                for index, batch in enumerate(batches):  # take turns, so both packs see the same machine load
                    for name, process in (("pack", pack), ("empty", empty)):
                        seconds = timed(partial(process.analyze_many, batch))
                        fastest[name][index] = min(fastest[name][index], seconds)
                for name, process in (("pack", pack), ("empty", empty)):
                    stack[name] = min(stack[name], timed(partial(process.analyze_stack, outputs)))
            policies = len(pack.info().policies)
    rate = {name: args.resources / sum(seconds) for name, seconds in fastest.items()}
    print(f"Analyze over gRPC, {args.resources} resources (fastest of {args.repeat} rounds per batch of {BATCH}): "
          f"all {policies} policies {rate['pack']:.0f} resources/s, empty pack {rate['empty']:.0f} resources/s, "
          f"ratio {rate['pack'] / rate['empty']:.2f}")
    print(f"AnalyzeStack over {args.stack_resources} resources, best of {args.repeat}: all policies "
          f"{stack['pack']:.2f} s, empty pack {stack['empty']:.2f} s ({diagnostics} diagnostics in the first round)")


if __name__ == "__main__":
    main()

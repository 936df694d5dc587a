"""Resources analyzed per second by the policy pack over gRPC, for a 1,000-resource stack.

    .venv/bin/python -m benchmarks.policy_throughput [--resources 1000] [--repeat 3]

The stack is the dev program's recorded graph (tools.mock_runtime) repeated with renamed URNs until it
holds --resources resources, so the mix of types is the program's. Each round does what a preview does:
one Analyze per resource (inputs), then one AnalyzeStack (outputs). Prints the best round.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from tools.analyzer import PolicyPackProcess, WireResource, wire_resource
from tools.mock_runtime import run_stack

PACK = Path(__file__).resolve().parent.parent / "policies"


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--resources", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    inputs, outputs = scaled(args.resources)
    with PolicyPackProcess(PACK, stack="dev") as pack:
        pack.configure({"naming-convention": {"system": "django"}})
        best = None
        for _ in range(args.repeat):
            start = time.perf_counter()
            analyze_diagnostics = pack.analyze_many(inputs)
            middle = time.perf_counter()
            stack_diagnostics = pack.analyze_stack(outputs)
            end = time.perf_counter()
            round_ = (end - start, middle - start, end - middle, len(analyze_diagnostics) + len(stack_diagnostics))
            best = round_ if best is None or round_[0] < best[0] else best
    assert best is not None
    total, analyze, stack, diagnostics = best
    print(f"{args.resources} resources, {len(pack.info().policies)} policies: {total:.2f} s "
          f"({args.resources / total:.0f} resources/s; Analyze x{args.resources} {analyze:.2f} s, "
          f"AnalyzeStack {stack:.2f} s), {diagnostics} diagnostics")


if __name__ == "__main__":
    main()

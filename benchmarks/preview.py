"""Benchmark: wall time of the offline preview per stack, from a warm environment (not a timed test).

    .venv/bin/python -m benchmarks.preview                 # dev and prod, 5 runs each after a warm-up
    .venv/bin/python -m benchmarks.preview --runs 10 --stack prod

Each run is what a user runs, `python -m tools.preview --stack <stack> --json` in a fresh process
(interpreter start, imports, the program under the mock runtime, the policy pack started as a
subprocess, Analyze per resource and AnalyzeStack): the figure is the median wall time, and
resources/s is the stack's resource count over that time. Goal: under 3 s per stack on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def one_run(stack: str) -> tuple[float, float, int, int]:
    """(wall seconds, CPU seconds, resources, exit code) of one preview in a fresh process.

    CPU time covers the preview and the policy pack it starts (a waited-for grandchild); on a shared,
    loaded machine it is the steadier figure.
    """
    cpu = _children_cpu()
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "tools.preview", "--stack", stack, "--json"], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"preview of {stack} failed with exit {done.returncode}:\n{done.stderr}")
    return seconds, _children_cpu() - cpu, len(json.loads(done.stdout)["resources"]), done.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stack", action="append", help="stack to time (repeatable; default dev and prod)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per stack after one warm-up (default 5)")
    args = parser.parse_args(argv)
    stacks = args.stack or ["dev", "prod"]
    print(f"offline preview, {args.runs} runs per stack after a warm-up; Python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    for stack in stacks:
        one_run(stack)  # warm-up: bytecode caches, page cache
        runs = [one_run(stack) for _ in range(args.runs)]
        times = [run[0] for run in runs]
        cpu = statistics.median(run[1] for run in runs)
        resources = runs[0][2]
        median = statistics.median(times)
        print(f"{stack:>5}: median {median:.2f} s wall (min {min(times):.2f}, max {max(times):.2f}), "
              f"{cpu:.2f} s CPU, {resources} resources, {resources / median:.0f} resources/s, exit {runs[0][3]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: a newcomer's first minutes, the README's two commands on a fresh clone (not a timed test).

    python3 -m benchmarks.fresh_clone                        # HEAD: first `make preview`, then `make test`
    python3 -m benchmarks.fresh_clone --runs 3 --baseline 4643be6   # median of 3, and the same for a ref
    python3 -m benchmarks.fresh_clone --cold-cache           # also with empty uv and pip caches

Each run clones the repository (committed state of --ref) into a new temporary directory with the
`shared` directory linked beside it, as CI does (`.ci/run`), and times the first `make preview` (uv from
PyPI when it is not on PATH, .venv from uv.lock, the offline preview of dev) and then `make test` (ruff,
a cold mypy, the whole pytest suite). "Fresh clone with system packages present": Python, make and the
package caches of earlier runs (uv's and pip's) are there; --cold-cache empties them for the run.
Goals on 2 cores: first `make preview` under 20 s, `make test` under 90 s. CPU seconds (the commands and
everything they start) are printed too: on a shared, loaded machine they are the steadier figure.
Only the standard library: it runs before any virtualenv exists.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = (("first `make preview`", ["make", "preview"], 20.0), ("`make test`", ["make", "test"], 90.0))


@dataclass
class Timing:
    wall: float
    cpu: float


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _shared_dir() -> Path | None:
    for candidate in (ROOT.parent / "shared", ROOT.parent.parent / "shared"):
        if candidate.is_dir():
            return candidate
    return None


def fresh_clone(ref: str, workdir: Path) -> Path:
    clone = workdir / ROOT.name
    subprocess.run(["git", "clone", "--quiet", "--no-checkout", str(ROOT), str(clone)], check=True)
    subprocess.run(["git", "-C", str(clone), "checkout", "--quiet", "--detach", ref], check=True)
    shared = _shared_dir()
    if shared:
        (workdir / "shared").symlink_to(shared)
    return clone


def timed(command: list[str], cwd: Path, env: dict[str, str], log: Path) -> Timing:
    cpu, started = _children_cpu(), time.perf_counter()
    with log.open("a") as out:
        out.write(f"\n$ {' '.join(command)}\n")
        out.flush()
        done = subprocess.run(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, check=False)
    timing = Timing(time.perf_counter() - started, _children_cpu() - cpu)
    if done.returncode != 0:
        tail = "".join(log.read_text().splitlines(keepends=True)[-40:])
        raise SystemExit(f"`{' '.join(command)}` failed with exit {done.returncode} in {cwd}:\n{tail}")
    return timing


def one_run(ref: str, cold_cache: bool) -> list[Timing]:
    workdir = Path(tempfile.mkdtemp(prefix="fresh-clone-"))
    try:
        clone = fresh_clone(ref, workdir)
        env = dict(os.environ)
        if cold_cache:
            env |= {"UV_CACHE_DIR": str(workdir / "uv-cache"), "PIP_NO_CACHE_DIR": "1"}
        timings = []
        for label, command, _ in COMMANDS:
            timings.append(timed(command, clone, env, workdir / "make.log"))
            print(f"  {ref}: {label} {timings[-1].wall:.1f} s wall, {timings[-1].cpu:.1f} s CPU", flush=True)
        return timings
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def measure(ref: str, runs: int, cold_cache: bool) -> list[Timing]:
    """The median wall and CPU time of each command over the runs."""
    results = [one_run(ref, cold_cache) for _ in range(runs)]
    return [Timing(statistics.median(r[i].wall for r in results), statistics.median(r[i].cpu for r in results))
            for i in range(len(COMMANDS))]


def _commit(ref: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", ref], check=True,
                          capture_output=True, text=True).stdout.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m benchmarks.fresh_clone", description=__doc__.split("\n")[0])
    parser.add_argument("--ref", default="HEAD", help="commit to clone (default HEAD: commit your changes first)")
    parser.add_argument("--runs", type=int, default=1, help="fresh clones per ref; the median is printed")
    parser.add_argument("--baseline", help="another ref measured the same way in this run, for the ratio")
    parser.add_argument("--cold-cache", action="store_true", help="empty uv and pip caches for every run")
    args = parser.parse_args(argv)
    if not shutil.which("make") or not shutil.which("git"):
        raise SystemExit("needs git and make")

    caches = "empty package caches" if args.cold_cache else "package caches of earlier runs present"
    print(f"Fresh clone, {args.runs} run(s) per ref, {caches}; Python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at the start", flush=True)
    refs = [args.ref] + ([args.baseline] if args.baseline else [])
    measured = {ref: measure(ref, args.runs, args.cold_cache) for ref in refs}
    print(f"load average {os.getloadavg()[0]:.2f} at the end")
    for ref, timings in measured.items():
        print(f"\n{ref} ({_commit(ref)}):")
        for (label, _, goal), timing in zip(COMMANDS, timings, strict=True):
            verdict = "meets" if timing.wall < goal else "misses"
            print(f"  {label:22} {timing.wall:6.1f} s wall, {timing.cpu:6.1f} s CPU  ({verdict} the {goal:.0f} s goal)")
    if args.baseline:
        print(f"\n{args.ref} / {args.baseline}:")
        for i, (label, _, _) in enumerate(COMMANDS):
            new, old = measured[args.ref][i], measured[args.baseline][i]
            print(f"  {label:22} {new.wall / old.wall:5.2f}x wall, {new.cpu / old.cpu:5.2f}x CPU")
    options = " ".join(a for a in (f"--ref {args.ref}" if args.ref != "HEAD" else "",
                                   f"--runs {args.runs}" if args.runs != 1 else "",
                                   f"--baseline {args.baseline}" if args.baseline else "",
                                   "--cold-cache" if args.cold_cache else "") if a)
    print(f"\nReproduce: python3 -m benchmarks.fresh_clone {options}".rstrip())
    print(f"By hand: git clone {ROOT} /tmp/x/{ROOT.name} && ln -s <shared> /tmp/x/shared && "
          f"cd /tmp/x/{ROOT.name} && time make preview && time make test")
    return 0


if __name__ == "__main__":
    sys.exit(main())

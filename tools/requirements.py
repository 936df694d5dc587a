"""Requirement files exported from uv.lock, for the consumers that read only pip's format.

uv.lock is the one lock of the program, the tests and the tools. The published policy pack is installed by
the Pulumi CLI with `pip install -r policies/requirements.txt` into its own venv, so that file is exported
from the lock's `policy` group, with hashes, and a test fails when it no longer matches the lock.

    python -m tools.requirements            # print every export
    python -m tools.requirements --write    # rewrite them (also: make lock)
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# file -> the `uv export` selection it holds
EXPORTS = {
    "policies/requirements.txt": ["--only-group", "policy"],
    "examples/django-app/requirements.txt": ["--only-group", "django-app"],
}

HEADER = "# Generated from uv.lock by `make lock` (python -m tools.requirements --write); do not edit.\n"
# What each exported group is for, after HEADER.
PURPOSE = {
    "policy": (
        "# The policy pack's dependencies: the CLI pip-installs them into the venv of a published pack; for a local\n"
        "# `--policy-pack policies`, into the python on PATH (the program's .venv already has them).\n"),
    "django-app": (
        "# The reference Django app's dependencies: its image pip-installs them (hash-checked), the same versions\n"
        "# tests/contract runs it with.\n"),
}


def uv() -> str:
    """The uv of the project's venv (uv.lock's dev group pins it), else the one on PATH."""
    found = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if not found:
        raise RuntimeError("uv not found: run `make test` (it installs the pinned uv)")
    return found


def render(selection: list[str]) -> str:
    """The export of one selection from the lock as it is (--frozen: never re-resolve, no network)."""
    exported = subprocess.run(
        [uv(), "export", "--frozen", "--no-header", "--no-emit-project", "--quiet", *selection],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout
    return HEADER + PURPOSE[selection[-1]] + exported


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.requirements", description=__doc__.split("\n")[0])
    parser.add_argument("--write", action="store_true", help="rewrite the exported files")
    args = parser.parse_args(argv)
    for name, selection in EXPORTS.items():
        text = render(selection)
        if args.write:
            path = ROOT / name
            changed = not path.is_file() or path.read_text() != text
            path.write_text(text)
            print(f"{name} " + ("updated" if changed else "already up to date"))
        else:
            print(f"# --- {name}\n{text}", end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

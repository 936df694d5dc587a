"""Generate docs/configuration.md's stack config reference from the settings schema (the one place keys are declared).

    python -m tools.config_reference            # print the reference
    python -m tools.config_reference --write    # update docs/configuration.md (also: make docs)
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from components.settings import PROJECT, PerEnv, StackSettings, walk
from tools.doc_sections import ROOT, update_section

DOC = ROOT / "docs" / "configuration.md"
SECTION = "config-reference"


DERIVED = {"environment": "the stack name"}  # required keys whose value is derived when absent


def _show(key: str, value: Any) -> str:
    if key in DERIVED:
        return DERIVED[key]
    if value is None:
        return "**required**"
    if value in ({}, []) or value == "":
        return "—" if value == "" else f"`{json.dumps(value)}`"
    return f"`{json.dumps(value) if not isinstance(value, str) else value}`"


def render() -> str:
    lines = [
        f"Every key lives under the `{PROJECT}:` namespace, grouped by section, in `Pulumi.<stack>.yaml`",
        "(set one with `pulumi config set --path service.cpu 512`). The dev column is the default of the `dev`",
        "environment; the prod column applies to `stg` and `prod`. Generated from `components/settings.py` by",
        "`make docs`; a test fails when this table is stale.",
        "",
        "| Key | dev | prod | Description |",
        "| --- | --- | --- | --- |",
    ]
    for key, meta, _kind in walk(StackSettings):
        default = meta["default"]
        dev, prod = (default.dev, default.prod) if isinstance(default, PerEnv) else (default, default)
        doc = meta["doc"].replace("|", "\\|")
        lines.append(f"| `{key}` | {_show(key, dev)} | {_show(key, prod)} | {doc} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", action="store_true", help="update docs/configuration.md in place")
    args = parser.parse_args(argv)
    if args.write:
        changed = update_section(DOC, SECTION, render())
        print("docs/configuration.md config reference " + ("updated" if changed else "already up to date"))
    else:
        print(render(), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

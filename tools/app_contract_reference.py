"""Generate docs/app-contract.md's contract table from components/app_contract.py (the one declaration).

    python -m tools.app_contract_reference            # print the table
    python -m tools.app_contract_reference --write    # update docs/app-contract.md (also: make docs)
"""

from __future__ import annotations

import argparse
from pathlib import Path

from components.app_contract import VARIABLES
from tools.doc_sections import update_section

DOC = Path(__file__).resolve().parent.parent / "docs" / "app-contract.md"
SECTION = "app-contract"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render() -> str:
    lines = [
        "Every variable below reaches the web service, every scheduled job, every queue worker and the pipeline's",
        "migration task alike, except the worker-only ones (docs/static-media-workers.md). Generated from",
        "`components/app_contract.py` by `make docs`; a test fails when this table is stale.",
        "",
        "| Variable | Meaning | Example | Comes from | Delivered as |",
        "| --- | --- | --- | --- | --- |",
    ]
    for v in VARIABLES:
        example = "*(secret)*" if v.secret else f"`{v.example}`"
        lines.append(f"| `{v.name}` | {_cell(v.meaning)} | {example} | {_cell(v.source)} | {_cell(v.delivery)} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", action="store_true", help="update docs/app-contract.md in place")
    args = parser.parse_args(argv)
    if args.write:
        changed = update_section(DOC, SECTION, render())
        print("docs/app-contract.md contract table " + ("updated" if changed else "already up to date"))
    else:
        print(render(), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

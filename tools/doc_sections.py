"""Generated documentation sections: the text between `<!-- BEGIN section: X -->` and `<!-- END section: X -->`.

Generators (architecture diagram in README.md, config reference in docs/configuration.md, alarms table in
docs/monitoring.md) call `update_section` to write and their freshness tests call `section` to compare, so
docs generated from code cannot drift from it. The file is always named: each generator owns its page.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _pattern(name: str) -> re.Pattern[str]:
    return re.compile(rf"(<!-- BEGIN section: {re.escape(name)} -->\n)(.*?)(<!-- END section: {re.escape(name)} -->)",
                      re.DOTALL)


def section(path: Path, name: str) -> str:
    """The current body of a section (without its markers)."""
    found = _pattern(name).search(path.read_text())
    if found is None:
        raise KeyError(f"{path.name} has no section {name!r}")
    return found.group(2)


def update_section(path: Path, name: str, body: str) -> bool:
    """Replace a section's body; returns whether the file changed."""
    text = path.read_text()
    if not _pattern(name).search(text):
        raise KeyError(f"{path.name} has no section {name!r}")
    body = body if body.endswith("\n") else body + "\n"
    updated = _pattern(name).sub(lambda m: m.group(1) + body + m.group(3), text, count=1)
    path.write_text(updated)
    return updated != text

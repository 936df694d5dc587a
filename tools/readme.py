"""Generated README sections: the text between `<!-- BEGIN section: X -->` and `<!-- END section: X -->`.

Generators (config reference, architecture diagram, alarms table) call `update_section` to write and
their freshness tests call `section` to compare, so docs generated from code cannot drift from it.
"""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def _pattern(name: str) -> re.Pattern[str]:
    return re.compile(rf"(<!-- BEGIN section: {re.escape(name)} -->\n)(.*?)(<!-- END section: {re.escape(name)} -->)",
                      re.DOTALL)


def section(name: str, path: Path = README) -> str:
    """The current body of a section (without its markers)."""
    found = _pattern(name).search(path.read_text())
    if found is None:
        raise KeyError(f"{path.name} has no section {name!r}")
    return found.group(2)


def update_section(name: str, body: str, path: Path = README) -> bool:
    """Replace a section's body; returns whether the file changed."""
    text = path.read_text()
    if not _pattern(name).search(text):
        raise KeyError(f"{path.name} has no section {name!r}")
    body = body if body.endswith("\n") else body + "\n"
    updated = _pattern(name).sub(lambda m: m.group(1) + body + m.group(3), text, count=1)
    path.write_text(updated)
    return updated != text

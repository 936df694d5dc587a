"""docs/configuration.md's config reference is generated from the settings schema and must not be stale."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from components.settings import StackSettings, walk
from tools import config_reference
from tools.doc_sections import section, update_section


def test_config_reference_is_fresh():
    assert section(config_reference.DOC, config_reference.SECTION) == config_reference.render(), "run `make docs`"


def test_every_key_is_documented_with_both_defaults():
    rendered = config_reference.render()
    for key, _, _ in walk(StackSettings):
        (row,) = [line for line in rendered.splitlines() if line.startswith(f"| `{key}` |")]
        assert len(re.findall(r"(?<!\\)\|", row)) == 5, row  # four columns; `\|` inside a cell is text


def test_per_env_defaults_are_shown_per_column():
    (row,) = [line for line in config_reference.render().splitlines() if line.startswith("| `network.nat` |")]
    assert row.startswith("| `network.nat` | `single` | `one-per-az` |")


def test_update_section_replaces_only_between_markers(tmp_path: Path):
    readme = tmp_path / "README.md"
    readme.write_text("a\n<!-- BEGIN section: x -->\nold\n<!-- END section: x -->\nb\n")
    assert update_section(readme, "x", "new")
    assert readme.read_text() == "a\n<!-- BEGIN section: x -->\nnew\n<!-- END section: x -->\nb\n"
    assert not update_section(readme, "x", "new\n")
    with pytest.raises(KeyError, match="no section 'y'"):
        section(readme, "y")

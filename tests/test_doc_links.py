"""Every relative link in the README, docs/, the policy pack's README and the examples' READMEs resolves:
the file exists and, when the link names an anchor, the target page has a heading with that anchor."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def pages(root: Path = ROOT) -> list[Path]:
    found = [root / "README.md", root / "policies" / "README.md"]
    found += sorted((root / "docs").glob("*.md")) + sorted((root / "examples").glob("*/README.md"))
    return [page for page in found if page.is_file()]


FENCE = re.compile(r"^(`{3,}|~{3,}).*?^\1[ \t]*$", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1", re.DOTALL)
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s.*)?$", re.MULTILINE)
HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$", re.MULTILINE)
HTML_ANCHOR = re.compile(r"<a\s[^>]*(?:name|id)=\"([^\"]+)\"")


def _prose(text: str) -> str:
    """Markdown without code blocks and code spans, where link syntax is only text."""
    return INLINE_CODE.sub("", FENCE.sub("", text))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading (github-slugger): the rendered text lowercased, punctuation other
    than `-` and `_` dropped, each space a `-`. https://github.com/Flet/github-slugger"""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's text only
    text = re.sub(r"<[^>]+>", "", text).replace("`", "").lower()
    kept = "".join(ch for ch in text if ch in " -_" or unicodedata.category(ch)[0] in "LNM")
    return kept.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = FENCE.sub("", page.read_text())
    seen: dict[str, int] = {}
    result = set(HTML_ANCHOR.findall(text))
    for _level, title in HEADING.findall(text):
        base = slug(title)
        count = seen.get(base, 0)
        seen[base] = count + 1
        result.add(base if count == 0 else f"{base}-{count}")  # GitHub numbers repeated headings
    return result


def broken_links(page: Path) -> list[str]:
    """Each relative link of the page that does not resolve, with the reason."""
    text = _prose(page.read_text())
    problems = []
    for target in LINK.findall(text) + REFERENCE.findall(text):
        if not target or re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):  # http:, mailto: ...
            continue
        path, _, anchor = target.partition("#")
        destination = (page.parent / path).resolve() if path else page
        if not destination.exists():
            problems.append(f"{target}: no such file")
        elif anchor and destination.suffix == ".md" and anchor not in anchors(destination):
            problems.append(f"{target}: {destination.name} has no heading #{anchor}")
    return problems


@pytest.mark.parametrize("page", pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page: Path) -> None:
    assert broken_links(page) == []


def test_the_pages_checked_include_the_readme_and_every_docs_page() -> None:
    checked = {str(page.relative_to(ROOT)) for page in pages()}
    assert {"README.md", "policies/README.md", "docs/configuration.md", "docs/monitoring.md"} <= checked


def test_a_missing_file_and_a_missing_anchor_are_reported(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "web.md").write_text("# Web\n\n## Who owns what after the first `pulumi up`\n")
    readme = tmp_path / "README.md"
    readme.write_text(
        "[ok](docs/web.md) [ok](docs/web.md#who-owns-what-after-the-first-pulumi-up) [ok](#top-1)\n"
        "[ok](https://example.com/x.md) `[code](nowhere.md)`\n\n```\n[fenced](nowhere.md)\n```\n"
        "# Top\n# Top\n"
        "[gone](docs/data.md) [bad anchor](docs/web.md#who-owns-what) [self](#nothing)\n"
        "[ref]: docs/jobs.md\n"
    )
    assert broken_links(readme) == [
        "docs/data.md: no such file",
        "docs/web.md#who-owns-what: web.md has no heading #who-owns-what",
        "#nothing: README.md has no heading #nothing",
        "docs/jobs.md: no such file",
    ]


@pytest.mark.parametrize(("heading", "anchor"), [
    ("Who owns what after the first `pulumi up`", "who-owns-what-after-the-first-pulumi-up"),
    ("Opening a shell (ECS Exec, dev by default)", "opening-a-shell-ecs-exec-dev-by-default"),
    ("CI, state backends and organization-wide policy", "ci-state-backends-and-organization-wide-policy"),
    ("Scheduled jobs and the delivery pipeline", "scheduled-jobs-and-the-delivery-pipeline"),
    ("Shipping it: CI & bootstrap", "shipping-it-ci--bootstrap"),
    ("Use [the pack](policies/README.md)", "use-the-pack"),
])
def test_slug_matches_github(heading: str, anchor: str) -> None:
    assert slug(heading) == anchor

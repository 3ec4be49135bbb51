"""The README is a front page, and every relative link of it and of docs/ leads somewhere.

Checks the README's length, that each docs page opens with its summary and a link back, and
that every relative Markdown link or image resolves to a file of the repository and, for a
``#anchor``, to a heading of the target page (GitHub's slugs). Doesn't fetch web addresses.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [ROOT / "README.md", *DOCS, ROOT / "eval" / "README.md"]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)
CODE = re.compile(r"`[^`\n]*`")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading.

    >>> slug("The web app and its API")
    'the-web-app-and-its-api'
    >>> slug("`rag doctor`")
    'rag-doctor'
    >>> slug("The yes/no check's threshold")
    'the-yesno-checks-threshold'
    """
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every heading's anchor; a repeated heading gets -1, -2, ... as on GitHub."""
    seen: dict[str, int] = {}
    found = set()
    for heading in re.findall(r"^#{1,6} +(.+?) *#*$", FENCE.sub("", page.read_text()), re.M):
        base = slug(heading)
        n = seen.get(base, 0)
        seen[base] = n + 1
        found.add(f"{base}-{n}" if n else base)
    return found


def relative_links(page: Path) -> list[str]:
    text = CODE.sub("", FENCE.sub("", page.read_text()))
    return [t for t in LINK.findall(text) if not re.match(r"^[a-z][a-z0-9+.-]*:", t)]


def broken_links(page: Path) -> list[str]:
    """The relative links of a page whose file is missing or whose anchor names no heading."""
    broken = []
    for target in relative_links(page):
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists() or (anchor and file.suffix == ".md" and anchor not in anchors(file)):
            broken.append(target)
    return broken


def test_the_readme_is_a_front_page():
    assert len((ROOT / "README.md").read_text().splitlines()) <= 250


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_resolves(page):
    assert not broken_links(page), f"{page.relative_to(ROOT)}: {broken_links(page)}"


@pytest.mark.parametrize("page", DOCS, ids=lambda p: p.name)
def test_every_docs_page_opens_with_a_summary_and_the_way_back(page):
    title, blank, summary = page.read_text().splitlines()[:3]
    assert title.startswith("# ") and not blank
    assert summary and "](../README.md)" in summary


def test_the_readme_links_every_docs_page():
    linked = {Path(t.partition("#")[0]).name for t in relative_links(ROOT / "README.md")}
    assert {p.name for p in DOCS} <= linked


def test_the_link_check_finds_broken_links(tmp_path):
    (tmp_path / "other.md").write_text("# Other page\n## Same\n## Same\n")
    (tmp_path / "picture.png").write_bytes(b"")
    page = tmp_path / "page.md"
    page.write_text(
        "# Title\n"
        "[ok](#title) [ok](other.md#other-page) [ok](other.md#same-1) ![ok](picture.png)\n"
        "[web](https://example.com/x) `[code](nowhere.md)`\n"
        "```\n[fenced](nowhere.md)\n```\n"
        "[gone](missing.md) ![gone](missing.png) [bad](#nowhere) [bad](other.md#same-2)\n"
    )
    assert broken_links(page) == ["missing.md", "missing.png", "#nowhere", "other.md#same-2"]

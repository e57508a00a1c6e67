"""The docs' relative links lead somewhere: a moved or renamed page breaks no link silently.

GitHub renders these pages as plain Markdown, so a link is good when the file it names
exists beside the page and, for `page.md#anchor`, the page has a heading GitHub turns into
that anchor.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")  # [text](target) and ![alt](target)
FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)
CODE = re.compile(r"`[^`\n]*`")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)
SOURCE_PATH = re.compile(r"`([\w.*<>-]+(?:/[\w.*<>-]+)*(?:\.py|/))`")  # `verify/forms.py`


def pages() -> list[Path]:
    """The README, every page under docs/ and the benchmarks' README."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md")),
            ROOT / "bench" / "README.md"]


def prose(text: str) -> str:
    """The text without code blocks and inline code, where brackets are not links."""
    return CODE.sub("", FENCE.sub("", text))


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to '-'."""
    text = re.sub(r"`|\*\*|__", "", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every anchor of a page, with GitHub's -1, -2 … for repeated headings."""
    seen: dict[str, int] = {}
    found = set()
    for heading in HEADING.findall(FENCE.sub("", page.read_text("utf-8"))):
        base = slug(heading)
        count = seen.get(base, 0)
        found.add(base if count == 0 else f"{base}-{count}")
        seen[base] = count + 1
    return found


def broken_links(page: Path) -> list[str]:
    """The relative links of `page` whose file, or heading, does not exist."""
    broken = []
    for target in LINK.findall(prose(page.read_text("utf-8"))):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto: …: not ours to check
            continue
        path, _, anchor = target.partition("#")
        goal = (page.parent / path).resolve() if path else page
        if not goal.exists():
            broken.append(f"{target} (no such file)")
        elif anchor and goal.suffix == ".md" and anchor not in anchors(goal):
            broken.append(f"{target} (no such heading)")
    return broken


def missing_sources(page: Path) -> list[str]:
    """Files and folders of the repository that `page` names in code spans but that do not
    exist: read from the repository's root, the page's folder or the package's."""
    missing = []
    for name in SOURCE_PATH.findall(page.read_text("utf-8")):
        pattern = re.sub(r"<\w+>", "*", name).rstrip("/")
        bases = (ROOT, page.parent, ROOT / "src" / "turnout")
        if not any(next(base.glob(pattern), None) for base in bases):
            missing.append(name)
    return missing


@pytest.mark.parametrize("page", pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_named_source_files_exist(page: Path) -> None:
    assert missing_sources(page) == []


@pytest.mark.parametrize("page", pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_point_at_existing_files(page: Path) -> None:
    assert broken_links(page) == []


def test_slugs_follow_github() -> None:
    assert slug("SQLite → SQLite full copy") == "sqlite--sqlite-full-copy"
    assert slug("3. frozen") == "3-frozen"
    assert slug("`turnout serve` and the API") == "turnout-serve-and-the-api"


def test_readme_stays_short_and_shows_both_commands() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    assert len(readme.splitlines()) <= 200
    assert "make demo" in readme and "make test" in readme

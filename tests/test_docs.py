"""The README and the docs pages as GitHub shows them.

MkDocs (``make docs``, --strict) checks the links between pages as the site resolves them;
these check the same pages, the README and the changelog the way GitHub resolves them
(relative files, GitHub's heading anchors), and that what the README tells you to run
exists in a fresh clone.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PAGES = sorted(
    [
        REPO / "README.md",
        REPO / "CHANGELOG.md",
        REPO / "tfx_exit_stub" / "README.md",
        *(REPO / "docs").glob("*.md"),
    ]
)
FENCE = re.compile(r"^ *```.*?^ *```", re.M | re.S)
INLINE_CODE = re.compile(r"`[^`\n]+`")
LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6} +(.+?) *#*$", re.M)


def _prose(text: str) -> str:
    """The text outside fenced and inline code, where Markdown links live."""
    return INLINE_CODE.sub("", FENCE.sub("", text))


def _code(text: str) -> str:
    """The fenced and inline code of a page, where commands live."""
    return " ".join(FENCE.findall(text) + INLINE_CODE.findall(FENCE.sub("", text)))


def github_slug(heading: str) -> str:
    """GitHub's anchor for a heading: the text as shown, lower case, punctuation dropped,
    each space a hyphen (what pymdownx.slugs.slugify(case="lower") does on the site)."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # links: their text
    text = text.replace("`", "").strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every heading anchor of ``page``; repeated headings get -1, -2, ... as on GitHub."""
    seen: dict[str, int] = {}
    found = set()
    for heading in HEADING.findall(FENCE.sub("", page.read_text())):
        slug = github_slug(heading)
        found.add(f"{slug}-{seen[slug]}" if slug in seen else slug)
        seen[slug] = seen.get(slug, 0) + 1
    return found


def _links(page: Path) -> list[str]:
    return [
        target
        for target in LINK.findall(_prose(page.read_text()))
        if not re.match(r"[a-z][a-z0-9+.-]*:", target)  # http:, https:, mailto:
    ]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_and_anchor_resolves_on_github(page: Path) -> None:
    broken = []
    for target in _links(page):
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists():
            broken.append(f"{target}: no such file")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(f"{target}: no heading with that anchor")
    assert broken == []


def test_the_docs_pages_link_no_file_outside_docs() -> None:
    """The site cannot serve files outside docs/: name them as code instead."""
    outside = {
        f"{page.name}: {target}"
        for page in (REPO / "docs").glob("*.md")
        for target in _links(page)
        if target.split("#")[0]
        and (REPO / "docs") not in (page.parent / target.split("#")[0]).resolve().parents
    }
    assert outside == set()


def test_the_readme_is_a_front_door() -> None:
    readme = (REPO / "README.md").read_text()
    assert len(readme.splitlines()) < 200
    for command in ("make demo", "make test", "terraform apply", "uv tool install ."):
        assert command in readme
    # Every page of the site is linked from it.
    linked = {Path(target.split("#")[0]).name for target in _links(REPO / "README.md")}
    pages = {page.name for page in (REPO / "docs").glob("*.md")} - {"index.md"}
    assert pages <= linked, f"not linked from the README: {sorted(pages - linked)}"


def test_every_make_target_the_docs_name_exists() -> None:
    targets = set(re.findall(r"^([a-z][\w-]*):", (REPO / "Makefile").read_text(), re.M))
    named = {
        (page.name, target)
        for page in PAGES
        for target in re.findall(r"(?<![\w/.-])make ([a-z][\w-]*)", _code(page.read_text()))
    }
    assert {(page, target) for page, target in named if target not in targets} == set()


def test_every_repository_path_in_the_readme_exists_in_a_clone() -> None:
    """Paths the README's commands and text use (dist/ is built, so it is left out)."""
    tops = {p.name for p in REPO.iterdir() if not p.name.startswith(".")} - {"dist", "site", "build"}
    code = _code((REPO / "README.md").read_text())
    paths = {
        token.strip("`'\"(),:;")
        for token in re.split(r"[\s=]+", code)
        if token.strip("`'\"(),:;").split("/")[0] in tops and "/" in token
    }
    assert paths, "found no paths: the pattern is wrong"
    missing = sorted(p for p in paths if not list(REPO.glob(p.rstrip("/"))))
    assert missing == []

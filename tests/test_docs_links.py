"""The README and docs/ hold together: every relative link reaches a file of the repository, every `#anchor` a
heading (GitHub's slug rules), nothing points outside the repository, external links are well-formed (they are
not fetched: the suite runs without network), and the README stays a front page."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted([ROOT / "README.md", ROOT / "CHANGELOG.md", *(ROOT / "docs").glob("*.md")])
#: The README is the front page: what it is, how to start, a tour, links.
README_MAX_LINES = 220
#: Pages another change of the same release writes; a link to one is checked like any other once it exists.
PAGES_WRITTEN_ELSEWHERE: set[str] = set()

_FENCE = re.compile(r"^\s*(```|~~~)")
_INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1")
_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$"
)


def prose_lines(text: str) -> list[tuple[int, str]]:
    """The lines of a Markdown text outside fenced code blocks, with their numbers."""
    lines, fenced = [], False
    for number, line in enumerate(text.splitlines(), 1):
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            lines.append((number, line))
    return lines


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading: markup dropped, lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
    text = re.sub(r"<[^>]+>", "", text).replace("`", "").replace("*", "")
    text = text.strip().lower()
    text = "".join(ch for ch in text if ch.isalnum() or ch in " -_")
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every anchor of a page: one per heading, repeated headings numbered `-1`, `-2` as GitHub does."""
    seen: dict[str, int] = {}
    found = set()
    for _, line in prose_lines(path.read_text(encoding="utf-8")):
        match = _HEADING.match(line)
        if not match:
            continue
        slug = github_slug(match.group(2))
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def links(path: Path) -> list[tuple[int, str]]:
    """Every link and image target of a page's prose (not those inside code), with its line number."""
    found = []
    for number, line in prose_lines(path.read_text(encoding="utf-8")):
        line = _INLINE_CODE.sub("", line)
        found += [(number, match.group(1)) for match in _LINK.finditer(line)]
    return found


def problem(page: Path, target: str) -> str | None:
    """What is wrong with one link target of `page`, or None."""
    parts = urlsplit(target)
    if parts.scheme in ("http", "https"):
        host = parts.hostname or ""
        if not parts.netloc or not _HOSTNAME.match(host) or "." not in host:
            return "not a well-formed web address"
        if any(ch.isspace() for ch in target):
            return "a web address with white space"
        return None
    if parts.scheme or target.startswith("//"):
        return f"a {parts.scheme or 'scheme-relative'} link: only relative links and http(s) addresses are allowed"
    if "shared/" in parts.path or parts.path.rstrip("/").endswith("shared"):
        return "a link to files outside the repository"
    linked = (page.parent / unquote(parts.path)).resolve() if parts.path else page
    try:
        relative = linked.relative_to(ROOT).as_posix()
    except ValueError:
        return "a link outside the repository"
    if not linked.exists():
        return None if relative in PAGES_WRITTEN_ELSEWHERE else f"no such file: {relative}"
    if parts.fragment:
        if linked.suffix != ".md":
            return f"an anchor into {relative}, which is not a Markdown page"
        if unquote(parts.fragment) not in anchors(linked):
            return f"no heading with the anchor #{parts.fragment} in {relative}"
    return None


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.relative_to(ROOT).as_posix())
def test_every_link_of_a_page_resolves(page):
    problems = [f"line {line}: {target}: {why}" for line, target in links(page) if (why := problem(page, target))]
    assert not problems, "\n".join(problems)


def test_every_docs_page_is_linked_from_the_readme():
    linked = {
        (ROOT / urlsplit(target).path).resolve()
        for _, target in links(ROOT / "README.md")
        if not urlsplit(target).scheme and urlsplit(target).path
    }
    # Pages reached from another page rather than the front page.
    reached_from_elsewhere = {"deployment-checks.md", "pos-gateway-reads.md"}
    missing = [
        page.name
        for page in (ROOT / "docs").glob("*.md")
        if page.resolve() not in linked and page.name not in reached_from_elsewhere
    ]
    assert not missing, f"docs pages the README does not link: {missing}"


def test_the_readme_is_a_front_page():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines; keep it under {README_MAX_LINES}"


def test_the_docs_cite_only_what_users_have():
    """Users have the repository: no page cites files beside it or notes kept elsewhere."""
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for word in ("CONTRACT", "MAGENTO-NOTES", "../shared"):
            assert word not in text, f"{page.relative_to(ROOT)} mentions {word}"


@pytest.mark.parametrize(
    ("heading", "slug"),
    [
        ("Magento → POS", "magento--pos"),
        ("`make run`", "make-run"),
        (
            "1. The integration: the service's access to Magento's REST API",
            "1-the-integration-the-services-access-to-magentos-rest-api",
        ),
        (
            "Hostile input: SKUs in URLs, NUL characters and broken Unicode",
            "hostile-input-skus-in-urls-nul-characters-and-broken-unicode",
        ),
        ("What is installed, and why", "what-is-installed-and-why"),
    ],
)
def test_slugs_follow_githubs_rules(heading, slug):
    assert github_slug(heading) == slug


def test_the_checker_finds_broken_links(tmp_path, monkeypatch):
    page = ROOT / "docs" / "reference.md"
    assert problem(page, "configuration.md#settings-users-set") is None
    assert problem(page, "configuration.md#no-such-heading")
    assert problem(page, "no-such-page.md")
    assert problem(page, "../../shared/magento/notes.md")
    assert problem(page, "../shared/x.md")
    assert problem(page, "https://exa mple.com/")
    assert problem(page, "https:///path")
    assert problem(page, "ftp://example.com/file")
    assert problem(page, "https://github.com/magento/magento2/issues/8188") is None

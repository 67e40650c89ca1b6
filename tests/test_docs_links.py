"""The README and docs/ hold together: every relative link reaches a file of the repository, every `#anchor` a
heading (GitHub's slug rules), nothing points outside the repository, external links are well-formed (they are
not fetched: the suite runs without network), the README stays a front page, and the comments of the code and the
deployment files cite pages and anchors that exist, never a README section that moved to docs/."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted([ROOT / "README.md", ROOT / "CHANGELOG.md", ROOT / "bench" / "README.md", *(ROOT / "docs").glob("*.md")])
#: The README is the front page: what it is, how to start, a tour, links.
README_MAX_LINES = 220
#: Pages another change of the same release writes; a link to one is checked like any other once it exists.
PAGES_WRITTEN_ELSEWHERE: set[str] = set()
#: Where the service's comments cite the pages: the code, the benchmarks, the tests, the deployment files and the
#: tools. Real settings files (`*.env`) are the user's, not the repository's, and are not read.
CITING_FILES = sorted(
    {
        *(
            path
            for folder in ("syncapi", "jobs", "sandbox", "bench", "tests")
            for path in (ROOT / folder).rglob("*.py")
        ),
        *(ROOT / name for name in ("app.py", "wsgi.py", "gunicorn.conf.py", "Dockerfile", "docker-compose.yml")),
        *(ROOT / name for name in ("Makefile", "Procfile", "Procfile.dev", "pyproject.toml")),
        *ROOT.glob("requirements*.txt"),
        *(
            path
            for folder in ("deploy", "scripts", ".ci")
            for path in (ROOT / folder).rglob("*")
            if path.is_file() and path.suffix not in {".env", ".pyc"}
        ),
    }
    - {Path(__file__).resolve()}  # this file plants bad citations on purpose
)

_FENCE = re.compile(r"^\s*(```|~~~)")
_INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1")
_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
#: A page of the repository cited in a comment: `docs/<page>.md` or `README.md`, with its `#anchor` if any, and the
#: section it names in quotes if any (`docs/security.md, "Slow clients"`). Not a path inside a web address.
_CITATION = re.compile(
    r"(?:(?<=\.\./)|(?<![\w/.-]))(?P<page>docs/[\w.-]+?\.md|README\.md)(?:#(?P<anchor>[\w-]+))?"
    r"(?:,?[ \t]+\"(?P<name>[^\"\n]+)\")?"
)
#: The README cited by section name: `README, "Settings"`, `the README's "Scaling out"`, `README "Answers"`.
_README_SECTION = re.compile(
    r"(?<![\w/.-])README(?:\.md)?(?:['\u2019]s)?,?(?:[ \t]+|\n[ \t#*/;-]*)(?:section[ \t]+)?\"([^\"\n]+)\""
)
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


def headings(path: Path) -> list[str]:
    """The text of every heading of a page, markup dropped (as its anchor drops it)."""
    found = []
    for _, line in prose_lines(path.read_text(encoding="utf-8")):
        if match := _HEADING.match(line):
            text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", match.group(2))
            found.append(re.sub(r"<[^>]+>", "", text).replace("`", "").replace("*", "").strip())
    return found


def names_a_heading(path: Path, name: str) -> bool:
    """Whether `name` is a heading of the page, or the part of one before its colon ("Hostile input")."""
    return any(heading == name or heading.startswith(f"{name}:") for heading in headings(path))


def citation_problems(text: str) -> list[str]:
    """What is wrong with the pages a comment text cites: a page or anchor that does not exist, a section named
    in quotes that is no heading of its page, or a README section the README (a front page) does not have."""
    problems = []
    for match in _CITATION.finditer(text):
        cited = ROOT / match["page"]
        line = text.count("\n", 0, match.start()) + 1
        if not cited.is_file():
            problems.append(f"line {line}: {match[0]}: no such page")
        elif match["anchor"] and match["anchor"] not in anchors(cited):
            problems.append(f"line {line}: {match[0]}: no heading with the anchor #{match['anchor']}")
        elif match["name"] and not match["anchor"] and not names_a_heading(cited, match["name"]):
            problems.append(f"line {line}: {match[0]}: {match['page']} has no heading {match['name']!r}")
    for match in _README_SECTION.finditer(text):
        if not names_a_heading(ROOT / "README.md", match[1]):
            line = text.count("\n", 0, match.start()) + 1
            problems.append(f"line {line}: {match[0]!r}: the README has no such section; cite the docs/ page")
    for match in re.finditer(r"file:///opt/syncapi/(\S+)", text):
        if not (ROOT / match[1]).is_file():
            problems.append(f"{match[0]}: no such file in the repository")
    return problems


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


def test_the_code_cites_pages_that_exist():
    """Comments, docstrings and deployment files cite `docs/<page>.md#<anchor>`: each page and anchor exists, and
    none cites a section of the README by a name the README does not have (its sections moved to docs/)."""
    assert len(CITING_FILES) > 100, "the files that cite the docs were not found"
    problems = [
        f"{path.relative_to(ROOT).as_posix()} {problem_}"
        for path in CITING_FILES
        for problem_ in citation_problems(path.read_text(encoding="utf-8"))
    ]
    assert not problems, "\n".join(problems)


def test_the_citation_checker_finds_bad_citations():
    good = [
        "# see docs/configuration.md#settings-users-set.",
        '(docs/sync.md#pos--magento), docs/money.md and docs/security.md, "Slow clients"',
        '"""... (docs/security.md, "Hostile input")."""',
        "see [docs/deployment.md](../docs/deployment.md#sizing-workers)",
        'README.md#a-five-minute-tour; the README\'s "Documentation"',
        'https://developer.adobe.com/events/docs/guides.md#security; bench/README.md, "Worker class"',
        "Documentation=file:///opt/syncapi/docs/deployment.md",
    ]
    for text in good:
        assert citation_problems(text) == [], text
    bad = [
        "# see docs/no-such-page.md",
        "# docs/sync.md#no-such-anchor",
        '(docs/security.md, "No such section")',
        '(README, "Settings")',
        'see the README\'s "Scaling out"',
        'see README "Dependencies".',
        'See the\n# README\'s "Deployment".',
        'the README.md\'s section "Answers"',
        "[x](../docs/deployment.md#no-such-anchor)",
        "Documentation=file:///opt/syncapi/docs/no-such-page.md",
    ]
    for text in bad:
        assert len(citation_problems(text)) == 1, text


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

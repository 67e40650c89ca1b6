"""`/`: a small start page linking the documentation, the API docs, the dashboard and the health checks, and
`/docs/<name>.md`: the checkout's user documentation as plain text.

The only HTML the service writes. Every value in it is escaped, and it may not be framed (`X-Frame-Options:
DENY`), sniffed as another type (`nosniff`) or load anything (a `default-src 'none'` content security policy).
"""

from __future__ import annotations

import re
from pathlib import Path

from flask import Blueprint, Response, abort, current_app
from markupsafe import escape

from syncapi import services

bp = Blueprint("home", __name__)

#: The checkout's user documentation (absent from an install without it: its links are then left out).
DOCS_DIR = Path(__file__).resolve().parent.parent / "docs"
_DOC_NAME = re.compile(r"[a-z0-9][a-z0-9-]*\.md")
#: Headers of every answer of this module.
PAGE_HEADERS = {
    # Stricter than the policy syncapi.headers gives pages (which adds the common headers to every answer):
    # these pages run no script at all.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
}
LINKS = (
    ("API docs", "/api/docs", "the operator API, browsable (Swagger UI)"),
    ("OpenAPI document", "/api/openapi.json", "the same, as JSON"),
    ("Dashboard", "/rq", "queues, workers and failed jobs"),
    ("Health", "/healthz", "the web process is up"),
    ("Readiness", "/readyz", "Redis and the databases answer"),
    ("Metrics", "/metrics", "Prometheus"),
)


def _docs() -> list[str]:
    if not DOCS_DIR.is_dir():
        return []
    return sorted(path.name for path in DOCS_DIR.glob("*.md") if _DOC_NAME.fullmatch(path.name))


def _item(label: str, href: str, what: str) -> str:
    return f'<li><a href="{escape(href)}">{escape(label)}</a> &mdash; {escape(what)}</li>'


@bp.get("/")
def index():
    """The start page."""
    settings = services.of_app(current_app).settings
    links = "\n".join(_item(*link) for link in LINKS)
    docs = "\n".join(_item(name, f"/docs/{name}", "user documentation") for name in _docs())
    mode = "development (make run)" if settings.development else "production"
    page = f"""<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>syncapi</title>
<style>body{{font-family:sans-serif;max-width:40em;margin:2em auto;line-height:1.5}}</style></head>
<body>
<h1>syncapi</h1>
<p>Keeps a point-of-sale system and a Magento 2 store in step: orders in, catalogue and stock out.</p>
<p>Mode: {escape(mode)}. Magento: {escape(settings.magento_base_url or "not set")}.</p>
<h2>Pages</h2>
<ul>
{links}
</ul>
{"<h2>Documentation</h2>" + chr(10) + "<ul>" + chr(10) + docs + chr(10) + "</ul>" if docs else ""}
</body>
</html>
"""
    return Response(page, mimetype="text/html", headers=PAGE_HEADERS)


@bp.get("/docs/<name>")
def doc(name: str):
    """One file of the user documentation, as plain text."""
    if not _DOC_NAME.fullmatch(name) or name not in _docs():
        abort(404, description=f"no documentation file {name!r}; see / for the list")
    text = (DOCS_DIR / name).read_text(encoding="utf-8")
    return Response(text, mimetype="text/plain", headers=PAGE_HEADERS)

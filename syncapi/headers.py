"""What every answer tells the browser: never frame this page, never guess a content type, send no referrer to
other sites, and run only the scripts the page itself was served with (docs/security.md, "The browser").

JSON and other non-HTML answers get a policy that allows nothing at all. An HTML page (the RQ dashboard, Swagger UI
at /api/docs) gets a policy that allows scripts, styles, images and requests from this origin, plus the inline
scripts the page was rendered with, each allowed by its SHA-256 hash: script that reaches a page any other way (a
`<script>` or `onerror=` in data shown on it) does not run.
"""

from __future__ import annotations

import base64
import hashlib
import re
from urllib.parse import urlsplit

from flask import current_app

#: Headers on every answer.
COMMON_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # Not `no-referrer`: with it browsers send `Origin: null` on same-origin posts, which the dashboard refuses.
    "Referrer-Policy": "same-origin",
}
#: The policy of an answer that is not a page (JSON, metrics, plain text, static files).
DATA_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
#: Inline `<script>` elements that run: no `src`, and a JavaScript type or none. Templates (`type="text/template"`)
#: are data to the browser and need no hash.
_SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script\s*>", re.IGNORECASE | re.DOTALL)
_SRC = re.compile(r"\bsrc\s*=", re.IGNORECASE)
_TYPE = re.compile(r"""\btype\s*=\s*["']?([^"'\s>]+)""", re.IGNORECASE)
_JAVASCRIPT_TYPES = {"", "text/javascript", "application/javascript", "module"}


def init_app(app) -> None:
    """Add the security headers to every answer of `app`."""
    app.after_request(add_headers)


def add_headers(response):
    """`response` with the common headers and the policy for its kind; headers already set are kept."""
    for name, value in COMMON_HEADERS.items():
        response.headers.setdefault(name, value)
    if "Content-Security-Policy" not in response.headers:
        is_page = response.mimetype == "text/html" and not (response.direct_passthrough or response.is_streamed)
        policy = page_policy(response.get_data(as_text=True)) if is_page else DATA_POLICY
        response.headers["Content-Security-Policy"] = policy
    return response


def page_policy(html: str) -> str:
    """The Content-Security-Policy of the HTML page `html`: same-origin assets and its own inline scripts."""
    origins = _asset_origins()
    scripts = [f"'sha256-{digest}'" for digest in inline_script_hashes(html)]
    return "; ".join(
        (
            "default-src 'none'",
            " ".join(["script-src 'self'", *origins, *scripts]),
            # rq-dashboard and Swagger UI set `style=` attributes in their markup; styles cannot run script.
            " ".join(["style-src 'self' 'unsafe-inline'", *origins]),
            # Bootstrap's and Swagger UI's stylesheets draw their icons as data: images (and may embed fonts).
            "img-src 'self' data:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "object-src 'none'",
        )
    )


def inline_script_hashes(html: str) -> list[str]:
    """The base64 SHA-256 of each inline script in `html` that a browser would run, in page order."""
    hashes = []
    for attributes, body in _SCRIPT.findall(html):
        if _SRC.search(attributes):
            continue
        kind = _TYPE.search(attributes)
        if (kind.group(1).lower() if kind else "") not in _JAVASCRIPT_TYPES:
            continue
        hashes.append(base64.b64encode(hashlib.sha256(body.encode()).digest()).decode())
    return hashes


def _asset_origins() -> list[str]:
    """Origins other than this one that pages load their scripts and styles from (Swagger UI on a CDN)."""
    url = current_app.config.get("OPENAPI_SWAGGER_UI_URL") or ""
    parts = urlsplit(url)
    return [f"{parts.scheme}://{parts.netloc}"] if parts.scheme in ("http", "https") and parts.netloc else []

"""The start page, the user documentation as text, and Swagger UI served from the service's own files."""

from __future__ import annotations

import re

from app import create_app
from syncapi import db, services


def test_the_start_page_links_the_pages_and_cannot_be_framed(client):
    answer = client.get("/")
    assert answer.status_code == 200
    assert answer.mimetype == "text/html"
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in answer.headers["Content-Security-Policy"]
    hrefs = re.findall(r'href="([^"]+)"', answer.get_data(as_text=True))
    assert {"/api/docs", "/rq", "/healthz", "/readyz", "/docs/getting-started.md"} <= set(hrefs)
    for href in hrefs:
        expected = 401 if href == "/rq" else 200  # the dashboard asks for credentials outside development
        assert client.get(href, follow_redirects=True).status_code == expected, href


def test_the_start_page_escapes_what_it_shows(app_settings, redis):
    app_settings["MAGENTO_BASE_URL"] = "http://shop.example.com/<script>alert(1)</script>"
    try:
        text = create_app(app_settings).test_client().get("/").get_data(as_text=True)
    finally:
        db.dispose_all()
        services._current = None
    assert "<script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_documentation_files_are_plain_text_and_nothing_else_is_served(client):
    answer = client.get("/docs/getting-started.md")
    assert answer.status_code == 200 and answer.mimetype == "text/plain"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert "make run" in answer.get_data(as_text=True)
    for name in ("../README.md", "..%2FREADME.md", "missing.md", "getting-started.txt", ".hidden.md"):
        refused = client.get(f"/docs/{name}")
        assert refused.status_code == 404, name
        assert refused.is_json


def test_swagger_ui_loads_nothing_from_elsewhere(client):
    page = client.get("/api/docs").get_data(as_text=True)
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources, page
    assert all(source.startswith("/") for source in sources), sources
    for source in sources:
        answer = client.get(source)
        assert answer.status_code == 200, source
        assert len(answer.get_data()) > 1000, source
    assert client.get("/api/docs/static/../../app.py").status_code == 404

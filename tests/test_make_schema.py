"""`make schema`: download over real HTTP from a local server, check the SHA-256 pins, convert, write atomically."""

from __future__ import annotations

import functools
import hashlib
import json
import subprocess
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from sandbox import fetch_schema
from sandbox.fetch_schema import FetchError, Pin

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_YAML = b"""---
swagger: '2.0'
info:
  version: 2.4.8
  title: Commerce Admin REST endpoints
  description:
    $ref: intro/redocly-intro.md
paths:
  "/V1/products":
    post:
      parameters:
      - name: PostV1ProductsBody
        in: body
        schema:
          type: object
          properties:
            product:
              type: object
definitions: {}
"""
INTRO_MD = "The schemas documented here \u2014 generated.\n".encode()


def pins(schema: bytes = SCHEMA_YAML, intro: bytes = INTRO_MD) -> tuple[Pin, Pin]:
    return (
        Pin("admin-schema-2.4.8.yaml", hashlib.sha256(schema).hexdigest()),
        Pin("intro/redocly-intro.md", hashlib.sha256(intro).hexdigest()),
    )


@pytest.fixture
def mirror(tmp_path):
    """A local HTTP server serving a folder laid out like the source repository's `src/openapi`."""
    folder = tmp_path / "mirror"
    (folder / "intro").mkdir(parents=True)
    (folder / "admin-schema-2.4.8.yaml").write_bytes(SCHEMA_YAML)
    (folder / "intro" / "redocly-intro.md").write_bytes(INTRO_MD)
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_fetch_writes_the_converted_schema(mirror, tmp_path):
    _, url = mirror
    dest = tmp_path / "schema" / "magento.json"
    schema_pin, intro_pin = pins()
    assert fetch_schema.fetch(dest, url, schema_pin, intro_pin) == dest
    text = dest.read_text(encoding="utf-8")
    document = json.loads(text)
    assert document["info"] == {
        "version": "2.4.8",
        "title": "Commerce Admin REST endpoints",
        "description": "The schemas documented here \u2014 generated.",
    }
    assert list(document["paths"]["/V1/products"]["post"]["parameters"][0]) == ["name", "in", "schema"]
    assert text == json.dumps(document, indent=1, ensure_ascii=False) + "\n"
    assert [p.name for p in dest.parent.iterdir()] == ["magento.json"]


def test_a_file_that_is_not_the_pinned_one_is_refused_and_nothing_is_written(mirror, tmp_path):
    folder, url = mirror
    dest = tmp_path / "schema" / "magento.json"
    schema_pin, intro_pin = pins()
    (folder / "admin-schema-2.4.8.yaml").write_bytes(SCHEMA_YAML + b"# changed\n")
    with pytest.raises(FetchError, match="expected " + schema_pin.sha256):
        fetch_schema.fetch(dest, url, schema_pin, intro_pin)
    assert not dest.parent.exists()


def test_no_network_is_one_clear_line_and_a_failing_exit(tmp_path):
    dest = tmp_path / "schema.json"
    result = subprocess.run(
        [sys.executable, "-m", "sandbox.fetch_schema", "--dest", str(dest), "--base-url", "http://127.0.0.1:9"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("make schema: cannot download http://127.0.0.1:9/admin-schema-2.4.8.yaml:")
    assert not dest.exists()


def test_the_pinned_mirror_with_other_bytes_fails_from_the_command_line(mirror, tmp_path):
    _, url = mirror
    dest = tmp_path / "schema.json"
    result = subprocess.run(
        [sys.executable, "-m", "sandbox.fetch_schema", "--dest", str(dest), "--base-url", url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "not the pinned file" in result.stderr
    assert not dest.exists()

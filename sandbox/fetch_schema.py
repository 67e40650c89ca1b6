"""`make schema`: download Adobe's admin REST schema for Magento 2.4.8 and write it as the JSON the sandbox and
the tests validate request bodies against.

The source is Adobe's REST reference repository (https://github.com/AdobeDocs/commerce-webapi), file
`src/openapi/admin-schema-2.4.8.yaml`, pinned by commit and by SHA-256, with the intro text its
`info.description` points to (`src/openapi/intro/redocly-intro.md`). Conversion: the YAML is read with PyYAML's
`safe_load`, `info.description` (a relative `$ref`, which is not valid Swagger) is replaced with the intro's
text, and the result is written with `json.dump(indent=1)`. Nothing else changes.

    python -m sandbox.fetch_schema [--dest PATH] [--base-url URL]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from sandbox.schema import DEFAULT_SCHEMA_PATH

#: The commit of AdobeDocs/commerce-webapi that last changed the 2.4.8 admin schema.
COMMIT = "ed5aedf78cb2dd1a28a39f3d03f7e5aabab65fb4"
BASE_URL = f"https://raw.githubusercontent.com/AdobeDocs/commerce-webapi/{COMMIT}/src/openapi"
#: Seconds to wait for the server (connect and each read).
TIMEOUT_S = 30
#: The largest download accepted, in bytes (the schema is about 1 MB).
MAX_BYTES = 20_000_000


@dataclass(frozen=True)
class Pin:
    """A file of the source folder and the SHA-256 its bytes must have."""

    path: str
    sha256: str


SCHEMA_YAML = Pin("admin-schema-2.4.8.yaml", "44ef7c19fc610eff1b963ce0671109ddb21ffeef659eb1445786108fa7597c9e")
INTRO_MD = Pin("intro/redocly-intro.md", "fada79756eeb17fdf46755af1b1b0f97851f02c49c900819e21fcf9f936bf969")


class FetchError(Exception):
    """The schema could not be fetched or checked; the message is one line saying why."""


def download(base_url: str, pin: Pin) -> bytes:
    """The bytes of `pin` under `base_url`, checked against its SHA-256."""
    url = f"{base_url.rstrip('/')}/{pin.path}"
    if not url.startswith(("https://", "http://")):
        raise FetchError(f"not an http(s) URL: {url}")
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:  # noqa: S310 - scheme checked above
            body = response.read(MAX_BYTES + 1)
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise FetchError(f"cannot download {url}: {reason} (no network? set MAGENTO_SCHEMA_PATH instead)") from exc
    if len(body) > MAX_BYTES:
        raise FetchError(f"{url} is larger than {MAX_BYTES} bytes")
    digest = hashlib.sha256(body).hexdigest()
    if digest != pin.sha256:
        raise FetchError(f"{url} has SHA-256 {digest}, expected {pin.sha256}: not the pinned file")
    return body


def convert(schema_yaml: bytes, intro_md: bytes) -> str:
    """The JSON text of the schema, with the intro's text in place of the `info.description` reference."""
    import yaml  # a test/dev package (requirements-dev.txt), only needed here

    try:
        document = yaml.safe_load(schema_yaml)
    except yaml.YAMLError as exc:
        raise FetchError(f"the schema is not valid YAML: {exc}".splitlines()[0]) from exc
    if not isinstance(document, dict) or not isinstance(document.get("info"), dict) or "paths" not in document:
        raise FetchError("the schema is not a Swagger document (no info or paths)")
    document["info"]["description"] = intro_md.decode("utf-8").strip()
    return json.dumps(document, indent=1, ensure_ascii=False) + "\n"


def fetch(dest: Path, base_url: str = BASE_URL, schema: Pin = SCHEMA_YAML, intro: Pin = INTRO_MD) -> Path:
    """Download, check and convert the schema, then write it to `dest` in one step (nothing is written on error)."""
    text = convert(download(base_url, schema), download(base_url, intro))
    dest.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=dest.parent, prefix=".schema-", suffix=".json")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, dest)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return dest


def main(argv: list[str] | None = None) -> int:
    """Fetch the schema; one line on success or failure."""
    parser = argparse.ArgumentParser(prog="python -m sandbox.fetch_schema", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--dest", type=Path, default=DEFAULT_SCHEMA_PATH, help=f"where to write (default {DEFAULT_SCHEMA_PATH})"
    )
    parser.add_argument("--base-url", default=BASE_URL, help="folder URL holding the pinned files (a mirror)")
    args = parser.parse_args(argv)
    try:
        path = fetch(args.dest, args.base_url)
    except FetchError as exc:
        print(f"make schema: {exc}", file=sys.stderr)
        return 1
    print(f"Magento 2.4.8 admin REST schema written to {path} (AdobeDocs/commerce-webapi@{COMMIT[:12]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

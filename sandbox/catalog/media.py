"""Product images: the gallery a product save replaces, and the `/V1/products/{sku}/media` routes."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from typing import Any

from sandbox import seed
from sandbox.catalog.render import find_product, render_media
from sandbox.errors import MagentoHttpError
from sandbox.routing import ACL_PRODUCTS, ROUTER, Call, int_or_none, required_object
from sandbox.state import Product, SandboxState

IMAGE_SIGNATURES = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),
}


def _decode_image(entry: Any) -> tuple[bytes, str]:
    """The bytes and the cleaned file name of an uploaded image, or Magento's 400 (nothing stored)."""
    content = entry.get("content") if isinstance(entry, dict) else None
    if not isinstance(content, dict) or not content.get("base64_encoded_data"):
        raise MagentoHttpError(400, "The image content is invalid. Verify the content and try again.")
    try:
        data = base64.b64decode(content["base64_encoded_data"], validate=True)
    except (binascii.Error, ValueError):
        raise MagentoHttpError(400, "The image content must be valid base64 encoded data.") from None
    mime = content.get("type")
    if mime not in IMAGE_SIGNATURES:
        raise MagentoHttpError(400, "The image MIME type is not valid or not supported.")
    if not data.startswith(IMAGE_SIGNATURES[mime]):
        raise MagentoHttpError(400, "The image content is invalid. Verify the content and try again.")
    name = re.sub(r"[^a-z0-9_.-]+", "_", str(content.get("name") or "").lower())
    if "." not in name.strip("."):
        raise MagentoHttpError(400, "Provided image name contains forbidden characters.")
    return data, name


def _store_image(state: SandboxState, product: Product, entry: dict, data: bytes, name: str) -> dict:
    """Store one checked image; the new entry (not yet in the product's gallery)."""
    stem, extension = name.rsplit(".", 1)
    folder = f"/{(stem + '__')[0]}/{(stem + '__')[1]}/"
    candidate, copy_number = f"{folder}{stem}.{extension}", 0
    # Files live in one shared media folder: a name already used gets `_1`, `_2`, ... (magento2 #39349).
    while candidate in state.media_files:
        copy_number += 1
        candidate = f"{folder}{stem}_{copy_number}.{extension}"
    state.media_files.add(candidate)
    positions = [e.get("position") or 0 for e in product.media]
    return {
        "id": state.next_id("media"),
        "media_type": entry.get("media_type") or "image",
        "label": entry.get("label") or "",
        "position": entry.get("position") if entry.get("position") is not None else max(positions, default=0) + 1,
        "disabled": bool(entry.get("disabled", False)),
        "types": list(entry.get("types") or []),
        "file": candidate,
        "content_sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
    }


def _take_roles(gallery: list[dict], entry: dict) -> None:
    """An image role (image, small_image, thumbnail) belongs to one entry: the newest one takes it."""
    for other in gallery:
        if other is not entry:
            other["types"] = [role for role in other["types"] if role not in entry["types"]]


def replace_gallery(state: SandboxState, product: Product, entries: list) -> list[dict]:
    """The gallery a save's `media_gallery_entries` leave: uploads stored, kept entries updated, the rest gone."""
    by_id = {e["id"]: e for e in product.media}
    by_file = {e["file"]: e for e in product.media}
    entries = [entry for entry in entries if isinstance(entry, dict)]
    uploads = {index: _decode_image(entry) for index, entry in enumerate(entries) if entry.get("content")}
    gallery: list[dict] = []
    for index, entry in enumerate(entries):
        if index in uploads:
            gallery.append(_store_image(state, product, entry, *uploads[index]))
            continue
        kept = by_id.get(int_or_none(entry.get("id"))) or by_file.get(entry.get("file"))
        if kept is not None:
            kept = dict(kept)
            for key in ("label", "position", "disabled", "types"):
                if key in entry:
                    kept[key] = entry[key]
            gallery.append(kept)
    for entry in gallery:
        if entry["types"]:
            _take_roles(gallery, entry)
    return gallery


@ROUTER.route("GET", "/V1/products/{sku}/media", ACL_PRODUCTS)
def list_media(state: SandboxState, call: Call):
    return [render_media(entry) for entry in find_product(state, call.params["sku"]).media]


@ROUTER.route("GET", "/V1/products/{sku}/media/{entryId}", ACL_PRODUCTS)
def get_media(state: SandboxState, call: Call):
    product = find_product(state, call.params["sku"])
    entry = next((e for e in product.media if str(e["id"]) == call.params["entryId"]), None)
    if entry is None:
        raise MagentoHttpError(404, "The image doesn't exist. Verify and try again.")
    return render_media(entry)


@ROUTER.route("POST", "/V1/products/{sku}/media", ACL_PRODUCTS)
def add_media(state: SandboxState, call: Call):
    product = find_product(state, call.params["sku"])
    entry = required_object(call.body, "entry")
    stored = _store_image(state, product, entry, *_decode_image(entry))
    # Every POST adds an entry, even for an image the product already has (magento2 #13723).
    product.media.append(stored)
    if stored["types"]:
        _take_roles(product.media, stored)
    product.updated_at = seed.now()
    return stored["id"]


@ROUTER.route("DELETE", "/V1/products/{sku}/media/{entryId}", ACL_PRODUCTS)
def delete_media(state: SandboxState, call: Call):
    product = find_product(state, call.params["sku"])
    remaining = [e for e in product.media if str(e["id"]) != call.params["entryId"]]
    if len(remaining) == len(product.media):
        raise MagentoHttpError(404, "No image with the provided ID was found. Verify the ID and try again.")
    product.media = remaining
    product.updated_at = seed.now()
    return True

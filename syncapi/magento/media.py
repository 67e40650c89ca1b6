"""Product images: `/V1/products/{sku}/media`. Paths and payload shapes only.

A POST adds an entry every time (magento2 #13723) and re-posting the same file name stores `name_1.jpg`,
`name_2.jpg` (magento2 #39349): list what is there and upload only what changed.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable

from syncapi.magento.client import MagentoClient, path
from syncapi.magento.writes import BulkWriter, Outcome, Write

ENTRIES = "/V1/products/{sku}/media"
ENTRY = "/V1/products/{sku}/media/{entry_id}"
#: The image roles a storefront uses; the first image usually carries all three.
ALL_ROLES = ("image", "small_image", "thumbnail")


def entries(client: MagentoClient, sku: str, *, store: str | None = None) -> list[dict]:
    """The product's gallery entries."""
    return client.get(path(ENTRIES, sku=sku), store=store) or []


def add(client: MagentoClient, sku: str, entry: dict, *, store: str | None = None) -> int:
    """Add one gallery entry (see `image_entry`); the new entry's id. Never retried after it may have landed."""
    return int(client.post(path(ENTRIES, sku=sku), {"entry": entry}, store=store))


def delete(client: MagentoClient, sku: str, entry_id: int, *, store: str | None = None) -> bool:
    """Remove gallery entry `entry_id` from the product."""
    return bool(client.delete(path(ENTRY, sku=sku, entry_id=entry_id), store=store))


def add_all(writer: BulkWriter, items: list[tuple[str, dict]]) -> list[Outcome]:
    """Add each `(sku, gallery entry)` through `writer`; one `Outcome` per item (result: the new entry id, when
    known)."""
    client = writer.client
    return writer.write(
        Write(
            "POST",
            ENTRIES,
            lambda body: f"upload image {body['entry']['content']['name']} of {body['sku']}",
            lambda body: add(client, body["sku"], body["entry"]),
        ),
        [{"sku": sku, "entry": entry} for sku, entry in items],
    )


def image_entry(
    content: bytes,
    filename: str,
    mime_type: str,
    *,
    label: str = "",
    position: int = 0,
    roles: Iterable[str] = (),
    disabled: bool = False,
) -> dict:
    """A media-gallery entry that uploads `content` as `filename`."""
    return {
        "media_type": "image",
        "label": label,
        "position": position,
        "disabled": disabled,
        "types": list(roles),
        "content": {
            "base64_encoded_data": base64.b64encode(content).decode("ascii"),
            "type": mime_type,
            "name": filename,
        },
    }

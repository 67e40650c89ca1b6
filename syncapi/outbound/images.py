"""Product images: upload what is new or changed, once, and remove the entry a new image replaces.

Each POS image (`sku/position`) has a hash of its bytes, file name, position and roles, and the id of the
gallery entry it became. Magento adds an entry on every upload, even of the same file (magento2 #13723,
#39349), so an image is uploaded only when its hash changed; the entry it replaces is deleted first. The
product's first image (lowest position) is its base, small and thumbnail image.

An upload whose answer was lost (a timeout, a crash before its hash was stored) may still have landed. Before
uploading to a product that was already in Magento, its gallery is read, and an entry the service does not
know whose file is the upload's (`name.png`, `name_1.png`, ...) is taken as that upload instead of uploading
again. Entries the service did not create are never touched; an image deleted in the POS stays in Magento.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from syncapi.magento import media
from syncapi.magento.errors import MagentoNotFoundError
from syncapi.magento.writes import BulkWriter, Outcome, outcome_of
from syncapi.outbound import mapping
from syncapi.outbound.context import PushContext
from syncapi.outbound.delta import HASH_IMAGES, hash_of
from syncapi.pos.gateway import ProductImage
from syncapi.state import get_hashes, put_hashes


@dataclass
class _Task:
    sku: str
    key: str
    image: ProductImage
    roles: tuple[str, ...]
    hash: str
    old_entry: int | None
    entry_id: int | None = None
    error: str | None = None


@dataclass
class ImageResult:
    """What an image pass did: SKUs whose gallery changed, and SKUs whose images failed (with why)."""

    changed: set[str]
    failed: dict[str, str]


def image_key(sku: str, position: int) -> str:
    """The hash key of the image at `position` of `sku`."""
    return f"{sku}/{position}"


def sync_images(
    ctx: PushContext, writer: BulkWriter, skus: list[str], *, fresh: set[str], sources: Mapping[str, str] | None = None
) -> ImageResult:
    """Bring the galleries of `skus` (all in Magento) in line with the POS; `fresh`: created by this run.

    `sources` maps a SKU to the POS product whose images it shows (a configurable product shows its first
    variant's); other SKUs show their own.
    """
    result = ImageResult(set(), {})
    if not skus:
        return result
    sources = sources or {}
    by_source: dict[str, list[ProductImage]] = {}
    for image in ctx.gateway.get_images(sorted({sources.get(sku, sku) for sku in skus})):
        by_source.setdefault(image.sku, []).append(image)
    tasks: list[_Task] = []
    for sku in skus:
        images = by_source.get(sources.get(sku, sku))
        if not images:
            continue
        first = min(image.position for image in images)
        for image in images:
            roles = mapping.image_roles(image.position, first)
            value = hash_of(mapping.image_hash_input(image.sha256, image.filename, roles, image.position))
            tasks.append(_Task(sku, image_key(sku, image.position), image, roles, value, None))
    stored = get_hashes(ctx.state_engine, HASH_IMAGES, [task.key for task in tasks])
    tracked: dict[str, set[str]] = {}
    for task in tasks:
        entry = stored.get(task.key)
        if entry is not None and entry[1] is not None:
            tracked.setdefault(task.sku, set()).add(str(entry[1]))
            task.old_entry = int(entry[1])
    todo = [task for task in tasks if ctx.force or stored.get(task.key, (None,))[0] != task.hash]
    if not todo:
        return result

    galleries = _galleries(ctx, sorted({task.sku for task in todo if task.sku not in fresh}), todo)
    deletions: list[_Task] = []
    uploads: list[_Task] = []
    for task in todo:
        if task.error:
            continue
        gallery = galleries.get(task.sku)
        if gallery is not None:
            present = {str(entry["id"]) for entry in gallery}
            adopted = _unknown_entry(gallery, tracked.get(task.sku, set()), task.image.filename)
            if adopted is not None:
                task.entry_id = adopted
                tracked.setdefault(task.sku, set()).add(str(adopted))
            if task.old_entry is not None and str(task.old_entry) not in present:
                task.old_entry = None  # already gone from Magento
        if task.old_entry is not None and task.old_entry != task.entry_id:
            deletions.append(task)
        if task.entry_id is None:
            uploads.append(task)

    deleted = ctx.map(
        lambda task: _delete(ctx, task.sku, task.old_entry, f"remove the image {task.key} replaces"), deletions
    )
    ctx.check_transient(deleted)
    for task, outcome in zip(deletions, deleted, strict=True):
        if not outcome.ok:
            task.error = outcome.error
    uploads = [task for task in uploads if task.error is None]
    entries = [
        (
            task.sku,
            media.image_entry(
                task.image.content,
                task.image.filename,
                task.image.media_type,
                position=task.image.position,
                roles=task.roles,
            ),
        )
        for task in uploads
    ]
    for task, outcome in zip(uploads, media.add_all(writer, entries), strict=True):
        if not outcome.ok:
            task.error = outcome.error
        elif _entry_id(outcome.result) is not None:
            task.entry_id = _entry_id(outcome.result)
    unresolved = [task for task in uploads if task.error is None and task.entry_id is None]
    if unresolved:
        # The answer carried no entry id (a bulk result without data): find the new entries by file name.
        read = _galleries(ctx, sorted({task.sku for task in unresolved}), unresolved)
        for task in unresolved:
            gallery = read.get(task.sku)
            if gallery is not None and task.error is None:
                task.entry_id = _unknown_entry(gallery, tracked.get(task.sku, set()), task.image.filename)
                if task.entry_id is not None:
                    tracked.setdefault(task.sku, set()).add(str(task.entry_id))

    accepted = {}
    for task in todo:
        if task.error is None and task.entry_id is not None:
            accepted[task.key] = (task.hash, task.entry_id)
            result.changed.add(task.sku)
        else:
            result.failed.setdefault(task.sku, task.error or f"image {task.key}: Magento did not report the entry")
    if accepted:
        put_hashes(ctx.state_engine, HASH_IMAGES, accepted)
    return result


def _galleries(ctx: PushContext, skus: list[str], tasks: list[_Task]) -> dict[str, list[dict]]:
    """The gallery entries of `skus`; a gallery that cannot be read fails that product's tasks."""
    client = ctx.client
    outcomes = ctx.map(lambda sku: outcome_of(f"read the images of {sku}", lambda: media.entries(client, sku)), skus)
    ctx.check_transient(outcomes)
    galleries = {}
    for sku, outcome in zip(skus, outcomes, strict=True):
        if outcome.ok:
            galleries[sku] = outcome.result
        else:
            for task in tasks:
                if task.sku == sku:
                    task.error = outcome.error
    return galleries


def _delete(ctx: PushContext, sku: str, entry_id: int, action: str) -> Outcome:
    client = ctx.client

    def remove() -> bool:
        try:
            return media.delete(client, sku, entry_id)
        except MagentoNotFoundError:
            return True  # already gone: what a delete wants

    return outcome_of(action, remove)


def _unknown_entry(gallery: list[dict], known: set[str], filename: str) -> int | None:
    """The newest entry of `gallery` the service does not know whose file is an upload of `filename`."""
    pattern = mapping.media_file_pattern(filename)
    found = [
        int(entry["id"])
        for entry in gallery
        if str(entry.get("id")) not in known and pattern.search(str(entry.get("file") or ""))
    ]
    return max(found) if found else None


def _entry_id(answer: object) -> int | None:
    try:
        return int(str(answer).strip().strip('"'))
    except (TypeError, ValueError):
        return None

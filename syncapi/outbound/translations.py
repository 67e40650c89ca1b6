"""Store-view translations: the POS's `product_translations` → each product's values in those store views, with
the `products` kind.

Magento stores every field a save sends at a store code as that view's own value, cut off from later global
changes (magento2 #9186), so a translation is saved at `/rest/<store_code>/...` with only the SKU, the
translated fields and an explicit `url_key` for the view, made from the translated name as the global one is
from the global name: a new name without a URL key makes Magento generate one from it, which can collide with
another view's key ("URL key for specified store already exists", magento2 #40055). The saves go through the
store-scoped async bulk route (`POST /rest/<store_code>/async/bulk/V1/products`), or one by one where the store
has no bulk routes.

A translation for a store code Magento does not have is reported once per run, naming the code; the others go
on. Changes are found by content: each `sku@store_code` has a hash, so an unchanged translation is not sent
again. A product run looks at the translations of the products it reads; a run over what changed also at every
translated SKU, since editing a translation does not touch the product's row.
"""

from __future__ import annotations

from syncapi.magento import products as magento_products
from syncapi.magento import stores
from syncapi.magento.writes import BulkWriter
from syncapi.outbound import mapping
from syncapi.outbound.context import READ_BATCH, PushContext
from syncapi.outbound.delta import HASH_TRANSLATIONS, changed_keys, hash_of, known_products
from syncapi.pos.translations import Translation
from syncapi.state import put_hashes


def push_translations(ctx: PushContext, writer: BulkWriter, skus: list[str] | None) -> None:
    """Send the translations of `skus` (every translated SKU when None) that changed, for products in Magento."""
    if skus is None:
        skus = ctx.gateway.translated_skus()
    views: set[str] | None = None
    for start in range(0, len(skus), READ_BATCH):
        known = sorted(known_products(ctx.state_engine, skus[start : start + READ_BATCH]))
        translations = ctx.gateway.get_translations(known) if known else []
        if not translations:
            continue
        if views is None:
            views = {str(view["code"]) for view in stores.store_views(ctx.client) if int(view.get("id", 0)) != 0}
        _push(ctx, writer, translations, views)


def translation_body(translation: Translation) -> dict:
    """A store-view save: the SKU, the translated fields, and the view's URL key when the name is translated."""
    product: dict = {"sku": translation.sku}
    custom = []
    if translation.name:
        product["name"] = translation.name
        custom.append(
            {"attribute_code": mapping.CODE_URL_KEY, "value": mapping.url_key(translation.name, translation.sku)}
        )
    if translation.description is not None:
        custom.append({"attribute_code": mapping.CODE_SHORT_DESCRIPTION, "value": translation.description})
    if translation.long_description_html is not None:
        custom.append({"attribute_code": mapping.CODE_DESCRIPTION, "value": translation.long_description_html})
    if custom:
        product["custom_attributes"] = custom
    return product


def _push(ctx: PushContext, writer: BulkWriter, translations: list[Translation], views: set[str]) -> None:
    tally = ctx.tally
    bodies: dict[str, tuple[str, dict]] = {}
    for translation in translations:
        if translation.store_code not in views:
            ctx.report_once(
                f"translation-store:{translation.store_code}",
                f"store view {translation.store_code!r} is not in Magento: its translations are not sent (add the "
                "store view, or correct product_translations.store_code)",
                key=translation.store_code,
            )
            continue
        body = translation_body(translation)
        if len(body) > 1:
            bodies[f"{translation.sku}@{translation.store_code}"] = (translation.store_code, body)
    wanted = {
        key: hash_of({"v": mapping.MAPPING_VERSION, "store": store, "body": body})
        for key, (store, body) in bodies.items()
    }
    changed, _stored = changed_keys(ctx.state_engine, HASH_TRANSLATIONS, wanted, force=ctx.force)
    by_store: dict[str, list[str]] = {}
    for key in changed:
        by_store.setdefault(bodies[key][0], []).append(key)
    accepted: dict[str, tuple[str, None]] = {}
    for store, keys in sorted(by_store.items()):
        outcomes = magento_products.save_all(writer, [bodies[key][1] for key in keys], store=store)
        for key, outcome in zip(keys, outcomes, strict=True):
            sku = bodies[key][1]["sku"]
            if outcome.ok:
                accepted[key] = (changed[key], None)
                tally.updated(sku)
            else:
                tally.failed(sku, outcome.error or f"save the {store} translation")
    if accepted:
        put_hashes(ctx.state_engine, HASH_TRANSLATIONS, accepted)

"""Reading a list endpoint by what changed: every record with `updated_at` at or after a time, each once.

Reading pages by offset while records change skips some (a record updated mid-read moves to the end and the
ones behind it shift back a page), so the read goes by keyset instead: always the first page of records
changed at or after the newest time read so far, leaving out those already read at that second. A second with
more changes than a page is read by offset paging on that second alone.
"""

from __future__ import annotations

from collections.abc import Iterator

from syncapi.magento.client import MagentoClient
from syncapi.magento.search import SearchCriteria

#: The field Magento's list endpoints sort ties by (the entity table's primary key).
TIE_SORT_FIELD = "entity_id"


class UnpageableListError(Exception):
    """Magento answered a list with records that cannot be paged through by time."""


def changed_since(
    client: MagentoClient, path: str, since: str | None, id_key: str, page_size: int | None = None
) -> Iterator[dict]:
    """Every record of the list endpoint `path` with `updated_at` at or after `since` (all when None), oldest
    change first, each once, read by keyset so records changing meanwhile are never skipped."""
    size = page_size or client.page_size
    cursor, strict, seen_at_cursor = since, False, set()
    while True:
        criteria = SearchCriteria()
        if cursor is not None:
            criteria.where("updated_at", cursor, "gt" if strict else "gteq")
        criteria.order_by("updated_at").order_by(TIE_SORT_FIELD).page(size, 1)
        items = (client.search(path, criteria) or {}).get("items") or []
        for item in items:
            if not (item.get("updated_at") == cursor and item.get(id_key) in seen_at_cursor):
                yield item
        if len(items) < size:
            return
        last = items[-1].get("updated_at")
        if not isinstance(last, str):
            raise UnpageableListError(f"{path} answered records without updated_at; they cannot be polled by time")
        if last == cursor:
            # A whole page changed in one second: read that second by offset, then go on after it.
            already = seen_at_cursor | {item.get(id_key) for item in items}
            same_second = SearchCriteria().where("updated_at", cursor, "eq").order_by(TIE_SORT_FIELD)
            for item in client.paginate(path, same_second, page_size=size):
                if item.get(id_key) not in already:
                    already.add(item.get(id_key))
                    yield item
            strict, seen_at_cursor = True, set()
            continue
        cursor, strict = last, False
        seen_at_cursor = {item.get(id_key) for item in items if item.get("updated_at") == last}

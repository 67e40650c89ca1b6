"""Magento's attribute sets, attributes and options, looked up once per run and kept for it.

A POS product names its attribute set (`attribute_set`, e.g. "Default"); the set's attributes say which codes
the product can take and how (select and multiselect values are option ids). Options the POS uses that
Magento lacks are created once, then reused by every product of the run and by later runs (which read them
back from Magento).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from syncapi.magento import attributes as magento_attributes
from syncapi.magento.client import MagentoClient
from syncapi.magento.errors import MagentoPermanentError
from syncapi.outbound.mapping import AttributeInfo, option_key

log = logging.getLogger(__name__)

_OPTION_ID = re.compile(r"^(?:id_)?(\d+)$")


class UnknownAttributeSetError(LookupError):
    """The POS names an attribute set Magento does not have."""


class CatalogAttributes:
    """The attribute sets and attributes of one store, read lazily and cached for one run."""

    def __init__(self, client: MagentoClient):
        self.client = client
        self._set_ids: dict[str, int] | None = None
        self._set_attributes: dict[int, dict[str, AttributeInfo]] = {}
        self._options: dict[str, dict[str, str]] = {}
        self._inputs: dict[str, str] = {}
        #: Options created by this run, as (code, label).
        self.created_options: list[tuple[str, str]] = []

    def set_id(self, name: str) -> int:
        """The id of the attribute set called `name` (names compare case-insensitively)."""
        if self._set_ids is None:
            self._set_ids = {
                option_key(item["attribute_set_name"]): int(item["attribute_set_id"])
                for item in magento_attributes.attribute_sets(self.client)
            }
        found = self._set_ids.get(option_key(name))
        if found is None:
            raise UnknownAttributeSetError(
                f"attribute set {name!r} does not exist in Magento; create it there or change the product's "
                f"attribute set in the POS"
            )
        return found

    def attributes(self, set_id: int) -> dict[str, AttributeInfo]:
        """The attributes of set `set_id` by code."""
        found = self._set_attributes.get(set_id)
        if found is None:
            found = {}
            for item in magento_attributes.set_attributes(self.client, set_id):
                code = item.get("attribute_code")
                if not code:
                    continue
                frontend_input = str(item.get("frontend_input") or "text")
                self._inputs[code] = frontend_input
                options = self._options.setdefault(code, {})
                for option in item.get("options") or []:
                    value, label = str(option.get("value") or ""), str(option.get("label") or "")
                    if value.strip() and label.strip():
                        options.setdefault(option_key(label), value)
                attribute_id = item.get("attribute_id")
                found[code] = AttributeInfo(
                    code,
                    frontend_input,
                    options,
                    int(attribute_id) if str(attribute_id or "").isdigit() else None,
                    str(item.get("default_frontend_label") or code),
                )
            self._set_attributes[set_id] = found
        return found

    def option_ids(self, code: str, labels: Iterable[str]) -> dict[str, str]:
        """Option ids of `labels` of attribute `code` by label key, creating the missing options.

        Raises `MagentoPermanentError` when Magento refuses an option.
        """
        options = self._options.setdefault(code, {})
        for label in dict.fromkeys(label.strip() for label in labels if label.strip()):
            if option_key(label) in options:
                continue
            options[option_key(label)] = self._create_option(code, label)
        return options

    def _create_option(self, code: str, label: str) -> str:
        try:
            answer = magento_attributes.add_option(self.client, code, label)
        except MagentoPermanentError:
            # Someone else may have added it meanwhile (or it differs only in case): read the options again.
            found = self._reread(code).get(option_key(label))
            if found is None:
                raise
            return found
        match = _OPTION_ID.match(str(answer or "").strip())
        if match:
            option_id = match.group(1)
        else:
            # Older stores answer `true` instead of the id: read it back.
            option_id = self._reread(code).get(option_key(label))
            if option_id is None:
                raise MagentoPermanentError(400, f"option {label!r} of {code} was not found after it was added")
        self.created_options.append((code, label))
        log.info("attribute option created", extra={"attribute": code, "label": label, "option_id": option_id})
        return option_id

    def _reread(self, code: str) -> dict[str, str]:
        options = self._options.setdefault(code, {})
        for option in magento_attributes.options(self.client, code):
            value, label = str(option.get("value") or ""), str(option.get("label") or "")
            if value.strip() and label.strip():
                options.setdefault(option_key(label), value)
        return options

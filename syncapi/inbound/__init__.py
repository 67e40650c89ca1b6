"""Magento → POS: the work behind the webhooks, and the reconcile poll that catches what the webhooks missed.

Roles, as in a connector:

- `mappers`: pure functions from the plain dicts Magento's REST API answers to the gateway's `SaleIn`,
  `InvoiceIn`, `CreditNoteIn`, `CustomerIn` and `CategoryIn` (no I/O, unit-tested on plain data), one module
  per decision (see its docstring);
- `importers`: the flow for one record: fetch it from Magento (a webhook body is only a hint), map it, write it
  through the POS gateway, record where it went in `sync_links`; errors split into transient (raised as they
  are, so RQ retries with backoff) and permanent (`PermanentImportError`, recorded on the link);
- `reconcile`: pages through orders, invoices, credit memos and customers changed since the last poll and queues
  the same import jobs with the same job ids as the webhooks, so a webhook job already waiting makes it a
  duplicate.

The RQ jobs themselves are `jobs.inbound.import_<entity>(magento_id)` and `jobs.reconcile.reconcile_sales`.
"""

"""Webhook intake: Magento announces orders, invoices, credit memos, customers and categories; the service
checks the signature, reads the event and the record id, queues the import job and answers 202."""

from syncapi.webhooks.views import bp, init_app

__all__ = ["bp", "init_app"]

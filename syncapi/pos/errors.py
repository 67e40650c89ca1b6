"""What a POS gateway raises, split by what the caller should do about it.

- `PosValidationError` (and its `PosConflictError`): the record itself is wrong or clashes with what the POS
  holds (unknown SKU, quantity of 0 or less, no customer email, a Magento id already linked elsewhere).
  Retrying cannot help: record the error and stop. Nothing was written.
- `PosIncompleteReadError`: a read from the beginning (a full push) found fewer rows than the POS counts in
  the same table: rows were skipped, e.g. timestamps the database cannot compare. The run fails instead of
  reporting success; see docs/pos-gateway-reads.md.
- `PosUnavailableError`: the database did not answer, timed out, was locked, dropped the connection, or its
  tables are missing (run `flask --app app pos init`). Retry later. Nothing was written.

Every error is raised after the transaction was rolled back, so the POS never holds half a record.
"""

from __future__ import annotations


class PosError(Exception):
    """Any failure of a POS read or write."""

    #: Whether the same call may succeed when tried again later.
    retryable: bool = False


class PosValidationError(PosError):
    """The record is invalid for the POS (permanent: do not retry)."""


class PosConflictError(PosValidationError):
    """The record clashes with one the POS already holds, e.g. a Magento id linked to another row (permanent)."""


class PosUnavailableError(PosError):
    """The POS database cannot be reached or used right now (transient: retry with backoff)."""

    retryable = True


class PosIncompleteReadError(PosError):
    """A full read found fewer rows than the POS holds (permanent until the cause is fixed; nothing is skipped
    silently)."""

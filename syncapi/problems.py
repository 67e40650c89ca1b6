"""Why a record needs an operator: the closed set of problem codes, and one plain sentence per failure.

Every failure the service records (a link that failed, a failed job, a run's error) keeps its reason as the text
the refusal raised, which names the SKU or field exactly as Magento or the POS has it. `classify` reads that
text and answers the machine-readable code the attention list (`GET /api/v1/attention`) carries, so "retry all
like this" has something to match; `sentence` gives the reason as one plain sentence.

A new kind of refusal gets a new `Problem` in `PROBLEMS` (first match wins, `other` last): nothing else changes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

UNKNOWN_SKU = "unknown_sku"
TOTALS_MISMATCH = "totals_mismatch"
CURRENCY_MISMATCH = "currency_mismatch"
UNKNOWN_CUSTOMER = "unknown_customer"
POS_CONFLICT = "pos_conflict"
MISSING_DATA = "missing_data"
INVALID_DATA = "invalid_data"
MAGENTO_REFUSED = "magento_refused"
MAGENTO_UNAVAILABLE = "magento_unavailable"
POS_UNAVAILABLE = "pos_unavailable"
JOB_FAILED = "job_failed"
OTHER = "other"


@dataclass(frozen=True)
class Problem:
    """One code: the patterns of the reasons it covers, and what an operator does about it."""

    code: str
    patterns: tuple[str, ...]
    advice: str


#: Every code, in the order reasons are matched against them.
PROBLEMS: tuple[Problem, ...] = (
    Problem(UNKNOWN_SKU, (r"unknown SKU",), "add the product to the POS, then retry"),
    Problem(
        CURRENCY_MISMATCH,
        (r"base currency", r"POS books in", r"its amount in the base currency"),
        "check POS_CURRENCY and the store's base currency",
    ),
    Problem(TOTALS_MISMATCH, (r"≠ owed", r"≠ lines'", r"does not add up"), "compare the order's totals in Magento"),
    Problem(UNKNOWN_CUSTOMER, (r"there is no POS customer", r"no customer email"), "check the customer in both"),
    Problem(POS_CONFLICT, (r"clashes with rows", r"already linked to POS"), "resolve the clash in the POS"),
    Problem(
        MAGENTO_REFUSED,
        (r"Magento did not give", r"Magento refused", r"Magento answered"),
        "check the record and the integration's access in Magento",
    ),
    Problem(
        MAGENTO_UNAVAILABLE,
        (r"MagentoTransientError", r"Magento did not answer", r"Magento is unavailable"),
        "wait for Magento to answer; retried on its own",
    ),
    Problem(
        POS_UNAVAILABLE, (r"PosUnavailableError", r"POS database"), "wait for the POS database; retried on its own"
    ),
    Problem(MISSING_DATA, (r"\bhas no\b", r"\bnames no\b", r"\bis missing\b"), "complete the record in Magento"),
    Problem(
        INVALID_DATA,
        (r"must be", r"has an unknown", r"not a Magento timestamp", r"the POS refused it", r"cannot be mapped"),
        "correct the record in Magento or the POS",
    ),
    Problem(JOB_FAILED, (r"^job ",), "read the job's error; retry once the cause is fixed"),
    Problem(OTHER, (), "read the reason; retry once the cause is fixed"),
)
#: The codes, for validating a filter.
CODES: tuple[str, ...] = tuple(problem.code for problem in PROBLEMS)
_BY_CODE = {problem.code: problem for problem in PROBLEMS}
_COMPILED = tuple((problem.code, [re.compile(pattern) for pattern in problem.patterns]) for problem in PROBLEMS)

_UNKNOWN_SKUS = re.compile(r"unknown SKU (?P<skus>'(?:[^'\\]|\\.)*'(?:, '(?:[^'\\]|\\.)*')*)")
_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'")
_RETRIED = " (will be retried)"


def classify(reason: str | None) -> str:
    """The code of a recorded reason (`other` when none matches)."""
    text = reason or ""
    for code, patterns in _COMPILED:
        if any(pattern.search(text) for pattern in patterns):
            return code
    return OTHER


def advice(code: str) -> str:
    """What an operator does about a problem of `code`."""
    return _BY_CODE.get(code, _BY_CODE[OTHER]).advice


def sentence(reason: str | None) -> str:
    """The reason as one plain sentence naming the SKU or field as recorded (`SKU WEB-TEE-RED-M is not in the POS`).

    Only the unknown-SKU refusal is reworded (its SKUs are kept exactly); any other reason is kept whole, so
    nothing the refusal named is lost.
    """
    text = (reason or "no reason was recorded").strip()
    if text.endswith(_RETRIED):
        text = text[: -len(_RETRIED)]
    found = _UNKNOWN_SKUS.search(text)
    if found:
        skus = [sku.replace("\\'", "'").replace("\\\\", "\\") for sku in _QUOTED.findall(found.group("skus"))]
        if len(skus) == 1:
            return f"SKU {skus[0]} is not in the POS"
        return f"SKUs {', '.join(skus)} are not in the POS"
    return text

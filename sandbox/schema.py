"""Request bodies checked against Magento's published REST schema (Swagger 2.0), the way Magento reads them.

Operations are looked up by path template and method (names changed across versions). The body is the one
`in: body` parameter, validated with JSON Schema draft 4 over the whole document, so `$ref`s into
`definitions` resolve. What is an error (400 from the sandbox) and what only a warning:

- errors: a missing top-level key (`product` in `{"product": {...}}`), any wrong type at any depth, and any key
  the schema does not know (Magento 2.4.7+: `"%fieldName" is not supported`);
- warnings: a `required` miss below the top level. Magento derives `required` from non-nullable getters, so the
  nested lists are stricter than what Magento accepts as input.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:  # a test/dev package (requirements-dev.txt): without it the sandbox runs, unvalidated
    import jsonschema
    import referencing
    from referencing.jsonschema import DRAFT4
except ImportError:  # pragma: no cover - depends on the installed packages
    jsonschema = None

SCHEMA_URI = "urn:magento:rest-schema"
#: The file `make schema` writes: Adobe's admin REST schema for Magento 2.4.8, converted to JSON.
SCHEMA_FILE_NAME = "magento-2.4.8-admin-rest-schema.json"
#: The git-ignored folder of a checkout where `make schema` puts it.
DEFAULT_SCHEMA_PATH = Path(__file__).resolve().parents[1] / "schema" / SCHEMA_FILE_NAME


class SchemaUnavailableError(RuntimeError):
    """Body validation was asked for but cannot run (the schema file or the jsonschema package is missing)."""


def validation_available() -> bool:
    """True when the jsonschema package is installed, so a schema can be used to validate bodies."""
    return jsonschema is not None


def find_schema(environ: Mapping[str, str] | None = None) -> Path | None:
    """The schema to validate against: `MAGENTO_SCHEMA_PATH` when set (even if missing, so a wrong setting
    fails loudly), else the file `make schema` writes when it is there, else None."""
    environ = os.environ if environ is None else environ
    configured = environ.get("MAGENTO_SCHEMA_PATH")
    if configured:
        return Path(configured)
    return DEFAULT_SCHEMA_PATH if DEFAULT_SCHEMA_PATH.is_file() else None


_PLACEHOLDER = re.compile(r"\{[^}]+\}")


def template_key(template: str) -> str:
    """A path template with its placeholder names dropped: `/V1/products/{sku}` -> `/V1/products/{}`."""
    return _PLACEHOLDER.sub("{}", template)


@dataclass
class Finding:
    """One problem with a body: where (a JSON path like `product.custom_attributes[0].value`) and what."""

    where: str
    message: str
    magento_message: str
    parameters: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        """A JSON-ready dict."""
        return {"where": self.where, "message": self.message}


@dataclass
class Report:
    """What validating one body found."""

    errors: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)


def _properties_closed(validator, properties, instance, schema):
    """Draft 4 `properties`, plus an error for every key the schema does not declare."""
    yield from jsonschema.Draft4Validator.VALIDATORS["properties"](validator, properties, instance, schema)
    if not validator.is_type(instance, "object"):
        return
    if "additionalProperties" in schema or "patternProperties" in schema:
        return
    for key in instance:
        if key not in properties:
            yield jsonschema.ValidationError(f"unknown key {key!r}", validator="unknown", validator_value=key)


_ClosedDraft4Validator = (
    jsonschema.validators.extend(jsonschema.Draft4Validator, {"properties": _properties_closed})
    if jsonschema is not None
    else None
)


class BodySchemas:
    """The body schema of every operation of one Swagger document, by (method, template key)."""

    def __init__(self, document: dict):
        if jsonschema is None:
            raise SchemaUnavailableError(
                "validating request bodies needs the jsonschema package (requirements-dev.txt; `make schema` "
                "installs it)"
            )
        self.document = document
        resource = DRAFT4.create_resource(document)
        self.registry = referencing.Registry().with_resource(SCHEMA_URI, resource)
        self._validators: dict[tuple[str, str], Any] = {}
        self._pointers: dict[tuple[str, str], str] = {}
        for template, operations in document.get("paths", {}).items():
            for method, operation in operations.items():
                if not isinstance(operation, dict):
                    continue
                for index, parameter in enumerate(operation.get("parameters", [])):
                    if parameter.get("in") == "body":
                        pointer = "/".join(
                            ["#", "paths", _escape(template), method, "parameters", str(index), "schema"]
                        )
                        self._pointers[(method.upper(), template_key(template))] = pointer

    @classmethod
    def load(cls, path: str | Path) -> BodySchemas:
        """Read the schema document at `path`."""
        with open(path, encoding="utf-8") as handle:
            return cls(json.load(handle))

    def has_body(self, method: str, template: str) -> bool:
        """True when the schema declares a body for this operation."""
        return (method.upper(), template_key(template)) in self._pointers

    def known(self, method: str, template: str) -> bool:
        """True when the schema has this operation at all."""
        wanted = template_key(template)
        for path, operations in self.document.get("paths", {}).items():
            if template_key(path) == wanted and method.lower() in operations:
                return True
        return False

    def validate(self, method: str, template: str, body: Any) -> Report:
        """Check `body` against the operation's body parameter; an empty report when the operation has none."""
        key = (method.upper(), template_key(template))
        pointer = self._pointers.get(key)
        report = Report()
        if pointer is None:
            return report
        validator = self._validators.get(key)
        if validator is None:
            validator = _ClosedDraft4Validator({"$ref": SCHEMA_URI + pointer}, registry=self.registry)
            self._validators[key] = validator
        for error in validator.iter_errors(body):
            finding = _finding(error)
            if error.validator == "required" and len(error.absolute_path) > 0:
                report.warnings.append(finding)
            else:
                report.errors.append(finding)
        report.errors.sort(key=lambda f: f.where)
        return report


def _escape(segment: str) -> str:
    return segment.replace("~", "~0").replace("/", "~1")


def _where(path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(body)"


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in str(name).split("_"))


def _finding(error) -> Finding:
    where = _where(error.absolute_path)
    if error.validator == "required":
        missing = re.findall(r"'([^']+)' is a required property", error.message)
        name = missing[0] if missing else "?"
        return Finding(
            f"{where}.{name}" if error.absolute_path else name,
            f"required key {name!r} is missing",
            '"%fieldName" is required. Enter and try again.',
            {"fieldName": name},
        )
    if error.validator == "unknown":
        key = error.validator_value
        return Finding(
            f"{where}.{key}" if error.absolute_path else key,
            f"unknown key {key!r}",
            '"%fieldName" is not supported. Correct the field name and try again.',
            {"fieldName": _camel(key)},
        )
    if error.validator == "type":
        expected = error.validator_value
        expected = "/".join(expected) if isinstance(expected, list) else expected
        return Finding(
            where,
            f"expected {expected}, got {json.dumps(error.instance)[:80]}",
            'The "%value" value\'s type is invalid. The "%type" type was expected. Verify and try again.',
            {
                "value": (error.instance if isinstance(error.instance, str) else json.dumps(error.instance))[:80],
                "type": expected,
            },
        )
    return Finding(where, error.message, "%message", {"message": error.message})

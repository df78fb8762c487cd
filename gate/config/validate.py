"""Validate a loaded document against one of the JSON Schemas shipped in ``gate/config/schemas``."""

from __future__ import annotations

import copy
import difflib
import json
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import resources
from typing import Any

from gate.config.loader import Document, PathKey, dotted
from gate.errors import ConfigError, ConfigErrors


@cache
def raw_schema(name: str) -> dict[str, Any]:
    """The schema file ``name`` as shipped (see :func:`completed`)."""
    text = resources.files("gate.config.schemas").joinpath(f"{name}.schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def completed(
    name: str,
    enums: Mapping[tuple[str, ...], Iterable[str]] = {},
    names: Mapping[tuple[str, ...], str] = {},
) -> dict[str, Any]:
    """The schema file ``name`` with the enums of backend names filled in from their
    registries (so a name is written once) and gate's one rule for names set on the name
    fields. Each layer completes the schema of the documents it reads."""
    from gate.config.values import NAME_PATTERN, NAME_RULE

    data = copy.deepcopy(raw_schema(name))
    for path, values in enums.items():
        _at(data, path)["enum"] = list(values)
    for path, what in names.items():
        _at(data, path).update(
            type="string",
            pattern=NAME_PATTERN,
            errorMessage=f"{{value}} is not a valid {what} ({NAME_RULE})",
        )
    return data


def _at(data: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    node = data
    for key in path:
        node = node.setdefault(key, {})
    return node


def schema_names() -> list[str]:
    return sorted(
        p.name.removesuffix(".schema.json")
        for p in resources.files("gate.config.schemas").iterdir()
        if p.name.endswith(".schema.json")
    )


def _message(err: Any) -> tuple[PathKey, str]:
    """A short, human message for one jsonschema error, and the path it is about."""
    path: PathKey = tuple(err.absolute_path)
    validator = err.validator
    if validator == "additionalProperties":
        allowed = sorted(err.schema.get("properties", {}))
        extras = sorted(set(err.instance) - set(allowed)) if isinstance(err.instance, dict) else []
        if extras:
            key = extras[0]
            hint = difflib.get_close_matches(key, allowed, n=1, cutoff=0.5)
            tail = (
                f"; did you mean {hint[0]!r}?"
                if hint
                else (f"; expected one of: {', '.join(allowed)}" if allowed else "")
            )
            return (*path, key), f"unknown key {key!r}{tail}"
    if validator == "required":
        missing = err.message.split("'")[1] if "'" in err.message else err.message
        return (*path, missing), "required field is missing"
    if validator == "enum":
        options = ", ".join(str(o) for o in err.validator_value)
        hint = difflib.get_close_matches(
            str(err.instance), [str(o) for o in err.validator_value], n=1
        )
        tail = f"; did you mean {hint[0]!r}?" if hint else ""
        return path, f"{err.instance!r} is not one of: {options}{tail}"
    if validator == "type":
        expected = err.validator_value
        if isinstance(expected, list):
            expected = " or ".join(expected)
        return path, f"expected {expected}, got {_type_name(err.instance)} {_short(err.instance)}"
    if validator in (
        "minLength",
        "maxLength",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minItems",
        "maxItems",
        "pattern",
        "format",
        "oneOf",
        "anyOf",
        "const",
        "uniqueItems",
        "minProperties",
    ):
        custom = err.schema.get("errorMessage")
        if isinstance(custom, str):
            return path, custom.replace("{value}", _short(err.instance))
        if validator == "minItems":
            return path, f"needs at least {err.validator_value} item(s)"
        if validator == "minLength" and err.validator_value == 1:
            return path, "must not be empty"
        return path, err.message
    return path, err.message


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {
        bool: "boolean",
        int: "integer",
        float: "number",
        str: "string",
        list: "list",
        dict: "mapping",
    }.get(type(value), type(value).__name__)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def errors_for(
    doc: Document, schema: dict[str, Any], data: Any = None, base: PathKey = ()
) -> list[ConfigError]:
    """Every violation of ``schema`` in ``doc`` (or in ``data`` found at ``base`` in ``doc``)."""
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(schema)
    instance = doc.data if data is None else data
    found: list[ConfigError] = []
    seen: set[tuple[PathKey, str]] = set()
    for err in validator.iter_errors(instance):
        # for oneOf/anyOf, report the most specific branch's complaint
        best = max(err.context, key=lambda e: len(e.absolute_path)) if err.context else err
        path, message = _message(best)
        path = (*base, *path)
        if (path, message) in seen:
            continue
        seen.add((path, message))
        found.append(
            ConfigError(message, file=doc.file, line=doc.line_of(path), field=dotted(path) or None)
        )
    found.sort(key=lambda e: (e.line or 0, e.field or ""))
    return found


def validate(doc: Document, schema: dict[str, Any], data: Any = None, base: PathKey = ()) -> None:
    """Raise :class:`ConfigErrors` listing every violation, or return when ``doc`` is valid."""
    errs = errors_for(doc, schema, data, base)
    if errs:
        raise ConfigErrors(errs)

"""Turn JSON-Schema validation errors into Django REST Framework field errors.

Rescale clients (NF's parseError, the seeds) read errors as DRF writes them: a dict from field name to a list of
messages, nested for nested serializers, and a list with one dict per item for list fields such as `jobanalyses`.
"""
from __future__ import annotations

import itertools
from typing import Any, Iterable

from jsonschema.exceptions import ValidationError

from .schemas import json_types

MAX_ERRORS = 100  # errors reported for one request; a body with more gets the first ones
MAX_SHOWN = 80  # characters of a refused value quoted in a message

_TYPE_MESSAGES = {
    "integer": "A valid integer is required.",
    "number": "A valid number is required.",
    "string": "Not a valid string.",
    "boolean": "Must be a valid boolean.",
    "array": 'Expected a list of items but got type "{got}".',
    "object": "Invalid data. Expected a dictionary, but got {got}.",
}


def _json_type(value: Any) -> str:
    return {dict: "dict", list: "list", str: "str", bool: "bool", int: "int", float: "float"}.get(
        type(value), type(value).__name__
    )


def message(error: ValidationError) -> str:
    """The DRF wording for one failed keyword."""
    kind, value, instance = error.validator, error.validator_value, error.instance
    if instance is None and kind in ("type", "anyOf", "oneOf"):
        return "This field may not be null."
    if kind in ("anyOf", "oneOf"):
        # The branch of the instance's own type said why (`0` for a count of at least 1): say that, as DRF would.
        reasons = [e for e in error.context or ()
                   if not e.path and e.validator not in ("type", "pattern", "enum", "required")]
        if reasons:
            return message(reasons[0])
    if kind in ("type", "anyOf", "oneOf"):
        allowed = json_types(error.schema) if kind != "type" else ([value] if isinstance(value, str) else value)
        for preferred in ("boolean", "integer", "number", "object", "array", "string"):
            if preferred in allowed:
                return _TYPE_MESSAGES[preferred].format(got=_json_type(instance))
        return "Invalid value."
    if kind == "enum" or kind == "const":
        return f'"{_shown(instance)}" is not a valid choice.'
    if kind == "maxLength":
        return f"Ensure this field has no more than {value} characters."
    if kind == "minLength":
        return "This field may not be blank." if value == 1 else f"Ensure this field has at least {value} characters."
    if kind == "minimum":
        return f"Ensure this value is greater than or equal to {value}."
    if kind == "maximum":
        return f"Ensure this value is less than or equal to {value}."
    if kind == "minItems":
        return "This list may not be empty." if value == 1 else f"Ensure this field has at least {value} elements."
    if kind == "maxItems":
        return f"Ensure this field has no more than {value} elements."
    if kind == "exclusiveMinimum":
        return f"Ensure this value is greater than {value}."
    if kind == "maxProperties":
        return f"Ensure this field has no more than {value} keys."
    if kind == "pattern":
        return "This value does not match the required pattern."
    return _shown(error.message, 200)


def _shown(value: Any, size: int = MAX_SHOWN) -> str:
    text = str(value)
    return text if len(text) <= size else text[:size] + "..."


def first_errors(errors: Iterable[ValidationError]) -> list[ValidationError]:
    """At most MAX_ERRORS errors; validation stops there (jsonschema finds them lazily)."""
    return list(itertools.islice(errors, MAX_ERRORS))


def _insert(tree: dict[str, Any], path: list[Any], text: str, instance: Any) -> None:
    """Put `text` at `path` in a DRF error tree; list positions become lists of dicts padded with {}."""
    node: Any = tree
    for depth, key in enumerate(path[:-1]):
        nxt = path[depth + 1]
        instance = instance[key] if isinstance(instance, (dict, list)) else None
        if isinstance(nxt, int):
            size = len(instance) if isinstance(instance, list) else nxt + 1
            current = node.get(key) if isinstance(node, dict) else node[key]
            if isinstance(current, list) and (len(current) <= nxt or not all(isinstance(x, dict) for x in current)):
                return  # the list itself is refused (e.g. too many items): DRF reports that alone
            if not isinstance(current, list):
                current = [{} for _ in range(size)]
                node[key] = current
            elif len(current) < size:  # the list's own error (say maxItems) came first: pad to the item
                current.extend({} for _ in range(size - len(current)))
            node = current
        else:
            if isinstance(node, list):
                node = node[key]
            else:
                node = node.setdefault(key, {})
    last = path[-1]
    if isinstance(node, list):
        node[last] = node[last] if isinstance(node[last], dict) else {}
        node[last].setdefault("non_field_errors", []).append(text)
    else:
        existing = node.setdefault(last, [])
        if isinstance(existing, list) and existing and all(isinstance(x, dict) for x in existing):
            node[last] = [text]  # a message about the list replaces its items' errors
        elif isinstance(existing, list) and text not in existing:
            existing.append(text)


def field_errors(errors: Iterable[ValidationError], instance: Any, root: str | None = None) -> dict[str, Any]:
    """All errors of one validation as a single DRF field-error dict.

    `root` names the field a bare value belongs to (a query parameter); bodies use their own paths.
    """
    tree: dict[str, Any] = {}
    for error in errors:
        path = list(error.absolute_path)
        if error.validator == "required":
            present = error.instance if isinstance(error.instance, dict) else {}
            for missing in (k for k in error.validator_value if k not in present):
                _insert(tree, ([root] if root else []) + path + [missing], "This field is required.", instance)
            continue
        full = ([root] if root else []) + path
        if not full:
            full = ["non_field_errors"]
        _insert(tree, full, message(error), instance)
    return tree


def errors_at(paths: Iterable[list[Any]], text: str, instance: Any) -> dict[str, Any]:
    """One message at each path, as a DRF field-error dict."""
    tree: dict[str, Any] = {}
    for path in paths:
        _insert(tree, path or ["non_field_errors"], text, instance)
    return tree

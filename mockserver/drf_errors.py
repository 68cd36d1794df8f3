"""Turn JSON-Schema validation errors into Django REST Framework field errors.

Rescale clients (NF's parseError, the seeds) read errors as DRF writes them: a dict from field name to a list of
messages, nested for nested serializers, and a list with one dict per item for list fields such as `jobanalyses`.
"""
from __future__ import annotations

from typing import Any, Iterable

from jsonschema.exceptions import ValidationError

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


def _allowed_types(schema: Any) -> list[str]:
    if not isinstance(schema, dict):
        return []
    kind = schema.get("type")
    kinds = [kind] if isinstance(kind, str) else list(kind or [])
    for alternative in schema.get("anyOf", []) + schema.get("oneOf", []):
        kinds += _allowed_types(alternative)
    return kinds


def message(error: ValidationError) -> str:
    """The DRF wording for one failed keyword."""
    kind, value, instance = error.validator, error.validator_value, error.instance
    if instance is None and kind in ("type", "anyOf", "oneOf"):
        return "This field may not be null."
    if kind in ("type", "anyOf", "oneOf"):
        allowed = _allowed_types(error.schema) if kind != "type" else ([value] if isinstance(value, str) else value)
        for preferred in ("boolean", "integer", "number", "object", "array", "string"):
            if preferred in allowed:
                return _TYPE_MESSAGES[preferred].format(got=_json_type(instance))
        return "Invalid value."
    if kind == "enum" or kind == "const":
        return f'"{instance}" is not a valid choice.'
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
    if kind == "pattern":
        return "This value does not match the required pattern."
    return error.message


def _insert(tree: dict[str, Any], path: list[Any], text: str, instance: Any) -> None:
    """Put `text` at `path` in a DRF error tree; list positions become lists of dicts padded with {}."""
    node: Any = tree
    for depth, key in enumerate(path[:-1]):
        nxt = path[depth + 1]
        instance = instance[key] if isinstance(instance, (dict, list)) else None
        if isinstance(nxt, int):
            size = len(instance) if isinstance(instance, list) else nxt + 1
            current = node.get(key) if isinstance(node, dict) else node[key]
            if not isinstance(current, list):
                current = [{} for _ in range(size)]
                node[key] = current
            if any(isinstance(item, str) for item in current):
                return  # the list as a whole is already in error (e.g. too long): DRF reports only that
            current.extend({} for _ in range(nxt + 1 - len(current)))
            node = current
        else:
            if isinstance(node, list):
                node = node[key]
            else:
                node = node.setdefault(key, {})
    last = path[-1]
    if isinstance(node, list):
        node.extend({} for _ in range(last + 1 - len(node)))
        node[last] = node[last] if isinstance(node[last], dict) else {}
        node[last].setdefault("non_field_errors", []).append(text)
    else:
        existing = node.setdefault(last, [])
        if isinstance(existing, list) and any(isinstance(item, dict) for item in existing):
            node[last] = [text]  # an error of the whole list replaces its items' errors
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

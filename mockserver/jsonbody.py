"""Reading a JSON request body so that no body can hurt the server: its size, its nesting and its numbers are
bounded before anything else looks at it, and text that cannot be stored (lone UTF-16 surrogates) is found.

Python's `json` accepts `NaN`, `Infinity` and `1e999` (which SQLite's JSON and every strict client refuse), nests
until the interpreter's recursion limit, and reads `\\ud800` into a string that cannot be encoded as UTF-8; each of
these once turned into a 500 after the value had been stored.
"""
from __future__ import annotations

import json
import math
import re
from typing import Any, Iterator

MAX_DEPTH = 100  # arrays and objects inside each other; Rescale's bodies need fewer than ten
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")  # the only way a lone surrogate gets into parsed JSON
BAD_TEXT = "Not a valid string: it holds a lone UTF-16 surrogate, which is not Unicode text."


class BodyError(ValueError):
    """The body is not acceptable JSON; the message says why (answered as a 400 `detail`)."""


def _refuse_constant(name: str) -> Any:
    raise BodyError(f"{name} is not valid JSON (only finite numbers are)")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise BodyError(f"the number {text[:40]} is out of range")
    return value


_DECODER = json.JSONDecoder(parse_constant=_refuse_constant, parse_float=_finite)


def parse(raw: bytes) -> Any:
    """The JSON value of `raw`, or BodyError. An empty body is `null`."""
    if not raw.strip():
        return None
    try:
        instance = _DECODER.decode(raw.decode("utf-8-sig"))
    except BodyError:
        raise
    except RecursionError:  # the parser recurses once per level, up to the interpreter's limit
        raise BodyError(f"nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as err:  # malformed JSON, bad UTF-8, an integer of more than 4300 digits
        raise BodyError(str(err)) from None
    if raw.count(b"[") + raw.count(b"{") > MAX_DEPTH and _depth(instance) > MAX_DEPTH:  # fewer cannot nest deeper
        raise BodyError(f"nested deeper than {MAX_DEPTH} levels")
    return instance


def _depth(instance: Any) -> int:
    """How deep arrays and objects nest, level by level without recursion (so no depth can make it fail)."""
    depth, level = 0, [instance]
    while level and depth <= MAX_DEPTH:
        depth += 1
        deeper: list[Any] = []
        for value in level:
            children = value.values() if type(value) is dict else value if type(value) is list else ()
            deeper += [child for child in children if type(child) in _CONTAINERS]
        level = deeper
    return depth


_CONTAINERS = (dict, list)


def bad_text_paths(raw: bytes, instance: Any, limit: int) -> list[list[Any]]:
    """Paths (as jsonschema gives them) of strings and keys holding lone surrogates, at most `limit` of them.
    Costs nothing unless the raw body has a `\\uD800`-`\\uDFFF` escape (a valid pair, e.g. an emoji, also has)."""
    if not _SURROGATE_ESCAPE.search(raw):
        return []
    found: list[list[Any]] = []
    for path in _bad_strings(instance, []):
        found.append(path)
        if len(found) >= limit:
            break
    return found


def _bad_strings(value: Any, path: list[Any]) -> Iterator[list[Any]]:
    if isinstance(value, str):
        if not is_text(value):
            yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _bad_strings(item, [*path, key if is_text(key) else "non_field_errors"])
            if not is_text(key):
                yield [*path, "non_field_errors"]
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _bad_strings(item, [*path, index])


def is_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True

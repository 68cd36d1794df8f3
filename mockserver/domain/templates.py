"""DOE templates: the FreeMarker subset real Rescale templates use, parsed once at job creation.

Supported placeholders (each run's variables substituted):
- `${name}`: the value as written in the parameter file;
- `${name?c}`: a number in "computer" form (`1.50` -> `1.5`, `1e3` -> `1000`);
- `${name?string("0.00")}` (or single quotes): a number through a Java DecimalFormat pattern made of `0`, `#`,
  `,` (grouping) and at most one `.`, rounded half-even as Java does (`#.##` drops trailing zeros, `0.000`
  keeps them).
Anything else FreeMarker would interpret (another `${...}`, `#{...}`, directives `<#...>`/`[#...]`, macros
`<@...>`) is refused when the job is created, rather than rendered differently from Rescale.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation, localcontext

SUPPORTED = '${name}, ${name?c} and ${name?string("0.00")} (a DecimalFormat pattern of 0, #, "," and one ".")'
_INTERPOLATION = re.compile(r"\$\{(.*?)\}", re.S)
_OTHER_SYNTAX = re.compile(r"#\{|</?#|\[/?#|</?@|\[/?@")
_EXPRESSION = re.compile(
    r"""\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\?\s*(?:(c)|string\s*\(\s*(?:"([^"]*)"|'([^']*)')\s*\)))?\s*""")
_PATTERN = re.compile(r"[#,0]*(?:\.[0#]*)?")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
MAX_DIGITS = 400  # a number cell longer than this is text: Decimal arithmetic on it would be unbounded


class TemplateError(ValueError):
    pass


@dataclass(frozen=True)
class Placeholder:
    name: str
    kind: str  # "raw" | "c" | "pattern"
    pattern: str = ""


@dataclass(frozen=True)
class Template:
    parts: tuple[str | Placeholder, ...]

    @property
    def names(self) -> set[str]:
        return {p.name for p in self.parts if isinstance(p, Placeholder)}

    def numeric_names(self) -> set[str]:
        """Variables this template formats as numbers: their values must be numbers."""
        return {p.name for p in self.parts if isinstance(p, Placeholder) and p.kind != "raw"}

    def render(self, values: dict[str, str]) -> str:
        return "".join(part if isinstance(part, str) else _fill(part, values) for part in self.parts)

    def size(self, values: dict[str, str]) -> int:
        """Bytes (UTF-8) of `render(values)`, without building the whole text."""
        return self._literal_bytes + sum(len(_fill(p, values).encode()) for p in self.parts if isinstance(p, Placeholder))

    @functools.cached_property
    def _literal_bytes(self) -> int:
        return sum(len(part.encode()) for part in self.parts if isinstance(part, str))


def _fill(part: Placeholder, values: dict[str, str]) -> str:
    if part.kind == "raw":
        return values[part.name]
    if part.kind == "c":
        return computer_format(values[part.name])
    return decimal_format(values[part.name], part.pattern)


def parse(text: str) -> Template:
    """The template's parts; TemplateError (with the line) for anything outside the supported subset."""
    parts: list[str | Placeholder] = []
    position = 0
    for match in _INTERPOLATION.finditer(text):
        literal = text[position:match.start()]
        _refuse_other_syntax(literal, text, position)
        parts.append(literal)
        parts.append(_placeholder(match, text))
        position = match.end()
    tail = text[position:]
    if "${" in tail:
        raise TemplateError(f"line {_line(text, position + tail.index('${'))}: unclosed ${{")
    _refuse_other_syntax(tail, text, position)
    parts.append(tail)
    return Template(tuple(p for p in parts if p != ""))


def _placeholder(match: re.Match[str], text: str) -> Placeholder:
    expression = _EXPRESSION.fullmatch(match[1])
    if expression is None:
        raise TemplateError(f"line {_line(text, match.start())}: {match[0][:80]} is not supported; "
                            f"supported: {SUPPORTED}")
    name, computer, double, single = expression.groups()
    pattern = double if double is not None else single
    if pattern is None:
        return Placeholder(name, "c" if computer else "raw")
    if not pattern or not _PATTERN.fullmatch(pattern) or not any(c in pattern for c in "0#"):
        raise TemplateError(f'line {_line(text, match.start())}: the number format "{pattern[:40]}" is not '
                            f"supported; supported: {SUPPORTED}")
    return Placeholder(name, "pattern", pattern)


def _refuse_other_syntax(literal: str, text: str, offset: int) -> None:
    found = _OTHER_SYNTAX.search(literal)
    if found:
        raise TemplateError(f"line {_line(text, offset + found.start())}: FreeMarker syntax "
                            f"'{literal[found.start():found.start() + 20].splitlines()[0]}' is not supported; "
                            f"supported: {SUPPORTED}")


def _line(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


def as_number(text: str) -> Decimal | None:
    """The cell as a finite decimal number, or None when it is not one."""
    stripped = text.strip()
    if len(stripped) > MAX_DIGITS or not _NUMBER.fullmatch(stripped):
        return None
    try:
        value = Decimal(stripped)
    except InvalidOperation:
        return None
    return value if value.is_finite() and abs(value.adjusted()) <= MAX_DIGITS else None


def computer_format(text: str) -> str:
    value = as_number(text)
    assert value is not None  # checked at creation
    plain = format(value.normalize(), "f")
    return "0" if plain in ("-0", "0") else plain


def decimal_format(text: str, pattern: str) -> str:
    """Java's DecimalFormat for patterns of 0, #, `,` and one `.` (HALF_EVEN rounding)."""
    value = as_number(text)
    assert value is not None  # checked at creation
    integer_pattern, _, fraction_pattern = pattern.partition(".")
    min_integer = integer_pattern.count("0")
    min_fraction, max_fraction = fraction_pattern.count("0"), len(fraction_pattern)
    group = len(integer_pattern) - integer_pattern.rfind(",") - 1 if "," in integer_pattern else 0
    with localcontext() as context:  # enough digits for any number a cell may hold, at the pattern's precision
        context.prec = 2 * MAX_DIGITS + max_fraction + 10
        rounded = value.quantize(Decimal(1).scaleb(-max_fraction), rounding=ROUND_HALF_EVEN)
    digits = format(rounded.copy_abs(), "f")
    integer, _, fraction = digits.partition(".")
    fraction = fraction[:max_fraction]
    while len(fraction) > min_fraction and fraction.endswith("0"):
        fraction = fraction[:-1]
    integer = integer.lstrip("0").rjust(min_integer, "0")
    if group > 0 and len(integer) > group:
        head = len(integer) % group or group
        integer = ",".join([integer[:head]] + [integer[i:i + group] for i in range(head, len(integer), group)])
    if not integer and not fraction:
        integer = "0"
    sign = "-" if value < 0 else ""  # Java keeps the sign of a negative number rounded to zero: "-0.00"
    return sign + integer + ("." + fraction if fraction else "")

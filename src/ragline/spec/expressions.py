"""`${{ }}` expressions: data paths only, never code.

`${{ inputs.top_k }}`, `${{ steps.retrieve.output }}`, `${{ steps.generate.output.text }}`,
`${{ steps.retrieve.output[0].text }}`, `${{ env.HOME }}`. A string that is exactly one
expression takes the referenced value with its type; an expression inside a
longer string is interpolated as text. Nothing is ever evaluated.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}")
_WHOLE = re.compile(r"^\s*\$\{\{(.*?)\}\}\s*$")
_SEGMENT = re.compile(r"\.([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]")
_HEAD = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)")

Part = str | int


class ExpressionError(ValueError):
    """An expression that is not a data path; the message says what is allowed."""


@dataclass(frozen=True)
class Reference:
    """A parsed data path.

    `steps.embed.output[0].vector` -> kind=steps, name=embed, path=(0, 'vector').
    """

    kind: str  # "inputs" | "steps" | "env"
    name: str
    path: tuple[Part, ...]
    text: str

    def __str__(self) -> str:
        return self.text


def parse(text: str) -> Reference:
    """Parse the inside of `${{ }}`."""
    source = text.strip()
    head = _HEAD.match(source)
    if not head:
        raise ExpressionError(
            f"'{source}' is not a data path; write e.g. 'inputs.question' or 'steps.ID.output'"
        )
    parts: list[Part] = [head.group(1)]
    pos = head.end()
    rest = source[pos:]
    while rest:
        m = _SEGMENT.match(rest)
        if not m:
            raise ExpressionError(
                f"'{source}' is not a data path (at '{rest}'): expressions are dotted names "
                "and [n] indexes only; no code is evaluated"
            )
        parts.append(m.group(1) if m.group(1) is not None else int(m.group(2)))
        rest = rest[m.end() :]
    kind = parts[0]
    if kind == "inputs":
        if len(parts) < 2 or not isinstance(parts[1], str):
            raise ExpressionError(f"'{source}' names no input; write 'inputs.NAME'")
        return Reference("inputs", parts[1], tuple(parts[2:]), source)
    if kind == "steps":
        if len(parts) < 3 or not isinstance(parts[1], str) or parts[2] != "output":
            raise ExpressionError(
                f"'{source}' must read 'steps.ID.output' (optionally followed by .field)"
            )
        return Reference("steps", parts[1], tuple(parts[3:]), source)
    if kind == "env":
        if len(parts) != 2 or not isinstance(parts[1], str):
            raise ExpressionError(f"'{source}' must read 'env.NAME'")
        return Reference("env", parts[1], (), source)
    raise ExpressionError(
        f"'{kind}' is not something an expression can read; "
        "use 'inputs.', 'steps.ID.output' or 'env.'"
    )


def references_in(text: str) -> Iterator[tuple[int, Reference | ExpressionError]]:
    """Every expression in a string with its character offset (parse errors included)."""
    for m in EXPRESSION.finditer(text):
        try:
            yield m.start(), parse(m.group(1))
        except ExpressionError as err:
            yield m.start(), err


def walk_strings(value: Any, path: tuple[Part, ...] = ()) -> Iterator[tuple[tuple[Part, ...], str]]:
    """Every string inside nested lists and mappings, with its path."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for k, v in value.items():
            yield from walk_strings(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from walk_strings(v, (*path, i))


def is_expression(value: Any) -> bool:
    return isinstance(value, str) and bool(_WHOLE.match(value))


class MissingValue(LookupError):
    pass


def follow(value: Any, path: tuple[Part, ...], where: str) -> Any:
    """Walk a data path through mappings, sequences and attribute-bearing objects."""
    current = value
    for part in path:
        if isinstance(part, int):
            if not isinstance(current, (list, tuple)) or part >= len(current):
                size = len(current) if isinstance(current, (list, tuple)) else "no"
                raise MissingValue(f"{where}: index [{part}] is out of range ({size} items)")
            current = current[part]
        elif isinstance(current, Mapping):
            if part not in current:
                raise MissingValue(
                    f"{where}: no field '{part}' (has: {', '.join(map(str, current))})"
                )
            current = current[part]
        elif hasattr(current, part):
            current = getattr(current, part)
        else:
            raise MissingValue(f"{where}: no field '{part}' on {type(current).__name__}")
    return current


def resolve(value: Any, scope: Mapping[str, Any]) -> Any:
    """Replace expressions in a nested value. `scope` maps 'inputs', 'steps', 'env' to data.

    `scope['steps']` maps step ids to their outputs.
    """
    if isinstance(value, str):
        whole = _WHOLE.match(value)
        if whole:
            return _lookup(parse(whole.group(1)), scope)
        if "${{" not in value:
            return value
        return EXPRESSION.sub(lambda m: _as_text(_lookup(parse(m.group(1)), scope)), value)
    if isinstance(value, Mapping):
        return {k: resolve(v, scope) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, scope) for v in value]
    return value


def _lookup(ref: Reference, scope: Mapping[str, Any]) -> Any:
    table = scope.get(ref.kind, {})
    if ref.name not in table:
        raise MissingValue(f"'{ref.text}': '{ref.name}' is not set")
    return follow(table[ref.name], ref.path, f"'{ref.text}'")


def _as_text(value: Any) -> str:
    if hasattr(value, "text") and isinstance(value.text, str):
        return value.text
    return str(value)

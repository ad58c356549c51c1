"""`${{ }}` expressions: data paths only, never code.

`${{ inputs.top_k }}`, `${{ steps.retrieve.output }}`, `${{ steps.generate.output.text }}`,
`${{ steps.retrieve.output[0].text }}`, `${{ env.HOME }}`. A string that is exactly one
expression takes the referenced value with its type; an expression inside a
longer string is interpolated as text. Nothing is ever evaluated.

A path reads mapping keys, list indexes and the declared fields of pydantic
models, nothing else: no name starts with `_`, and no Python attribute,
method or module is ever looked up (docs/security.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

# Raised here; defined with the other errors so classifying one needs no spec import.
from ragline.errors import MissingValue as MissingValue

EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}")
_WHOLE = re.compile(r"^\s*\$\{\{(.*?)\}\}\s*$")
_SEGMENT = re.compile(r"\.([A-Za-z][A-Za-z0-9_-]*)|\[(\d+)\]")
_HEAD = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_]*)")
_PRIVATE = re.compile(r"(?:^|\.)\s*(_[A-Za-z0-9_]*)")

Part = str | int


# Names of environment variables that hold secrets by convention: OPENAI_API_KEY,
# GITHUB_TOKEN, DB_PASSWORD, AWS_SECRET_ACCESS_KEY, PREFECT_API_AUTH_STRING, ...
_SECRET_NAME = re.compile(
    r"(?:^|_)(?:API_?KEYS?|KEYS?|TOKENS?|SECRETS?|PASSWORDS?|PASSWD|PASS|PASSPHRASE|"
    r"CREDENTIALS?|CREDS|AUTH|PRIVATE|COOKIES?|SESSION|SIGNATURE|DSN)(?:_|$)",
    re.IGNORECASE,
)
TEMPLATE_VARIABLE = "ragline_ref_{}"


def looks_secret(name: str) -> bool:
    """Whether an environment variable's name says it holds a secret (KEY, TOKEN, PASSWORD...)."""
    return bool(_SECRET_NAME.search(name))


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
    private = _PRIVATE.search(source)
    if private:
        raise ExpressionError(
            f"'{source}' reads '{private.group(1)}': expressions read data (mapping keys, "
            "list indexes, declared fields), never Python attributes; no name may start with '_'"
        )
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
    """Every expression in a string with its character offset (parse errors included).

    A `${{` never closed is an error too: left alone it would pass through as text.
    """
    end = 0
    for m in EXPRESSION.finditer(text):
        end = m.end()
        try:
            yield m.start(), parse(m.group(1))
        except ExpressionError as err:
            yield m.start(), err
    opened = text.find("${{", end)
    if opened >= 0:
        shown = text[opened : opened + 40]
        yield (
            opened,
            ExpressionError(
                f"'{shown}' opens an expression that is never closed; end it with '}}}}'"
            ),
        )


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


def _declared_fields(model: BaseModel) -> dict[str, str]:
    """A model's readable fields: public name (alias or name) -> attribute name."""
    fields = type(model).model_fields
    return {(info.alias or name): name for name, info in fields.items()}


def follow(value: Any, path: tuple[Part, ...], where: str) -> Any:
    """Walk a data path: mapping keys, list indexes and declared fields of pydantic models.

    Never `getattr` on anything else: a path cannot reach a method, a class or a module.
    """
    current = value
    for part in path:
        if isinstance(part, int):
            if not isinstance(current, (list, tuple)) or part >= len(current):
                size = len(current) if isinstance(current, (list, tuple)) else "no"
                raise MissingValue(f"{where}: index [{part}] is out of range ({size} items)")
            current = current[part]
        elif part.startswith("_"):
            raise MissingValue(f"{where}: '{part}' is not a data field")
        elif isinstance(current, Mapping):
            if part not in current:
                raise MissingValue(
                    f"{where}: no field '{part}' (has: {', '.join(map(str, current))})"
                )
            current = current[part]
        elif isinstance(current, BaseModel):
            fields = _declared_fields(current)
            if part not in fields:
                raise MissingValue(
                    f"{where}: {type(current).__name__} has no field '{part}' "
                    f"(fields: {', '.join(fields)})"
                )
            current = getattr(current, fields[part])
        else:
            raise MissingValue(
                f"{where}: no field '{part}' on a {type(current).__name__} "
                "(expressions read mapping keys, list indexes and declared fields only)"
            )
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


def bind_as_variables(value: Any, scope: Mapping[str, Any] | None, bound: dict[str, Any]) -> Any:
    """Template source with each `${{ }}` replaced by a template variable bound in `bound`.

    A run parameter or an upstream output is data: it reaches Jinja as the value of
    a variable (`{{ ragline_ref_0 }}`), never as template source, so `{{ 7*7 }}` in a
    parameter renders as that text. With `scope=None` (validation) the variables are
    named but bound to None.
    """
    if isinstance(value, str):
        if "${{" not in value:
            return value

        def variable(m: re.Match[str]) -> str:
            name = TEMPLATE_VARIABLE.format(len(bound))
            bound[name] = None if scope is None else _as_text(_lookup(parse(m.group(1)), scope))
            return "{{ " + name + " }}"

        return EXPRESSION.sub(variable, value)
    if isinstance(value, Mapping):
        return {k: bind_as_variables(v, scope, bound) for k, v in value.items()}
    if isinstance(value, list):
        return [bind_as_variables(v, scope, bound) for v in value]
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

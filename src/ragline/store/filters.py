"""`where:` mappings turned into LanceDB SQL, with every user value quoted.

A workflow says `where: {format: md, source: {in: [a.md, b.md]}}`; it never
writes SQL, so a value can never change the meaning of the filter.

Keys of a chunk's free-form metadata are filtered as `metadata.<key>` (equality
or `in` only). The metadata column holds canonical JSON (sorted keys, `json.dumps`
separators), so `"key": <value>` followed by `,` or `}` is a substring test the
table evaluates before ranking; `metadata_matches` then re-checks the parsed
metadata so a same-named key nested deeper can never leak through.
"""

from __future__ import annotations

import json
from typing import Any

from ragline.errors import ConfigError

FILTERABLE = ("id", "document_id", "source", "title", "format", "chunk_index", "headings")
METADATA_PREFIX = "metadata."
OPERATORS = {
    "in": "IN",
    "not_in": "NOT IN",
    "eq": "=",
    "ne": "!=",
    "lt": "<",
    "lte": "<=",
    "gt": ">",
    "gte": ">=",
}
METADATA_OPERATORS = ("eq", "in")


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _literal(value: Any, field: str) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return _quote(value)
    raise ConfigError(
        f"where.{field}: {value!r} is not a string or number; "
        "filter values are strings, numbers or lists of them"
    )


def _condition(field: str, op: str, value: Any) -> str:
    sql_op = OPERATORS.get(op)
    if sql_op is None:
        known = ", ".join(OPERATORS)
        raise ConfigError(f"where.{field}: unknown operator '{op}' (operators: {known})")
    if sql_op in ("IN", "NOT IN"):
        if not isinstance(value, list) or not value:
            raise ConfigError(f"where.{field}.{op}: expected a non-empty list of values")
        return f"{field} {sql_op} ({', '.join(_literal(v, field) for v in value)})"
    return f"{field} {sql_op} {_literal(value, field)}"


def _metadata_values(field: str, spec: Any) -> list[Any]:
    """The accepted values of one `metadata.<key>` filter (equality or `in`)."""
    if isinstance(spec, dict):
        unknown = [op for op in spec if op not in METADATA_OPERATORS]
        if unknown or len(spec) != 1:
            raise ConfigError(
                f"where.{field}: metadata keys support only equality, a list or "
                f"{{in: [...]}} (got {', '.join(map(str, spec)) or 'nothing'})"
            )
        spec = spec.get("in", spec.get("eq"))
    values = spec if isinstance(spec, list) else [spec]
    if not values:
        raise ConfigError(f"where.{field}: expected a non-empty list of values")
    for value in values:
        _literal(value, field)  # same value types as the columns
    return list(values)


def _metadata_condition(field: str, spec: Any) -> str:
    key = json.dumps(field[len(METADATA_PREFIX) :])
    fragments = [
        f"{key}: {json.dumps(value)}{end}"
        for value in _metadata_values(field, spec)
        for end in (",", "}")
    ]
    return "(" + " OR ".join(f"strpos(metadata, {_quote(f)}) > 0" for f in fragments) + ")"


def where_sql(where: dict[str, Any] | None) -> str | None:
    """`{field: value}` / `{field: {op: value}}` joined with AND; None when empty."""
    if not where:
        return None
    parts: list[str] = []
    for field, spec in where.items():
        if field.startswith(METADATA_PREFIX) and len(field) > len(METADATA_PREFIX):
            parts.append(_metadata_condition(field, spec))
            continue
        if field not in FILTERABLE:
            raise ConfigError(
                f"where: cannot filter on '{field}'; filterable fields: {', '.join(FILTERABLE)}"
                ", or metadata.<key> for a key of the chunk metadata"
            )
        if isinstance(spec, dict):
            parts.extend(_condition(field, op, value) for op, value in spec.items())
        elif isinstance(spec, list):
            parts.append(_condition(field, "in", spec))
        else:
            parts.append(_condition(field, "eq", spec))
    return " AND ".join(parts)


def metadata_matches(where: dict[str, Any] | None, metadata: dict[str, Any]) -> bool:
    """Whether a row's parsed metadata satisfies every `metadata.<key>` filter exactly."""
    for field, spec in (where or {}).items():
        if field.startswith(METADATA_PREFIX):
            key = field[len(METADATA_PREFIX) :]
            if key not in metadata or metadata[key] not in _metadata_values(field, spec):
                return False
    return True

"""`where:` mappings turned into LanceDB SQL, with every user value quoted.

A workflow says `where: {format: md, source: {in: [a.md, b.md]}}`; it never
writes SQL, so a value can never change the meaning of the filter.
"""

from __future__ import annotations

from typing import Any

from ragline.errors import ConfigError

FILTERABLE = ("id", "document_id", "source", "title", "format", "chunk_index", "headings")
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


def _literal(value: Any, field: str) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
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


def where_sql(where: dict[str, Any] | None) -> str | None:
    """`{field: value}` / `{field: {op: value}}` joined with AND; None when empty."""
    if not where:
        return None
    parts: list[str] = []
    for field, spec in where.items():
        if field not in FILTERABLE:
            raise ConfigError(
                f"where: cannot filter on '{field}'; filterable fields: {', '.join(FILTERABLE)}"
            )
        if isinstance(spec, dict):
            parts.extend(_condition(field, op, value) for op, value in spec.items())
        elif isinstance(spec, list):
            parts.append(_condition(field, "in", spec))
        else:
            parts.append(_condition(field, "eq", spec))
    return " AND ".join(parts)

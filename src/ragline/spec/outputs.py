"""Check `steps.ID.output.field` paths against a step type's declared output type.

Like Haystack's typed sockets: a reference to a field the upstream step does
not produce is caught before anything runs, with the fields that do exist.
"""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel

from ragline.spec.diagnostics import did_you_mean

Part = str | int


def _fields(tp: type[BaseModel]) -> dict[str, Any]:
    hints = typing.get_type_hints(tp)
    out: dict[str, Any] = {}
    for name, info in tp.model_fields.items():
        out[info.alias or name] = hints.get(name, Any)
    return out


def type_name(tp: Any) -> str:
    """A type as a user reads it: `str | None`, `list[Chunk]`, `'fail' | 'warn'`."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Annotated:
        return type_name(args[0])
    if origin in (typing.Union, types.UnionType):
        return " | ".join(type_name(a) for a in args)
    if origin is typing.Literal:
        return " | ".join(repr(a) for a in args)
    if tp is type(None):
        return "None"
    if tp is Any:
        return "Any"
    if origin is None:
        return getattr(tp, "__name__", str(tp))
    inner = ", ".join(type_name(a) for a in args)
    name = getattr(origin, "__name__", str(origin))
    return f"{name}[{inner}]" if inner else name


def check_path(tp: Any, path: tuple[Part, ...]) -> str | None:
    """None when the path exists on the type, else why not (with what does exist)."""
    current = tp
    walked = "output"
    for part in path:
        current = _unwrap(current)
        if current is Any or current is object:
            return None
        origin = typing.get_origin(current)
        if origin in (typing.Union, types.UnionType):
            options = [a for a in typing.get_args(current) if a is not type(None)]
            problems = [check_path(a, (part, *path[path.index(part) + 1 :])) for a in options]
            return None if any(p is None for p in problems) else problems[0]
        if origin in (list, tuple, typing.Sequence) or current in (list, tuple):
            if isinstance(part, int):
                args = typing.get_args(current)
                current = args[0] if args else Any
                walked += f"[{part}]"
                continue
            return f"{walked} is a list ({type_name(current)}); index it like '{walked}[0].{part}'"
        if origin is dict or current is dict:
            args = typing.get_args(current)
            current = args[1] if len(args) == 2 else Any
            walked += f".{part}"
            continue
        if isinstance(current, type) and issubclass(current, BaseModel):
            fields = _fields(current)
            if isinstance(part, int) or part not in fields:
                return (
                    f"{walked} ({current.__name__}) has no field '{part}'"
                    f"{did_you_mean(str(part), fields)} (fields: {', '.join(fields)})"
                )
            current = fields[part]
            walked += f".{part}"
            continue
        if current in (str, int, float, bool, type(None)):
            return f"{walked} is a {current.__name__}; it has no field '{part}'"
        return None
    return None


def _unwrap(tp: Any) -> Any:
    if typing.get_origin(tp) is typing.Annotated:
        return typing.get_args(tp)[0]
    return tp

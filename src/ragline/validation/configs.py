"""What `ragline validate` reads from a step's config model beyond its JSON Schema.

Two things the schema cannot say: which fields name an entry of `models:` or
`stores:` (also when the field is optional or sits in a nested model, like
`evaluate`'s `judge.model`), and the model's own rules (cross-field checks,
field validators), which need values where a workflow often has a `${{ }}`
reference that only resolves at run time.
"""

from __future__ import annotations

import copy
import types
import typing
from functools import cache
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

from ragline.sdk.step import AliasOf
from ragline.spec.expressions import is_expression, walk_strings

KeyPath = tuple[str, ...]

# What a reference stands for while the model's rules are checked: the first the
# field accepts. Numbers and booleans are left out on purpose: a rule comparing
# two fields (overlap < size) must never fire on a made-up number.
_STAND_INS: tuple[Any, ...] = ([], {}, "x")


def _union_members(annotation: Any) -> tuple[Any, ...]:
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        return typing.get_args(annotation)
    return (annotation,)


def _alias_marker(info: FieldInfo) -> AliasOf | None:
    """`ModelAlias` keeps its marker on the field; `ModelAlias | None` keeps it in the union."""
    found = [m for m in info.metadata if isinstance(m, AliasOf)]
    for member in _union_members(info.annotation):
        found += [m for m in getattr(member, "__metadata__", ()) if isinstance(m, AliasOf)]
    return found[0] if found else None


def _nested_models(annotation: Any) -> list[type[BaseModel]]:
    return [
        m for m in _union_members(annotation) if isinstance(m, type) and issubclass(m, BaseModel)
    ]


@cache
def alias_fields(config: type[BaseModel]) -> tuple[tuple[KeyPath, str], ...]:
    """(key path in `with:`, section) of every field naming a `models:` or `stores:` entry."""
    out: list[tuple[KeyPath, str]] = []
    for name, info in config.model_fields.items():
        key = info.alias or name
        marker = _alias_marker(info)
        if marker is not None:
            out.append(((key,), marker.section))
            continue
        for nested in _nested_models(info.annotation):
            if nested is not config:
                out += [((key, *sub), section) for sub, section in alias_fields(nested)]
    return tuple(out)


def value_at(data: Any, path: KeyPath) -> Any:
    """The value at a key path of a raw `with:` mapping; None when it is not there."""
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


@cache
def _adapter(config: type[BaseModel], name: str) -> TypeAdapter[Any]:
    return TypeAdapter(config.model_fields[name].rebuild_annotation())


def _stand_in(config: type[BaseModel], name: str) -> tuple[bool, Any]:
    adapter = _adapter(config, name)
    for value in _STAND_INS:
        try:
            adapter.validate_python(value)
        except ValidationError:
            continue
        return True, value
    return False, None


def _with_stand_ins(
    config: type[BaseModel], raw: dict[str, Any]
) -> tuple[dict[str, Any], set[str]] | None:
    """`raw` with each field's whole `${{ }}` value replaced by a value of the field's type,
    and the keys replaced; None when a reference has no stand-in (a number, a flag, or a
    reference nested inside a field)."""
    by_key = {(info.alias or name): name for name, info in config.model_fields.items()}
    out = dict(raw)
    stood_in: set[str] = set()
    for key, value in raw.items():
        if not is_expression(value) or key not in by_key:
            continue
        found, stand_in = _stand_in(config, by_key[key])
        if not found:
            return None
        out[key] = copy.deepcopy(stand_in)
        stood_in.add(key)
    if any(is_expression(text) for _, text in walk_strings(out)):
        return None
    return out, stood_in


def rule_errors(config: type[BaseModel], raw: dict[str, Any]) -> list[Any]:
    """pydantic's errors for a raw `with:`, its references stood in for.

    None of a field a stand-in filled (its own validators judged a made-up value);
    nothing at all when a reference has no stand-in: the rules then wait for the run.
    """
    standing_in = _with_stand_ins(config, raw)
    if standing_in is None:
        return []
    data, stood_in = standing_in
    try:
        config.model_validate(data)
    except ValidationError as err:
        return [e for e in err.errors() if not (e["loc"] and e["loc"][0] in stood_in)]
    return []

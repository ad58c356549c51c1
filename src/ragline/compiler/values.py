"""What a step's `with:` and the workflow's `outputs:` read at run time.

Expressions resolve against the run's inputs, the upstream outputs and the
environment (spec/expressions.py). Two rules live here (docs/security.md):

- a config field marked `TemplateSource` gets its expressions as template
  variables, never pasted into the template's source;
- `${{ env.NAME }}` of a name that looks like a secret is refused unless the
  workflow lists the name under `secret_env:`, and a value read under such a
  name is registered as a secret, so it is masked wherever it leaves ragline.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from pydantic import BaseModel

from ragline.llm.redact import register_secret
from ragline.sdk.step import TemplateSource
from ragline.spec.expressions import MissingValue, bind_as_variables, looks_secret, resolve


class Environment(Mapping[str, str]):
    """`${{ env.NAME }}`: the process environment, with secret-looking names guarded."""

    def __init__(self, secret_env: Iterable[str] = ()) -> None:
        self.secret_env = frozenset(secret_env)

    def __getitem__(self, name: str) -> str:
        declared = name in self.secret_env
        if looks_secret(name) and not declared:
            raise MissingValue(
                f"'env.{name}' looks like a secret and the workflow does not list it under "
                "`secret_env:`; give a model its key as `api_key: env:NAME`, or add the name "
                "to `secret_env:` (its value is then masked in every output)"
            )
        value = os.environ[name]
        if declared or looks_secret(name):
            register_secret(value)
        return value

    def __contains__(self, name: object) -> bool:
        return name in os.environ

    def __iter__(self) -> Iterator[str]:
        return iter(os.environ)

    def __len__(self) -> int:
        return len(os.environ)


def run_scope(
    inputs: Mapping[str, Any], outputs: Mapping[str, Any], secret_env: Iterable[str]
) -> dict[str, Any]:
    """What expressions read: `inputs`, `steps` (outputs by step id) and `env`."""
    return {"inputs": inputs, "steps": outputs, "env": Environment(secret_env)}


@functools.cache
def _template_fields(config: type[BaseModel]) -> dict[str, str]:
    """Config keys holding template source -> the key of the variables they are bound in."""
    fields: dict[str, str] = {}
    for name, info in config.model_fields.items():
        marker = next((m for m in info.metadata if isinstance(m, TemplateSource)), None)
        if marker is not None:
            fields[info.alias or name] = marker.variables
    return fields


def resolve_with(
    with_: Mapping[str, Any], scope: Mapping[str, Any], config: type[BaseModel]
) -> dict[str, Any]:
    """A step's `with:` with its expressions resolved (template sources get variables)."""
    raw = dict(with_)
    bound: dict[str, dict[str, Any]] = {}
    names: dict[str, Any] = {}  # shared, so variable names are unique across fields
    for key, target in _template_fields(config).items():
        if key in raw:
            before = len(names)
            raw[key] = bind_as_variables(raw[key], scope, names)
            if len(names) > before:
                bound.setdefault(target, {}).update(list(names.items())[before:])
    resolved: dict[str, Any] = resolve(raw, scope)
    for target, values in bound.items():
        current = resolved.get(target)
        if current is None or isinstance(current, dict):
            resolved[target] = {**(current or {}), **values}
    return resolved

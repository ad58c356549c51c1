"""Turn pydantic's errors on a suite file into positioned problems with suggestions.

A top-level error does not stop the check: what the error is about is dropped
and the rest of the file is validated again, so one run reports every problem.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import BaseModel, ValidationError

from ragline.errors import Diagnostic, WorkflowError
from ragline.spec.diagnostics import did_you_mean
from ragline.spec.loader import JsonPath, LoadedYaml
from ragline.suites.model import SuiteSpec


def _keys_of(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


def _owner_model(path: tuple[Any, ...]) -> type[BaseModel] | None:
    """Which pydantic model holds the mapping at a suite path (for did-you-mean)."""
    from ragline.spec.model import Deployment
    from ragline.suites.model import CaseSpec, DefaultsSpec

    if not path:
        return SuiteSpec
    if path == ("defaults",):
        return DefaultsSpec
    if len(path) == 2 and path[0] == "cases":
        return CaseSpec
    if len(path) == 3 and path[0] == "deployments":
        return Deployment
    return None


def pydantic_problems(
    loaded: LoadedYaml, base: JsonPath, err: ValidationError, owner: type[BaseModel] | None = None
) -> list[Diagnostic]:
    out = []
    for e in err.errors():
        loc: JsonPath = (*base, *(p for p in e["loc"] if not str(p).startswith("function-")))
        if e["type"] == "extra_forbidden":
            parent = loc[:-1]
            model = owner if parent == base and owner is not None else _owner_model(parent)
            keys = _keys_of(model) if model else []
            hint = did_you_mean(str(loc[-1]), keys) or (
                f" (keys: {', '.join(sorted(keys))})" if keys else ""
            )
            out.append(loaded.diagnostic(loc, f"unknown key '{loc[-1]}'{hint}", key=True))
            continue
        message = str(e["msg"]).removeprefix("Value error, ")
        if e["type"] == "value_error" and loc == base and owner is not None:
            loc = (*base, "value")  # an assertion's own check is about its value
        if e["type"] == "missing":
            out.append(loaded.diagnostic(loc[:-1], f"missing required key '{loc[-1]}'"))
            continue
        out.append(loaded.diagnostic(loc, message))
    return out


def _prune(data: dict[str, Any], loc: tuple[Any, ...]) -> None:
    """Drop what one error is about, so the rest of the file can still be checked."""
    depth = {"cases": 3, "defaults": 2, "deployments": 2}.get(str(loc[0]), 1)
    holder: Any = data
    for part in loc[: min(depth, len(loc)) - 1]:
        holder = holder[part]
    last = loc[min(depth, len(loc)) - 1]
    if isinstance(holder, dict):
        if loc[0] == "deployments" and len(loc) >= 2:
            holder[last] = []
        else:
            holder.pop(last, None)


def parse_spec(loaded: LoadedYaml, problems: list[Diagnostic]) -> SuiteSpec:
    """The suite's top level; with errors, report them and check what remains."""
    data = copy.deepcopy(loaded.data)
    for _ in range(20):
        try:
            return SuiteSpec.model_validate(data)
        except ValidationError as err:
            problems.extend(pydantic_problems(loaded, (), err))
            for e in err.errors():
                try:
                    _prune(data, tuple(e["loc"]))
                except (KeyError, IndexError, TypeError):
                    raise WorkflowError(sorted(set(problems))) from None
    raise WorkflowError(sorted(set(problems)))

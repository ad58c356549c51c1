"""Step types come only from the `ragline.steps` entry-point group.

A workflow names registered step types, never Python import paths, so a YAML
file cannot make ragline import arbitrary code. Built-ins register exactly as
plugins do. A plugin that fails to import does not break the others; its error
is reported on the step that uses it.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.metadata import entry_points

from ragline.sdk.step import StepType

ENTRY_POINT_GROUP = "ragline.steps"
# Extra modules to scan for StepType objects, for tests and local experiments:
# set by whoever starts the process, never by a workflow file.
PLUGINS_ENV = "RAGLINE_PLUGINS"


@dataclass
class Registry:
    types: dict[str, StepType] = field(default_factory=dict)
    broken: dict[str, str] = field(default_factory=dict)
    origin: dict[str, str] = field(default_factory=dict)

    def register(self, step_type: StepType, origin: str = "") -> None:
        self.types[step_type.name] = step_type
        self.origin[step_type.name] = origin

    def get(self, name: str) -> StepType:
        return self.types[name]

    def names(self) -> list[str]:
        return sorted(self.types)


def _load_module_steps(registry: Registry, module_name: str) -> None:
    try:
        module = importlib.import_module(module_name)
    except Exception as err:  # a broken plugin must not break the others
        registry.broken[module_name] = f"{type(err).__name__}: {err}"
        return
    for value in vars(module).values():
        if isinstance(value, StepType):
            registry.register(value, origin=module_name)


def discover() -> Registry:
    """Load every step type published under the entry-point group (and RAGLINE_PLUGINS)."""
    registry = Registry()
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            loaded = ep.load()
        except Exception as err:
            registry.broken[ep.name] = f"{type(err).__name__}: {err}"
            continue
        if not isinstance(loaded, StepType):
            registry.broken[ep.name] = f"entry point {ep.value} is not a step type (use @step)"
            continue
        if loaded.name != ep.name:
            registry.broken[ep.name] = (
                f"entry point '{ep.name}' points at step type '{loaded.name}'; the names must match"
            )
            continue
        registry.register(loaded, origin=ep.dist.name if ep.dist else ep.value)
    for module_name in filter(
        None, (m.strip() for m in os.environ.get(PLUGINS_ENV, "").split(","))
    ):
        _load_module_steps(registry, module_name)
    return registry


@lru_cache(maxsize=1)
def default_registry() -> Registry:
    return discover()

"""Every built-in step type is published under the `ragline.steps` entry-point group.

Built-ins register exactly as plugins do, so a step module without its entry
point would exist in the source and be missing from every workflow.
"""

from __future__ import annotations

import importlib
import pkgutil
import tomllib
from importlib.metadata import entry_points
from pathlib import Path

import ragline.steps
from ragline.sdk.registry import ENTRY_POINT_GROUP
from ragline.sdk.step import StepType

ROOT = Path(__file__).resolve().parents[2]


def _built_in_step_types() -> dict[str, str]:
    """name -> "module:attribute" for every StepType defined in ragline/steps/*.py."""
    found: dict[str, str] = {}
    for info in pkgutil.iter_modules(ragline.steps.__path__, "ragline.steps."):
        module = importlib.import_module(info.name)
        for attribute, value in vars(module).items():
            defined_here = isinstance(value, StepType) and value.func.__module__ == info.name
            if defined_here and not attribute.startswith("_"):
                found[value.name] = f"{info.name}:{attribute}"
    return found


def _declared_in_pyproject() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return dict(project["entry-points"][ENTRY_POINT_GROUP])


def test_every_built_in_step_type_has_its_entry_point_in_pyproject() -> None:
    built_in = _built_in_step_types()
    assert {"ingest", "chunk", "embed", "index", "retrieve", "generate"} <= set(built_in)
    assert _declared_in_pyproject() == built_in


def test_the_installed_entry_points_match_pyproject() -> None:
    installed = {
        ep.name: ep.value
        for ep in entry_points(group=ENTRY_POINT_GROUP)
        if ep.value.startswith("ragline.steps.")
    }
    assert installed == _declared_in_pyproject(), (
        "the installed metadata is stale: reinstall with `pip install -e .` (make setup)"
    )

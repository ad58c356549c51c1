"""The static shape of a run: dependency order and each step's fingerprint seed.

Pure data (no Prefect), so `ragline graph` and the compiler share it.
"""

from __future__ import annotations

import graphlib
import os
from dataclasses import dataclass, field
from typing import Any

from ragline.spec.expressions import Reference, references_in, walk_strings
from ragline.spec.model import StepSpec, Workflow


@dataclass(frozen=True)
class PlannedStep:
    spec: StepSpec
    reads: frozenset[str]  # steps whose output it references
    after: frozenset[str]  # reads + needs
    input_refs: frozenset[str] = field(default_factory=frozenset)
    env_refs: frozenset[str] = field(default_factory=frozenset)


def references(value: Any) -> list[Reference]:
    out = []
    for _, text in walk_strings(value):
        for _, ref in references_in(text):
            if isinstance(ref, Reference):
                out.append(ref)
    return out


def plan(workflow: Workflow) -> list[PlannedStep]:
    """Steps in a dependency order (ties keep file order)."""
    by_id: dict[str, PlannedStep] = {}
    for s in workflow.steps:
        refs = references(s.with_)
        reads = frozenset(r.name for r in refs if r.kind == "steps")
        by_id[s.id] = PlannedStep(
            spec=s,
            reads=reads,
            after=reads | frozenset(s.needs),
            input_refs=frozenset(r.name for r in refs if r.kind == "inputs"),
            env_refs=frozenset(r.name for r in refs if r.kind == "env"),
        )
    sorter = graphlib.TopologicalSorter({sid: p.after for sid, p in by_id.items()})
    order = {s.id: i for i, s in enumerate(workflow.steps)}
    ordered: list[PlannedStep] = []
    sorter.prepare()
    while sorter.is_active():
        ready = sorted(sorter.get_ready(), key=order.__getitem__)
        ordered.extend(by_id[sid] for sid in ready)
        sorter.done(*ready)
    return ordered


def env_values(names: frozenset[str]) -> dict[str, str | None]:
    return {n: os.environ.get(n) for n in sorted(names)}


def mermaid(workflow: Workflow) -> str:
    """`ragline graph`: the DAG as Mermaid text."""
    lines = ["flowchart TD"]
    for p in plan(workflow):
        label = f"{p.spec.id}<br/><i>{p.spec.uses}</i>"
        lines.append(f'    {_node(p.spec.id)}["{label}"]')
    for p in plan(workflow):
        for dep in sorted(p.reads):
            lines.append(f"    {_node(dep)} --> {_node(p.spec.id)}")
        for dep in sorted(set(p.spec.needs) - p.reads):
            lines.append(f"    {_node(dep)} -.-> {_node(p.spec.id)}")
    return "\n".join(lines) + "\n"


def _node(step_id: str) -> str:
    return "s_" + step_id.replace("-", "_")

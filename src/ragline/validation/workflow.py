"""One pass over a workflow file: syntax, JSON Schema, then meaning.

Every problem is collected, sorted by position, and raised together as a
WorkflowError; nothing here runs a step or imports prefect/litellm/lancedb.
"""

from __future__ import annotations

import graphlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from pydantic import ValidationError

from ragline.errors import Diagnostic, WorkflowError
from ragline.sdk.registry import Registry, default_registry
from ragline.spec.diagnostics import did_you_mean, from_pydantic_errors, from_schema_error
from ragline.spec.expressions import (
    ExpressionError,
    Reference,
    looks_secret,
    references_in,
    walk_strings,
)
from ragline.spec.loader import JsonPath, LoadedYaml, load_yaml_file
from ragline.spec.model import Workflow
from ragline.spec.outputs import check_path
from ragline.spec.schedules import schedule_problems
from ragline.validation.configs import alias_fields, rule_errors, value_at
from ragline.validation.schema import cached_workflow_schema

_validators: dict[int, Draft202012Validator] = {}


def _validator(registry: Registry) -> Draft202012Validator:
    key = id(registry)
    if key not in _validators:
        _validators[key] = Draft202012Validator(cached_workflow_schema(registry))
    return _validators[key]


@dataclass
class LoadedWorkflow:
    """A valid workflow with where it came from."""

    workflow: Workflow
    path: Path
    source: LoadedYaml

    @property
    def directory(self) -> Path:
        return self.path.resolve().parent


def _steps(data: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    steps = data.get("steps")
    if not isinstance(steps, list):
        return []
    return [(i, s) for i, s in enumerate(steps) if isinstance(s, dict)]


_STEP_CONFIG = re.compile(r"^steps\[(\d+)\]\.with(?:$|[.\[])")


def _steps_with_config_problems(problems: list[Diagnostic]) -> set[int]:
    """Indexes of the steps whose `with:` the schema already found wrong."""
    return {int(m.group(1)) for p in problems if (m := _STEP_CONFIG.match(p.path))}


class _Semantics:
    def __init__(
        self,
        loaded: LoadedYaml,
        registry: Registry,
        workflow_dir: Path,
        schema_problems: list[Diagnostic],
    ) -> None:
        self.loaded = loaded
        self.schema_problems = schema_problems
        self.data: dict[str, Any] = loaded.data
        self.registry = registry
        self.workflow_dir = workflow_dir
        self.problems: list[Diagnostic] = []
        self.step_index: dict[str, int] = {}
        self.edges: dict[str, set[str]] = {}
        # Computed once: per-reference or per-step rescans made validate quadratic in steps.
        self.steps = _steps(self.data)
        self.by_position = dict(self.steps)
        self.schema_said = _steps_with_config_problems(schema_problems)
        self.seen: set[tuple[int, int]] = {(p.line, p.col) for p in schema_problems}
        self.seen_upto = 0  # self.problems[:seen_upto] are in self.seen

    def report(self, path: JsonPath, message: str, *, key: bool = False) -> None:
        self.problems.append(self.loaded.diagnostic(path, message, key=key))

    def run(self) -> list[Diagnostic]:
        steps = self.steps
        for i, s in steps:
            sid = s.get("id")
            if not isinstance(sid, str):
                continue
            if sid in self.step_index:
                first = self.loaded.position(("steps", self.step_index[sid], "id"))
                self.report(
                    ("steps", i, "id"),
                    f"duplicate step id '{sid}' (first used at line {first[0]}); "
                    "step ids must be unique",
                )
            else:
                self.step_index[sid] = i
            self.edges.setdefault(sid, set())
        for i, s in steps:
            self._check_uses(i, s)
            self._check_needs(i, s)
            self._check_references(("steps", i, "with"), s.get("with"), s.get("id"))
            self._check_aliases(i, s)
            self._check_static(i, s)
            self._check_partition(i, s)
        self._check_references(("outputs",), self.data.get("outputs"), None)
        self._check_cycles()
        self._check_routing()
        self._check_schedules()
        return self.problems

    def _step_type(self, s: dict[str, Any]) -> Any:
        uses = s.get("uses")
        return self.registry.types.get(uses) if isinstance(uses, str) else None

    def _check_uses(self, i: int, s: dict[str, Any]) -> None:
        uses = s.get("uses")
        if not isinstance(uses, str) or uses in self.registry.types:
            return
        if uses in self.registry.broken:
            self.report(
                ("steps", i, "uses"),
                f"step type '{uses}' failed to load: {self.registry.broken[uses]}; "
                "fix or reinstall the plugin that provides it",
            )
            return
        known = self.registry.names()
        hint = did_you_mean(uses, known) or "; `ragline steps` lists the registered step types"
        extra = ""
        if "." in uses or ":" in uses:
            extra = "; workflows name registered step types, never Python import paths"
        self.report(("steps", i, "uses"), f"unknown step type '{uses}'{hint}{extra}")

    def _check_partition(self, i: int, s: dict[str, Any]) -> None:
        step_type = self._step_type(s)
        if "partition" not in s or step_type is None or step_type.partition:
            return
        can = sorted(n for n, t in self.registry.types.items() if t.partition)
        self.report(
            ("steps", i, "partition"),
            f"step type '{step_type.name}' cannot be partitioned (it does not map a list "
            f"item by item); remove `partition:` here. Step types that can: {', '.join(can)}",
            key=True,
        )

    def _check_needs(self, i: int, s: dict[str, Any]) -> None:
        needs = s.get("needs")
        sid = s.get("id")
        if not isinstance(needs, list) or not isinstance(sid, str):
            return
        for j, dep in enumerate(needs):
            if not isinstance(dep, str):
                continue
            if dep == sid:
                self.report(
                    ("steps", i, "needs", j),
                    f"step '{sid}' needs itself; remove '{dep}' from needs",
                )
            elif dep not in self.step_index:
                self.report(
                    ("steps", i, "needs", j),
                    f"unknown step '{dep}' in needs{did_you_mean(dep, self.step_index)}",
                )
            else:
                self.edges[sid].add(dep)

    def _check_references(self, base: JsonPath, value: Any, sid: Any) -> None:
        inputs = self.data.get("inputs") if isinstance(self.data.get("inputs"), dict) else {}
        for path, text in walk_strings(value, base):
            for _, ref in references_in(text):
                if isinstance(ref, ExpressionError):
                    self.report(path, str(ref))
                    continue
                self._check_reference(path, ref, sid, inputs or {})

    def _check_reference(
        self, path: JsonPath, ref: Reference, sid: Any, inputs: dict[str, Any]
    ) -> None:
        if ref.kind == "inputs":
            if ref.name not in inputs:
                candidates = [f"inputs.{n}" for n in inputs]
                hint = did_you_mean(f"inputs.{ref.name}", candidates) or (
                    f" (inputs: {', '.join(inputs)})" if inputs else "; declare it under 'inputs:'"
                )
                self.report(path, f"unknown reference '{ref.text}'{hint}")
            elif ref.path:
                self._check_input_path(path, ref, inputs[ref.name])
        elif ref.kind == "env":
            declared = self.data.get("secret_env")
            if looks_secret(ref.name) and ref.name not in (
                declared if isinstance(declared, list) else []
            ):
                self.report(
                    path,
                    f"'{ref.text}' looks like a secret; an expression may read it only when the "
                    f"workflow lists it under `secret_env:` (then its value is masked in every "
                    f"output); give a model its key as `api_key: env:{ref.name}` instead",
                )
        elif ref.kind == "steps":
            if ref.name == sid:
                self.report(
                    path,
                    f"step '{sid}' refers to its own output ('{ref.text}'); "
                    "a step can only use outputs of earlier steps",
                )
                return
            if ref.name not in self.step_index:
                candidates = [f"steps.{n}.output" for n in self.step_index if n != sid]
                hint = did_you_mean(f"steps.{ref.name}.output", candidates)
                self.report(path, f"unknown reference '{ref.text}'{hint}")
                return
            if isinstance(sid, str):
                self.edges[sid].add(ref.name)
            upstream = self.by_position.get(self.step_index[ref.name], {})
            step_type = self._step_type(upstream)
            if step_type is not None and ref.path:
                problem = check_path(step_type.output_type, ref.path)
                if problem:
                    self.report(
                        path, f"'{ref.text}': step '{ref.name}' ({step_type.name}) {problem}"
                    )

    def _check_input_path(self, path: JsonPath, ref: Reference, spec: Any) -> None:
        """A scalar input has no fields; an array is read by [n], never by name."""
        kind = spec.get("type") if isinstance(spec, dict) else None
        first = ref.path[0]
        if kind in ("string", "integer", "number", "boolean"):
            self.report(path, f"'{ref.text}': input '{ref.name}' is a {kind}; it has no fields")
        elif kind == "array" and not isinstance(first, int):
            self.report(
                path,
                f"'{ref.text}': input '{ref.name}' is an array; index it like "
                f"'inputs.{ref.name}[0]'",
            )
        elif kind == "object" and isinstance(first, int):
            self.report(path, f"'{ref.text}': input '{ref.name}' is an object; it has no [n] items")

    def _check_aliases(self, i: int, s: dict[str, Any]) -> None:
        step_type = self._step_type(s)
        with_ = s.get("with")
        if step_type is None or not isinstance(with_, dict):
            return
        for keys, section_name in alias_fields(step_type.config):
            value = value_at(with_, keys)
            if not isinstance(value, str) or "${{" in value:
                continue
            section = self.data.get(section_name)
            defined = section if isinstance(section, dict) else {}
            if value not in defined:
                hint = did_you_mean(value, defined) or (
                    f" (defined: {', '.join(defined)})"
                    if defined
                    else f"; define it under '{section_name}:'"
                )
                noun = "model alias" if section_name == "models" else "store"
                self.report(("steps", i, "with", *keys), f"unknown {noun} '{value}'{hint}")

    def _check_static(self, i: int, s: dict[str, Any]) -> None:
        """Cross-field rules of the config model, then the step type's own `check=` hook."""
        step_type = self._step_type(s)
        with_ = s.get("with", {})
        if step_type is None or not isinstance(with_, dict):
            return
        base: JsonPath = ("steps", i, "with")
        found: list[Diagnostic] = []
        # The schema has already reported wrong keys and types; a reference
        # stands in as a value of its field's type (see validation.configs).
        if i not in self.schema_said:
            errors = rule_errors(step_type.config, with_)
            found += from_pydantic_errors(self.loaded, base, errors)
        if step_type.check is not None:
            for rel, message in step_type.check(with_, self.data, self.workflow_dir):
                found.append(self.loaded.diagnostic((*base, *rel), message))
        self.seen.update((p.line, p.col) for p in self.problems[self.seen_upto :])
        for d in found:
            if (d.line, d.col) not in self.seen:
                self.seen.add((d.line, d.col))
                self.problems.append(d)
        self.seen_upto = len(self.problems)

    def _check_cycles(self) -> None:
        sorter = graphlib.TopologicalSorter(self.edges)
        try:
            sorter.prepare()
        except graphlib.CycleError as err:
            cycle = list(err.args[1])
            first = cycle[0]
            idx = self.step_index.get(first, 0)
            self.report(
                ("steps", idx, "id"),
                f"steps form a cycle: {' -> '.join(cycle)}; "
                "break it by removing one reference or need",
            )

    def _check_routing(self) -> None:
        routing = self.data.get("routing")
        models = self.data.get("models") if isinstance(self.data.get("models"), dict) else {}
        if not isinstance(routing, dict) or not isinstance(routing.get("fallbacks"), dict):
            return
        for alias, targets in routing["fallbacks"].items():
            path: JsonPath = ("routing", "fallbacks", alias)
            if alias not in (models or {}):
                self.report(
                    path,
                    f"unknown model alias '{alias}'{did_you_mean(alias, models or {})}",
                    key=True,
                )
            for j, target in enumerate(targets if isinstance(targets, list) else []):
                if isinstance(target, str) and target not in (models or {}):
                    self.report(
                        (*path, j),
                        f"unknown model alias '{target}'{did_you_mean(target, models or {})}",
                    )

    def _check_schedules(self) -> None:
        schedule = self.data.get("schedule")
        items = (
            schedule
            if isinstance(schedule, list)
            else [schedule]
            if isinstance(schedule, dict)
            else []
        )
        inputs = self.data.get("inputs") if isinstance(self.data.get("inputs"), dict) else {}
        for j, item in enumerate(items):
            where: JsonPath = ("schedule", j) if isinstance(schedule, list) else ("schedule",)
            for key, message in schedule_problems(item) if isinstance(item, dict) else []:
                self.report((*where, key), message)
            params = item.get("parameters") if isinstance(item, dict) else None
            if not isinstance(params, dict):
                continue
            base: JsonPath = (
                ("schedule", j, "parameters")
                if isinstance(schedule, list)
                else ("schedule", "parameters")
            )
            for key in params:
                if key not in (inputs or {}):
                    self.report(
                        (*base, key),
                        f"'{key}' is not an input of this workflow"
                        f"{did_you_mean(key, inputs or {})}",
                        key=True,
                    )


def check(loaded: LoadedYaml, registry: Registry, workflow_dir: Path) -> list[Diagnostic]:
    """Every problem in an already-parsed workflow."""
    problems: list[Diagnostic] = []
    for error in _validator(registry).iter_errors(loaded.data):
        problems.extend(from_schema_error(loaded, error))
    problems.extend(_Semantics(loaded, registry, workflow_dir, list(problems)).run())
    if not problems:
        try:
            Workflow.model_validate(loaded.data)
        except ValidationError as err:
            problems.extend(from_pydantic_errors(loaded, (), err.errors()))
    unique = sorted(set(problems))
    return unique


def load_workflow(path: str | Path, registry: Registry | None = None) -> LoadedWorkflow:
    """Load and validate a workflow file, raising WorkflowError with every problem."""
    registry = registry or default_registry()
    path = Path(path)
    loaded = load_yaml_file(path, display=str(path))
    problems = check(loaded, registry, path.resolve().parent)
    if problems:
        raise WorkflowError(problems)
    return LoadedWorkflow(Workflow.model_validate(loaded.data), path, loaded)


def validate_file(path: str | Path, registry: Registry | None = None) -> list[Diagnostic]:
    try:
        load_workflow(path, registry)
    except WorkflowError as err:
        return err.diagnostics
    return []

"""Read a suite file into cases and targets, reporting every problem at once.

Positions come from ragline's YAML loader and problems render like a
workflow's (`file:line:col  json.path`), so an editor jumps to them. Assertions
are parsed one by one, so an unknown `type` gets a did-you-mean over the
assertion types and an unknown key one over that type's own keys.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from ragline.errors import Diagnostic, ParameterError, WorkflowError
from ragline.spec.diagnostics import did_you_mean
from ragline.spec.loader import JsonPath, LoadedYaml, load_yaml_file
from ragline.suites.model import (
    ASSERTION_MODELS,
    WITHOUT_OUTPUT,
    Assertion,
    Case,
    RunFails,
    SuiteSpec,
)
from ragline.suites.problems import parse_spec, pydantic_problems
from ragline.suites.targets import Target, model_target, workflow_target
from ragline.validation.workflow import LoadedWorkflow


@dataclass
class Suite:
    """A valid suite: what to run, on what, and where the file is."""

    name: str
    path: Path
    spec: SuiteSpec
    cases: list[Case]
    targets: list[Target] = field(default_factory=list)

    @property
    def directory(self) -> Path:
        return self.path.resolve().parent


def _assertion(
    loaded: LoadedYaml, path: JsonPath, raw: Any, problems: list[Diagnostic]
) -> Assertion | None:
    if not isinstance(raw, dict):
        problems.append(loaded.diagnostic(path, "an assertion is a mapping with a 'type' key"))
        return None
    kind = raw.get("type")
    if kind is None:
        types = ", ".join(sorted(ASSERTION_MODELS))
        problems.append(loaded.diagnostic(path, f"missing required key 'type' (one of {types})"))
        return None
    model = ASSERTION_MODELS.get(str(kind))
    if model is None:
        hint = did_you_mean(str(kind), ASSERTION_MODELS) or (
            f"; known types: {', '.join(sorted(ASSERTION_MODELS))}"
        )
        problems.append(
            loaded.diagnostic((*path, "type"), f"unknown assertion type '{kind}'{hint}")
        )
        return None
    try:
        parsed: Assertion = TypeAdapter(model).validate_python(raw)  # type: ignore[assignment]
    except ValidationError as err:
        problems.extend(pydantic_problems(loaded, path, err, model))
        return None
    return parsed


def _merge(
    loaded: LoadedYaml,
    i: int,
    defaults: list[Assertion | None],
    own: list[Assertion | None],
    problems: list[Diagnostic],
) -> list[Assertion]:
    """A case's assertions after `defaults.assert`; a run-fails case keeps only run checks.

    A run that fails has no output, so an output check beside `run-fails` could
    never pass: from the defaults it is left out, in the case itself it is an error.
    """
    expects_failure = any(isinstance(a, RunFails) for a in own)
    if not expects_failure:
        return [a for a in [*defaults, *own] if a is not None]
    fails_at = next(j for j, a in enumerate(own) if isinstance(a, RunFails))
    for j, a in enumerate(own):
        if a is not None and not isinstance(a, WITHOUT_OUTPUT):
            problems.append(
                loaded.diagnostic(
                    ("cases", i, "assert", j),
                    f"'{a.type}' checks the output, but this case expects the run to fail "
                    f"(cases[{i}].assert[{fails_at}]) and a failed run has none: "
                    "move it to a case whose run completes",
                )
            )
    kept = [a for a in defaults if isinstance(a, WITHOUT_OUTPUT)]
    return [*kept, *(a for a in own if a is not None)]


def _cases(loaded: LoadedYaml, spec: SuiteSpec, problems: list[Diagnostic]) -> list[Case]:
    raw: dict[str, Any] = loaded.data
    defaults = [
        _assertion(loaded, ("defaults", "assert", i), a, problems)
        for i, a in enumerate(spec.defaults.assert_)
    ]
    if not spec.cases:
        problems.append(
            loaded.diagnostic(
                ("cases",) if "cases" in raw else (),
                "the suite has no cases; add `cases:` with inputs and `assert:`",
            )
        )
    cases: list[Case] = []
    seen: dict[str, int] = {}
    for i, c in enumerate(spec.cases):
        own = [
            _assertion(loaded, ("cases", i, "assert", j), a, problems)
            for j, a in enumerate(c.assert_)
        ]
        name = c.name or f"case {i + 1}"
        if name in seen:
            problems.append(
                loaded.diagnostic(
                    ("cases", i, "name"),
                    f"duplicate case name '{name}' (also case {seen[name] + 1}); "
                    "names identify cases in reports",
                )
            )
        seen[name] = i
        if not c.assert_ and not spec.defaults.assert_:
            problems.append(
                loaded.diagnostic(
                    ("cases", i),
                    f"case '{name}' has no assertions, so it could never fail; add `assert:` "
                    "(or `defaults.assert:` for every case)",
                )
            )
        assertions = _merge(loaded, i, defaults, own, problems)
        cases.append(
            Case(
                name=name,
                inputs={**spec.defaults.inputs, **c.inputs},
                output=c.output or spec.defaults.output,
                assertions=assertions,
            )
        )
    return cases


def _check_aliases(loaded: LoadedYaml, spec: SuiteSpec, problems: list[Diagnostic]) -> None:
    """Every alias a suite names (targets, judges, embedders) is under `deployments:`."""
    known = set(spec.deployments)

    def need(alias: str | None, path: JsonPath, what: str) -> None:
        if alias is not None and alias not in known:
            hint = did_you_mean(alias, known) or (
                "; define it under `deployments:`"
                if not known
                else f" (known: {', '.join(sorted(known))})"
            )
            problems.append(loaded.diagnostic(path, f"unknown {what} alias '{alias}'{hint}"))

    need(spec.defaults.judge, ("defaults", "judge"), "judge")
    for i, alias in enumerate(spec.models):
        need(alias, ("models", i), "model")
    raw: list[tuple[JsonPath, Any]] = [
        (("defaults", "assert", j), a) for j, a in enumerate(spec.defaults.assert_)
    ]
    for i, c in enumerate(spec.cases):
        raw += [(("cases", i, "assert", j), a) for j, a in enumerate(c.assert_)]
    for path, a in raw:
        if not isinstance(a, dict) or a.get("type") not in ("similar-to", "llm-rubric"):
            continue
        model = a.get("model")
        if isinstance(model, str):
            need(model, (*path, "model"), "model")
        elif a.get("type") == "llm-rubric" and spec.defaults.judge is None:
            problems.append(
                loaded.diagnostic(
                    path, "llm-rubric needs a judge: set `model:` here or `defaults.judge:`"
                )
            )


def _prompt_problem(loaded: LoadedYaml, spec: SuiteSpec, message: str) -> Diagnostic:
    """A problem of the generated prompt workflow, said in the suite's terms."""
    unbound = re.search(r"uses '(\w+)', which is not bound", message)
    if unbound:
        name = unbound.group(1)
        inputs = {
            k for given in [spec.defaults.inputs, *(c.inputs for c in spec.cases)] for k in given
        }
        message = (
            f"the prompt uses '{name}', which no case sets in `inputs:`{did_you_mean(name, inputs)}"
        )
    return loaded.diagnostic(("prompt",), message)


def _targets(
    loaded: LoadedYaml, spec: SuiteSpec, suite_path: Path, problems: list[Diagnostic]
) -> list[Target]:
    kinds = [k for k in ("workflow", "workflows", "models") if loaded.data.get(k)]
    if len(kinds) != 1:
        found = ", ".join(kinds) or "none"
        problems.append(
            loaded.diagnostic(
                (),
                f"set exactly one of `workflow:`, `workflows:` or `models:` (found: {found}); "
                "it says what the cases run against",
            )
        )
        return []
    if spec.models:
        if not spec.prompt:
            problems.append(
                loaded.diagnostic(("models",), "`models:` needs `prompt:` (an inline Jinja prompt)")
            )
            return []
        built: list[Target] = []
        for alias in spec.models:
            if alias not in spec.deployments:
                continue  # reported with the aliases
            try:
                built.append(model_target(spec, alias, suite_path))
            except WorkflowError as err:
                # The generated workflow is ours; its problems are the prompt's or the inputs'.
                problems.extend(_prompt_problem(loaded, spec, d.message) for d in err.diagnostics)
                break
        return built
    if spec.prompt:
        problems.append(
            loaded.diagnostic(("prompt",), "`prompt:` is only used with `models:`", key=True)
        )
    paths = [spec.workflow] if spec.workflow else spec.workflows
    base: JsonPath = ("workflow",) if spec.workflow else ("workflows",)
    targets: list[Target] = []
    for i, rel in enumerate(paths):
        where = base if spec.workflow else (*base, i)
        path = (suite_path.parent / rel) if not Path(rel).is_absolute() else Path(rel)
        if not path.is_file():
            problems.append(
                loaded.diagnostic(
                    where,
                    f"no workflow file '{rel}' (looked for {path}); "
                    "paths are relative to the suite file",
                )
            )
            continue
        try:
            targets.append(workflow_target(path))
        except WorkflowError as err:
            problems.extend(err.diagnostics)
    return targets


def _check_inputs(
    loaded: LoadedYaml,
    spec: SuiteSpec,
    cases: list[Case],
    targets: list[Target],
    problems: list[Diagnostic],
) -> None:
    from ragline.spec.inputs import check_parameters, has_default

    for target in targets:
        if target.kind != "workflow":
            continue
        wf = target.loaded.workflow
        for i, case in enumerate(cases):
            for key in case.inputs:
                if key not in wf.inputs:
                    path: JsonPath = (
                        ("cases", i, "inputs", key)
                        if key in spec.cases[i].inputs
                        else ("defaults", "inputs", key)
                    )
                    problems.append(
                        loaded.diagnostic(
                            path,
                            f"'{key}' is not an input of {target.name}"
                            f"{did_you_mean(key, wf.inputs)}",
                            key=True,
                        )
                    )
            known = {k: v for k, v in case.inputs.items() if k in wf.inputs}
            for name, spec_ in wf.inputs.items():
                if name not in known and not has_default(spec_):
                    problems.append(
                        loaded.diagnostic(
                            ("cases", i, "inputs") if spec.cases[i].inputs else ("cases", i),
                            f"missing input '{name}' ({spec_.type}) of {target.name}: "
                            "add it to the case's inputs (or to defaults.inputs)",
                        )
                    )
            try:
                check_parameters(wf, known)
            except ParameterError as err:
                for name, message in err.problems:
                    if name and name not in known:
                        continue  # reported above, in the words of a suite
                    problems.append(
                        loaded.diagnostic(
                            ("cases", i, "inputs", name) if name else ("cases", i),
                            f"input of {target.name}: {message}",
                        )
                    )
            output = case.output
            if output is not None and wf.outputs and output not in wf.outputs:
                problems.append(
                    loaded.diagnostic(
                        ("cases", i, "output") if spec.cases[i].output else ("defaults", "output"),
                        f"'{output}' is not an output of {target.name}"
                        f"{did_you_mean(output, wf.outputs)} (outputs: {', '.join(wf.outputs)})",
                    )
                )


def load_suite(path: str | Path) -> Suite:
    """Parse and check a suite file and its target workflows; WorkflowError lists every problem."""
    path = Path(path)
    loaded = load_yaml_file(path, display=str(path))
    problems: list[Diagnostic] = []
    spec = parse_spec(loaded, problems)
    cases = _cases(loaded, spec, problems)
    _check_aliases(loaded, spec, problems)
    targets = _targets(loaded, spec, path, problems)
    _check_inputs(loaded, spec, cases, targets, problems)
    names = [t.name for t in targets]
    for i, t in enumerate(targets):
        if names.count(t.name) > 1:  # two files with one workflow name: tell them apart
            t.name = f"{t.name} ({spec.workflows[i]})"
    if problems:
        raise WorkflowError(sorted(set(problems)))
    name = spec.name or path.name.removesuffix(".yaml").removesuffix(".yml")
    return Suite(name.removesuffix(".suite"), path, spec, cases, targets)


__all__ = ["LoadedWorkflow", "Suite", "load_suite"]

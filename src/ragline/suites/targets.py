"""What a case runs against: a workflow file, or one model alias with the suite's prompt.

A model target is a two-step workflow (prompt, generate) built in memory, so
both kinds run the same way: compiled to a Prefect flow, with the same
router, budget, cache and usage accounting as `ragline run`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ragline.errors import WorkflowError
from ragline.spec.loader import LoadedYaml
from ragline.validation.workflow import LoadedWorkflow

if TYPE_CHECKING:
    from ragline.suites.model import SuiteSpec


@dataclass
class Target:
    """A runnable target and the name reports show for it."""

    name: str
    kind: Literal["workflow", "model"]
    loaded: LoadedWorkflow


def workflow_target(path: Path) -> Target:
    """A workflow file, validated like `ragline validate` does (its own diagnostics on error).

    Reports name it by the workflow's `name:` (the Prefect flow's name)."""
    from ragline.validation.workflow import load_workflow

    loaded = load_workflow(path)
    return Target(loaded.workflow.name, "workflow", loaded)


_JSON_TYPES: list[tuple[type, str, Any]] = [
    (bool, "boolean", False),
    (int, "integer", 0),
    (float, "number", 0.0),
    (str, "string", ""),
    (list, "array", []),
    (dict, "object", {}),
]


def _input_spec(value: Any) -> dict[str, Any]:
    for py, name, empty in _JSON_TYPES:
        if isinstance(value, py):
            return {"type": name, "default": empty}
    return {"type": "string", "default": ""}


def model_target(spec: SuiteSpec, alias: str, suite_path: Path) -> Target:
    """`prompt` rendered with the case's inputs, answered by `alias` at temperature 0."""
    from ragline.sdk.registry import default_registry
    from ragline.spec.model import Workflow
    from ragline.validation.workflow import check

    inputs: dict[str, dict[str, Any]] = {}
    for given in [spec.defaults.inputs, *(c.inputs for c in spec.cases)]:
        for key, value in given.items():
            inputs.setdefault(key, _input_spec(value))
    data: dict[str, Any] = {
        "apiVersion": "ragline/v1",
        "name": "suite-model-" + "".join(c if c.isalnum() else "-" for c in alias.lower()),
        "description": f"ragline test: the suite's prompt answered by model alias {alias}",
        "inputs": inputs,
        "models": {
            name: [d.model_dump(exclude_none=True, exclude_defaults=True) for d in deployments]
            for name, deployments in spec.deployments.items()
        },
        "steps": [
            {
                "id": "prompt",
                "uses": "prompt",
                "with": {
                    "text": spec.prompt,
                    "vars": {k: "${{ inputs." + k + " }}" for k in inputs},
                },
            },
            {
                "id": "generate",
                "uses": "generate",
                "with": {
                    "model": alias,
                    "prompt": "${{ steps.prompt.output }}",
                    "temperature": 0,
                },
            },
        ],
        "outputs": {
            "answer": "${{ steps.generate.output.text }}",
            "model": "${{ steps.generate.output.model }}",
        },
    }
    if not spec.cache:
        data["cache"] = {"type": "none"}
    source = LoadedYaml(file=str(suite_path), data=data)
    problems = check(source, default_registry(), suite_path.resolve().parent)
    if problems:
        raise WorkflowError(problems)
    loaded = LoadedWorkflow(Workflow.model_validate(data), suite_path, source)
    return Target(f"model:{alias}", "model", loaded)

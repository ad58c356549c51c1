"""Run parameters against the workflow's `inputs:`: parse `-p key=value`, fill defaults, check bounds.

Done before Prefect is imported, so a wrong `-p` fails in milliseconds with
exit code 2, and done again inside the flow for runs started from the UI.
"""

from __future__ import annotations

import json
from typing import Any

from jsonschema import Draft202012Validator

from ragline.errors import ParameterError
from ragline.spec.diagnostics import describe, did_you_mean
from ragline.spec.model import InputSpec, Workflow

PYTHON_TYPES: dict[str, type] = {
    "string": str, "integer": int, "number": float, "boolean": bool, "array": list, "object": dict,
}


def input_json_schema(spec: InputSpec) -> dict[str, Any]:
    schema = spec.model_dump(by_alias=True, exclude_none=True, exclude={"description", "default"})
    return schema


def has_default(spec: InputSpec) -> bool:
    return "default" in spec.model_fields_set


def parse_cli_value(raw: str, spec: InputSpec) -> Any:
    """`-p top_k=5` gives the string '5'; turn it into the input's type."""
    if spec.type == "string":
        return raw
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        if spec.type == "boolean" and raw.lower() in ("true", "false", "yes", "no"):
            return raw.lower() in ("true", "yes")
        return raw  # checked (and reported) below


def parse_assignments(workflow: Workflow, assignments: list[str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for item in assignments:
        key, sep, raw = item.partition("=")
        if not sep:
            raise ParameterError(f"-p {item}: write parameters as key=value (e.g. -p question='What is ragline?')")
        if key not in workflow.inputs:
            known = ", ".join(workflow.inputs) or "none"
            raise ParameterError(
                f"-p {item}: '{key}' is not an input of workflow '{workflow.name}'"
                f"{did_you_mean(key, workflow.inputs) or f' (inputs: {known})'}"
            )
        params[key] = parse_cli_value(raw, workflow.inputs[key])
    return params


def check_parameters(workflow: Workflow, params: dict[str, Any]) -> dict[str, Any]:
    """Defaults filled in, every value checked; ParameterError names each problem."""
    problems: list[str] = []
    out: dict[str, Any] = {}
    for key in params:
        if key not in workflow.inputs:
            problems.append(f"'{key}' is not an input of workflow '{workflow.name}'"
                            f"{did_you_mean(key, workflow.inputs)}")
    for name, spec in workflow.inputs.items():
        if name in params:
            value = params[name]
        elif has_default(spec):
            value = spec.default
        else:
            problems.append(f"input '{name}' is required ({spec.type}); pass it with -p {name}=...")
            continue
        if spec.type == "number" and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        errors = sorted(Draft202012Validator(input_json_schema(spec)).iter_errors(value), key=str)
        for err in errors[:1]:
            if err.validator == "type":
                problems.append(f"input '{name}' expects {spec.type}, got {describe(value)}")
            else:
                problems.append(f"input '{name}': {err.message}")
        out[name] = value
    if problems:
        raise ParameterError("; ".join(problems))
    return out

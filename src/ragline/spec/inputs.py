"""Run parameters against `inputs:`: parse `-p key=value`, fill defaults, check bounds.

Done before Prefect is imported, so a wrong `-p` fails in milliseconds with
exit code 2, and done again inside the flow for runs started from the UI.
"""

from __future__ import annotations

import json
import math
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from ragline.errors import ParameterError
from ragline.spec.diagnostics import describe, did_you_mean
from ragline.spec.model import InputSpec, Workflow

PYTHON_TYPES: dict[str, type] = {
    "string": str,
    "integer": int,
    "number": float,
    "boolean": bool,
    "array": list,
    "object": dict,
}


def input_json_schema(spec: InputSpec) -> dict[str, Any]:
    schema = spec.model_dump(by_alias=True, exclude_none=True, exclude={"description", "default"})
    return schema


def has_default(spec: InputSpec) -> bool:
    return "default" in spec.model_fields_set


def _explain(err: ValidationError, spec: InputSpec, value: Any) -> str:
    """The first schema error of a parameter, in the words of `inputs:`."""
    bound = err.validator_value
    shown = int(bound) if isinstance(bound, float) and bound.is_integer() else bound
    if err.validator == "type":
        return f"expects {spec.type}, got {describe(value)}"
    if err.validator in ("minimum", "maximum"):
        word = "at least" if err.validator == "minimum" else "at most"
        return f"must be {word} {shown}, got {value!r}"
    if err.validator == "enum":
        return f"must be one of {', '.join(map(repr, spec.enum or []))}, got {value!r}"
    if err.validator in ("minLength", "maxLength"):
        word = "at least" if err.validator == "minLength" else "at most"
        return f"must have {word} {shown} characters, got {len(value)}"
    return f"{err.message}"


def non_finite(value: Any) -> str | None:
    """'NaN', 'Infinity' or '-Infinity' when the value is or holds one, else None.

    Python's json reads and writes them, but they are not JSON: `--json` output,
    Prefect's parameters and every other JSON reader would choke on them.
    """
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    return next((found for v in items if (found := non_finite(v))), None)


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
            raise ParameterError(
                f"-p {item}: write parameters as key=value (e.g. -p question='What is ragline?')"
            )
        if key not in workflow.inputs:
            known = ", ".join(workflow.inputs) or "none"
            message = (
                f"-p {item}: '{key}' is not an input of workflow '{workflow.name}'"
                f"{did_you_mean(key, workflow.inputs) or f' (inputs: {known})'}"
            )
            raise ParameterError(message, [("", message)])
        try:
            params[key] = parse_cli_value(raw, workflow.inputs[key])
        except RecursionError:  # json recurses per level: 100,000 '[' exhaust the stack
            message = f"input '{key}' is nested too deeply to read; pass a flatter value"
            raise ParameterError(message, [(key, message)]) from None
    return params


def check_parameters(workflow: Workflow, params: dict[str, Any]) -> dict[str, Any]:
    """Defaults filled in, every value checked; ParameterError names each problem."""
    problems: list[tuple[str, str]] = []
    out: dict[str, Any] = {}
    for key in params:
        if key not in workflow.inputs:
            problems.append(
                (
                    "",
                    f"'{key}' is not an input of workflow '{workflow.name}'"
                    f"{did_you_mean(key, workflow.inputs)}",
                )
            )
    for name, spec in workflow.inputs.items():
        if name in params:
            value = params[name]
        elif has_default(spec):
            value = spec.default
        else:
            problems.append(
                (name, f"input '{name}' is required ({spec.type}); pass it with -p {name}=...")
            )
            continue
        if spec.type == "number" and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        bad = non_finite(value)
        if bad:
            what = "holds" if isinstance(value, (list, dict)) else "must be a finite number, got"
            problems.append(
                (
                    name,
                    f"input '{name}' {what} {bad}: NaN and Infinity are not JSON, "
                    "so a run could neither store nor print it",
                )
            )
            continue
        errors = sorted(Draft202012Validator(input_json_schema(spec)).iter_errors(value), key=str)
        for err in errors[:1]:
            problems.append((name, f"input '{name}' {_explain(err, spec, value)}"))
        out[name] = value
    if problems:
        raise ParameterError("; ".join(m for _, m in problems), problems)
    return out

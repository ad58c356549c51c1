"""Generate the JSON Schemas editors and `ragline validate` use, from the pydantic models.

`workflow.schema.json` is the Workflow model plus, for every registered step
type (built-in or plugin), an if/then that types that step's `with:`. Each
config field also accepts a `${{ }}` expression, except `Ref` fields, which
accept only one.
"""

from __future__ import annotations

import json
from typing import Any

from ragline.sdk.registry import Registry
from ragline.sdk.step import RefMarker, StepType
from ragline.spec.diagnostics import REFERENCE_PATTERN
from ragline.spec.model import Workflow

SCHEMA_ID = "https://ragline.dev/schemas/workflow.schema.json"
EXPRESSION_DEF = {
    "type": "string",
    "pattern": REFERENCE_PATTERN,
    "description": "A ${{ }} data path: inputs.NAME, steps.ID.output[.field], env.NAME.",
}


def _is_ref(step_type: StepType, field_name: str) -> bool:
    info = step_type.config.model_fields.get(field_name)
    return bool(info and any(isinstance(m, RefMarker) for m in info.metadata))


def _field_name(step_type: StepType, prop: str) -> str:
    for name, info in step_type.config.model_fields.items():
        if (info.alias or name) == prop:
            return name
    return prop


def config_schema(step_type: StepType, ref_prefix: str = "") -> dict[str, Any]:
    """The schema of one step type's `with:`, expressions allowed where they fit."""
    template = f"#/$defs/{ref_prefix}{{model}}"
    schema = step_type.config.model_json_schema(by_alias=True, ref_template=template)
    expression_ref = {"$ref": "#/$defs/Expression"}
    for prop, prop_schema in list(schema.get("properties", {}).items()):
        description = prop_schema.get("description")
        if _is_ref(step_type, _field_name(step_type, prop)):
            wrapped: dict[str, Any] = dict(expression_ref)
        else:
            inner = {
                k: v for k, v in prop_schema.items() if k not in ("description", "title", "default")
            }
            wrapped = {"anyOf": [inner, expression_ref]}
            if "default" in prop_schema:
                wrapped["default"] = prop_schema["default"]
        if description:
            wrapped["description"] = description
        schema["properties"][prop] = wrapped
    schema["title"] = f"{step_type.name} (with:)"
    if step_type.summary:
        schema["description"] = step_type.summary
    return schema


def standalone_config_schema(step_type: StepType) -> dict[str, Any]:
    schema = config_schema(step_type)
    schema.setdefault("$defs", {})["Expression"] = EXPRESSION_DEF
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def workflow_schema(registry: Registry) -> dict[str, Any]:
    schema = Workflow.model_json_schema(by_alias=True, mode="validation")
    defs = schema.setdefault("$defs", {})
    defs["Expression"] = EXPRESSION_DEF
    step_spec = defs["StepSpec"]
    names = registry.names()
    step_spec["properties"]["uses"]["enum"] = names
    branches = []
    for name in names:
        step_type = registry.get(name)
        prefix = f"{name}__"
        cfg = config_schema(step_type, ref_prefix=prefix)
        for def_name, def_schema in cfg.pop("$defs", {}).items():
            defs[f"{prefix}{def_name}"] = def_schema
        defs[f"{prefix}with"] = cfg
        branches.append(
            {
                "if": {"properties": {"uses": {"const": name}}, "required": ["uses"]},
                "then": {"properties": {"with": {"$ref": f"#/$defs/{prefix}with"}}},
            }
        )
    if branches:
        step_spec["allOf"] = branches
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
    }


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


_cached: dict[int, dict[str, Any]] = {}


def cached_workflow_schema(registry: Registry) -> dict[str, Any]:
    key = id(registry)
    if key not in _cached:
        _cached[key] = workflow_schema(registry)
    return _cached[key]

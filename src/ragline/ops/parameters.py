"""A workflow's `inputs:` as the OpenAPI parameter schema Prefect stores on a deployment.

The Prefect UI builds its run form from this schema (titles, order by
`position`, defaults, bounds, enums), and the server checks every run's
parameters against it, so a run started from the UI with a wrong value is
refused before a worker picks it up.
"""

from __future__ import annotations

from typing import Any

from ragline.spec.inputs import has_default, input_json_schema
from ragline.spec.model import Workflow


def parameter_schema(workflow: Workflow) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    required: list[str] = []
    for position, (name, spec) in enumerate(workflow.inputs.items()):
        prop: dict[str, Any] = {"title": name, "position": position, **input_json_schema(spec)}
        if spec.description:
            prop["description"] = spec.description
        if has_default(spec):
            prop["default"] = spec.default
        else:
            required.append(name)
        properties[name] = prop
    schema: dict[str, Any] = {
        "title": "Parameters",
        "type": "object",
        "properties": properties,
        "definitions": {},
    }
    if required:
        schema["required"] = required
    return schema

"""The JSON Schema of suite files, for editors (`schemas/suite.schema.json`).

Generated from the same pydantic models that validate a suite, with `assert:`
items typed as one of the assertion models (chosen by `type`), so an editor
completes assertion types and their keys. Regenerate with
`ragline schema`; a test fails when the checked-in file is stale.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from ragline.suites.model import ASSERTION_MODELS, SuiteSpec

SCHEMA_ID = "https://ragline.dev/schemas/suite.schema.json"
DEFAULT_PATH = Path(__file__).resolve().parents[3] / "schemas" / "suite.schema.json"


def suite_schema() -> dict[str, Any]:
    schema = SuiteSpec.model_json_schema(by_alias=True)
    defs = schema.setdefault("$defs", {})
    branches = []
    for cls in dict.fromkeys(ASSERTION_MODELS.values()):
        sub = TypeAdapter(cls).json_schema(ref_template="#/$defs/{model}")
        defs.update(sub.pop("$defs", {}))
        defs[cls.__name__] = sub
        branches.append({"$ref": f"#/$defs/{cls.__name__}"})
    assertion = {"anyOf": branches, "description": "One check of a case's output."}
    for holder in ("CaseSpec", "DefaultsSpec"):
        defs[holder]["properties"]["assert"]["items"] = assertion
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = SCHEMA_ID
    schema["title"] = "ragline test suite"
    return schema


def render() -> str:
    return json.dumps(suite_schema(), indent=2, sort_keys=True) + "\n"

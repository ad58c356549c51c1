"""Turn jsonschema and pydantic errors into messages a workflow author can act on."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from jsonschema.exceptions import ValidationError

from ragline.errors import Diagnostic
from ragline.spec.loader import JsonPath, LoadedYaml, format_path

_JSON_TYPE = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    list: "list",
    dict: "mapping",
    type(None): "null",
}

_PATTERN_HINTS = {
    "api_key": "API keys are references, never literal values: "
    "write 'env:NAME' or 'secret:BLOCK_NAME'",
    "id": "step ids are lowercase letters, digits, '-' and '_', "
    "starting with a letter (e.g. 'embed-docs')",
    "name": "workflow names are lowercase letters, digits, '.', '-' and '_' (e.g. 'docs-qa')",
    "table": "table names are letters, digits, '.', '-' and '_'",
}


_SECRET_KEYS = {"api_key", "url", "password", "token"}

# What a `Ref` field (its value always comes from an upstream step) must match.
REFERENCE_PATTERN = r"^\s*\$\{\{.*\}\}\s*$"


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{match[0]}'?" if match else ""


def describe(value: Any) -> str:
    kind = _JSON_TYPE.get(type(value), type(value).__name__)
    if isinstance(value, (dict, list)):
        return f"a {kind}"
    shown = repr(value)
    if len(shown) > 40:
        shown = shown[:37] + "..."
    return f"{kind} {shown}"


def _owner(loaded: LoadedYaml, path: JsonPath) -> str:
    """What the mapping at `path` is, in the user's words ("generate", "the workflow")."""
    if not path:
        return "the workflow"
    if len(path) == 3 and path[0] == "steps" and path[2] == "with":
        step = _step_at(loaded, path[1])
        uses = step.get("uses") if step else None
        return uses if isinstance(uses, str) else "this step's with:"
    if len(path) == 2 and path[0] == "steps":
        return "a step"
    if len(path) == 3 and path[0] == "models":
        return "a model deployment"
    if isinstance(path[-1], int):
        return f"an item of '{format_path(path[:-1])}'"
    return f"'{path[-1]}'"


def _step_at(loaded: LoadedYaml, index: str | int) -> dict[str, Any] | None:
    steps = loaded.data.get("steps") if isinstance(loaded.data, dict) else None
    if isinstance(steps, list) and isinstance(index, int) and index < len(steps):
        step = steps[index]
        return step if isinstance(step, dict) else None
    return None


def _is_expression_branch(schema: Any) -> bool:
    return isinstance(schema, dict) and schema.get("$ref") == "#/$defs/Expression"


def _unknown_keys(
    loaded: LoadedYaml, path: JsonPath, instance: dict[str, Any], allowed: set[str]
) -> list[Diagnostic]:
    """One diagnostic per unknown key: the mapping's JSON path, positioned on the key itself."""
    out = []
    for key in instance:
        if key in allowed:
            continue
        hint = did_you_mean(key, allowed) or f" (fields: {', '.join(sorted(allowed))})"
        line, col = loaded.position((*path, key), key=True)
        message = f"'{key}' is not a field of {_owner(loaded, path)}{hint}"
        out.append(Diagnostic(loaded.file, line, col, format_path(path), message))
    return out


def _branch_errors(loaded: LoadedYaml, path: JsonPath, error: ValidationError) -> list[Diagnostic]:
    """anyOf/oneOf: report what the branch the user meant says, not "matches none"."""
    raw_branches = error.validator_value
    branches: list[Any] = raw_branches if isinstance(raw_branches, list) else []
    instance = error.instance
    context = list(error.context or [])
    if any(_is_expression_branch(b) for b in branches):
        if isinstance(instance, str) and "${{" in instance:
            return [
                loaded.diagnostic(
                    path,
                    f"'{instance}' is not a valid expression: write "
                    "'${{ inputs.NAME }}' or '${{ steps.ID.output }}' alone in the value",
                )
            ]
        context = [e for e in context if not _is_expression_branch(branches[int(e.schema_path[0])])]
    # A branch whose type matched explains the problem better than those whose type did not.
    deeper = [e for e in context if len(e.absolute_path) > len(path)]
    if deeper:
        return from_schema_error(loaded, max(deeper, key=lambda e: len(e.absolute_path)))
    matched_type = [e for e in context if e.validator not in ("type", "const", "$ref")]
    if matched_type:
        return from_schema_error(loaded, matched_type[0])
    kinds: list[str] = []
    for b in branches:
        if not isinstance(b, dict) or _is_expression_branch(b):
            continue
        kind = b.get("type") or str(b.get("$ref", "")).rsplit("/", 1)[-1] or b.get("const")
        if isinstance(kind, str) and kind != "null" and kind not in kinds:
            kinds.append({"object": "a mapping", "array": "a list"}.get(kind, kind))
    expected = " or ".join(kinds) or "another value"
    return [loaded.diagnostic(path, f"expected {expected}, found {describe(instance)}")]


def _missing_keys(loaded: LoadedYaml, path: JsonPath, error: ValidationError) -> list[Diagnostic]:
    instance = error.instance
    required = error.validator_value if isinstance(error.validator_value, list) else []
    missing = [k for k in required if isinstance(instance, dict) and k not in instance]
    owner = _owner(loaded, path)
    if len(path) == 3 and path[2] == "with":
        owner = f"the with: of step type '{owner}'"
    return [loaded.diagnostic(path, f"missing required key '{k}' in {owner}") for k in missing]


def _const_message(path: JsonPath, error: ValidationError) -> str:
    if path == ("apiVersion",):
        return (
            f"apiVersion must be 'ragline/v1', found {describe(error.instance)}; "
            "this version of ragline reads ragline/v1 workflows"
        )
    return f"expected {error.validator_value!r}, found {describe(error.instance)}"


def _not_a_reference(loaded: LoadedYaml, path: JsonPath, instance: Any) -> Diagnostic:
    """A literal where only an upstream output fits: say what to write instead."""
    key = f"'{path[-1]}'" if path and isinstance(path[-1], str) else "this field"
    return loaded.diagnostic(
        path,
        f"{key} takes an earlier step's output, written as a reference like "
        f"'${{{{ steps.ID.output }}}}'; found {describe(instance)}",
    )


def from_schema_error(loaded: LoadedYaml, error: ValidationError) -> list[Diagnostic]:
    path: JsonPath = tuple(error.absolute_path)
    v = error.validator
    instance = error.instance
    schema = error.schema if isinstance(error.schema, dict) else {}

    if v in ("type", "pattern") and schema.get("pattern") == REFERENCE_PATTERN:
        return [_not_a_reference(loaded, path, instance)]
    if v == "additionalProperties" and isinstance(instance, dict):
        return _unknown_keys(loaded, path, instance, set(schema.get("properties", {})))
    if v == "required":
        return _missing_keys(loaded, path, error)
    if v in ("anyOf", "oneOf"):
        return _branch_errors(loaded, path, error)
    if v == "type":
        raw: Any = error.validator_value
        names = [str(t) for t in raw] if isinstance(raw, list) else [str(raw)]
        words = {"object": "a mapping", "array": "a list"}
        expected = " or ".join(words.get(n, n) for n in names)
        return [loaded.diagnostic(path, f"expected {expected}, found {describe(instance)}")]
    if v == "const":
        return [loaded.diagnostic(path, _const_message(path, error))]
    if v == "enum":
        if len(path) == 3 and path[0] == "steps" and path[2] == "uses":
            return []  # the semantic check reports unknown step types with suggestions
        values: Any = error.validator_value
        choices = [str(c) for c in values]
        hint = did_you_mean(str(instance), choices)
        return [
            loaded.diagnostic(
                path, f"{describe(instance)} is not one of {', '.join(choices)}{hint}"
            )
        ]
    if v == "pattern":
        key = str(path[-1]) if path else ""
        hint = _PATTERN_HINTS.get(key, f"it must match {error.validator_value}")
        # Never echo what may be a literal secret back into a terminal or CI log.
        found = "a literal value" if key in _SECRET_KEYS else describe(instance)
        return [loaded.diagnostic(path, f"{found} is not allowed here: {hint}")]
    if v in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        word = {
            "minimum": "at least",
            "exclusiveMinimum": "more than",
            "maximum": "at most",
            "exclusiveMaximum": "less than",
        }[v]
        return [
            loaded.diagnostic(
                path, f"{instance!r} is out of range: it must be {word} {error.validator_value}"
            )
        ]
    if v in ("minItems", "minLength"):
        what = "item" if v == "minItems" else "character"
        return [loaded.diagnostic(path, f"needs at least {error.validator_value} {what}(s)")]
    return [loaded.diagnostic(path, error.message)]


def from_pydantic_errors(loaded: LoadedYaml, base: JsonPath, errors: list[Any]) -> list[Diagnostic]:
    out = []
    for err in errors:
        loc = tuple(
            p for p in err.get("loc", ()) if not (isinstance(p, str) and p.startswith("function-"))
        )
        msg = str(err.get("msg", "invalid value"))
        msg = msg.removeprefix("Value error, ")
        if err.get("type") == "missing" and loc and isinstance(loc[-1], str):
            # pydantic says "Field required"; say which key and where it goes.
            owner = _owner(loaded, (*base, *loc[:-1]))
            if len(base) + len(loc) == 4 and base[0] == "steps" and base[-1] == "with":
                owner = f"the with: of step type '{owner}'"
            msg = f"missing required key '{loc[-1]}' in {owner}"
        out.append(loaded.diagnostic((*base, *loc), msg))
    return out

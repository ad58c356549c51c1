"""great-expectations suites declared in YAML, run on step outputs turned into data frames.

A workflow names expectations the way GX does, with or without the `expect_`
prefix (`column_values_to_be_unique: {column: id}`); ragline builds the frame
(one row per chunk, document or answer, with derived columns such as
`length`, `vector_dim` and `cites_source`) and lets GX do the checking.

Names are checked at `ragline validate` time against the expectation classes
GX ships, read from its source without importing it (GX takes seconds to
import), so a typo is reported with its line and a did-you-mean. Arguments
are checked against the fields each class declares, read from
`gx_expectations.json`: a table generated from the installed GX
(`write_fields_table()`) and checked by a test, used only while the installed
GX version is the one it was generated from.
"""

from __future__ import annotations

import difflib
import functools
import importlib.metadata
import importlib.util
import json
import re
import threading
import uuid
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

CITATION = re.compile(r"\[([^\]#\s]+)#\d+\]")
FIELDS_TABLE = Path(__file__).with_name("gx_expectations.json")
_INTERNAL = {"id", "rendered_content", "batch_id", "windows"}  # accepted, never suggested
_lock = threading.Lock()


class ExpectationOutcome(BaseModel):
    """One expectation's result, with what GX observed."""

    data: str
    expectation: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    success: bool
    observed: Any = None
    unexpected_count: int | None = None
    unexpected_examples: list[Any] = Field(default_factory=list)
    reason: str | None = Field(
        default=None, description="Why GX could not evaluate it (e.g. a missing column)."
    )


@functools.cache
def known_expectations() -> tuple[str, ...]:
    """snake_case names of GX's expectation classes (`expect_...`), without importing GX."""
    spec = importlib.util.find_spec("great_expectations")
    if spec is None or not spec.submodule_search_locations:
        return ()
    core = Path(next(iter(spec.submodule_search_locations))) / "expectations" / "core"
    text = (core / "__init__.py").read_text() if core.is_dir() else ""
    return tuple(sorted({_snake(m) for m in re.findall(r"\b(Expect[A-Z]\w+)\b", text)}))


def _snake(camel: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", camel).lower()


def _camel(name: str) -> str:
    return "".join(p.capitalize() for p in canonical(name).split("_"))


def build_fields_table() -> dict[str, Any]:
    """Each GX expectation's declared arguments, from its (pydantic) class: imports GX."""
    import great_expectations as gx

    classes = {n: getattr(gx.expectations, _camel(n), None) for n in known_expectations()}
    declared = {n: list(c.__fields__.values()) for n, c in classes.items() if c is not None}
    common = set.intersection(*({f.alias for f in fields} for fields in declared.values()))
    table: dict[str, Any] = {}
    for name, all_fields in declared.items():
        fields = [f for f in all_fields if f.alias not in common]
        table[name] = {
            "required": sorted(f.alias for f in fields if f.required),
            "optional": sorted(f.alias for f in fields if not f.required),
        }
    return {"great_expectations": gx.__version__, "common": sorted(common), "expectations": table}


def write_fields_table(path: Path = FIELDS_TABLE) -> None:
    """Regenerate gx_expectations.json after upgrading great-expectations."""
    path.write_text(json.dumps(build_fields_table(), indent=1, sort_keys=True) + "\n")


@functools.cache
def _fields_table() -> dict[str, Any] | None:
    """The generated table, or None when it was made for another GX version (or is missing)."""
    try:
        table: dict[str, Any] = json.loads(FIELDS_TABLE.read_text())
        installed = importlib.metadata.version("great_expectations")
    except (OSError, ValueError, importlib.metadata.PackageNotFoundError):
        return None
    return table if table.get("great_expectations") == installed else None


def argument_problems(name: str, arguments: Any) -> list[tuple[tuple[str, ...], str]]:
    """(path under the expectation, message) for each unknown or missing argument."""
    table = _fields_table()
    spec = table["expectations"].get(canonical(name)) if table else None
    if table is None or spec is None or not isinstance(arguments, (dict, type(None))):
        return []  # unknown names are reported by unknown_name_message; types by the schema
    given = arguments or {}
    own = [*spec["required"], *spec["optional"]]
    allowed = {*own, *table["common"]}
    short = name.removeprefix("expect_")
    problems: list[tuple[tuple[str, ...], str]] = []
    for key in given:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), sorted(allowed), n=1, cutoff=0.6)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            problems.append(
                (
                    (name, str(key)),
                    f"'{key}' is not an argument of {short}{hint} (arguments: "
                    f"{', '.join(own) or 'none'}; options of every expectation: "
                    f"{', '.join(k for k in table['common'] if k not in _INTERNAL)})",
                )
            )
    for key in spec["required"]:
        if key not in given:
            problems.append(((name,), f"{short} needs the argument '{key}' (e.g. {{{key}: ...}})"))
    return problems


def canonical(name: str) -> str:
    return name if name.startswith("expect_") else f"expect_{name}"


def unknown_name_message(name: str) -> str | None:
    """None when GX has the expectation; otherwise what to write instead."""
    known = known_expectations()
    if not known or canonical(name) in known:
        return None
    close = difflib.get_close_matches(canonical(name), known, n=1, cutoff=0.6)
    hint = f"; did you mean '{close[0].removeprefix('expect_')}'?" if close else ""
    return (
        f"unknown expectation '{name}'{hint} (great-expectations names, e.g. "
        "column_values_to_not_be_null, column_values_to_be_unique, table_row_count_to_be_between)"
    )


def frame_rows(data: Any, cited_sources: set[str] | None = None) -> list[dict[str, Any]]:
    """Rows for a data frame: models and dicts as columns, plus derived columns."""
    items = data if isinstance(data, list) else [data]
    rows = []
    for item in items:
        if isinstance(item, BaseModel):
            row = item.model_dump()
        elif isinstance(item, dict):
            row = dict(item)
        else:
            row = {"text": "" if item is None else str(item)}
        vector = row.pop("vector", None)
        if vector is not None:
            row["vector_dim"] = len(vector)
        text = row.get("text")
        if isinstance(text, str):
            row["length"] = len(text)
            cited = set(CITATION.findall(text))
            row["cites_source"] = bool(cited & cited_sources) if cited_sources else bool(cited)
        rows.append({k: v for k, v in row.items() if not isinstance(v, (dict, list))})
    return rows


def _context() -> Any:
    """One ephemeral GX context per process (no files, no network)."""
    import great_expectations as gx

    with _lock:
        context = getattr(_context, "value", None)
        if context is None:
            context = gx.get_context(mode="ephemeral")
            try:
                from great_expectations.data_context.types.base import ProgressBarsConfig

                context.variables.progress_bars = ProgressBarsConfig(globally=False)
            except (ImportError, AttributeError, TypeError):
                pass
            _context.value = context  # type: ignore[attr-defined]
        return context


def run_suite(
    name: str, rows: list[dict[str, Any]], expect: list[dict[str, dict[str, Any]]]
) -> list[ExpectationOutcome]:
    """Validate `rows` against the expectations through GX's API; one outcome each."""
    import great_expectations as gx
    import pandas as pd

    from ragline.errors import ErrorCategory, StepError

    expectations = []
    for entry in expect:
        ((raw_name, kwargs),) = entry.items()
        problem = unknown_name_message(raw_name)
        if problem:
            raise StepError(
                f"expectations.{name}: {problem}", category=ErrorCategory.INPUT, retryable=False
            )
        try:
            expectations.append(getattr(gx.expectations, _camel(raw_name))(**(kwargs or {})))
        except Exception as exc:  # GX raises pydantic errors for bad arguments
            raise StepError(
                f"expectations.{name}.{raw_name}: great-expectations refuses the arguments "
                f"{kwargs}: {_pydantic_reasons(exc)}",
                category=ErrorCategory.INPUT,
                retryable=False,
            ) from None
    context = _context()
    with _lock:
        source = context.data_sources.add_pandas(f"ragline-{name}-{uuid.uuid4().hex[:8]}")
        asset = source.add_dataframe_asset(name=name)
        batch = asset.add_batch_definition_whole_dataframe("all").get_batch(
            batch_parameters={"dataframe": pd.DataFrame(rows)}
        )
        suite = gx.ExpectationSuite(name=f"ragline-{name}", expectations=expectations)
        result = batch.validate(suite)
    columns = sorted({key for row in rows for key in row})
    outcomes = []
    for entry, item in zip(expect, result.results, strict=True):
        ((raw_name, arguments),) = entry.items()
        details = item.result or {}
        examples = [_plain(v) for v in (details.get("partial_unexpected_list") or [])[:5]]
        outcomes.append(
            ExpectationOutcome(
                data=name,
                expectation=raw_name,
                arguments=arguments or {},
                success=bool(item.success),
                observed=_plain(details.get("observed_value")),
                unexpected_count=details.get("unexpected_count"),
                unexpected_examples=examples,
                reason=_exception_reason(item.exception_info, columns),
            )
        )
    return outcomes


def _pydantic_reasons(exc: Exception) -> str:
    """`column: field required; columnn: extra fields not permitted` from a GX model error."""
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return str(exc).splitlines()[0]
    parts = []
    for e in errors():
        where = ".".join(str(p) for p in e.get("loc", ()) if p != "__root__")
        parts.append(f"{where}: {e.get('msg')}" if where else str(e.get("msg")))
    return "; ".join(dict.fromkeys(parts)) or str(exc).splitlines()[0]


def _exception_reason(info: Any, columns: list[str]) -> str | None:
    """GX's own message when it could not evaluate an expectation, with the frame's columns."""
    if not isinstance(info, dict):
        return None
    found = [info] if "raised_exception" in info else list(info.values())
    messages = [
        str(i.get("exception_message")).removeprefix("Error: ")
        for i in found
        if isinstance(i, dict) and i.get("raised_exception")
    ]
    if not messages:
        return None
    reason = "; ".join(dict.fromkeys(messages))
    if "does not exist" in reason:
        reason += f" (columns: {', '.join(columns)})"
    return reason


def _plain(value: Any) -> Any:
    """numpy scalars and NaN as JSON-friendly values."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value

"""great-expectations suites declared in YAML, run on step outputs turned into data frames.

A workflow names expectations the way GX does, with or without the `expect_`
prefix (`column_values_to_be_unique: {column: id}`); ragline builds the frame
(one row per chunk, document or answer, with derived columns such as
`length`, `vector_dim` and `cites_source`) and lets GX do the checking.

Names are checked at `ragline validate` time against the expectation classes
GX ships, read from its source without importing it (GX takes seconds to
import), so a typo is reported with its line and a did-you-mean.
"""

from __future__ import annotations

import difflib
import functools
import importlib.util
import re
import threading
import uuid
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

CITATION = re.compile(r"\[([^\]#\s]+)#\d+\]")
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

    from ragline.errors import ConfigError

    expectations = []
    for entry in expect:
        ((raw_name, kwargs),) = entry.items()
        problem = unknown_name_message(raw_name)
        if problem:
            raise ConfigError(f"expectations.{name}: {problem}")
        class_name = "".join(p.capitalize() for p in canonical(raw_name).split("_"))
        try:
            expectations.append(getattr(gx.expectations, class_name)(**(kwargs or {})))
        except Exception as exc:  # GX raises pydantic errors for bad arguments
            raise ConfigError(
                f"expectations.{name}.{raw_name}: invalid arguments {kwargs}: "
                f"{str(exc).splitlines()[0]}"
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
            )
        )
    return outcomes


def _plain(value: Any) -> Any:
    """numpy scalars and NaN as JSON-friendly values."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value

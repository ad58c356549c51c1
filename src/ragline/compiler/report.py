"""Publish what a run did as Prefect artifacts on the flow run, and log its totals.

Steps never import Prefect: they describe artifacts as data in
`ctx.metrics["artifacts"]` (a list of {key, kind: markdown|table, data,
description}) and this module publishes them, plus:

- `run-summary` (markdown): per step its state, duration, retries, cache hit
  and model use, and the run's totals;
- `model-usage-total` (table): per model that answered, calls, tokens in/out,
  cost, latency, cache hits, retries and fallbacks, and a TOTAL row.

A step served from the cache made no model calls in this run, so its usage is
left out of the totals; its own artifacts (an evaluation's scores, a safety
report) are published again, since they describe the output this run used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ragline.llm.usage import rows_total
from ragline.monitoring.events import emit
from ragline.spec.model import Workflow

if TYPE_CHECKING:
    from ragline.compiler.records import StepRecord


@dataclass
class RunTotals:
    """Per-run totals, for the summary artifact and the `run.finished` event."""

    steps: int = 0
    completed: int = 0
    cached: int = 0
    failed: int = 0
    retries: int = 0
    duration_s: float = 0.0
    model_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.__dict__,
            "duration_s": round(self.duration_s, 4),
            "cost_usd": round(self.cost_usd, 8),
        }


def _usage(record: StepRecord) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = [] if record.cached else record.metrics.get("model_usage", [])
    return rows


def run_totals(records: list[StepRecord]) -> RunTotals:
    t = RunTotals(steps=len(records))
    for r in records:
        t.cached += r.cached
        t.completed += r.state == "Completed"
        t.failed += r.state not in ("Completed", "Cached")
        t.retries += r.retries
        t.duration_s += r.duration_s or 0.0
    used = rows_total(row for r in records for row in _usage(r))
    t.model_calls = used.calls
    t.prompt_tokens = used.prompt_tokens
    t.completion_tokens = used.completion_tokens
    t.cost_usd = used.cost_usd
    return t


def summary_markdown(workflow: Workflow, records: list[StepRecord]) -> str:
    t = run_totals(records)
    lines = [
        f"# {workflow.name}",
        "",
        f"{t.steps} steps: {t.completed} run, {t.cached} from cache, {t.failed} failed; "
        f"{t.retries} retries; {t.duration_s:.3f} s of step time; "
        f"{t.model_calls} model calls, {t.prompt_tokens} tokens in, "
        f"{t.completion_tokens} tokens out, ${t.cost_usd:.6f}",
        "",
        "| step | type | state | duration (s) | retries | cache hit | model calls "
        "| tokens in | tokens out | cost (USD) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in records:
        duration = "-" if r.duration_s is None else f"{r.duration_s:.3f}"
        used = rows_total(_usage(r))
        lines.append(
            f"| {r.step_id} | {r.uses} | {r.state} | {duration} | {r.retries} "
            f"| {'yes' if r.cached else 'no'} | {used.calls} | {used.prompt_tokens} "
            f"| {used.completion_tokens} | {used.cost_usd:.6f} |"
        )
    return "\n".join(lines) + "\n"


def artifact_key(text: str) -> str:
    # Prefect artifact keys: lowercase letters, digits and dashes only.
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-") or "artifact"


def publish_run_summary(
    workflow: Workflow, records: list[StepRecord], *, run_id: str | None = None
) -> None:
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    from ragline.llm.usage import run_totals as model_totals

    create_markdown_artifact(
        markdown=summary_markdown(workflow, records),
        key="run-summary",
        description=f"Steps of {workflow.name}: state, duration, retries, cache hits, model use",
    )
    for record in records:
        for artifact in record.metrics.get("artifacts", []):
            publish_artifact(
                record.step_id, artifact, create_markdown_artifact, create_table_artifact
            )
    live = [r.metrics for r in records if not r.cached]
    if totals := model_totals(live):
        create_table_artifact(
            table=totals,
            key="model-usage-total",
            description=f"Model usage of the whole {workflow.name} run: calls, tokens in/out, "
            "cost, latency, cache hits, retries, fallbacks",
        )
    t = run_totals(records)
    emit(
        "run.finished",
        f"run of {workflow.name}: {t.completed} steps run, {t.cached} cached, {t.failed} failed",
        run_id=run_id,
        flow=workflow.name,
        **t.as_dict(),
    )


def publish_artifact(
    step_id: str, artifact: dict[str, Any], markdown_fn: Any, table_fn: Any
) -> None:
    name = str(artifact.get("key", "report"))
    # Steps often name artifacts after themselves already ("safety-safety" otherwise).
    key = artifact_key(name if name.startswith(f"{step_id}-") else f"{step_id}-{name}")
    description = artifact.get("description") or f"{name} of step {step_id}"
    if artifact.get("kind") == "table":
        table_fn(table=artifact["data"], key=key, description=description)
    else:
        markdown_fn(markdown=str(artifact["data"]), key=key, description=description)

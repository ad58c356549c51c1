"""Publish what a run did as Prefect artifacts on the flow run.

Steps never import Prefect: they describe artifacts as data in
`ctx.metrics["artifacts"]` (a list of {key, kind: markdown|table, data,
description}) and this module publishes them, plus the run summary.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ragline.spec.model import Workflow

if TYPE_CHECKING:
    from ragline.compiler.flow import StepRecord


def summary_markdown(workflow: Workflow, records: list[StepRecord]) -> str:
    lines = [
        f"# {workflow.name}",
        "",
        "| step | type | state | duration (s) | cache hit |",
        "|---|---|---|---|---|",
    ]
    for r in records:
        duration = "-" if r.duration_s is None else f"{r.duration_s:.3f}"
        lines.append(f"| {r.step_id} | {r.uses} | {r.state} | {duration} | {'yes' if r.cached else 'no'} |")
    return "\n".join(lines) + "\n"


def _artifact_key(text: str) -> str:
    # Prefect artifact keys: lowercase letters, digits and dashes only.
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-") or "artifact"


def publish_run_summary(workflow: Workflow, records: list[StepRecord]) -> None:
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    create_markdown_artifact(
        markdown=summary_markdown(workflow, records),
        key="run-summary",
        description=f"Steps of {workflow.name}: state, duration, cache hits",
    )
    for record in records:
        for artifact in record.metrics.get("artifacts", []):
            publish_artifact(record.step_id, artifact, create_markdown_artifact, create_table_artifact)
    from ragline.llm.usage import run_totals

    if totals := run_totals([r.metrics for r in records]):
        create_table_artifact(table=totals, key="model-usage-total",
                              description=f"Model usage of the whole {workflow.name} run")


def publish_artifact(step_id: str, artifact: dict[str, Any], markdown_fn: Any, table_fn: Any) -> None:
    key = _artifact_key(f"{step_id}-{artifact.get('key', 'report')}")
    description = artifact.get("description") or f"{artifact.get('key', 'report')} of step {step_id}"
    if artifact.get("kind") == "table":
        table_fn(table=artifact["data"], key=key, description=description)
    else:
        markdown_fn(markdown=str(artifact["data"]), key=key, description=description)

"""Publish a run's summary as a Prefect markdown artifact on the flow run."""

from __future__ import annotations

from typing import TYPE_CHECKING

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


def publish_run_summary(workflow: Workflow, records: list[StepRecord]) -> None:
    from prefect.artifacts import create_markdown_artifact

    create_markdown_artifact(
        markdown=summary_markdown(workflow, records),
        key="run-summary",
        description=f"Steps of {workflow.name}: state, duration, cache hits",
    )

"""`execution: {task_runner: dask, workers: 2}` runs the steps on a local Dask cluster
(prefect-dask), and the same workflow gives the same results as on the default runner."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from ragline.compiler.flow import compile_workflow
from ragline.spec.validate import load_workflow
from ragline.steps.registry import Registry

STEPS = """\
    apiVersion: ragline/v1
    name: parallel
    inputs:
      answer: {type: string, default: "Vectors live in LanceDB tables."}
    defaults: {cache: false}
    steps:
      - id: left
        uses: where
        with: {log: threads.log, value: left}
      - id: right
        uses: where
        with: {log: threads.log, value: right}
      - id: contexts
        uses: value
        with:
          value:
            - {id: a, document_id: d, text: "Vectors live in LanceDB tables.", score: 0.9, rank: 1}
      - id: safety
        uses: safety-check
        with: {text: "${{ inputs.answer }} Mail jane@example.com", checks: [pii], on_fail: redact}
      - id: evaluate
        uses: evaluate
        with:
          answer: "${{ inputs.answer }}"
          contexts: "${{ steps.contexts.output }}"
          reference: "Vectors live in LanceDB."
    outputs:
      sides: ["${{ steps.left.output }}", "${{ steps.right.output }}"]
      text: "${{ steps.safety.output.text }}"
      scores: "${{ steps.evaluate.output.metrics }}"
    """


def run_on(folder: Path, registry: Registry, execution: str) -> tuple[Any, dict[str, Any]]:
    folder.mkdir()
    path = folder / "parallel.yaml"
    path.write_text(textwrap.dedent(STEPS) + execution)
    flow = compile_workflow(load_workflow(path, registry), registry)
    return flow, flow()


def test_the_same_workflow_gives_the_same_results_on_dask_and_on_threads(
    tmp_path: Path, registry: Registry, prefect: str
) -> None:
    threads_flow, on_threads = run_on(tmp_path / "threads", registry, "")
    dask_flow, on_dask = run_on(
        tmp_path / "dask", registry, "execution: {task_runner: dask, workers: 2}\n"
    )
    assert type(threads_flow.task_runner).__name__ == "ThreadPoolTaskRunner"
    assert type(dask_flow.task_runner).__name__ == "DaskTaskRunner"
    assert on_dask == on_threads
    assert on_dask["sides"] == ["left", "right"]
    assert on_dask["text"].startswith("Vectors live") and "jane@example.com" not in on_dask["text"]
    assert on_dask["scores"]["groundedness"] > 0.5

    ran_on = dict(
        line.split(" ", 1) for line in (tmp_path / "dask" / "threads.log").read_text().splitlines()
    )
    assert set(ran_on) == {"left", "right"}
    assert all("Dask-" in name for name in ran_on.values()), ran_on


def test_a_dask_run_with_one_worker_still_completes_every_step(
    tmp_path: Path, registry: Registry, prefect: str
) -> None:
    _, outputs = run_on(tmp_path / "one", registry, "execution: {task_runner: dask, workers: 1}\n")
    assert outputs["sides"] == ["left", "right"]

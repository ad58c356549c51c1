"""`execution: {task_runner: dask, workers: 2}` runs the steps on a local Dask cluster
of worker processes (prefect-dask), and the same workflow gives the same results as on
the default runner; `processes: false` keeps the workers as threads of the run's process."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import Any

from ragline.compiler.flow import compile_workflow
from ragline.sdk.registry import Registry
from ragline.validation.workflow import load_workflow

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

    ran_on = _where(tmp_path / "dask" / "threads.log")
    assert set(ran_on) == {"left", "right"}
    # Worker processes of a cluster started for the run, not this process.
    assert all(pid != os.getpid() for pid, _ in ran_on.values()), ran_on
    assert all("Dask" in thread for _, thread in ran_on.values()), ran_on


def _where(log: Path) -> dict[str, tuple[int, str]]:
    """step id -> (process id, thread name), as the `where` step wrote them."""
    rows = [line.split(" ", 2) for line in log.read_text().splitlines()]
    return {step: (int(pid), thread) for step, pid, thread in rows}


def test_processes_false_runs_the_workers_as_threads_of_this_process(
    tmp_path: Path, registry: Registry, prefect: str
) -> None:
    _, outputs = run_on(
        tmp_path / "threads",
        registry,
        "execution: {task_runner: dask, workers: 2, processes: false}\n",
    )
    assert outputs["sides"] == ["left", "right"]
    ran_on = _where(tmp_path / "threads" / "threads.log")
    assert {pid for pid, _ in ran_on.values()} == {os.getpid()}


def test_a_dask_run_with_one_worker_still_completes_every_step(
    tmp_path: Path, registry: Registry, prefect: str
) -> None:
    _, outputs = run_on(tmp_path / "one", registry, "execution: {task_runner: dask, workers: 1}\n")
    assert outputs["sides"] == ["left", "right"]

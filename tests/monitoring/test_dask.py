"""`execution: {task_runner: dask, workers: 2}` runs the steps on a local Dask cluster
of worker processes (prefect-dask), and the same workflow gives the same results as on
the default runner; `processes: false` keeps the workers as threads of the run's process."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import Any

import pytest

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


def _worker_settings(address: str) -> set[tuple[Any, ...]]:
    """What every worker computes with: the quiet settings and its malloc and thread variables."""
    import dask
    from distributed import Client

    from ragline.compiler.dask import QUIET_WORKERS

    def settings() -> tuple[Any, ...]:
        configured = [dask.config.get(k) for k in QUIET_WORKERS if "environ" not in k]
        variables = [os.environ.get(v) for v in ("MALLOC_TRIM_THRESHOLD_", "OMP_NUM_THREADS")]
        return (*configured, *variables)

    with Client(address, set_as_default=False) as client:
        return set(client.run(settings).values())


@pytest.mark.integration
def test_the_workers_ragline_starts_keep_mallocs_own_thresholds_and_do_not_profile(
    tmp_path: Path,
) -> None:
    """Dask's nanny would set MALLOC_TRIM_THRESHOLD_ (every model activation mapped and
    unmapped again), its profiler samples a worker's stack every 10 ms under the GIL,
    and every process wakes every 20 ms to time its own event loop: the workers ragline
    starts, and the test clusters, run without any of it."""
    from ragline.compiler.dask import dask_task_runner
    from ragline.spec.model import Execution
    from ragline.testing.dask_cluster import local_dask_cluster

    quiet = (False, "1s", "2s", "200ms", None, "1")
    runner = dask_task_runner(Execution(task_runner="dask", workers=1))
    with runner.cluster_class(**runner.cluster_kwargs) as cluster:
        assert _worker_settings(cluster.scheduler_address) == {quiet}
    with local_dask_cluster(tmp_path / "cluster", workers=1) as started:
        assert _worker_settings(started.address) == {quiet}

"""Partitioned ingestion on a real Dask cluster (a `dask scheduler` and two `dask worker`
processes on loopback) into a real LanceDB table: the rows are exact whatever
happens to the workers, and concurrent runs never duplicate a row."""

from __future__ import annotations

import os
import signal
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ragline.compiler.flow import compile_workflow
from ragline.compiler.partitions import Part
from ragline.sdk.registry import Registry, discover
from ragline.store import open_chunk_table
from ragline.testing.dask_cluster import LocalDaskCluster, local_dask_cluster
from ragline.validation.workflow import load_workflow

pytestmark = [pytest.mark.integration, pytest.mark.slow]

HERE = Path(__file__).resolve().parent
PLUGIN_ENV = {
    "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
    "RAGLINE_PLUGINS": "ragline_scale_steps",
}

WORKFLOW = """\
    apiVersion: ragline/v1
    name: scale-out
    stores:
      docs: {{uri: {store}, table: docs}}
    steps:
      - id: ingest
        uses: ingest
        with: {{paths: ["corpus/*.md"]}}
      - id: chunk
        uses: chunk
        with: {{documents: "${{{{ steps.ingest.output }}}}", size: 40, overlap: 0}}
      - id: vectors
        uses: slow-vectors
        partition: {{count: 4}}
        retries: 2
        with: {{chunks: "${{{{ steps.chunk.output }}}}", delay: {delay}, where: where.log}}
      - id: index
        uses: index
        partition: {{count: {parts}}}
        with: {{chunks: "${{{{ steps.vectors.output }}}}", store: docs}}
    outputs:
      chunks: "${{{{ steps.chunk.output }}}}"
      index: "${{{{ steps.index.output }}}}"
    execution: {{task_runner: dask, address: '{address}'}}
    """


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalDaskCluster]:
    with local_dask_cluster(
        tmp_path_factory.mktemp("dask-cluster"), workers=2, env=PLUGIN_ENV
    ) as running:
        yield running


@pytest.fixture
def scale_registry(monkeypatch: pytest.MonkeyPatch) -> Registry:
    monkeypatch.syspath_prepend(str(HERE))
    monkeypatch.setenv("RAGLINE_PLUGINS", "ragline_scale_steps")
    return discover()


def _project(folder: Path, store: Path, address: str, *, delay: float, parts: int) -> Path:
    (folder / "corpus").mkdir(parents=True, exist_ok=True)
    for i in range(12):
        body = " ".join(f"word{i}-{j}" for j in range(60))
        (folder / "corpus" / f"page{i}.md").write_text(f"# Page {i}\n\n{body}\n")
    path = folder / "workflow.yaml"
    path.write_text(
        textwrap.dedent(WORKFLOW).format(store=store, address=address, delay=delay, parts=parts)
    )
    return path


def _run(path: Path, registry: Registry) -> dict[str, Any]:
    return compile_workflow(load_workflow(path, registry), registry)()  # type: ignore[no-any-return]


def _stored_ids(store: Path) -> list[str]:
    return list(open_chunk_table(str(store), "docs").existing_ids())


def test_a_partitioned_ingestion_on_the_cluster_stores_every_chunk_once(
    tmp_path: Path, cluster: LocalDaskCluster, scale_registry: Registry, prefect: str
) -> None:
    store = tmp_path / "lancedb"
    path = _project(tmp_path / "p", store, cluster.address, delay=0, parts=3)

    first = _run(path, scale_registry)
    again = _run(path, scale_registry)

    expected = sorted(c.id for c in first["chunks"])
    assert len(expected) > 12
    assert sorted(_stored_ids(store)) == expected
    assert first["index"].added == len(expected)
    assert (again["index"].added, again["index"].deleted) == (0, 0)  # a rerun writes nothing


def test_the_slices_spread_over_the_workers_in_blocks_without_stealing_their_inputs(
    tmp_path: Path, cluster: LocalDaskCluster, scale_registry: Registry, prefect: str
) -> None:
    from distributed import Client

    folder = tmp_path / "p"
    path = _project(folder, tmp_path / "lancedb", cluster.address, delay=1, parts=4)

    chunks = _run(path, scale_registry)["chunks"]

    with Client(cluster.address, set_as_default=False) as client:
        pids = client.run(os.getpid)
    workers = [pids[address] for address in sorted(pids)]
    ran_on = dict(line.split() for line in (folder / "where.log").read_text().splitlines())
    firsts = [chunks[Part(i, 4).bounds(len(chunks))[0]].id for i in range(4)]
    # Slice i of 4 on worker i * 2 // 4: the first two on one worker, the last two on the other.
    assert [int(ran_on[first]) for first in firsts] == [workers[0]] * 2 + [workers[1]] * 2


def test_a_worker_killed_mid_run_leaves_every_row_exactly_once(
    tmp_path: Path, cluster: LocalDaskCluster, scale_registry: Registry, prefect: str
) -> None:
    store = tmp_path / "lancedb"
    folder = tmp_path / "p"
    path = _project(folder, store, cluster.address, delay=6, parts=4)
    started = folder / "started.log"
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = _run(path, scale_registry)
        except BaseException as exc:  # reported below
            outcome["error"] = exc

    runner = threading.Thread(target=run)
    runner.start()
    deadline = time.monotonic() + 120
    while not (started.exists() and started.read_text().strip()):
        assert time.monotonic() < deadline, "no slice started"
        time.sleep(0.2)
    victim = int(started.read_text().split()[0])
    assert victim != os.getpid()
    os.kill(victim, signal.SIGKILL)  # the worker dies in the middle of its slice
    runner.join(timeout=600)

    assert "error" not in outcome, outcome.get("error")
    ids = _stored_ids(store)
    expected = sorted(c.id for c in outcome["result"]["chunks"])
    assert len(ids) == len(set(ids))  # 0 duplicated
    assert sorted(ids) == expected  # 0 lost


def test_two_partitioned_runs_into_one_table_at_once_leave_each_row_once(
    tmp_path: Path, cluster: LocalDaskCluster, scale_registry: Registry, prefect: str
) -> None:
    store = tmp_path / "lancedb"
    paths = [_project(tmp_path / name, store, cluster.address, delay=1, parts=2) for name in "ab"]
    results: list[dict[str, Any]] = []
    runners = [
        threading.Thread(target=lambda p=p: results.append(_run(p, scale_registry))) for p in paths
    ]
    for r in runners:
        r.start()
    for r in runners:
        r.join(timeout=600)

    assert len(results) == 2
    ids = _stored_ids(store)
    assert len(ids) == len(set(ids)) == len(results[0]["chunks"])
    assert sum(r["index"].added for r in results) == len(ids)


if sys.platform == "win32":  # pragma: no cover
    pytestmark.append(pytest.mark.skip(reason="SIGKILL"))

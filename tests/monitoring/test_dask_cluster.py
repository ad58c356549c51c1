"""A run on a real Dask cluster: a `dask scheduler` and two `dask worker` processes on
loopback, started here the way a user starts them on several machines, and a workflow
that names the scheduler in `execution.address`."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ragline.compiler.flow import compile_workflow
from ragline.sdk.registry import Registry
from ragline.testing.dask_cluster import LocalDaskCluster, local_dask_cluster
from ragline.testing.prefect_server import free_port
from ragline.validation.workflow import load_workflow

pytestmark = [pytest.mark.integration, pytest.mark.slow]

HERE = Path(__file__).resolve().parent
TEST_STEPS = {
    "PYTHONPATH": os.pathsep.join(
        [str(HERE.parent / "compiler"), str(HERE), os.environ.get("PYTHONPATH", "")]
    ),
    "RAGLINE_PLUGINS": "ragline_test_steps,ragline_monitor_steps",
}

PARALLEL = """\
    apiVersion: ragline/v1
    name: on-a-cluster
    defaults: {cache: false}
    steps:
      - id: left
        uses: where
        with: {log: where.log, value: left}
      - id: right
        uses: where
        with: {log: where.log, value: right}
      - id: safety
        uses: safety-check
        with:
          text: "Mail jane@example.com about ${{ steps.left.output }}"
          checks: [pii]
          on_fail: redact
    outputs:
      sides: ["${{ steps.left.output }}", "${{ steps.right.output }}"]
      text: "${{ steps.safety.output.text }}"
    """

INGESTION = """\
    apiVersion: ragline/v1
    name: cluster-ingest
    models:
      embedder: [{model: local/all-MiniLM-L6-v2}]
    stores:
      docs: {uri: .ragline/lancedb, table: docs}
    steps:
      - id: ingest
        uses: ingest
        with: {paths: ["corpus/*.md"]}
      - id: chunk
        uses: chunk
        with: {documents: "${{ steps.ingest.output }}", size: 64, overlap: 8}
      - id: embed
        uses: embed
        with: {chunks: "${{ steps.chunk.output }}", model: embedder}
      - id: index
        uses: index
        with: {chunks: "${{ steps.embed.output }}", store: docs}
      - id: retrieve
        uses: retrieve
        needs: [index]
        with: {query: "where do vectors live", store: docs, k: 3, mode: hybrid, model: embedder}
    outputs:
      rows: "${{ steps.index.output.rows }}"
      found: "${{ steps.retrieve.output }}"
    """

PAGES = {
    "vectors.md": "# Vectors\n\nVectors live in LanceDB tables next to the workflow.\n",
    "models.md": "# Models\n\nEvery model call goes through the LiteLLM Router.\n",
    "safety.md": "# Safety\n\nAnswers are checked for personal data before they leave.\n",
}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalDaskCluster]:
    with local_dask_cluster(
        tmp_path_factory.mktemp("dask-cluster"), workers=2, env=TEST_STEPS
    ) as running:
        yield running


def _worker_pids(cluster: LocalDaskCluster) -> set[int]:
    from distributed import Client

    with Client(cluster.address, set_as_default=False) as client:
        return set(client.run(os.getpid).values())


def _workflow(folder: Path, text: str, execution: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "workflow.yaml"
    path.write_text(textwrap.dedent(text) + execution)
    return path


def _run(path: Path, registry: Registry) -> dict[str, Any]:
    return compile_workflow(load_workflow(path, registry), registry)()  # type: ignore[no-any-return]


def test_steps_run_in_the_cluster_workers_and_give_the_same_results(
    tmp_path: Path, cluster: LocalDaskCluster, registry: Registry, prefect: str
) -> None:
    on_threads = _run(_workflow(tmp_path / "threads", PARALLEL, ""), registry)
    on_cluster = _run(
        _workflow(
            tmp_path / "cluster",
            PARALLEL,
            f"execution: {{task_runner: dask, address: '{cluster.address}'}}\n",
        ),
        registry,
    )

    assert on_cluster == on_threads
    assert on_cluster["sides"] == ["left", "right"]
    assert "jane@example.com" not in on_cluster["text"]
    rows = [
        line.split(" ", 2) for line in (tmp_path / "cluster" / "where.log").read_text().splitlines()
    ]
    ran_in = {int(pid) for _, pid, _ in rows}
    assert ran_in <= _worker_pids(cluster)
    assert os.getpid() not in ran_in


def test_an_ingestion_on_the_cluster_indexes_and_retrieves_what_threads_do(
    tmp_path: Path, cluster: LocalDaskCluster, registry: Registry, prefect: str
) -> None:
    results = {}
    for name, execution in [
        ("threads", ""),
        ("cluster", f"execution: {{task_runner: dask, address: '{cluster.address}'}}\n"),
    ]:
        folder = tmp_path / name
        (folder / "corpus").mkdir(parents=True)
        for page, text in PAGES.items():
            (folder / "corpus" / page).write_text(text)
        results[name] = _run(_workflow(folder, INGESTION, execution), registry)

    threads, on_cluster = results["threads"], results["cluster"]
    assert on_cluster["rows"] == threads["rows"] == 3
    assert [c.id for c in on_cluster["found"]] == [c.id for c in threads["found"]]
    assert on_cluster["found"][0].text.startswith("# Vectors")


def test_an_unreachable_scheduler_fails_in_seconds_naming_it_before_anything_runs(
    tmp_path: Path, cli: Any, plugin_env: dict[str, str]
) -> None:
    address = f"tcp://127.0.0.1:{free_port()}"
    path = _workflow(
        tmp_path, PARALLEL, f"execution: {{task_runner: dask, address: '{address}'}}\n"
    )

    result = cli("run", str(path), env=plugin_env)

    assert result.returncode == 2, result.stderr
    assert f"the Dask scheduler at {address} does not answer" in result.stderr
    assert "the workflow did not run" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "where.log").exists()


def test_an_address_from_an_unset_environment_variable_is_refused_by_name(
    tmp_path: Path, cli: Any, plugin_env: dict[str, str]
) -> None:
    path = _workflow(
        tmp_path, PARALLEL, "execution: {task_runner: dask, address: env:RAGLINE_TEST_SCHEDULER}\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "RAGLINE_TEST_SCHEDULER"}
    result = cli("run", str(path), env={**env, **plugin_env})

    assert result.returncode == 2, result.stderr
    assert "RAGLINE_TEST_SCHEDULER is not set" in result.stderr
    assert not (tmp_path / "where.log").exists()


def test_the_address_can_come_from_the_environment(
    tmp_path: Path,
    cluster: LocalDaskCluster,
    registry: Registry,
    prefect: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RAGLINE_TEST_SCHEDULER", cluster.address)
    path = _workflow(
        tmp_path, PARALLEL, "execution: {task_runner: dask, address: env:RAGLINE_TEST_SCHEDULER}\n"
    )

    assert _run(path, registry)["sides"] == ["left", "right"]
    rows = [line.split(" ", 2) for line in (tmp_path / "where.log").read_text().splitlines()]
    assert {int(pid) for _, pid, _ in rows} <= _worker_pids(cluster)


def test_doctor_checks_that_the_cluster_answers_and_its_workers_can_run_the_steps(
    tmp_path: Path, cluster: LocalDaskCluster, cli: Any, plugin_env: dict[str, str]
) -> None:
    good = _workflow(
        tmp_path / "good",
        PARALLEL,
        f"execution: {{task_runner: dask, address: '{cluster.address}'}}\n",
    )
    result = cli("doctor", str(good), env=plugin_env)
    assert f"{cluster.address}: 2 worker(s), each can run this workflow's steps" in result.stdout

    gone = f"tcp://127.0.0.1:{free_port()}"
    bad = _workflow(
        tmp_path / "bad", PARALLEL, f"execution: {{task_runner: dask, address: '{gone}'}}\n"
    )
    result = cli("doctor", str(bad), env=plugin_env)
    assert result.returncode == 1
    assert f"the Dask scheduler at {gone} does not answer" in result.stdout


def test_doctor_warns_when_the_workers_keep_dasks_malloc_trim_threshold(
    tmp_path: Path, cli: Any, plugin_env: dict[str, str], prefect: str
) -> None:
    dask_default = {
        "DASK_DISTRIBUTED__NANNY__PRE_SPAWN_ENVIRON": "{'MALLOC_TRIM_THRESHOLD_': 65536}"
    }
    with local_dask_cluster(
        tmp_path / "dask-default", workers=1, env={**TEST_STEPS, **dask_default}
    ) as trimmed:
        path = _workflow(
            tmp_path / "w",
            PARALLEL,
            f"execution: {{task_runner: dask, address: '{trimmed.address}'}}\n",
        )
        result = cli("doctor", str(path), env=plugin_env)

    assert result.returncode == 0, result.stdout + result.stderr  # a warning, not a failure
    assert "1 of them set MALLOC_TRIM_THRESHOLD_ (Dask's default)" in result.stdout
    assert (
        "DASK_DISTRIBUTED__NANNY__PRE_SPAWN_ENVIRON=\"{'MALLOC_TRIM_THRESHOLD_': None}\""
        in result.stdout
    )
    assert "Traceback" not in result.stderr

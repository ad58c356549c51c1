"""The Dask scheduler gone in the middle of a partitioned run: `ragline run` fails with one
line naming the scheduler's address, and a rerun on a new cluster resumes from the
slices that had finished (their cached results), running only the others."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from ragline.store import open_chunk_table
from ragline.testing.dask_cluster import local_dask_cluster

pytestmark = [pytest.mark.integration, pytest.mark.slow]

HERE = Path(__file__).resolve().parent
PLUGIN_ENV = {
    "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
    "RAGLINE_PLUGINS": "ragline_scale_steps",
}

WORKFLOW = """\
    apiVersion: ragline/v1
    name: scheduler-loss
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
        cache: true
        with: {{chunks: "${{{{ steps.chunk.output }}}}", delay: {delay}}}
      - id: index
        uses: index
        partition: {{count: 4}}
        with: {{chunks: "${{{{ steps.vectors.output }}}}", store: docs}}
    outputs:
      rows: "${{{{ steps.index.output.rows }}}}"
    execution: {{task_runner: dask, address: env:RAGLINE_TEST_SCHEDULER}}
    """


def _lines(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


def _wait_for(
    path: Path, count: int, run: subprocess.Popen[str], timeout: float = 180
) -> list[str]:
    deadline = time.monotonic() + timeout
    while len(_lines(path)) < count:
        if run.poll() is not None or time.monotonic() > deadline:
            run.kill()
            out, err = run.communicate()
            pytest.fail(f"{path.name}: {_lines(path)}\n{out}\n{err}")
        time.sleep(0.2)
    return _lines(path)


def _ragline(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    exe = shutil.which("ragline", path=str(Path(sys.executable).parent)) or "ragline"
    return subprocess.Popen(
        [exe, *args],
        cwd=cwd,
        env={**os.environ, **PLUGIN_ENV, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_run_whose_scheduler_dies_fails_naming_it_and_a_rerun_resumes_from_finished_slices(
    tmp_path: Path, prefect: str
) -> None:
    folder = tmp_path / "p"
    (folder / "corpus").mkdir(parents=True)
    for i in range(12):
        body = " ".join(f"word{i}-{j}" for j in range(60))
        (folder / "corpus" / f"page{i}.md").write_text(f"# Page {i}\n\n{body}\n")
    store = tmp_path / "lancedb"
    (folder / "workflow.yaml").write_text(textwrap.dedent(WORKFLOW).format(store=store, delay=6))
    started, finished = folder / "started.log", folder / "finished.log"

    with local_dask_cluster(tmp_path / "first", workers=2, env=PLUGIN_ENV) as cluster:
        run = _ragline(
            "run", "workflow.yaml", cwd=folder, env={"RAGLINE_TEST_SCHEDULER": cluster.address}
        )
        _wait_for(finished, 2, run)  # two slices finished on the two workers ...
        workers = set(_wait_for(started, 4, run)[2:])  # ... and the other two started
        cluster.scheduler.kill()  # the scheduler's machine goes down, with its workers
        for pid in workers:
            os.kill(int(pid), signal.SIGKILL)
        done = _lines(finished)
        _, stderr = run.communicate(timeout=180)

    assert run.returncode != 0
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, stderr
    assert f"the Dask scheduler at {cluster.address} went away" in errors[0]
    assert "rerun: the cached partitions that finished are not run again" in errors[0]
    assert "Traceback" not in stderr
    assert 2 <= len(done) < 4
    assert not store.exists() or not list(open_chunk_table(str(store), "docs").existing_ids())

    with local_dask_cluster(tmp_path / "second", workers=2, env=PLUGIN_ENV) as cluster:
        rerun = _ragline(
            "run", "workflow.yaml", cwd=folder, env={"RAGLINE_TEST_SCHEDULER": cluster.address}
        )
        stdout, stderr = rerun.communicate(timeout=300)

    assert rerun.returncode == 0, stderr
    again = _lines(finished)[len(done) :]
    assert len(again) == 4 - len(done)  # only the unfinished slices ran again ...
    assert not set(again) & set(done)  # ... the finished ones came from the cache
    ids = list(open_chunk_table(str(store), "docs").existing_ids())
    assert len(ids) == len(set(ids)) > 12
    assert f"rows: {len(ids)}" in stdout

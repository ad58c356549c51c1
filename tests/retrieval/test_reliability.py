"""Ingestion is incremental and safe, through real Prefect flows and a real
LanceDB table in tmp_path: an unchanged corpus writes and embeds nothing, an
edit re-embeds one file, a deletion removes its rows, a run killed while
indexing and re-run leaves one row per chunk, two concurrent runs leave no
duplicates, and bad files are skipped by name while the rest is indexed."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ragline.compiler.flow import StepRecord, compile_workflow
from ragline.store.table import SEARCH_COLUMN
from ragline.validation.workflow import load_workflow

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
HERE = Path(__file__).resolve().parent
# A small slice of the shipped documentation: markdown in two folders, html, txt.
CORPUS = [
    "plugins.md",
    "caching.md",
    "stores.md",
    "steps/index.md",
    "steps/embed.md",
    "faq.html",
    "troubleshooting.txt",
]

WORKFLOW = """\
apiVersion: ragline/v1
name: ingest-corpus
models:
  embedder:
    - {model: local/all-MiniLM-L6-v2}
stores:
  docs: {uri: .ragline/lancedb, table: docs}
steps:
  - id: ingest
    uses: ingest
    with: {paths: ["corpus/**/*.md", "corpus/**/*.html", "corpus/**/*.txt"]}
  - id: chunk
    uses: chunk
    with: {documents: "${{ steps.ingest.output }}", strategy: recursive, size: 80, overlap: 10}
  - id: embed
    uses: embed
    with: {chunks: "${{ steps.chunk.output }}", model: embedder, batch_size: 16}
  - id: index
    uses: index
    with: {chunks: "${{ steps.embed.output }}", store: docs, sync: true}
outputs:
  chunks: "${{ steps.chunk.output }}"
  index: "${{ steps.index.output }}"
"""


@dataclass
class Ingestion:
    outputs: dict[str, Any]
    steps: dict[str, StepRecord]

    @property
    def chunk_ids(self) -> list[str]:
        return [c.id for c in self.outputs["chunks"]]

    def embedded(self) -> int:
        """How many chunk texts the embed step sent to the model in this run.

        A step Prefect took from its cache (unchanged input) did not run at all.
        """
        embed = self.steps["embed"]
        return 0 if embed.cached else int(embed.metrics["embedded"])


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder: the workflow beside a copy of the corpus."""
    for name in CORPUS:
        target = tmp_path / "corpus" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(DOCS / name, target)
    (tmp_path / "ingest.yaml").write_text(WORKFLOW)
    return tmp_path


def ingest(project: Path) -> Ingestion:
    """One in-process run of the ingestion flow (a real Prefect flow run)."""
    steps: dict[str, StepRecord] = {}

    def keep(records: list[StepRecord], outputs: dict[str, Any]) -> None:
        steps.update({r.step_id: r for r in records})

    flow = compile_workflow(load_workflow(project / "ingest.yaml"), on_finish=keep)
    return Ingestion(flow(), steps)


def table(project: Path) -> Any:
    import lancedb

    return lancedb.connect(str(project / ".ragline" / "lancedb")).open_table("docs")


def row_ids(project: Path) -> list[str]:
    return [str(v) for v in table(project).to_arrow().column("id").to_pylist()]


def assert_one_row_per_chunk(project: Path, expected: list[str]) -> None:
    ids = row_ids(project)
    duplicates = [i for i, n in Counter(ids).items() if n > 1]
    assert not duplicates, f"duplicate chunk ids in the table: {duplicates[:5]}"
    assert sorted(ids) == sorted(set(expected))


def test_reingesting_an_unchanged_corpus_writes_and_embeds_nothing(
    project: Path, prefect: str
) -> None:
    first = ingest(project)
    assert first.embedded() == len(set(first.chunk_ids)) > 10
    version = table(project).version

    again = ingest(project)

    assert again.chunk_ids == first.chunk_ids
    assert again.embedded() == 0
    assert table(project).version == version
    assert again.outputs["index"].added == again.outputs["index"].deleted == 0
    assert_one_row_per_chunk(project, first.chunk_ids)


def test_editing_one_file_reembeds_only_its_chunks(project: Path, prefect: str) -> None:
    first = ingest(project)
    edited = project / "corpus" / "stores.md"
    edited.write_text(
        edited.read_text() + "\n\n## Backups\n\nCopy the folder while no run writes.\n"
    )

    again = ingest(project)

    changed = set(again.chunk_ids) - set(first.chunk_ids)
    assert changed, "the edit produced no new chunk"
    stores_chunks = {c.id for c in again.outputs["chunks"] if c.source.endswith("stores.md")}
    assert changed <= stores_chunks
    assert 0 < again.embedded() <= len(stores_chunks)
    assert again.outputs["index"].added == len(changed)
    assert_one_row_per_chunk(project, again.chunk_ids)


def test_deleting_a_file_removes_its_chunks(project: Path, prefect: str) -> None:
    first = ingest(project)
    gone = {c.id for c in first.outputs["chunks"] if c.source.endswith("faq.html")}
    assert gone
    (project / "corpus" / "faq.html").unlink()

    again = ingest(project)

    assert again.embedded() == 0
    assert again.outputs["index"].deleted == len(gone)
    assert not gone & set(row_ids(project))
    assert_one_row_per_chunk(project, again.chunk_ids)


def _cli(project: Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    exe = Path(sys.executable).parent / "ragline"
    return subprocess.Popen(
        [str(exe), "run", "ingest.yaml", "--json"],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def test_a_run_killed_while_indexing_is_completed_by_the_next_run(
    project: Path, prefect: str
) -> None:
    marker = project / "indexing-started"
    proc = _cli(
        project,
        {
            # index_hook.py (loaded as a plugin module) pauses the first table write
            # after it committed, and says so with the marker file.
            "PYTHONPATH": str(HERE),
            "RAGLINE_PLUGINS": "index_hook",
            "RAGLINE_TEST_INDEX_MARKER": str(marker),
        },
    )
    try:
        deadline = time.monotonic() + 240
        while not marker.exists():
            assert proc.poll() is None, proc.communicate()[1][-3000:]
            assert time.monotonic() < deadline, "indexing never started"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    written_before_kill = marker.read_text()

    done = ingest(project)

    assert written_before_kill  # the killed run had written part of the table
    assert_one_row_per_chunk(project, done.chunk_ids)
    assert table(project).count_rows() == len(set(done.chunk_ids))
    # The killed run never built the full-text index; the re-run must, or
    # fulltext and hybrid retrieval fail on this table.
    indexed_columns = {c for ix in table(project).list_indices() for c in ix.columns}
    assert SEARCH_COLUMN in indexed_columns  # title + text, what BM25 reads


def test_two_runs_at_once_leave_no_duplicate_chunk_ids(project: Path, prefect: str) -> None:
    runs = [_cli(project), _cli(project)]
    results = [p.communicate(timeout=300) for p in runs]
    for p, (_, err) in zip(runs, results, strict=True):
        assert p.returncode == 0, err[-3000:]

    expected = ingest(project).chunk_ids

    assert_one_row_per_chunk(project, expected)


def test_bad_files_are_skipped_by_name_and_the_rest_is_indexed(
    project: Path, cli: Any, prefect: str
) -> None:
    corpus = project / "corpus"
    (corpus / "empty.txt").write_bytes(b"")
    (corpus / "binary.txt").write_bytes(bytes(range(256)) * 8)
    (corpus / "latin1.txt").write_bytes(
        "Caf\xe9 cr\xe8me br\xfbl\xe9e, tr\xe8s bien.".encode("latin-1")
    )
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\ngarbage")
    with open(corpus / "huge.txt", "wb") as f:  # 50 MB, sparse: cheap to create
        f.truncate(50 * 1024 * 1024)
    (project / "outside.txt").write_text("A file beside the project, outside its roots.")
    (project / "ingest.yaml").write_text(
        WORKFLOW.replace(
            '{paths: ["corpus/**/*.md", "corpus/**/*.html", "corpus/**/*.txt"]}',
            '{paths: ["corpus/**/*.md", "corpus/**/*.html", "corpus/**/*.txt", "corpus/*.pdf",'
            ' "corpus/../outside.txt"], roots: [corpus], max_file_bytes: 10000000}',
        )
    )

    result = cli("run", "ingest.yaml", "--json", cwd=project, env={"PREFECT_LOGGING_LEVEL": "INFO"})

    assert result.returncode == 0, result.stderr[-3000:]
    for name in ("empty.txt", "binary.txt", "latin1.txt", "broken.pdf", "huge.txt", "outside.txt"):
        assert name in result.stderr, f"no message names {name}"
    sources = {Path(s).name for s in table(project).to_arrow().column("source").to_pylist()}
    assert sources == {Path(n).name for n in CORPUS}

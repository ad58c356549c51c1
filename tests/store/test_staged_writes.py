"""Many writers, one table: slices stage their rows as Lance fragments wherever they
run, and one commit adds them in a single transaction. Real LanceDB tables in a
temporary folder; concurrent writers are real processes."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

import pytest

from ragline.documents import Chunk
from ragline.store import open_chunk_table
from ragline.store.fragments import Staged, commit, stage


def _chunks(n: int, *, document: str = "doc", start: int = 0) -> list[Chunk]:
    return [
        Chunk(
            id=f"{document}-{i}",
            document_id=f"{document}-{i // 10}",
            text=f"passage {i} of {document}",
            source=f"{document}.md",
            index=i,
            vector=[float(i % 7), 1.0, float(i % 3), 0.5],
        )
        for i in range(start, start + n)
    ]


def _ids(folder: Path) -> list[str]:
    table = open_chunk_table(str(folder), "docs")
    return sorted(table.existing_ids())


def _stage_and_commit(folder: str, parts: int, barrier: Any) -> int:
    table = open_chunk_table(folder, "docs")
    chunks = _chunks(400)
    size = len(chunks) // parts
    staged = [
        stage(table, chunks[i * size : (i + 1) * size], model="m", alias="e") for i in range(parts)
    ]
    barrier.wait()  # every run has staged all 400 rows against the empty table
    return commit(table, staged, model="m", alias="e").added


def test_slices_staged_apart_and_committed_once_give_every_row_once(tmp_path: Path) -> None:
    table = open_chunk_table(str(tmp_path), "docs")
    chunks = _chunks(300)
    staged = [stage(table, chunks[i : i + 100], model="m", alias="e") for i in (0, 100, 200)]

    assert table.count() == 0  # staging commits nothing
    report = commit(table, staged, model="m", alias="e")

    assert (report.added, report.rows, report.unchanged) == (300, 300, 0)
    assert _ids(tmp_path) == sorted(c.id for c in chunks)
    assert report.fts_rebuilt
    assert table.search_text("passage 42", 1, None)[0]["id"] == "doc-42"


def test_an_unchanged_corpus_stages_nothing_and_the_commit_writes_nothing(
    tmp_path: Path,
) -> None:
    table = open_chunk_table(str(tmp_path), "docs")
    chunks = _chunks(120)
    commit(table, [stage(table, chunks, model="m", alias="e")], model="m", alias="e")
    version = table.require().version

    again = [stage(table, chunks[i : i + 60], model="m", alias="e") for i in (0, 60)]
    report = commit(table, again, model="m", alias="e")

    assert [s.rows for s in again] == [0, 0]
    assert (report.added, report.deleted, report.unchanged) == (0, 0, 120)
    table._table = None
    assert table.require().version == version  # not even an empty version


def test_a_retried_slice_is_committed_once_and_its_first_attempt_never(tmp_path: Path) -> None:
    table = open_chunk_table(str(tmp_path), "docs")
    chunks = _chunks(200)
    first = stage(table, chunks[:100], model="m", alias="e")
    stage(table, chunks[100:], model="m", alias="e")  # the attempt that "died" after writing
    retried = stage(table, chunks[100:], model="m", alias="e")

    report = commit(table, [first, retried], model="m", alias="e")

    assert report.added == 200
    assert _ids(tmp_path) == sorted(c.id for c in chunks)


def test_a_commit_repeated_after_it_landed_adds_nothing(tmp_path: Path) -> None:
    """A commit task retried after its transaction landed (its worker died before
    answering) finds every staged id already in the table."""
    table = open_chunk_table(str(tmp_path), "docs")
    staged = [stage(table, _chunks(150), model="m", alias="e")]
    commit(table, staged, model="m", alias="e")

    report = commit(table, staged, model="m", alias="e")

    assert (report.added, report.rows) == (0, 150)


def test_slices_overlapping_rows_committed_meanwhile_keep_each_id_once(tmp_path: Path) -> None:
    """Two runs staged against the same version; the second commit drops the rows
    the first committed, rewriting a fragment that holds both kinds."""
    table = open_chunk_table(str(tmp_path), "docs")
    run_a = [stage(table, _chunks(100), model="m", alias="e")]
    run_b = [stage(table, _chunks(100, start=50), model="m", alias="e")]

    assert commit(table, run_a, model="m", alias="e").added == 100
    report = commit(table, run_b, model="m", alias="e")

    assert (report.added, report.rows) == (50, 150)
    assert _ids(tmp_path) == sorted(c.id for c in _chunks(150))


def test_sync_deletes_the_rows_no_slice_holds(tmp_path: Path) -> None:
    table = open_chunk_table(str(tmp_path), "docs")
    commit(table, [stage(table, _chunks(100), model="m", alias="e")], model="m", alias="e")

    kept = _chunks(60)
    staged = [stage(table, kept[i : i + 30], model="m", alias="e") for i in (0, 30)]
    report = commit(table, staged, model="m", alias="e", sync=True)

    assert (report.added, report.deleted, report.rows) == (0, 40, 60)
    assert _ids(tmp_path) == sorted(c.id for c in kept)


def test_staged_slices_carry_fragment_metadata_not_vectors(tmp_path: Path) -> None:
    table = open_chunk_table(str(tmp_path), "docs")
    staged: Staged = stage(table, _chunks(1000), model="m", alias="e")

    assert staged.rows == 1000 and len(staged.fragments) == 1
    assert "vector" not in staged.fragments[0]
    assert len(staged.fragments[0]) < 2_000


@pytest.mark.integration
def test_four_processes_committing_the_same_corpus_at_once_leave_each_row_once(
    tmp_path: Path,
) -> None:
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager, ctx.Pool(4) as pool:
        barrier = manager.Barrier(4)
        added = pool.starmap(
            _stage_and_commit, [(str(tmp_path), parts, barrier) for parts in (1, 2, 4, 8)]
        )

    assert sum(added) == 400  # every row added by exactly one of them
    ids = _ids(tmp_path)
    assert len(ids) == len(set(ids)) == 400

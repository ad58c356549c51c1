"""`index`: bad configs `ragline validate` refuses, and embedded chunks written to a real
LanceDB table in the test's folder.

Covered elsewhere, not repeated here: edits, sync and the vector index threshold
(tests/store/test_store.py), partitioned writes (tests/compiler/test_partitioned_index.py),
a table of another model (tests/store/test_embedding_backend_mismatch.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ragline.sdk import RunServices
from ragline.steps.index import IndexConfig, index
from ragline.store import open_chunk_table

from .bad_configs import assert_refused, bad
from .local_rag import CORPUS, context, embedded

CHUNKS = "chunks: ${{ steps.upstream.output }}"

BAD = [
    bad("store missing", CHUNKS, (1, 1), "missing required key 'store'", "'index'"),
    bad("chunks missing", "store: docs", (1, 1), "missing required key 'chunks'"),
    bad(
        "a store not defined",
        f"{CHUNKS}\nstore: doc",
        (2, 8),
        "unknown store 'doc'",
        "did you mean 'docs'?",
    ),
    bad(
        "an unknown reaction to a model change",
        f"{CHUNKS}\nstore: docs\non_model_change: ignore",
        (3, 18),
        "'ignore' is not one of error, rebuild",
    ),
    bad(
        "vector_index_threshold zero",
        f"{CHUNKS}\nstore: docs\nvector_index_threshold: 0",
        (3, 25),
        "0 is out of range",
        "at least 1",
    ),
    bad("sync not a flag", f"{CHUNKS}\nstore: docs\nsync: sometimes", (3, 7), "expected boolean"),
    bad(
        "a key that is not a field",
        f"{CHUNKS}\nstore: docs\nupsert: true",
        (3, 1),
        "'upsert' is not a field of index",
        "(fields: chunks, include_title, on_model_change, store, sync, vector_index_threshold)",
    ),
]


@pytest.mark.parametrize(("body", "at", "words"), BAD)
def test_validate_refuses_a_bad_config_where_it_is_written(
    tmp_path: Path, body: str, at: tuple[int, int], words: tuple[str, ...]
) -> None:
    assert_refused(tmp_path, "index", body, at, words)


@pytest.fixture(scope="module")
def services() -> RunServices:
    return RunServices()


def test_embedded_chunks_land_in_the_store_table_once(
    tmp_path: Path, services: RunServices
) -> None:
    chunks = embedded(tmp_path, services, CORPUS)

    first = index(IndexConfig(chunks=chunks, store="docs"), context(tmp_path, services, "index"))

    assert (first.table, first.rows, first.added, first.deleted) == ("docs", 3, 3, 0)
    table = open_chunk_table(str(tmp_path / "lancedb"), "docs")  # uri relative to the workflow
    assert set(table.existing_ids()) == {c.id for c in chunks}
    assert table.embedding_model == "local/all-MiniLM-L6-v2@torch"  # model and backend
    assert table.embedding_alias == "embedder"  # retrieve embeds its query with this alias
    again = index(IndexConfig(chunks=chunks, store="docs"), context(tmp_path, services, "index"))
    assert (again.added, again.deleted, again.unchanged, again.rows) == (0, 0, 3, 3)

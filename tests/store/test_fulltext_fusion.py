"""Full-text search over title + text with stemming, per-store options, and the fusions."""

from __future__ import annotations

from pathlib import Path

from ragline.documents import Chunk
from ragline.store import open_chunk_table
from ragline.store.fusion import convex_fusion, distribution_fusion, reciprocal_rank_fusion


def record(doc: str, title: str, text: str, vector: list[float]) -> Chunk:
    """A jsonl record's chunk: its title is the record's own `title` field."""
    return Chunk(
        id=doc,
        document_id=f"corpus.jsonl#{doc}",
        text=text,
        source="corpus.jsonl",
        title=title,
        metadata={"format": "jsonl", "title": title},
        vector=vector,
    )


CHUNKS = [
    record("1", "Aspirin lowers stroke risk", "A trial of 400 adults over ten years.", [1, 0, 0]),
    record("2", "Statins and the liver", "Patients running daily had fewer events.", [0, 1, 0]),
    record("3", "Sleep in teenagers", "Screens before bed delay sleep onset.", [0, 0, 1]),
]


def found(table_dir: Path, query: str, **fulltext: object) -> list[str]:
    table = open_chunk_table(str(table_dir), "docs", fulltext=dict(fulltext))
    table.write(CHUNKS, model="fake", alias="fake")
    return [row["id"] for row in table.search_text(query, 5, None)]


def test_a_title_match_counts_in_fulltext_search(tmp_path: Path) -> None:
    # "aspirin" is only in the title of record 1, never in its text
    assert found(tmp_path, "aspirin stroke") == ["1"]
    # the returned text stays the chunk's own text
    table = open_chunk_table(str(tmp_path), "docs")
    (row,) = table.search_text("aspirin", 1, None)
    assert row["text"] == "A trial of 400 adults over ten years."


def test_the_default_index_stems_and_drops_stop_words(tmp_path: Path) -> None:
    assert found(tmp_path, "runs") == ["2"]  # "running" and "runs" share the stem "run"
    assert found(tmp_path / "b", "the of and") == []  # stop words alone match nothing


def test_fulltext_options_are_per_store_and_a_change_rebuilds_the_index(tmp_path: Path) -> None:
    assert found(tmp_path, "runs", stem=False) == []
    # same table, options changed: the next write rebuilds the index with stemming
    assert found(tmp_path, "runs", stem=True) == ["2"]


def rows(*pairs: tuple[str, float]) -> list[dict[str, object]]:
    return [{"id": i, "score": s} for i, s in pairs]


def test_distribution_fusion_weighs_each_list_by_its_own_spread() -> None:
    # dense scores are bunched (cosines 0.80-0.84), BM25 scores spread out (2-12):
    # min-max stretches the dense gap of 0.01 as far as BM25's gap of 5
    dense = rows(("a", 0.84), ("b", 0.83), ("c", 0.82), ("d", 0.80))
    bm25 = rows(("b", 12.0), ("a", 7.0), ("d", 3.0), ("c", 2.0))
    fused = distribution_fusion(dense, bm25)
    assert [r["id"] for r in fused][:2] == ["b", "a"]
    assert all(0.0 <= float(r["score"]) <= 1.0 for r in fused)  # type: ignore[arg-type]
    assert [r["id"] for r in convex_fusion(dense, bm25, alpha=0.8)][:1] == ["a"]


def test_a_chunk_missing_from_one_list_gets_that_lists_floor_not_zero() -> None:
    dense = rows(("a", 0.9), ("b", 0.5), ("c", 0.45), ("d", 0.44))
    bm25 = rows(("c", 10.0), ("d", 9.0), ("e", 1.0))
    fused = {r["id"]: r["score"] for r in distribution_fusion(dense, bm25)}
    # "a" is absent from BM25 but tops dense by far: it stays above "e", which is
    # last on BM25 and absent from dense
    assert fused["a"] > fused["e"]


def test_rrf_uses_ranks_only() -> None:
    fused = reciprocal_rank_fusion([rows(("a", 100.0), ("b", 1.0)), rows(("b", 0.2), ("a", 0.1))])
    assert {r["id"] for r in fused} == {"a", "b"} and fused[0]["score"] == fused[1]["score"]

"""The retrieval levers that need no new model weights, measured on a table bench_quality built.

Run `bench.bench_quality` first (same `--dataset`, `--docs`, `--state`, `--backend`):
this reads the chunks and vectors it stored and the LanceDB full-text index it
built, embeds the labelled queries once, and recomputes every variant offline
from the same lists `retrieve` sees (150 chunks per side, as hybrid fetches for
k = 30), so the rows differ only in the lever:

- the score of a document from its chunks: best chunk (what `retrieve` ranks by),
  best + 0.1 x second, mean of the best two, sum;
- whole documents vs chunks: dense search over each document's first chunk
  (title + the first 224 tokens: what MiniLM reads of a whole abstract, whose
  window is 256 word pieces) vs over all chunks; BM25 over whole documents
  (bm25s) vs LanceDB over chunks;
- fusion: dbsf and convex at several alphas, RRF; fusion of document-level
  lists (each side's best chunk per document, then dbsf) and "sibling fill" (a
  chunk missing from one list takes its document's best score there);
- pseudo-relevance feedback on the query vector (Rocchio: the query plus the mean
  vector of the default hybrid's top documents), then dbsf again;
- the ANN index: recall@10 of ragline's vector search with the HNSW-SQ index
  `index` builds at 100,000 rows (built here on a copy of these vectors) against
  brute force, at `retrieve`'s default `ef`, on these vectors and on a table filled up
  to 100,000 rows (the size at which `index` builds the index) with vectors mixed
  from the real ones.

nDCG@10, recall@10, MRR@10 on all labelled queries, and nDCG@10 on the tuning
split (the first 300: choose on these) and the held-out rest.

Run: .venv/bin/python -m bench.bench_quality_levers --dataset scifact-train [--docs N]
     [--ann-rows N] [--ann-only]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.bench_quality import (
    DATA,
    DATASETS,
    TUNING_SPLIT,
    Run,
    bm25_run,
    load,
    mrr,
    ndcg,
    recall,
    sample_corpus,
)

DEPTH = 150  # chunks per side: what retrieve's hybrid fetches for k = 30
Rows = list[dict[str, Any]]


def main() -> int:
    from ragline.llm.providers.minilm import embed_array
    from ragline.store import open_chunk_table
    from ragline.store.fusion import (
        _standardised,
        convex_fusion,
        distribution_fusion,
        reciprocal_rank_fusion,
    )

    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", default="msmarco", help="as given to bench_quality")
    parser.add_argument("--docs", type=int, default=0)
    parser.add_argument(
        "--state", default=str(Path(tempfile.gettempdir()) / "ragline-bench-quality")
    )
    parser.add_argument("--backend", default="onnx-int8")
    parser.add_argument(
        "--ann-rows", type=int, default=100_000, help="also measure the index at this size"
    )
    parser.add_argument("--ann-only", action="store_true", help="skip the retrieval variants")
    args = parser.parse_args()
    folder = Path(args.dataset)
    if not folder.is_dir():
        folder = DATA / DATASETS.get(args.dataset, args.dataset)
    corpus, queries, qrels = load(folder)
    labelled = [q for q in queries if q in qrels]
    if args.docs:
        corpus = sample_corpus(corpus, {d for q in labelled for d in qrels[q]}, args.docs)
    name = f"{folder.name.replace('-', '_')}_{len(corpus)}_{args.backend.replace('-', '_')}"
    table = open_chunk_table(str(Path(args.state) / "lancedb"), name, alias="bench")
    arrow = (
        table.require()
        .search()
        .select(["id", "document_id", "chunk_index", "vector"])
        .limit(None)
        .to_arrow()
    )
    ids: list[str] = arrow.column("id").to_pylist()
    docs = [d.split("#", 1)[1] for d in arrow.column("document_id").to_pylist()]
    doc_of = dict(zip(ids, docs, strict=True))
    matrix = np.asarray(arrow.column("vector").to_pylist(), dtype=np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    print(
        f"{folder.name}: {len(ids)} chunks of {len(set(docs))} documents, {len(labelled)} queries"
    )

    started = time.perf_counter()
    qvecs = embed_array([queries[q] for q in labelled], args.backend)
    text_lists: dict[str, Rows] = {}
    for q in labelled:
        text_lists[q] = [
            {"id": r["id"], "score": r["score"]} for r in table.search_text(queries[q], DEPTH, None)
        ]
    print(f"queries embedded and full-text searched in {time.perf_counter() - started:.1f} s")
    scores = matrix @ qvecs.T  # chunks x queries

    def vector_list(i: int, vector: Any = None) -> Rows:
        s = scores[:, i] if vector is None else matrix @ vector
        top = np.argpartition(-s, DEPTH)[:DEPTH]
        return [{"id": ids[j], "score": float(s[j])} for j in top[np.argsort(-s[top])]]

    def documents(rows: Rows, how: str = "max") -> list[str]:
        per: dict[str, list[float]] = defaultdict(list)
        for row in rows:
            per[doc_of[row["id"]]].append(float(row["score"]))
        value: dict[str, float] = {}
        for doc, found in per.items():
            found.sort(reverse=True)
            second = found[1] if len(found) > 1 else 0.0
            value[doc] = {
                "max": found[0],
                "max+0.1 second": found[0] + 0.1 * second,
                "mean of best 2": sum(found[:2]) / min(2, len(found)),
                "sum": sum(found),
            }[how]
        return sorted(value, key=lambda d: -value[d])[:30]

    Fuse = Callable[[Rows, Rows], Rows]

    def fused(fuse: Fuse, how: str = "max", vectors: Sequence[Any] | None = None) -> Run:
        return {
            q: documents(
                fuse(vector_list(i, None if vectors is None else vectors[i]), text_lists[q]), how
            )
            for i, q in enumerate(labelled)
        }

    def best_per_document(rows: Rows) -> Rows:
        best: dict[str, float] = {}
        for row in rows:
            doc = doc_of[row["id"]]
            best[doc] = max(best.get(doc, -1e9), float(row["score"]))
        return [{"id": d, "score": s} for d, s in sorted(best.items(), key=lambda x: -x[1])]

    def document_level(alpha: float) -> Run:
        return {
            q: [
                r["id"]
                for r in distribution_fusion(
                    best_per_document(vector_list(i)),
                    best_per_document(text_lists[q]),
                    alpha=alpha,
                )
            ][:30]
            for i, q in enumerate(labelled)
        }

    def sibling_fill(alpha: float) -> Fuse:
        def fuse(vector: Rows, text: Rows) -> Rows:
            dense, dense_floor, _ = _standardised(vector)
            sparse, sparse_floor, _ = _standardised(text)
            best: list[dict[str, float]] = [{}, {}]
            for side, mapped in enumerate((dense, sparse)):
                for chunk_id, value in mapped.items():
                    doc = doc_of[chunk_id]
                    best[side][doc] = max(best[side].get(doc, -1e9), value)

            def side_score(mapped: dict[str, float], side: int, floor: float, i: str) -> float:
                return mapped.get(i, best[side].get(doc_of[i], floor))

            rows = {r["id"]: r for r in (*text, *vector)}
            value = {
                i: alpha * side_score(dense, 0, dense_floor, i)
                + (1 - alpha) * side_score(sparse, 1, sparse_floor, i)
                for i in rows
            }
            return [{**rows[i], "score": value[i]} for i in sorted(value, key=lambda i: -value[i])]

        return fuse

    def dbsf(alpha: float) -> Fuse:
        return lambda v, t: distribution_fusion(v, t, alpha=alpha)

    def convex(alpha: float) -> Fuse:
        return lambda v, t: convex_fusion(v, t, alpha=alpha)

    def rrf(v: Rows, t: Rows) -> Rows:
        return reciprocal_rank_fusion([v, t])

    first_chunk = {}
    for j, (doc, index) in enumerate(
        zip(docs, arrow.column("chunk_index").to_pylist(), strict=True)
    ):
        if index == 0:
            first_chunk[doc] = j
    whole_ids = list(first_chunk)
    whole = matrix[[first_chunk[d] for d in whole_ids]] @ qvecs.T

    default_run = fused(dbsf(0.6))
    members: dict[str, list[int]] = defaultdict(list)
    for j, doc in enumerate(docs):
        members[doc].append(j)

    def feedback(top: int, beta: float) -> list[Any]:
        moved = []
        for i, q in enumerate(labelled):
            centre = np.mean([matrix[members[d]].mean(axis=0) for d in default_run[q][:top]], 0)
            vector = qvecs[i] + beta * centre
            moved.append(vector / np.linalg.norm(vector))
        return moved

    rows: list[tuple[str, Callable[[], Run]]] = [
        ("dense, chunks, best chunk (vector mode)", lambda: {
            q: documents(vector_list(i)) for i, q in enumerate(labelled)}),
        ("dense, whole documents (first chunk)", lambda: {
            q: [whole_ids[j] for j in np.argsort(-whole[:, i])[:30]]
            for i, q in enumerate(labelled)}),
        ("BM25 LanceDB, chunks, best chunk (fulltext)", lambda: {
            q: documents(text_lists[q]) for q in labelled}),
        ("BM25 bm25s, whole documents (reference)", lambda: bm25_run(
            corpus, {q: queries[q] for q in labelled}) or {}),
        ("dense, chunks: max + 0.1 x second", lambda: {
            q: documents(vector_list(i), "max+0.1 second") for i, q in enumerate(labelled)}),
        ("dense, chunks: mean of best 2", lambda: {
            q: documents(vector_list(i), "mean of best 2") for i, q in enumerate(labelled)}),
        ("dense, chunks: sum", lambda: {
            q: documents(vector_list(i), "sum") for i, q in enumerate(labelled)}),
        ("hybrid dbsf 0.6, best chunk (default)", lambda: default_run),
        ("hybrid dbsf 0.6: max + 0.1 x second", lambda: fused(dbsf(0.6), "max+0.1 second")),
        ("hybrid dbsf 0.6: mean of best 2", lambda: fused(dbsf(0.6), "mean of best 2")),
        ("hybrid dbsf 0.6: sum", lambda: fused(dbsf(0.6), "sum")),
        ("hybrid dbsf 0.5", lambda: fused(dbsf(0.5))),
        ("hybrid dbsf 0.7", lambda: fused(dbsf(0.7))),
        ("hybrid convex 0.6", lambda: fused(convex(0.6))),
        ("hybrid convex 0.8 (old default)", lambda: fused(convex(0.8))),
        ("hybrid rrf k 60", lambda: fused(rrf)),
        ("hybrid dbsf 0.6 of document-level lists", lambda: document_level(0.6)),
        ("hybrid dbsf 0.5 of document-level lists", lambda: document_level(0.5)),
        ("hybrid dbsf 0.6, sibling fill", lambda: fused(sibling_fill(0.6))),
        ("dense PRF (top 3, beta 0.6) + dbsf 0.6", lambda: fused(
            dbsf(0.6), vectors=feedback(3, 0.6))),
        ("dense PRF (top 3, beta 1.0) + dbsf 0.6", lambda: fused(
            dbsf(0.6), vectors=feedback(3, 1.0))),
    ]  # fmt: skip
    tuning, held = labelled[:TUNING_SPLIT], labelled[TUNING_SPLIT:]

    def mean(run: Run, qs: list[str], f: Callable[[Sequence[str], set[str]], float]) -> float:
        return sum(f(run.get(q, []), qrels[q]) for q in qs) / len(qs) if qs else float("nan")

    if args.ann_only:
        rows = []
    print(f"\n{'variant':<46}{'nDCG@10':>9}{'R@10':>8}{'MRR@10':>8}{'tuning':>8}{'held':>8}")
    for label, make in rows:
        run = make()
        if not run:
            continue
        print(
            f"{label:<46}{mean(run, labelled, ndcg):>9.4f}{mean(run, labelled, recall):>8.4f}"
            f"{mean(run, labelled, mrr):>8.4f}{mean(run, tuning, ndcg):>8.4f}"
            f"{mean(run, held, ndcg):>8.4f}",
            flush=True,
        )
    print()
    ann_recall(arrow, matrix, qvecs)
    if args.ann_rows > len(ids):
        ann_recall(arrow, matrix, qvecs, rows=args.ann_rows)
    return 0


def ann_recall(arrow: Any, matrix: Any, qvecs: Any, rows: int = 0, k: int = 10) -> None:
    """recall@k of ragline's vector search with the index `index` builds, vs brute force.

    With `rows` above the corpus's size, the table is filled up to `rows` with vectors
    that lie among the real ones (a random mix of two real chunk vectors plus a little
    noise, unit length), so the index is measured at the size where `index` builds it,
    on data shaped like sentence embeddings rather than random points.
    """
    import pyarrow as pa
    from lancedb.index import HnswSq

    from ragline.store import open_chunk_table
    from ragline.store.table import ANN_EF

    ids: list[str] = arrow.column("id").to_pylist()
    vectors = matrix
    extra = max(0, rows - len(ids))
    if extra:
        rng = np.random.default_rng(5)
        a = matrix[rng.integers(0, len(ids), extra)]
        b = matrix[rng.integers(0, len(ids), extra)]
        weight = rng.uniform(0.5, 0.9, (extra, 1)).astype(np.float32)
        filler = weight * a + (1 - weight) * b
        filler += rng.normal(0, 0.02, filler.shape).astype(np.float32)
        filler /= np.linalg.norm(filler, axis=1, keepdims=True)
        vectors = np.vstack([matrix, filler]).astype(np.float32)
        ids = ids + [f"filler-{i}" for i in range(extra)]
    dim = vectors.shape[1]
    data = pa.table(
        {
            "id": pa.array(ids),
            "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), dim),
        }
    )
    with tempfile.TemporaryDirectory(prefix="ragline-ann-") as folder:
        table = open_chunk_table(folder, "ann", alias="bench")
        table.db.create_table("ann", data=data)
        started = time.perf_counter()
        table.require().create_index("vector", config=HnswSq(distance_type="cosine"))
        built = time.perf_counter() - started
        hits, took = 0, []
        ef = max(ANN_EF, 2 * k)
        for vector in qvecs:
            exact = {ids[j] for j in np.argsort(-(vectors @ vector))[:k]}
            began = time.perf_counter()
            query = table.require().search(list(map(float, vector))).distance_type("cosine")
            found = query.ef(ef).select(["id"]).limit(k).to_list()
            took.append(time.perf_counter() - began)
            hits += len(exact & {r["id"] for r in found})
        took.sort()
        what = f"{len(ids)} vectors" + (f" ({extra} of them filled in)" if extra else "")
        print(
            f"ANN: HNSW-SQ (cosine) on {what}, built in {built:.1f} s; recall@{k} against "
            f"brute force at retrieve's ef {ef}: {hits / (k * len(qvecs)):.4f}; "
            f"p50 {1000 * took[len(took) // 2]:.1f} ms",
            flush=True,
        )


if __name__ == "__main__":
    raise SystemExit(main())

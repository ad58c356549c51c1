"""Retrieval quality on a BEIR-layout set, through ragline's own steps, beside reference rows.

The corpus (`corpus.jsonl`: `_id`, `title`, `text`) goes through ragline's
`ingest` (jsonl records, `id_field: _id`), `chunk`, `embed` (local MiniLM) and
`index` steps with their shipped defaults, into a LanceDB table in a state
folder (the content-addressed embedding cache there makes reruns cheap). Every
labelled query is then scored by the `evaluate-retrieval` step, once per row of
MODES (the `retrieve` options it searches with): queries embedded in batches,
each searched by `retrieve`, a document's rank the rank of its best chunk, and
the metrics computed by `ragline.evaluation` (the code the step reports with).
Beside them, computed in the same run on the same data: BM25 with an English
stemmer and stop words (bm25s, whole documents, title + text), brute-force
dense search over the very vectors ragline stored (best chunk per document),
and reciprocal-rank fusion (k = 60) of the two.

Figures: nDCG@10, recall@10, MRR@10 on all queries, on the tuning split (the
first 300 labelled queries: defaults were chosen on these only) and on the
held-out rest, plus ingest time and search latency per mode.

Run: .venv/bin/python -m bench.bench_quality --dataset msmarco|scifact-train|<folder>
     [--queries N] [--docs N] [--state DIR]
(`pip install ragline[bench]` for the BM25 reference; without it that row is skipped.)
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

# ../shared/data beside the repository (a worktree may sit one folder deeper)
DATA = next(
    (
        p / "shared" / "data"
        for p in Path(__file__).resolve().parents[1:4]
        if (p / "shared").is_dir()
    ),
    Path("../shared/data"),
)
DATASETS = {"msmarco": "msmarco-sample", "scifact": "scifact-train"}
K = 10
DEPTH = 30  # chunks retrieved per query: several may belong to one document
TUNING_SPLIT = 300  # the first labelled queries; defaults were chosen on these only
# mode label -> retrieve options (the first three are what a user gets by `mode:`)
MODES: dict[str, dict[str, Any]] = {
    "fulltext": {"mode": "fulltext"},
    "vector": {"mode": "vector"},
    "hybrid": {"mode": "hybrid"},
    "hybrid rrf": {"mode": "hybrid", "fusion": "rrf"},
    "hybrid convex 0.8 (old)": {"mode": "hybrid", "fusion": "convex", "alpha": 0.8},
}
Run = dict[str, list[str]]  # query id -> document ids, best first
Qrels = dict[str, dict[str, float]]  # query id -> relevant document id -> grade


def load(folder: Path) -> tuple[list[dict[str, str]], dict[str, str], Qrels]:
    """The corpus, and the queries and judgements as `evaluate-retrieval` reads them."""
    from ragline.evaluation.labelled import load as load_labelled
    from ragline.evaluation.labelled import locate

    corpus = [json.loads(line) for line in (folder / "corpus.jsonl").open()]
    labelled = load_labelled(locate(folder))
    return corpus, labelled.queries, labelled.qrels


def sample_corpus(
    corpus: list[dict[str, str]], relevant: set[str], size: int
) -> list[dict[str, str]]:
    """Every judged document plus a fixed-seed sample of the others, `size` in all."""
    import random

    others = [d["_id"] for d in corpus if d["_id"] not in relevant]
    keep = relevant | set(random.Random(7).sample(others, max(0, size - len(relevant))))
    return [d for d in corpus if d["_id"] in keep]


def distinct(ids: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(ids))


def rrf(runs: Sequence[Sequence[str]], k: int = 60) -> list[str]:
    fused: dict[str, float] = defaultdict(float)
    for ranked in runs:
        for rank, doc in enumerate(ranked, start=1):
            fused[doc] += 1 / (k + rank)
    return sorted(fused, key=lambda d: -fused[d])


def bm25_run(corpus: list[dict[str, str]], queries: dict[str, str]) -> Run | None:
    try:
        import bm25s
        import Stemmer
    except ImportError:
        print("(bm25s or PyStemmer missing: pip install 'ragline[bench]'; no BM25 row)")
        return None
    stemmer = Stemmer.Stemmer("english")
    texts = [f"{d.get('title') or ''}\n{d['text']}" for d in corpus]
    retriever = bm25s.BM25()
    tokens = bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, show_progress=False)
    retriever.index(tokens, show_progress=False)
    ids = list(queries)
    asked = bm25s.tokenize([queries[q] for q in ids], stopwords="en", stemmer=stemmer,
                            show_progress=False)  # fmt: skip
    found, _ = retriever.retrieve(asked, k=min(100, len(corpus)), show_progress=False)
    return {q: [corpus[j]["_id"] for j in row] for q, row in zip(ids, found, strict=True)}


def dense_run(table: Any, vectors: dict[str, list[float]], doc_of: Callable[[str], str]) -> Run:
    """Brute force over the vectors stored in the table: best chunk per document."""
    import numpy as np

    stored = table.require().search().select(["id", "document_id", "vector"]).limit(None)
    arrow = stored.to_arrow()
    docs = [doc_of(d) for d in arrow.column("document_id").to_pylist()]
    matrix = np.asarray(arrow.column("vector").to_pylist(), dtype=np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    run: Run = {}
    for query_id, vector in vectors.items():
        scores = matrix @ np.asarray(vector, dtype=np.float32)
        top = np.argsort(-scores)[: DEPTH * 3]
        run[query_id] = distinct(docs[i] for i in top)
    return run


def main() -> int:
    from ragline.evaluation.labelled import mean_scores
    from ragline.llm.service import model_service
    from ragline.sdk.context import RunServices, StepContext
    from ragline.spec.model import Workflow
    from ragline.steps.chunk import ChunkConfig, chunk
    from ragline.steps.embed import EmbedConfig, embed
    from ragline.steps.evaluate_retrieval import EvaluateRetrievalConfig, evaluate_retrieval
    from ragline.steps.index import IndexConfig, index
    from ragline.steps.ingest import IngestConfig, ingest
    from ragline.store.run_tables import open_store

    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", default="msmarco", help="msmarco, scifact-train or a folder")
    parser.add_argument("--queries", type=int, default=0, help="only the first N labelled queries")
    parser.add_argument(
        "--docs", type=int, default=0, help="index the judged documents plus others up to N"
    )
    parser.add_argument(
        "--state", default=str(Path(tempfile.gettempdir()) / "ragline-bench-quality")
    )
    parser.add_argument(
        "--backend",
        default="onnx-int8",
        help="backend of the local MiniLM (torch, onnx, onnx-int8: what the shipped workflows use)",
    )
    args = parser.parse_args()
    folder = Path(args.dataset)
    if not folder.is_dir():
        folder = DATA / DATASETS.get(args.dataset, args.dataset)
    corpus, queries, qrels = load(folder)
    labelled = [q for q in queries if q in qrels]
    if args.docs:  # judged documents of every labelled query, whatever --queries says
        corpus = sample_corpus(corpus, {d for q in labelled for d in qrels[q]}, args.docs)
    if args.queries:
        labelled = labelled[: args.queries]
    state = Path(args.state)
    state.mkdir(parents=True, exist_ok=True)
    corpus_file = state / f"{folder.name}-{len(corpus)}.jsonl"
    if not corpus_file.exists():
        corpus_file.write_text("".join(json.dumps(d) + "\n" for d in corpus))
    table_name = f"{folder.name.replace('-', '_')}_{len(corpus)}_{args.backend.replace('-', '_')}"
    workflow = Workflow.model_validate(
        {
            "apiVersion": "ragline/v1",
            "name": "bench-quality",
            "models": {"embedder": [{"model": "local/all-MiniLM-L6-v2", "backend": args.backend}]},
            "stores": {"bench": {"uri": "lancedb", "table": table_name}},
            "steps": [
                {"id": "chunk", "uses": "chunk", "with": {}},
                {"id": "embed", "uses": "embed", "with": {"model": "embedder"}},
                {"id": "index", "uses": "index", "with": {"chunks": "${{ steps.embed.output }}"}},
            ],
        }
    )
    services = RunServices()

    def context(step_id: str) -> StepContext:
        return StepContext(step_id, workflow, state, services=services)

    started = time.perf_counter()
    documents = ingest(
        IngestConfig(paths=[corpus_file.name], id_field="_id", max_file_bytes=10**9),
        context("ingest"),
    )
    chunks = chunk(ChunkConfig(documents=documents), context("chunk"))
    embedded = embed(EmbedConfig(chunks=chunks, model="embedder"), context("embed"))
    index(IndexConfig(chunks=embedded, store="bench"), context("index"))
    ingest_s = time.perf_counter() - started
    print(
        f"{folder.name}: {len(corpus)} documents -> {len(chunks)} chunks, ingested (ingest, "
        f"chunk, embed, index) in {ingest_s:.1f} s; {len(labelled)} labelled queries",
        flush=True,
    )

    prefix = f"{corpus_file.name}#"

    def doc_of(document_id: str) -> str:
        return document_id.removeprefix(prefix)

    def score(run: Run, ids: list[str]) -> dict[str, float]:
        return mean_scores({q: run[q] for q in ids}, qrels, K)

    runs: dict[str, Run] = {}
    latency: dict[str, float] = {}
    for label, options in MODES.items():
        config = EvaluateRetrievalConfig.model_validate(
            {
                "dataset": str(folder),
                "retrieve": {"store": "bench", "k": DEPTH, **options},
                "k": K,
                "limit": args.queries or None,
                "rankings": True,
                "record": False,
            }
        )
        result = evaluate_retrieval(config, context("evaluate"))
        runs[label] = result.rankings[options["mode"]]
        latency[label] = result.modes[options["mode"]].p50_ms
        print(
            f"  {label}: {result.modes[options['mode']].queries_per_second:.1f} queries/s "
            f"(search), queries embedded in {result.embed_seconds:.1f} s",
            flush=True,
        )

    table = open_store(context("retrieve"), "bench")
    vectors, _ = model_service(context("retrieve")).embed(
        "embedder", [queries[q] for q in labelled]
    )
    references: dict[str, Run] = {}
    bm25 = bm25_run(corpus, {q: queries[q] for q in labelled})
    dense = dense_run(table, dict(zip(labelled, vectors, strict=True)), doc_of)
    if bm25 is not None:
        references["ref BM25 (bm25s, stemmed)"] = bm25
    references["ref dense, brute force"] = dense
    if bm25 is not None:
        references["ref RRF(BM25, dense)"] = {q: rrf([bm25[q], dense[q]]) for q in labelled}

    splits = (
        ("all queries", labelled),
        ("tuning split", labelled[:TUNING_SPLIT]),
        ("held-out", labelled[TUNING_SPLIT:]),
    )
    for split, ids in splits:
        if not ids:
            continue
        print(f"\n{folder.name}, {split} ({len(ids)}):")
        print(f"{'mode':<28}{'nDCG@10':>9}{'recall@10':>11}{'MRR@10':>9}{'search p50 ms':>15}")
        for label, run in {**runs, **references}.items():
            row = score(run, ids)
            p50 = f"{latency[label]:>15.1f}" if label in latency else f"{'':>15}"
            print(
                f"{label:<28}{row[f'ndcg@{K}']:>9.4f}{row[f'recall@{K}']:>11.4f}"
                f"{row[f'mrr@{K}']:>9.4f}{p50}"
            )
    hybrid = score(runs["hybrid"], labelled)[f"ndcg@{K}"]
    others = {
        label: score(run, labelled)[f"ndcg@{K}"]
        for label, run in {**runs, **references}.items()
        if label not in ("hybrid",)
    }
    beaten = [label for label, value in others.items() if value >= hybrid]
    print(f"\nhybrid (the default) nDCG@10 {hybrid:.4f}; rows at or above it: {beaten or 'none'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Retrieval quality on real MS MARCO passages: hybrid vs plain BM25 vs plain dense, same run.

All 2,117 passages of ../shared/data/msmarco-sample are embedded and indexed
through ragline's own `embed` and `index` steps (local MiniLM, a LanceDB table
in a temporary folder), then every query with relevance labels is answered by
ragline's `retrieve` in each mode. Figures: nDCG@10, recall@10, MRR@10, and
hybrid's ratio to each single mode, on all queries and on the held-out split.

Hybrid's one parameter (alpha = 0.8, the vector weight of the convex fusion)
was chosen on the first 300 labelled queries (the tuning split: alpha 0.7 and
0.8 scored 0.8457 and 0.8465 nDCG@10 there, equal-weight RRF 0.8174); the
other 700 are held out, and their figures are printed separately.

Run: .venv/bin/python -m bench.bench_quality [--queries N]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "msmarco-sample"
MODES = ("fulltext", "vector", "hybrid")
K = 10
TUNING_SPLIT = 300  # the first labelled queries; alpha was chosen on these only


def load() -> tuple[list[dict[str, str]], dict[str, str], dict[str, set[str]]]:
    corpus = [json.loads(line) for line in (DATA / "corpus.jsonl").open()]
    queries = {q["_id"]: q["text"] for q in map(json.loads, (DATA / "queries.jsonl").open())}
    qrels: dict[str, set[str]] = defaultdict(set)
    for line in list((DATA / "qrels.tsv").open())[1:]:
        query_id, passage_id, score = line.rstrip("\n").split("\t")
        if int(score) > 0:
            qrels[query_id].add(passage_id)
    return corpus, queries, dict(qrels)


def main() -> int:
    from ragline.documents import Chunk
    from ragline.evaluation import metrics
    from ragline.spec.model import Workflow
    from ragline.steps.context import RunServices, StepContext
    from ragline.steps.embed import EmbedConfig, embed
    from ragline.steps.index import IndexConfig, index
    from ragline.steps.retrieve import RetrieveConfig, retrieve

    parser = argparse.ArgumentParser()
    parser.add_argument("--queries", type=int, default=0, help="only the first N labelled queries")
    args = parser.parse_args()
    corpus, queries, qrels = load()
    labelled = [q for q in queries if q in qrels]
    if args.queries:
        labelled = labelled[: args.queries]
    workflow = Workflow.model_validate(
        {
            "apiVersion": "ragline/v1",
            "name": "bench-quality",
            "models": {"embedder": [{"model": "local/all-MiniLM-L6-v2"}]},
            "stores": {"msmarco": {"uri": "lancedb", "table": "passages"}},
            "steps": [{"id": "embed", "uses": "embed", "with": {"model": "embedder"}}],
        }
    )
    services = RunServices()
    # A fixed folder: ragline's content-addressed embedding cache makes reruns cheap.
    folder = str(Path(tempfile.gettempdir()) / "ragline-bench-quality")

    def context(step_id: str) -> StepContext:
        return StepContext(step_id, workflow, Path(folder), services=services)

    chunks = [
        Chunk(id=p["_id"], document_id=p["_id"], text=p["text"], source=p["_id"]) for p in corpus
    ]
    started = time.perf_counter()
    embedded = embed(EmbedConfig(chunks=chunks, model="embedder", batch_size=64), context("embed"))
    index(IndexConfig(chunks=embedded, store="msmarco"), context("index"))
    print(
        f"indexed {len(chunks)} passages in {time.perf_counter() - started:.1f} s "
        f"(vectors cached in {folder}); {len(labelled)} labelled queries",
        flush=True,
    )
    scores: dict[str, dict[str, list[float]]] = {m: defaultdict(list) for m in MODES}
    for number, query_id in enumerate(labelled, start=1):
        if number % 200 == 0:
            print(f"  {number}/{len(labelled)} queries", flush=True)
        relevant = qrels[query_id]
        for mode in MODES:
            found = retrieve(
                RetrieveConfig(
                    query=queries[query_id], store="msmarco", k=K, mode=mode, model="embedder"
                ),
                context("retrieve"),
            )
            ids = [c.id for c in found]
            scores[mode]["ndcg@10"].append(metrics.ndcg_at_k(ids, relevant, K))
            scores[mode]["recall@10"].append(metrics.recall_at_k(ids, relevant, K))
            scores[mode]["mrr@10"].append(metrics.mrr(ids, relevant))
    beats = True
    for split, part in (("all queries", slice(None)), ("held-out", slice(TUNING_SPLIT, None))):
        means = {m: {k: _mean(v[part]) for k, v in s.items()} for m, s in scores.items()}
        count = len(scores["hybrid"]["ndcg@10"][part])
        print(f"\n{split} ({count}):")
        print(f"{'mode':<10}{'nDCG@10':>10}{'recall@10':>11}{'MRR@10':>9}")
        for mode in MODES:
            row = means[mode]
            print(
                f"{mode:<10}{row['ndcg@10']:>10.4f}{row['recall@10']:>11.4f}{row['mrr@10']:>9.4f}"
            )
        for baseline in ("fulltext", "vector"):
            ratios = {k: means["hybrid"][k] / means[baseline][k] for k in means["hybrid"]}
            shown = "  ".join(f"{k} {v:.3f}x" for k, v in ratios.items())
            print(f"hybrid / {baseline:<8}: {shown}")
            beats = beats and ratios["ndcg@10"] > 1.0
    print(f"\nhybrid beats BM25 and dense on nDCG@10: {'yes' if beats else 'NO'}")
    return 0 if beats else 1


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


if __name__ == "__main__":
    raise SystemExit(main())

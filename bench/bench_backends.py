"""Embedding backends of the local MiniLM: speed, agreement with torch, retrieval quality.

For each backend (torch, onnx, onnx-int8) in one process and one run:
- speed: passages per second encoding the corpus, and the ratio to torch. The
  backends take turns block by block (256 passages each), so a shared, loaded
  machine slows them alike and the ratio stays meaningful;
- agreement: mean and minimum cosine of each passage vector to torch fp32's;
- quality: dense (vector-only) nDCG@10 of the labelled queries, the queries
  embedded by the same backend, on ../shared/data/msmarco-sample and on
  ../shared/data/scifact-train, and the difference to torch.

Dense-only nDCG is the strictest view of the vectors: hybrid retrieval adds
BM25, which is the same for every backend.

Run: .venv/bin/python -m bench.bench_backends [--docs N] [--queries N] [--data msmarco,scifact]
(`--docs` caps each corpus, keeping every passage a kept query is judged on.)
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

# ../shared/data beside the checkout (or beside the worktrees' parent folder).
SHARED = next(
    (p / "shared" / "data" for p in Path(__file__).resolve().parents if (p / "shared").is_dir()),
    Path("../shared/data"),
)
DATASETS = {"msmarco": SHARED / "msmarco-sample", "scifact": SHARED / "scifact-train"}
BACKENDS = ("torch", "onnx", "onnx-int8")
BLOCK = 256
K = 10


def load(
    folder: Path, docs: int, queries: int
) -> tuple[list[str], list[str], list[str], dict[str, set[str]]]:
    """Passage ids and texts, query texts (labelled only) and their relevant ids."""
    qrels: dict[str, set[str]] = defaultdict(set)
    for line in list((folder / "qrels.tsv").open())[1:]:
        query_id, passage_id, score = line.rstrip("\n").split("\t")[:3]
        if int(score) > 0:
            qrels[query_id].add(passage_id)
    labelled = [q for q in map(json.loads, (folder / "queries.jsonl").open()) if q["_id"] in qrels]
    if queries:
        labelled = labelled[:queries]
    judged = {p for q in labelled for p in qrels[q["_id"]]}
    corpus = [json.loads(line) for line in (folder / "corpus.jsonl").open()]
    if docs:
        kept = [c for c in corpus if c["_id"] in judged]
        rest = [c for c in corpus if c["_id"] not in judged]
        corpus = kept + rest[: max(0, docs - len(kept))]
    ids = [c["_id"] for c in corpus]
    texts = [(c.get("title", "") + " " + c["text"]).strip() for c in corpus]
    gold = {str(i): qrels[q["_id"]] for i, q in enumerate(labelled)}
    return ids, texts, [q["text"] for q in labelled], gold


def ndcg_at_k(scores: Any, ids: list[str], gold: dict[str, set[str]]) -> float:
    import numpy as np

    top = np.argsort(-scores, axis=1)[:, :K]
    total = 0.0
    for row, found in enumerate(top):
        relevant = gold[str(row)]
        dcg = sum(1 / math.log2(r + 2) for r, i in enumerate(found) if ids[i] in relevant)
        ideal = sum(1 / math.log2(r + 2) for r in range(min(K, len(relevant))))
        total += dcg / ideal if ideal else 0.0
    return total / len(top)


def encode_interleaved(
    texts: list[str], backends: list[str]
) -> tuple[dict[str, Any], dict[str, float]]:
    import numpy as np

    from ragline.llm.providers import minilm

    for backend in backends:  # load (and export, once per machine) before any timing
        minilm.embed_array(["warm up"], backend)
    parts: dict[str, list[Any]] = {b: [] for b in backends}
    seconds = dict.fromkeys(backends, 0.0)
    for start in range(0, len(texts), BLOCK):
        block = texts[start : start + BLOCK]
        for backend in backends:
            began = time.perf_counter()
            parts[backend].append(minilm.embed_array(block, backend))
            seconds[backend] += time.perf_counter() - began
    return {b: np.concatenate(parts[b]) for b in backends}, seconds


def main() -> int:

    from ragline.llm.providers import minilm

    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=0, help="cap each corpus at N passages")
    parser.add_argument("--queries", type=int, default=0, help="first N labelled queries")
    parser.add_argument("--data", default="msmarco,scifact")
    parser.add_argument("--backends", default=",".join(BACKENDS))
    args = parser.parse_args()
    backends = [b for b in args.backends.split(",") if b]
    if backends[0] != "torch":
        backends.insert(0, "torch")
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    rows = []
    for name in args.data.split(","):
        ids, texts, queries, gold = load(DATASETS[name], args.docs, args.queries)
        print(f"{name}: {len(texts)} passages, {len(queries)} labelled queries", flush=True)
        vectors, seconds = encode_interleaved(texts, backends)
        reference = vectors["torch"]
        for backend in backends:
            query_vectors = minilm.embed_array(queries, backend)
            ndcg = ndcg_at_k(query_vectors @ vectors[backend].T, ids, gold)
            cosine = (vectors[backend] * reference).sum(axis=1)
            rows.append(
                {
                    "data": name,
                    "backend": backend,
                    "per_s": len(texts) / seconds[backend],
                    "speed": seconds["torch"] / seconds[backend],
                    "cos_mean": float(cosine.mean()),
                    "cos_min": float(cosine.min()),
                    "ndcg": ndcg,
                }
            )
        torch_ndcg = next(r["ndcg"] for r in rows if r["data"] == name and r["backend"] == "torch")
        for r in rows:
            if r["data"] == name:
                r["delta"] = r["ndcg"] - torch_ndcg
    print(
        f"\n{'data':8} {'backend':10} {'passages/s':>10} {'x torch':>8} "
        f"{'cos mean':>9} {'cos min':>8} {'nDCG@10':>8} {'vs torch':>9}"
    )
    for r in rows:
        print(
            f"{r['data']:8} {r['backend']:10} {r['per_s']:10.1f} {r['speed']:8.2f} "
            f"{r['cos_mean']:9.4f} {r['cos_min']:8.4f} {r['ndcg']:8.4f} {r['delta']:+9.4f}"
        )
    print(f"load average at end: {os.getloadavg()[0]:.1f}")
    ok = all(
        r["cos_mean"] >= 0.99 and abs(r["delta"]) <= 0.01 for r in rows if r["backend"] != "torch"
    )
    print(
        "quality bars (mean cosine >= 0.99, |nDCG@10 - torch| <= 0.01):", "met" if ok else "NOT met"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

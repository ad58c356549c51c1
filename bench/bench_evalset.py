"""Speed of scoring a labelled set in one run: `evaluate-retrieval` vs one `retrieve` per query.

A BEIR-layout folder's corpus goes through `ingest` (jsonl, `id_field: _id`),
`chunk`, `embed` and `index` with their defaults into LanceDB in a state folder
(reruns reuse it: the embedding cache and an unchanged index make them cheap),
then one `evaluate-retrieval` step scores every labelled query in the three
modes: one in-process Prefect flow run, what `ragline run` calls. Its output
gives queries/s per mode (searches only) and over the whole step (queries
embedded in batches, three modes searched).

The baseline, in the same process on the same table: the first `--baseline`
labelled queries through the `retrieve` step one call at a time (each embeds
its own query in its own model call), hybrid, as a loop over the step (or a
`ragline run` per query, 21-25 s each) used to do. The ratio compares the time
per query of hybrid retrieval both ways; the rankings of both are compared too
(same options: they should be the same documents).

Run: .venv/bin/python -m bench.bench_evalset --dataset msmarco|scifact-train|<folder>
     [--backend torch|onnx-int8] [--baseline N] [--state DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from bench.bench_quality import DATA, DATASETS

MODES = ["fulltext", "vector", "hybrid"]


def workflow_yaml(folder: Path, backend: str) -> str:
    model: dict[str, Any] = {"model": "local/all-MiniLM-L6-v2"}
    if backend != "torch":
        model["backend"] = backend
    steps = [
        {
            "id": "ingest",
            "uses": "ingest",
            "with": {
                "paths": [str(folder / "corpus.jsonl")],
                "roots": [str(folder)],
                "id_field": "_id",
                "max_file_bytes": 10**9,
            },
        },
        {"id": "chunk", "uses": "chunk", "with": {"documents": "${{ steps.ingest.output }}"}},
        {
            "id": "embed",
            "uses": "embed",
            "with": {"chunks": "${{ steps.chunk.output }}", "model": "embedder"},
        },
        {
            "id": "index",
            "uses": "index",
            "with": {"chunks": "${{ steps.embed.output }}", "store": "corpus"},
        },
        {
            "id": "score",
            "uses": "evaluate-retrieval",
            "needs": ["index"],
            "with": {
                "dataset": str(folder),
                "retrieve": {"store": "corpus", "mode": "hybrid"},
                "modes": MODES,
                "rankings": True,
            },
        },
    ]
    body = {
        "apiVersion": "ragline/v1",
        "name": "bench-evalset",
        "models": {"embedder": [model]},
        "stores": {"corpus": {"uri": ".ragline/lancedb", "table": "corpus"}},
        "steps": steps,
        "outputs": {"score": "${{ steps.score.output }}"},
    }
    return json.dumps(body, indent=1)  # JSON is YAML


def main() -> int:
    if not os.environ.get("PREFECT_API_URL"):  # the local server `ragline run` starts or reuses
        from ragline.ops.local_server import ensure_server

        os.environ["PREFECT_API_URL"] = ensure_server(announce=print).url
    from ragline.compiler.flow import compile_workflow
    from ragline.evaluation.labelled import mean_scores, rank_documents
    from ragline.sdk.context import RunServices, StepContext
    from ragline.steps.retrieve import RetrieveConfig, retrieve
    from ragline.validation.workflow import load_workflow

    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", default="msmarco", help="msmarco, scifact-train or a folder")
    parser.add_argument("--backend", default="torch", choices=["torch", "onnx", "onnx-int8"])
    parser.add_argument("--baseline", type=int, default=200, help="queries, one retrieve each")
    parser.add_argument("--state", default="/tmp/evalset-bench")
    args = parser.parse_args()
    folder = Path(args.dataset)
    if not folder.is_dir():
        folder = DATA / DATASETS.get(args.dataset, args.dataset)
    folder = folder.resolve()
    name = folder.name if args.backend == "torch" else f"{folder.name}-{args.backend}"
    state = Path(args.state) / name
    state.mkdir(parents=True, exist_ok=True)
    path = state / "workflow.yaml"
    path.write_text(workflow_yaml(folder, args.backend))
    loaded = load_workflow(path)
    began = time.perf_counter()
    outputs = compile_workflow(loaded)()
    run_s = time.perf_counter() - began
    result = outputs["score"]
    n = result.queries
    print(
        f"{folder.name} ({args.backend}): one flow run, {n} labelled queries x {len(MODES)} "
        f"modes, k = {result.k}: {run_s:.1f} s (ingestion steps reused)"
    )
    print(
        f"  queries embedded in {result.embed_seconds:.2f} s "
        f"({n / result.embed_seconds:.0f} queries/s, batches of 256)"
    )
    print(f"{'mode':<10}{'nDCG@10':>9}{'recall@10':>11}{'MRR@10':>9}{'queries/s':>11}{'p50 ms':>8}")
    for mode, scores in result.modes.items():
        m = scores.metrics
        print(
            f"{mode:<10}{m['ndcg@10']:>9.4f}{m['recall@10']:>11.4f}{m['mrr@10']:>9.4f}"
            f"{scores.queries_per_second:>11.1f}{scores.p50_ms:>8.1f}"
        )
    print(
        f"  whole step: {result.queries_per_second:.1f} labelled queries/s "
        f"(embedding + {len(MODES)} modes)"
    )

    # Baseline: the retrieve step once per query, each embedding its own query.
    from ragline.evaluation.labelled import load, locate

    labelled = load(locate(folder))
    ids = labelled.labelled[: args.baseline]
    ctx = StepContext("retrieve", loaded.workflow, state, services=RunServices())
    retrieve(RetrieveConfig(query="warm-up", store="corpus", k=30), ctx)  # model load, table open
    same = 0
    one_by_one: dict[str, list[str]] = {}
    began = time.perf_counter()
    for query_id in ids:
        found = retrieve(
            RetrieveConfig(query=labelled.queries[query_id], store="corpus", k=30), ctx
        )
        ranked = rank_documents((c.document_id for c in found), labelled.documents)
        one_by_one[query_id] = ranked
        same += ranked[: result.k] == result.rankings["hybrid"][query_id][: result.k]
    baseline_s = (time.perf_counter() - began) / len(ids)
    hybrid_s = result.embed_seconds / n + 1 / result.modes["hybrid"].queries_per_second
    print(
        f"baseline: retrieve once per query (hybrid, its own embedding call), first {len(ids)} "
        f"queries: {1 / baseline_s:.1f} queries/s"
    )
    print(
        f"evaluate-retrieval, hybrid (batched embedding share + search): {1 / hybrid_s:.1f} "
        "queries/s"
    )
    print(
        f"RATIO hybrid queries/s evaluate-retrieval / one retrieve per query = "
        f"{baseline_s / hybrid_s:.2f}x (target: >= 10 queries/s on this machine)"
    )
    print(f"same top-{result.k} documents both ways: {same}/{len(ids)} queries")
    both = {
        "one retrieve per query": mean_scores(one_by_one, labelled.qrels, result.k),
        "evaluate-retrieval": mean_scores(
            {q: result.rankings["hybrid"][q] for q in ids}, labelled.qrels, result.k
        ),
    }
    for way, figures in both.items():
        shown = ", ".join(f"{name} {value:.4f}" for name, value in figures.items())
        print(f"  hybrid on those {len(ids)} queries, {way}: {shown}")

    # The step's embedding time includes loading the model (a run's first model call);
    # the same batches again, warm, show what a run that already has the model pays.
    from ragline.llm.service import model_service

    texts = [labelled.queries[q] for q in labelled.labelled]
    began = time.perf_counter()
    for start in range(0, len(texts), 256):
        model_service(ctx).embed("embedder", texts[start : start + 256], ctx)
    warm_s = time.perf_counter() - began
    warm_hybrid_s = warm_s / len(texts) + 1 / result.modes["hybrid"].queries_per_second
    print(
        f"warm batched embedding (model loaded): {len(texts) / warm_s:.0f} queries/s; "
        f"hybrid with it: {1 / warm_hybrid_s:.1f} queries/s"
    )
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Scaling out: the same ingestion (ingest -> chunk -> embed -> index, every list step
partitioned) on a local Dask cluster started here, first with 1 worker process of 1
thread, then with 2 worker processes of 1 thread each.

Target (issue 14): throughput ratio 2-workers / 1-worker >= 1.7, the same rows in
the table and the same nDCG@10 (full-text search over the MS MARCO qrels). Also
printed: the per-partition overhead (scheduling, service start, commit) measured
here, from which the cost at 100 workers is projected (docs/scaling-out.md), and the
driver's peak memory for two corpus sizes.

The machine running this has 2 cores and is shared: 2 workers is the most that can
mean anything, and the ratio is only meaningful because both runs are measured in
the same process, one after the other.

Run: .venv/bin/python -m bench.bench_scale [--docs 2000] [--large 8000] [--parts 8]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import resource
import shutil
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

_HOME = Path(tempfile.mkdtemp(prefix="ragline-bench-scale-"))
os.environ.setdefault("PREFECT_HOME", str(_HOME / "prefect"))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "ERROR")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("OMP_NUM_THREADS", "1")  # one thread per worker, inherited by workers

MSMARCO = next(
    (
        up / "shared/data/msmarco-sample"
        for up in Path(__file__).resolve().parents
        if (up / "shared/data/msmarco-sample").is_dir()
    ),
    Path("../shared/data/msmarco-sample"),
)

WORKFLOW = """\
    apiVersion: ragline/v1
    name: bench-scale
    models:
      embedder: [{{model: local/all-MiniLM-L6-v2}}]
    stores:
      docs: {{uri: {store}, table: docs}}
    defaults: {{partition: {{count: {parts}}}, cache: false}}
    steps:
      - id: ingest
        uses: ingest
        with: {{paths: ["corpus.jsonl"], id_field: _id}}
      - id: chunk
        uses: chunk
        with: {{documents: "${{{{ steps.ingest.output }}}}", size: 800, overlap: 0}}
      - id: embed
        uses: embed
        with: {{chunks: "${{{{ steps.chunk.output }}}}", model: embedder}}
      - id: index
        uses: index
        with: {{chunks: "${{{{ steps.embed.output }}}}", store: docs}}
    outputs:
      rows: "${{{{ steps.index.output.rows }}}}"
    execution: {{task_runner: dask, address: '{address}'}}
    """


def corpus(n: int) -> list[dict[str, str]]:
    """The MS MARCO sample's passages; beyond it, seeded draws of its sentences."""
    rows = [json.loads(line) for line in (MSMARCO / "corpus.jsonl").read_text().splitlines()]
    out = [{"_id": r["_id"], "text": r["text"]} for r in rows[:n]]
    sentences = [s for r in rows for s in r["text"].split(". ") if len(s) > 20]
    rng = random.Random(14)
    while len(out) < n:
        text = ". ".join(rng.sample(sentences, 4)) + "."
        out.append({"_id": f"draw-{len(out)}", "text": text})
    return out


def project(folder: Path, docs: list[dict[str, str]], address: str, parts: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "corpus.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))
    path = folder / "workflow.yaml"
    store = folder / "lancedb"
    path.write_text(textwrap.dedent(WORKFLOW).format(store=store, address=address, parts=parts))
    return path


def run(path: Path) -> tuple[float, dict[str, Any]]:
    from ragline.compiler.flow import compile_workflow
    from ragline.sdk.registry import default_registry
    from ragline.validation.workflow import load_workflow

    registry = default_registry()
    records: dict[str, Any] = {}

    def on_finish(recs: list[Any], outputs: dict[str, Any]) -> None:
        records.update({r.step_id: r for r in recs})

    flow = compile_workflow(load_workflow(path, registry), registry, on_finish=on_finish)
    started = time.perf_counter()
    flow()
    return time.perf_counter() - started, records


def ndcg10(store: Path, docs: list[dict[str, str]]) -> tuple[float, list[str]]:
    """nDCG@10 of full-text search over the qrels whose passages are in this corpus."""
    from ragline.store import open_chunk_table

    table = open_chunk_table(str(store), "docs")
    present = {d["_id"] for d in docs}
    qrels: dict[str, set[str]] = {}
    for line in (MSMARCO / "qrels.tsv").read_text().splitlines()[1:]:
        qid, did, *_ = line.split("\t")
        if did in present:
            qrels.setdefault(qid, set()).add(did)
    queries = {
        q["_id"]: q["text"]
        for q in map(json.loads, (MSMARCO / "queries.jsonl").read_text().splitlines())
    }
    scores = []
    for qid, relevant in sorted(qrels.items())[:200]:
        hits = table.search_text(queries[qid], 10, None)
        ranked = [h["document_id"].rsplit("#", 1)[-1] for h in hits]
        dcg = sum(1 / math.log2(i + 2) for i, d in enumerate(ranked) if d in relevant)
        ideal = sum(1 / math.log2(i + 2) for i in range(min(10, len(relevant))))
        scores.append(dcg / ideal)
    return sum(scores) / max(1, len(scores)), sorted(table.existing_ids())


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--large", type=int, default=8000)
    parser.add_argument("--parts", type=int, default=8)
    args = parser.parse_args()

    from ragline.testing.dask_cluster import local_dask_cluster
    from ragline.testing.prefect_server import free_port, local_prefect_server

    print(
        "NOTE: measured on a shared 2-core machine loaded by other engineers' tests; "
        "2 workers is the most that can mean anything here. Ratios are within one run."
    )
    docs = corpus(args.docs)
    work = _HOME / "work"
    results: dict[int, dict[str, Any]] = {}
    port = free_port()
    os.environ["PREFECT_API_URL"] = f"http://127.0.0.1:{port}/api"  # workers inherit it
    with local_prefect_server(_HOME / "prefect", port=port, timeout=240):
        for workers in (1, 2):
            with local_dask_cluster(work / f"cluster-{workers}", workers=workers) as cluster:
                # Service start: the first run on fresh workers loads ragline, the model, LanceDB.
                tiny = project(work / f"tiny-{workers}", docs[:4], cluster.address, workers)
                cold, _ = run(tiny)
                shutil.rmtree(work / f"tiny-{workers}" / "lancedb")
                warm, _ = run(tiny)
                # Per-partition overhead: the same 4 docs in 1 slice and in 16 slices.
                one = project(work / f"one-{workers}", docs[:4], cluster.address, 1)
                t_one, _ = run(one)
                many = project(work / f"many-{workers}", docs[:4], cluster.address, 16)
                t_many, _ = run(many)
                path = project(work / f"w{workers}", docs, cluster.address, args.parts)
                seconds, records = run(path)
                quality, ids = ndcg10(work / f"w{workers}" / "lancedb", docs)
                results[workers] = {
                    "seconds": seconds,
                    "docs_per_s": len(docs) / seconds,
                    "service_start_ms": (cold - warm) * 1000,
                    "per_partition_ms": (t_many - t_one) * 1000 / (3 * 15),
                    "commit_ms": (records["index"].duration_s or 0) * 1000,
                    "fixed_s": warm,
                    "ndcg10": quality,
                    "ids": ids,
                }
                r = results[workers]
                print(
                    f"{workers} worker(s): {len(docs)} docs in {seconds:.1f} s "
                    f"({r['docs_per_s']:.1f} docs/s), {len(ids)} rows, nDCG@10 {quality:.4f}; "
                    f"service start {r['service_start_ms']:.0f} ms, "
                    f"per-partition overhead {r['per_partition_ms']:.0f} ms, "
                    f"commit {r['commit_ms']:.0f} ms, a warm 4-doc run {warm:.1f} s"
                )
        ratio = results[2]["docs_per_s"] / results[1]["docs_per_s"]
        print(f"throughput ratio 2-workers / 1-worker: {ratio:.2f} (target >= 1.7)")
        print(f"rows identical: {results[1]['ids'] == results[2]['ids']}")
        print(f"nDCG@10 identical: {results[1]['ndcg10'] == results[2]['ndcg10']}")

        with local_dask_cluster(work / "cluster-mem", workers=2) as cluster:
            for n in (args.docs, args.large):
                path = project(work / f"mem-{n}", corpus(n), cluster.address, args.parts)
                seconds, _ = run(path)
                print(f"driver peak RSS after {n} docs: {peak_mb():.0f} MB ({seconds:.1f} s)")


if __name__ == "__main__":
    main()

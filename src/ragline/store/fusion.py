"""Fusing vector and BM25 result lists into one ranking.

Two fusions: a convex combination of min-max-normalised scores (the default;
Bruch et al., 2022, "An Analysis of Fusion Functions for Hybrid Retrieval",
found it beats rank fusion and needs one parameter) and reciprocal-rank fusion
(Cormack et al., 2009), which uses ranks only. Both scores are in [0, 1], with
1.0 for a chunk that is best on every list, which keeps `min_score` readable.
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


def _normalised(ranking: Sequence[dict[str, Any]]) -> dict[str, float]:
    """Scores of one list mapped onto [0, 1] by its own min and max."""
    if not ranking:
        return {}
    scores = [float(r["score"]) for r in ranking]
    low, high = min(scores), max(scores)
    span = high - low
    return {r["id"]: (float(r["score"]) - low) / span if span else 1.0 for r in ranking}


def convex_fusion(
    vector: Sequence[dict[str, Any]], text: Sequence[dict[str, Any]], *, alpha: float
) -> list[dict[str, Any]]:
    """`alpha * vector + (1 - alpha) * text` on normalised scores; absent from a list = 0."""
    dense, sparse = _normalised(vector), _normalised(text)
    rows = {r["id"]: r for r in (*text, *vector)}
    fused = {i: alpha * dense.get(i, 0.0) + (1 - alpha) * sparse.get(i, 0.0) for i in rows}
    order = sorted(fused, key=lambda i: (-fused[i], i))
    return [{**rows[i], "score": fused[i]} for i in order]

"""Fusing vector and BM25 result lists into one ranking.

Three fusions: a convex combination of min-max-normalised scores (Bruch et al.,
2022, "An Analysis of Fusion Functions for Hybrid Retrieval"), distribution-based
score fusion (each list's scores standardised by its own mean and spread, then
summed: no weight to choose) and reciprocal-rank fusion (Cormack et al., 2009),
which uses ranks only. Scores are in [0, 1], 1.0 for a chunk that is best on
every list, which keeps `min_score` readable.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

RRF_K = 60
# dbsf measures each list's mean and spread on its best 50 scores, so a fused order
# does not depend on how deep the lists were fetched (retrieve fetches more for a large k).
STATS_DEPTH = 50


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


def _standardised(
    ranking: Sequence[dict[str, Any]],
) -> tuple[dict[str, float], float, float]:
    """Scores mapped by mean - 3 sd -> 0 and mean + 3 sd -> 1; the list's floor and top."""
    scores = [float(r["score"]) for r in ranking]
    if not scores:
        return {}, 0.0, 0.0
    head = sorted(scores, reverse=True)[:STATS_DEPTH]
    mean = sum(head) / len(head)
    spread = 3 * (sum((s - mean) ** 2 for s in head) / len(head)) ** 0.5 or 1.0
    low = mean - spread

    def scaled(score: float) -> float:
        return (score - low) / (2 * spread)

    mapped = {r["id"]: scaled(float(r["score"])) for r in ranking}
    return mapped, scaled(min(scores)), scaled(max(scores))


def distribution_fusion(
    vector: Sequence[dict[str, Any]], text: Sequence[dict[str, Any]], *, alpha: float = 0.5
) -> list[dict[str, Any]]:
    """`alpha * vector + (1 - alpha) * text` on scores standardised per list (DBSF).

    A chunk one list did not return gets that list's lowest score: it ranked below
    everything the list returned, not at zero relevance.
    """
    dense, dense_floor, dense_top = _standardised(vector)
    sparse, sparse_floor, sparse_top = _standardised(text)
    rows = {r["id"]: r for r in (*text, *vector)}
    fused = {
        i: alpha * dense.get(i, dense_floor) + (1 - alpha) * sparse.get(i, sparse_floor)
        for i in rows
    }
    order = sorted(fused, key=lambda i: (-fused[i], i))
    # 1.0 for a chunk that is first on both lists, as with the other fusions
    best = (alpha * dense_top if vector else 0.0) + ((1 - alpha) * sparse_top if text else 0.0)
    best = best or 1.0
    return [{**rows[i], "score": min(max(fused[i] / best, 0.0), 1.0)} for i in order]

"""Usage on the step's metrics: the run's `model_usage` rows and a table artifact.

The compiler publishes `ctx.metrics["artifacts"]` on the flow run; the table
holds tokens, cost, latency, the model that answered, cache hits, retries and
fallbacks, never a key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ragline.llm.types import Usage

if TYPE_CHECKING:
    from ragline.steps.context import StepContext


def usage_row(alias: str, usage: Usage) -> dict[str, Any]:
    return {
        "alias": alias,
        **usage.model_dump(),
        "cost_usd": round(usage.cost_usd, 8),
        "latency_ms": round(usage.latency_ms, 2),
    }


def record_usage(ctx: StepContext, alias: str, usage: Usage, *, cache_hit: bool = False) -> None:
    row = usage_row(alias, usage)
    ctx.metrics.setdefault("model_usage", []).append(row)
    artifacts = ctx.metrics.setdefault("artifacts", [])
    artifacts[:] = [a for a in artifacts if a.get("key") != "model-usage"]
    artifacts.append(
        {
            "key": "model-usage",
            "kind": "table",
            "data": list(ctx.metrics["model_usage"]),
            "description": f"Model calls of step {ctx.step_id}: tokens, cost, latency, "
            "cache hits, retries, fallbacks",
        }
    )


_SUMMED = (
    "calls",
    "prompt_tokens",
    "completion_tokens",
    "cost_usd",
    "latency_ms",
    "cache_hits",
    "retries",
    "fallbacks",
)


def run_totals(step_metrics: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per model (the deployment that answered) over every step of a run, plus a total."""
    by_model: dict[str, dict[str, Any]] = {}
    for metrics in step_metrics:
        for row in metrics.get("model_usage", []):
            key = str(row.get("model") or row.get("alias") or "?")
            acc = by_model.setdefault(key, {"model": key, **dict.fromkeys(_SUMMED, 0)})
            for field in _SUMMED:
                acc[field] += row.get(field) or 0
    rows = sorted(by_model.values(), key=lambda r: r["model"])
    if rows:
        total = {"model": "TOTAL", **{f: sum(r[f] for r in rows) for f in _SUMMED}}
        rows.append(total)
    for r in rows:
        r["cost_usd"] = round(r["cost_usd"], 8)
        r["latency_ms"] = round(r["latency_ms"], 2)
    return rows

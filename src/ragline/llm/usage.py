"""What model calls used, and the one place usages are added up.

`Usage` holds tokens, cost, latency, cache hits, retries, fallbacks and failed
calls; `a + b` and `Usage.total(...)` are the only sums. A step's calls become
its `model_usage` rows and a table artifact (the compiler publishes
`ctx.metrics["artifacts"]` on the flow run), the run's rows become one row per
model plus a total; the budget adds usages too. Never a key.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from ragline.sdk.context import StepContext


# Every request counts, the ones that got no answer (`failed`) and the one that
# crossed a budget included: what a provider bills is what is summed (`a + b`).
class Usage(BaseModel):
    """Tokens, cost and routing facts of one or more model calls (failed ones included)."""

    model: str = ""
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: float = 0.0
    cache_hits: int = 0
    retries: int = 0
    fallbacks: int = 0
    failed: int = Field(0, description="Calls that ended in an error (no answer).")

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        summed = {
            name: getattr(self, name) + getattr(other, name)
            for name in type(self).model_fields
            if name != "model"
        }
        return Usage(model=other.model or self.model, **summed)

    @classmethod
    def total(cls, usages: Iterable[Usage]) -> Usage:
        out = cls()
        for usage in usages:
            out = out + usage
        return out


def usage_row(alias: str, usage: Usage) -> dict[str, Any]:
    return {
        "alias": alias,
        **usage.model_dump(),
        "cost_usd": round(usage.cost_usd, 8),
        "latency_ms": round(usage.latency_ms, 2),
    }


def row_usage(row: dict[str, Any]) -> Usage:
    """A `model_usage` row read back as a Usage."""
    return Usage(**{k: row[k] for k in Usage.model_fields if row.get(k) is not None})


def record_usage(ctx: StepContext, alias: str, usage: Usage, *, merge: bool = False) -> None:
    """Add a call's usage to the step's `model_usage` rows and its `model-usage` table.

    `merge` adds it to the step's row of the same alias and model (an embedding
    step's batches) instead of adding a row per call.
    """
    rows = ctx.metrics.setdefault("model_usage", [])
    same = [
        i
        for i, r in enumerate(rows)
        if merge and r.get("alias") == alias and r.get("model") == usage.model
    ]
    if same:
        rows[same[0]] = usage_row(alias, row_usage(rows[same[0]]) + usage)
    else:
        rows.append(usage_row(alias, usage))
    _usage_artifact(ctx.metrics, ctx.step_id)


def _usage_artifact(metrics: dict[str, Any], step_id: str) -> None:
    artifacts = metrics.setdefault("artifacts", [])
    artifacts[:] = [a for a in artifacts if a.get("key") != "model-usage"]
    artifacts.append(
        {
            "key": "model-usage",
            "kind": "table",
            "data": list(metrics["model_usage"]),
            "description": f"Model calls of step {step_id}: tokens, cost, latency, "
            "cache hits, retries, fallbacks, failed calls (every attempt of the step)",
        }
    )


def with_earlier_attempts(
    metrics: dict[str, Any], earlier: list[dict[str, Any]], step_id: str
) -> dict[str, Any]:
    """A step's metrics with the model usage of its earlier (failed) attempts added in front."""
    if not earlier:
        return metrics
    out = {**metrics, "artifacts": list(metrics.get("artifacts", []))}
    out["model_usage"] = [*earlier, *metrics.get("model_usage", [])]
    _usage_artifact(out, step_id)
    return out


def rows_total(rows: Iterable[dict[str, Any]]) -> Usage:
    """The sum of `model_usage` rows (a step's, or several steps')."""
    return Usage.total(row_usage(row) for row in rows)


def run_totals(step_metrics: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per model (the deployment that answered) over every step of a run, plus a total."""
    by_model: dict[str, Usage] = {}
    for metrics in step_metrics:
        for row in metrics.get("model_usage", []):
            key = str(row.get("model") or row.get("alias") or "?")
            by_model[key] = by_model.get(key, Usage()) + row_usage(row)
    rows = [_total_row(key, by_model[key]) for key in sorted(by_model)]
    if rows:
        rows.append(_total_row("TOTAL", Usage.total(by_model.values())))
    return rows


def _total_row(model: str, usage: Usage) -> dict[str, Any]:
    row = usage_row("", usage)
    del row["alias"]
    row["model"] = model
    return row

"""`evaluate`: score an answer and its retrieval, and fail the run below a gate."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from ragline.documents import RetrievedChunk
from ragline.errors import ErrorCategory, StepError
from ragline.evaluation import metrics as m
from ragline.steps.base import StepConfig, step
from ragline.steps.context import StepContext


class EvaluateConfig(StepConfig):
    """Compute RAG metrics for one answer; gates fail (or warn) below a threshold."""

    answer: str | None = Field(None, description="The answer to score.")
    contexts: list[RetrievedChunk] = Field(default_factory=list, description="Retrieved chunks.")
    relevant_ids: list[str] = Field(
        default_factory=list, description="Labelled relevant chunk ids."
    )
    reference: str | None = Field(None, description="A reference answer (exact match, token F1).")
    k: int = Field(5, ge=1, description="k of recall@k and ndcg@k.")
    gates: dict[str, float] = Field(default_factory=dict, description="metric -> minimum score.")
    on_gate_fail: Literal["fail", "warn"] = "fail"


class EvaluateResult(BaseModel):
    metrics: dict[str, float]
    failed_gates: list[str] = Field(default_factory=list)
    unsupported_sentences: list[str] = Field(default_factory=list)


@step("evaluate", config=EvaluateConfig, version="1")
def evaluate(config: EvaluateConfig, ctx: StepContext) -> EvaluateResult:
    """Score, publish a table artifact, then apply the gates."""
    scores: dict[str, float] = {}
    unsupported: list[str] = []
    ids = [c.id for c in sorted(config.contexts, key=lambda c: c.rank)]
    if config.relevant_ids:
        rel = set(config.relevant_ids)
        scores[f"recall@{config.k}"] = m.recall_at_k(ids, rel, config.k)
        scores["mrr"] = m.mrr(ids, rel)
        scores[f"ndcg@{config.k}"] = m.ndcg_at_k(ids, rel, config.k)
    if config.answer is not None:
        if not config.answer.strip():
            raise StepError(
                "the answer to evaluate is empty", category=ErrorCategory.BUSINESS_LOGIC
            )
        g, unsupported = m.groundedness(config.answer, [c.text for c in config.contexts])
        scores["groundedness"] = g
        if config.reference is not None:
            scores["exact_match"] = m.exact_match(config.answer, config.reference)
            scores["token_f1"] = m.token_f1(config.answer, config.reference)
    missing = sorted(set(config.gates) - set(scores))
    if missing:
        raise StepError(
            f"gate on metric(s) not computed: {', '.join(missing)}"
            f" (computed: {', '.join(sorted(scores)) or 'none'})",
            category=ErrorCategory.INPUT,
            hint="gate only on metrics whose inputs (answer, relevant_ids, reference) are given",
        )
    ctx.metrics.setdefault("artifacts", []).append(
        {
            "key": f"{ctx.step_id}-scores",
            "kind": "table",
            "data": [
                {"metric": k, "score": round(v, 4), "gate": config.gates.get(k)}
                for k, v in scores.items()
            ],
            "description": f"evaluation scores of {ctx.step_id}",
        }
    )
    failed = [f"{k} = {scores[k]:.3f} < {t}" for k, t in config.gates.items() if scores[k] < t]
    if failed and config.on_gate_fail == "fail":
        worst = "; ".join(repr(s[:80]) for s in unsupported[:3])
        raise StepError(
            "quality gate failed: "
            + ", ".join(failed)
            + (f"; unsupported: {worst}" if worst else ""),
            category=ErrorCategory.BUSINESS_LOGIC,
            retryable=False,
        )
    if failed:
        ctx.logger.warning("quality gate below threshold: %s", ", ".join(failed))
    return EvaluateResult(metrics=scores, failed_gates=failed, unsupported_sentences=unsupported)

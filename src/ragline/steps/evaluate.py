"""`evaluate`: score an answer and its retrieval, check data expectations, gate the run.

Metrics are computed locally (recall@k, MRR, nDCG@k, exact match, token F1,
groundedness) and, when a judge model is configured, by that model through the
router (faithfulness, answer relevance). great-expectations suites check step
outputs. Every run's scores are stored with the prompt version and model, so
`ragline eval compare` can say what a change did.
"""

from __future__ import annotations

import difflib
import re
from typing import Any, Literal

from pydantic import BaseModel, Field

from ragline.documents import RetrievedChunk
from ragline.errors import ErrorCategory, StepError
from ragline.evaluation import metrics as m
from ragline.evaluation.expectations import ExpectationOutcome
from ragline.llm.types import Generation, Prompt
from ragline.sdk.context import StepContext
from ragline.sdk.step import ModelAlias, StepConfig, StoreAlias, step

METRICS = (
    "mrr",
    "groundedness",
    "exact_match",
    "token_f1",
    "faithfulness",
    "answer_relevance",
    "expectations",
)
_AT_K = re.compile(r"^(recall|ndcg)@[1-9][0-9]*$")


class ExpectationSet(StepConfig):
    """Data from a step output and the great-expectations checks it must pass."""

    data: Any = Field(description="A step output: a list of chunks/documents, or an answer.")
    expect: list[dict[str, dict[str, Any]]] = Field(
        min_length=1,
        description="great-expectations expectations, e.g. "
        "[{column_values_to_be_unique: {column: id}}]",
    )


class JudgeConfig(StepConfig):
    model: ModelAlias = Field(description="Model alias that judges (through the router).")


class EvaluateConfig(StepConfig):
    """Compute RAG metrics for one answer; gates fail (or warn) below a threshold."""

    answer: str | None = Field(None, description="The answer to score.")
    question: str | None = Field(None, description="The question (for answer relevance).")
    contexts: list[RetrievedChunk] = Field(default_factory=list, description="Retrieved chunks.")
    relevant_ids: list[str] = Field(
        default_factory=list, description="Labelled relevant chunk ids."
    )
    store: StoreAlias | None = Field(
        None, description="Check that every relevant id exists in this store."
    )
    reference: str | None = Field(None, description="A reference answer (exact match, token F1).")
    k: int = Field(5, ge=1, description="k of recall@k and ndcg@k.")
    expectations: dict[str, ExpectationSet] = Field(
        default_factory=dict, description="Named great-expectations suites over step outputs."
    )
    judge: JudgeConfig | None = Field(
        None, description="A judge model for faithfulness and answer relevance."
    )
    prompt: Prompt | None = Field(None, description="The prompt step's output (its version).")
    generation: Generation | None = Field(None, description="The generate step's output.")
    gates: dict[str, float] = Field(default_factory=dict, description="metric -> minimum score.")
    on_gate_fail: Literal["fail", "warn"] = "fail"
    record: bool = Field(True, description="Store the scores for `ragline eval compare`.")


class EvaluateResult(BaseModel):
    metrics: dict[str, float]
    failed_gates: list[str] = Field(default_factory=list)
    unsupported_sentences: list[str] = Field(default_factory=list)
    expectations: list[ExpectationOutcome] = Field(default_factory=list)
    abstained: bool = Field(
        False,
        description="The answer declines to answer (e.g. 'the contexts do not contain an "
        "answer'): it claims nothing, so it is grounded (groundedness 1.0).",
    )


def known_metric(name: str) -> bool:
    return name in METRICS or bool(_AT_K.match(name))


def _out_of_range(threshold: Any) -> bool:
    """A number no score falls below (under 0) or reaches (over 1); other types: the schema."""
    number = isinstance(threshold, (int, float)) and not isinstance(threshold, bool)
    return number and not 0 <= threshold <= 1


def check_evaluate(
    raw: dict[str, Any], workflow: dict[str, Any], workflow_dir: Any
) -> list[tuple[tuple[str | int, ...], str]]:
    """For `ragline validate`: gate metric names exist and their minimums are scores (0 to 1),
    expectation names exist."""
    from ragline.evaluation.expectations import argument_problems, unknown_name_message

    problems: list[tuple[tuple[str | int, ...], str]] = []
    gates = raw.get("gates")
    for name, threshold in (gates if isinstance(gates, dict) else {}).items():
        if not known_metric(str(name)):
            close = difflib.get_close_matches(str(name), [*METRICS, "recall@5", "ndcg@5"], n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            problems.append(
                (
                    ("gates", name),
                    f"unknown metric '{name}'{hint} (metrics: "
                    f"{', '.join(METRICS)}, recall@K, ndcg@K)",
                )
            )
        elif _out_of_range(threshold):
            problems.append(
                (
                    ("gates", name),
                    f"gate '{name}' needs a minimum between 0 and 1 (every metric scores "
                    f"from 0 to 1), found {threshold!r}",
                )
            )
    suites = raw.get("expectations")
    for suite, body in (suites if isinstance(suites, dict) else {}).items():
        expect = body.get("expect") if isinstance(body, dict) else None
        for i, entry in enumerate(expect if isinstance(expect, list) else []):
            if not isinstance(entry, dict) or len(entry) != 1:
                problems.append(
                    (
                        ("expectations", suite, "expect", i),
                        "each expectation is one `name: {arguments}` mapping",
                    )
                )
                continue
            ((name, arguments),) = entry.items()
            message = unknown_name_message(str(name))
            if message:
                problems.append((("expectations", suite, "expect", i), message))
            for rel, text in argument_problems(str(name), arguments):
                problems.append((("expectations", suite, "expect", i, *rel), text))
    return problems


@step("evaluate", config=EvaluateConfig, version="2", check=check_evaluate)
def evaluate(config: EvaluateConfig, ctx: StepContext) -> EvaluateResult:
    """Score, check expectations, publish and store the scores, then apply the gates."""
    scores: dict[str, float] = {}
    unknown = [g for g in config.gates if not known_metric(g)]
    if unknown:
        raise StepError(
            f"unknown gate metric(s): {', '.join(unknown)}", category=ErrorCategory.INPUT
        )
    ids = [c.id for c in sorted(config.contexts, key=lambda c: c.rank)]
    if config.relevant_ids:
        _check_labelled_ids(config, ctx)
        rel = set(config.relevant_ids)
        scores[f"recall@{config.k}"] = m.recall_at_k(ids, rel, config.k)
        scores["mrr"] = m.mrr(ids, rel)
        scores[f"ndcg@{config.k}"] = m.ndcg_at_k(ids, rel, config.k)
    unsupported, abstained = _score_answer(config, ctx, scores)
    outcomes = _run_expectations(config, ctx)
    if outcomes:
        scores["expectations"] = sum(o.success for o in outcomes) / len(outcomes)
    missing = sorted(set(config.gates) - set(scores))
    if missing:
        raise StepError(
            f"gate on metric(s) not computed: {', '.join(missing)}"
            f" (computed: {', '.join(sorted(scores)) or 'none'})",
            category=ErrorCategory.INPUT,
            hint="gate only on metrics whose inputs (answer, relevant_ids, reference) are given",
        )
    _publish(config, ctx, scores, outcomes)
    if config.record:
        _store(config, ctx, scores)
    failed = [f"{k} = {scores[k]:.3f} < {t}" for k, t in config.gates.items() if scores[k] < t]
    broken = [o for o in outcomes if not o.success]
    if (failed or broken) and config.on_gate_fail == "fail":
        raise StepError(
            "quality gate failed: "
            + "; ".join([*failed, *(_describe(o) for o in broken)])
            + _worst(unsupported),
            category=ErrorCategory.BUSINESS_LOGIC,
            retryable=False,
        )
    if failed or broken:
        ctx.logger.warning(
            "quality gate below threshold: %s",
            "; ".join([*failed, *(_describe(o) for o in broken)]),
        )
    return EvaluateResult(
        metrics=scores,
        failed_gates=failed,
        unsupported_sentences=unsupported,
        expectations=outcomes,
        abstained=abstained,
    )


def _score_answer(
    config: EvaluateConfig, ctx: StepContext, scores: dict[str, float]
) -> tuple[list[str], bool]:
    """Add the answer's scores (groundedness, reference, judge).

    Returns its unsupported sentences and whether it abstains.
    """
    answer = config.answer
    if answer is None and config.generation is not None:
        answer = config.generation.text
    if answer is None:
        return [], False
    if not answer.strip():
        raise StepError("the answer to evaluate is empty", category=ErrorCategory.BUSINESS_LOGIC)
    g, unsupported = m.groundedness(answer, [c.text for c in config.contexts])
    scores["groundedness"] = g
    abstained = m.abstains(answer)
    if abstained:
        ctx.logger.info(
            "the answer abstains (says the contexts do not answer the question): "
            "it claims nothing, groundedness %.1f",
            g,
        )
    if config.reference is not None:
        scores["exact_match"] = m.exact_match(answer, config.reference)
        scores["token_f1"] = m.token_f1(answer, config.reference)
    if config.judge is not None:
        from ragline.evaluation.judge import judge

        scores.update(
            judge(
                ctx, config.judge.model, config.question, answer, [c.text for c in config.contexts]
            )
        )
    return unsupported, abstained


def _worst(unsupported: list[str]) -> str:
    if not unsupported:
        return ""
    return "; unsupported: " + "; ".join(repr(s[:80]) for s in unsupported[:3])


def _describe(outcome: ExpectationOutcome) -> str:
    seen = f", e.g. {outcome.unexpected_examples[:3]}" if outcome.unexpected_examples else ""
    count = f"{outcome.unexpected_count} unexpected" if outcome.unexpected_count else ""
    observed = f"observed {outcome.observed}" if outcome.observed is not None else count
    if outcome.reason:
        observed = f"great-expectations could not evaluate it: {outcome.reason}"
    return f"expectation {outcome.data}.{outcome.expectation} failed ({observed}{seen})"


def _check_labelled_ids(config: EvaluateConfig, ctx: StepContext) -> None:
    if config.store is None:
        return
    from ragline.store.run_tables import open_store

    stored = open_store(ctx, config.store).existing_ids()
    absent = [i for i in config.relevant_ids if i not in stored]
    if absent:
        raise StepError(
            f"{len(absent)} labelled relevant id(s) are not in store '{config.store}': "
            f"{', '.join(absent[:5])}; relabel them against the current index "
            "(chunk ids change when the text or chunking changes)",
            category=ErrorCategory.INPUT,
        )


def _run_expectations(config: EvaluateConfig, ctx: StepContext) -> list[ExpectationOutcome]:
    if not config.expectations:
        return []
    from ragline.evaluation.expectations import frame_rows, run_suite

    sources = {c.source for c in config.contexts} or None
    outcomes: list[ExpectationOutcome] = []
    for name, suite in config.expectations.items():
        outcomes.extend(run_suite(name, frame_rows(suite.data, sources), suite.expect))
    return outcomes


def _publish(
    config: EvaluateConfig,
    ctx: StepContext,
    scores: dict[str, float],
    outcomes: list[ExpectationOutcome],
) -> None:
    artifacts = ctx.metrics.setdefault("artifacts", [])
    artifacts.append(
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
    if outcomes:
        artifacts.append(
            {
                "key": f"{ctx.step_id}-expectations",
                "kind": "table",
                "data": [
                    {
                        "data": o.data,
                        "expectation": o.expectation,
                        "success": o.success,
                        "observed": str(o.observed),
                        "unexpected": o.unexpected_count,
                        "examples": str(o.unexpected_examples),
                    }
                    for o in outcomes
                ],
                "description": f"great-expectations results of {ctx.step_id}",
            }
        )


def _store(config: EvaluateConfig, ctx: StepContext, scores: dict[str, float]) -> None:
    from ragline.evaluation.scores import ScoreRecord, save, scores_path

    prompt = config.prompt
    save(
        scores_path(ctx.state_dir),
        ScoreRecord(
            run_id=ctx.run.run_id,
            workflow=ctx.workflow.name,
            step_id=ctx.step_id,
            metrics=scores,
            prompt=(
                {
                    "template": prompt.template,
                    "version": prompt.version,
                    "hash": prompt.content_hash,
                }
                if prompt
                else {}
            ),
            model=config.generation.model if config.generation else "",
        ),
    )

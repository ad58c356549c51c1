"""`evaluate`: bad configs `ragline validate` refuses, and an answer scored against labelled
contexts and a reference, with the scores recorded for `ragline eval compare`.

Covered elsewhere, not repeated here: great-expectations arguments
(tests/data/invalid/bad_expectation_arguments, tests/evaluation/test_expectation_arguments.py),
gates that fail or warn, abstentions (tests/evaluation/test_evaluate.py), a judge model over
HTTP (tests/evaluation/test_evaluate_flow.py, integration tier).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ragline.documents import RetrievedChunk
from ragline.evaluation.scores import find, scores_path
from ragline.sdk import RunInfo, StepContext
from ragline.steps.evaluate import EvaluateConfig, evaluate
from ragline.testing.fixtures import workflow_model

from .bad_configs import assert_refused, bad

ANSWER = "answer: ${{ steps.upstream.output }}"

BAD = [
    bad(
        "a gate on a metric that does not exist",
        f"{ANSWER}\ngates: {{groundednes: 0.5}}",
        (2, 22),  # on the gate's value: a step's own check positions values, not keys
        "unknown metric 'groundednes'",
        "did you mean 'groundedness'?",
    ),
    bad(
        "a gate no score can reach",
        f"{ANSWER}\ngates: {{groundedness: 1.5}}",
        (2, 23),
        "gate 'groundedness' needs a minimum between 0 and 1",
        "found 1.5",
    ),
    bad(
        "a gate that is not a number", f"{ANSWER}\ngates: {{mrr: high}}", (2, 14), "expected number"
    ),
    bad("k zero", f"{ANSWER}\nk: 0", (2, 4), "0 is out of range", "at least 1"),
    bad(
        "an unknown reaction to a failed gate",
        f"{ANSWER}\non_gate_fail: ignore",
        (2, 15),
        "'ignore' is not one of fail, warn",
    ),
    bad(
        "a store for the labelled ids not defined",
        f"{ANSWER}\nrelevant_ids: [c1]\nstore: doc",
        (3, 8),
        "unknown store 'doc'",
        "did you mean 'docs'?",
    ),
    bad(
        "a judge model alias not defined",
        f"{ANSWER}\njudge: {{model: anwser}}",
        (2, 16),
        "unknown model alias 'anwser'",
        "did you mean 'answer'?",
    ),
    bad(
        "a judge key misspelt",
        f"{ANSWER}\njudge: {{modle: answer}}",
        (2, 9),
        "'modle' is not a field of 'judge'",
        "did you mean 'model'?",
    ),
    bad(
        "an expectation suite without expectations",
        f"{ANSWER}\nexpectations:\n  chunks: {{data: x, expect: []}}",
        (3, 29),
        "needs at least 1 item",
    ),
    bad(
        "an expectation name misspelt",
        f"""{ANSWER}
expectations:
  chunks:
    data: ${{{{ steps.upstream.output }}}}
    expect: [column_values_to_be_uniq: {{column: id}}]""",
        (5, 14),
        "unknown expectation 'column_values_to_be_uniq'",
        "did you mean 'column_values_to_be_unique'?",
    ),
]


@pytest.mark.parametrize(("body", "at", "words"), BAD)
def test_validate_refuses_a_bad_config_where_it_is_written(
    tmp_path: Path, body: str, at: tuple[int, int], words: tuple[str, ...]
) -> None:
    assert_refused(tmp_path, "evaluate", body, at, words)


CONTEXTS = [
    RetrievedChunk(id="c1", document_id="d1", text="Prefect retries failed tasks.", rank=1),
    RetrievedChunk(id="c2", document_id="d2", text="LanceDB stores vectors on disk.", rank=2),
]


def test_an_answer_is_scored_gated_and_recorded(tmp_path: Path) -> None:
    ctx = StepContext(
        step_id="score",
        workflow=workflow_model(),
        workflow_dir=tmp_path,
        run=RunInfo(run_id="run-1"),
    )
    config = EvaluateConfig(
        answer="LanceDB stores vectors on disk.",
        contexts=CONTEXTS,
        relevant_ids=["c2"],
        reference="LanceDB stores vectors on disk",
        k=2,
        gates={"groundedness": 0.9, "recall@2": 1.0},
    )

    out = evaluate(config, ctx)

    assert out.metrics == {
        "recall@2": 1.0,
        "mrr": 0.5,  # the relevant chunk is ranked second
        "ndcg@2": pytest.approx(0.6309, abs=1e-4),
        "groundedness": 1.0,
        "exact_match": 1.0,
        "token_f1": 1.0,
    }
    assert out.failed_gates == [] and out.unsupported_sentences == []
    [table] = ctx.metrics["artifacts"]
    assert table["key"] == "score-scores"
    [record] = find(scores_path(ctx.state_dir), "run-1")
    assert (record.run_id, record.step_id, record.metrics) == ("run-1", "score", out.metrics)

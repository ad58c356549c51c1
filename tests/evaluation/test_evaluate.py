"""evaluate: metrics on small hand-computable examples, gates that fail or warn."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from ragline.documents import RetrievedChunk
from ragline.errors import StepError
from ragline.evaluation import metrics as m
from ragline.sdk.context import StepContext
from ragline.steps.evaluate import EvaluateConfig, evaluate
from ragline.testing.fixtures import workflow_model

CONTEXTS = [
    RetrievedChunk(id="a", document_id="d1", text="LanceDB stores vectors on local disk.", rank=1),
    RetrievedChunk(id="b", document_id="d2", text="Prefect retries failed tasks.", rank=2),
]


def _ctx(tmp_path: Path) -> StepContext:
    return StepContext(step_id="evaluate", workflow=workflow_model(), workflow_dir=tmp_path)


def test_retrieval_metrics_rank_the_relevant_id() -> None:
    assert m.recall_at_k(["x", "a", "b"], {"a", "b"}, 2) == 0.5
    assert m.mrr(["x", "a"], {"a"}) == 0.5
    assert m.ndcg_at_k(["x", "a"], {"a"}, 2) == pytest.approx(1 / math.log2(3))


def test_token_f1_and_exact_match_ignore_case_and_punctuation() -> None:
    assert m.exact_match("Paris.", "paris") == 1.0
    assert m.token_f1("the capital is Paris", "Paris") == pytest.approx(0.4)


def test_groundedness_counts_supported_sentences(tmp_path: Path) -> None:
    answer = "LanceDB stores vectors on disk. Bananas contain potassium."
    out = evaluate(EvaluateConfig(answer=answer, contexts=CONTEXTS), _ctx(tmp_path))
    assert out.metrics["groundedness"] == 0.5
    assert out.unsupported_sentences == ["Bananas contain potassium."]


def test_a_gate_below_threshold_fails_naming_metric_threshold_and_example(tmp_path: Path) -> None:
    config = EvaluateConfig(
        answer="Bananas contain potassium.", contexts=CONTEXTS, gates={"groundedness": 0.6}
    )
    with pytest.raises(StepError, match=r"groundedness = 0.000 < 0.6; unsupported: 'Bananas"):
        evaluate(config, _ctx(tmp_path))


def test_a_gate_can_warn_instead(tmp_path: Path) -> None:
    config = EvaluateConfig(
        answer="Bananas.",
        contexts=CONTEXTS,
        relevant_ids=["b"],
        k=1,
        gates={"recall@1": 0.8},
        on_gate_fail="warn",
    )
    out = evaluate(config, _ctx(tmp_path))
    assert out.failed_gates == ["recall@1 = 0.000 < 0.8"]


def test_a_gate_on_a_metric_not_computed_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(StepError, match="not computed: token_f1"):
        evaluate(
            EvaluateConfig(answer="x", contexts=CONTEXTS, gates={"token_f1": 0.5}), _ctx(tmp_path)
        )


def test_an_empty_answer_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(StepError, match="empty"):
        evaluate(EvaluateConfig(answer="  ", contexts=CONTEXTS), _ctx(tmp_path))


def test_citations_are_not_counted_as_unsupported_sentences() -> None:
    from ragline.evaluation.metrics import groundedness

    score, unsupported = groundedness(
        "Plugins add step types. [plugins.md#0] Entry points register them. [faq.html#1]",
        ["Plugins add step types to ragline.", "Entry points register them at install time."],
    )
    assert (score, unsupported) == (1.0, [])


@pytest.mark.parametrize(
    "answer",
    [
        "The provided contexts do not contain an answer to this question.",
        "I don't know. The passages do not mention swallows.",
        "There is not enough information in the documentation to answer this.",
    ],
)
def test_an_abstention_is_grounded_and_passes_the_gate(tmp_path: Path, answer: str) -> None:
    out = evaluate(
        EvaluateConfig(answer=answer, contexts=CONTEXTS, gates={"groundedness": 0.6}),
        _ctx(tmp_path),
    )
    assert out.abstained
    assert out.metrics["groundedness"] == 1.0
    assert out.failed_gates == [] and out.unsupported_sentences == []


def test_a_claim_beside_an_abstention_is_still_checked(tmp_path: Path) -> None:
    answer = "The contexts do not contain the price. Bananas contain potassium."
    config = EvaluateConfig(answer=answer, contexts=CONTEXTS, gates={"groundedness": 0.6})
    with pytest.raises(StepError, match=r"groundedness = 0.000 < 0.6; unsupported: 'Bananas"):
        evaluate(config, _ctx(tmp_path))
    assert not m.abstains(answer)

"""great-expectations suites in YAML, the judge, stored scores and `ragline eval compare`."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragline.documents import RetrievedChunk
from ragline.errors import StepError
from ragline.evaluation.judge import parse_score
from ragline.llm.types import Prompt
from ragline.sdk.context import RunInfo, StepContext
from ragline.spec.model import Workflow
from ragline.steps.evaluate import EvaluateConfig, evaluate

CHECKED = """\
apiVersion: ragline/v1
name: checked
steps:
  - id: chunks
    uses: value
    with:
      value:
        - {id: a, text: "LanceDB stores vectors on local disk."}
        - {id: a, text: "x"}
  - id: evaluate
    uses: evaluate
    with:
      answer: "LanceDB keeps vectors on disk [store.md#0]."
      contexts:
        - {id: a, document_id: d, source: store.md, text: "LanceDB keeps vectors on disk.", rank: 1}
      expectations:
        chunks:
          data: "${{ steps.chunks.output }}"
          expect:
            - column_values_to_be_unique: {column: id}
            - column_value_lengths_to_be_between: {column: text, min_value: 5}
        answer:
          data: "${{ steps.chunks.output }}"
          expect:
            - expect_table_row_count_to_be_between: {min_value: 1, max_value: 10}
"""


def test_failed_expectations_fail_the_run_with_what_was_observed(
    tmp_path: Path, cli, prefect
) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "checked.yaml").write_text(CHECKED)
    result = cli("run", "checked.yaml", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert (
        "expectation chunks.column_values_to_be_unique failed (2 unexpected, e.g. ['a', 'a'])"
        in result.stderr
    )
    assert (
        "chunks.column_value_lengths_to_be_between failed (1 unexpected, e.g. ['x'])"
        in result.stderr
    )
    assert "table_row_count" not in result.stderr  # the passing one is not reported


def test_an_unknown_expectation_is_reported_at_validate_time_with_its_line(
    tmp_path: Path, cli
) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "typo.yaml").write_text(
        CHECKED.replace("column_values_to_be_unique", "column_values_to_be_uniq")
    )
    result = cli("validate", "typo.yaml", cwd=tmp_path)
    assert result.returncode == 2
    assert "typo.yaml:20:15  steps[1].with.expectations.chunks.expect[0]" in result.stderr
    assert (
        "unknown expectation 'column_values_to_be_uniq'; did you mean 'column_values_to_be_unique'?"
        in result.stderr
    )


def test_an_unknown_gate_metric_is_reported_at_validate_time(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    text = CHECKED.replace(
        "      expectations:\n", "      gates: {groundednes: 0.5}\n      expectations:\n"
    )
    (tmp_path / "gate.yaml").write_text(text)
    result = cli("validate", "gate.yaml", cwd=tmp_path)
    assert result.returncode == 2
    assert "unknown metric 'groundednes'; did you mean 'groundedness'?" in result.stderr


WORKFLOW = Workflow.model_validate(
    {"apiVersion": "ragline/v1", "name": "qa", "steps": [{"id": "evaluate", "uses": "evaluate"}]}
)
CONTEXTS = [RetrievedChunk(id="c1", document_id="d", text="Prefect retries failed steps.", rank=1)]


def scored(tmp_path: Path, run_id: str, answer: str, version: str) -> None:
    ctx = StepContext("evaluate", WORKFLOW, tmp_path, run=RunInfo(run_id=run_id))
    prompt = Prompt(template="prompts/answer.j2", version=version, content_hash=f"sha256:{version}")
    evaluate(
        EvaluateConfig(answer=answer, contexts=CONTEXTS, relevant_ids=["c1"], prompt=prompt), ctx
    )


def test_eval_compare_shows_each_metric_and_what_changed(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    scored(tmp_path, "run-aaaa", "Prefect retries failed steps.", "1")
    scored(tmp_path, "run-bbbb", "Bananas are yellow. Prefect retries failed steps.", "2")
    result = cli("eval", "compare", "run-aaaa", "run-bb", "--at", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert (
        "changed: prompt prompts/answer.j2 v1 (sha256:1) -> prompts/answer.j2 v2 (sha256:2)"
        in result.stdout
    )
    assert "groundedness         1.000   0.500   -0.500" in result.stdout
    listing = cli("eval", "list", "--at", str(tmp_path))
    assert "run-aaaa" in listing.stdout and "run-bbbb" in listing.stdout


def test_eval_compare_of_an_unknown_run_exits_2(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    scored(tmp_path, "run-aaaa", "Prefect retries failed steps.", "1")
    result = cli("eval", "compare", "run-aaaa", "nope", "--at", str(tmp_path))
    assert result.returncode == 2
    assert "no stored scores for run 'nope'" in result.stderr and "Traceback" not in result.stderr


def test_labelled_ids_missing_from_the_store_are_named(tmp_path: Path) -> None:
    from ragline.documents import Chunk
    from ragline.store import open_chunk_table

    workflow = Workflow.model_validate(
        {
            "apiVersion": "ragline/v1",
            "name": "qa",
            "stores": {"docs": {"uri": "db", "table": "t"}},
            "steps": [{"id": "evaluate", "uses": "evaluate"}],
        }
    )
    open_chunk_table(str(tmp_path / "db"), "t").write(
        [Chunk(id="c1", document_id="d", text="t", vector=[0.1, 0.2])], model="m", alias="a"
    )
    ctx = StepContext("evaluate", workflow, tmp_path)
    with pytest.raises(
        StepError, match=r"1 labelled relevant id\(s\) are not in store 'docs': gone"
    ):
        evaluate(EvaluateConfig(contexts=CONTEXTS, relevant_ids=["c1", "gone"], store="docs"), ctx)


@pytest.mark.parametrize(
    ("reply", "score"),
    [
        ('{"score": 0.8, "reason": "ok"}', 0.8),
        ('```json\n{"score": 1}\n```', 1.0),
        ("Score: 0.25 because", 0.25),
        ("I think it is good", None),
        ('{"score": 7}', None),
    ],
)
def test_judge_replies_are_read_as_scores_or_refused(reply: str, score: float | None) -> None:
    assert parse_score(reply) == score

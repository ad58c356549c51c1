"""evaluate in a real Prefect flow: a gate below threshold fails the run."""

from pathlib import Path

import pytest

from ragline.compiler.flow import compile_workflow
from ragline.validation.workflow import load_workflow

WORKFLOW = """\
apiVersion: ragline/v1
name: gated
inputs:
  answer: {type: string}
steps:
  - id: contexts
    uses: value
    with:
      value:
        - {id: a, document_id: d1, text: "LanceDB stores vectors on local disk.", rank: 1}
  - id: evaluate
    uses: evaluate
    with:
      answer: "${{ inputs.answer }}"
      contexts: "${{ steps.contexts.output }}"
      gates: {groundedness: 0.6}
outputs:
  groundedness: "${{ steps.evaluate.output.metrics }}"
"""


def _flow(tmp_path: Path):  # type: ignore[no-untyped-def]
    path = tmp_path / "wf.yaml"
    path.write_text(WORKFLOW)
    return compile_workflow(load_workflow(path))


def test_a_grounded_answer_passes_the_gate(tmp_path: Path, prefect: str) -> None:
    out = _flow(tmp_path)(answer="LanceDB stores vectors on disk.")
    assert out == {"groundedness": {"groundedness": 1.0}}


def test_an_ungrounded_answer_fails_the_run(tmp_path: Path, prefect: str) -> None:
    with pytest.raises(Exception, match=r"groundedness = 0\.000 < 0\.6"):
        _flow(tmp_path)(answer="Bananas contain potassium.")

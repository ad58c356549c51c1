"""safety-check inside a real Prefect flow: redacts a question before later steps see it."""

from pathlib import Path

from ragline.compiler.flow import compile_workflow
from ragline.validation.workflow import load_workflow

WORKFLOW = """\
apiVersion: ragline/v1
name: safe-question
inputs:
  question: {type: string}
steps:
  - id: guard
    uses: safety-check
    with: {text: "${{ inputs.question }}", checks: [pii, secrets], on_fail: redact}
  - id: echo
    uses: value
    with: {value: "${{ steps.guard.output.text }}"}
outputs:
  question: "${{ steps.echo.output }}"
"""


def test_a_question_is_redacted_before_later_steps(tmp_path: Path, prefect: str) -> None:
    path = tmp_path / "wf.yaml"
    path.write_text(WORKFLOW)
    flow = compile_workflow(load_workflow(path))
    out = flow(question="my mail is bob@corp.example, what is LanceDB?")
    assert out == {"question": "my mail is [EMAIL], what is LanceDB?"}

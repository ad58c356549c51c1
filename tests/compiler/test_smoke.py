"""A workflow compiles to a Prefect flow whose outputs come from its steps."""

from pathlib import Path

from ragline.compiler.flow import compile_workflow
from ragline.validation.workflow import load_workflow

HELLO = """\
apiVersion: ragline/v1
name: hello
inputs:
  who: {type: string, default: world}
steps:
  - id: greet
    uses: value
    with: {value: "hello ${{ inputs.who }}"}
  - id: shout
    uses: value
    with: {value: {text: "${{ steps.greet.output }}", n: 3}}
outputs:
  answer: "${{ steps.shout.output.text }}"
"""


def test_outputs_come_from_step_results(tmp_path: Path, prefect: str) -> None:
    path = tmp_path / "hello.yaml"
    path.write_text(HELLO)
    flow = compile_workflow(load_workflow(path))
    assert flow.name == "hello"
    assert flow(who="bob") == {"answer": "hello bob"}

"""The error examples of STYLE.md ("Errors users see"), reproduced verbatim by
the real `ragline validate`: positions, JSON paths, wording, alignment, count.

`index` is played by the test step type `keep` (tests/compiler/ragline_test_steps.py)
until the built-in exists; `generate` is the real one.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEST_STEPS = {
    "PYTHONPATH": str(ROOT / "tests" / "compiler"),
    "RAGLINE_PLUGINS": "ragline_test_steps",
}

DOCS_QA = """\
# yaml-language-server: $schema=../schemas/workflow.schema.json
apiVersion: ragline/v1
name: docs-qa
inputs:
  question: {type: string}
models:
  answer:
  - {model: local/extractive}
steps:
- id: ingest
  uses: value
  with: {value: ["ragline runs YAML workflows.", "Steps are Prefect tasks."]}
- id: chunk
  uses: value
  with: {value: "${{ steps.ingest.output }}"}
- id: embed
  uses: value
  with: {value: "${{ steps.chunk.output }}"}
- id: index
  uses: keep
  with:
    batch_size: 64
    chunks:     "${{ steps.embedd.output }}"
- id: prompt
  uses: prompt
  needs: [index]
  with: {text: "Answer: {{ question }}", vars: {question: "${{ inputs.question }}"}}
- id: generate
  uses: generate
  with:
    temprature: 0
    model: answer
    prompt: "${{ steps.prompt.output }}"
"""

STYLE_EXAMPLE = """\
workflows/docs_qa.yaml:23:17  steps[3].with.chunks
  unknown reference 'steps.embedd.output'; did you mean 'steps.embed.output'?
workflows/docs_qa.yaml:31:5   steps[5].with
  'temprature' is not a field of generate; did you mean 'temperature'?
2 problems in workflows/docs_qa.yaml
"""


def test_validate_prints_the_style_guide_example_verbatim(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "workflows").mkdir()
    (tmp_path / "workflows" / "docs_qa.yaml").write_text(DOCS_QA)
    result = cli("validate", "workflows/docs_qa.yaml", cwd=tmp_path, env=TEST_STEPS)
    assert result.stderr == STYLE_EXAMPLE
    assert result.returncode == 2


def test_the_fixed_workflow_validates(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    fixed = DOCS_QA.replace("steps.embedd.output", "steps.embed.output").replace(
        "temprature", "temperature"
    )
    (tmp_path / "docs_qa.yaml").write_text(fixed)
    result = cli("validate", "docs_qa.yaml", cwd=tmp_path, env=TEST_STEPS)
    assert (result.returncode, result.stdout, result.stderr) == (0, "docs_qa.yaml: ok\n", "")

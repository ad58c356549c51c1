"""Semantic checks find what the schema cannot, on every step, in one pass."""

from __future__ import annotations

from pathlib import Path

from ragline.validation.workflow import validate_file


def test_an_output_field_is_checked_against_the_step_it_names_after_a_broken_step(
    tmp_path: Path,
) -> None:
    # steps[0] is not a mapping: the checks must still find `answer` at its own index.
    path = tmp_path / "wf.yaml"
    path.write_text(
        "apiVersion: ragline/v1\n"
        "name: shifted\n"
        "models:\n"
        "  answer: [{model: local/extractive}]\n"
        "steps:\n"
        "  - just text\n"
        "  - {id: prompt, uses: prompt, with: {text: Hi}}\n"
        "  - {id: answer, uses: generate,\n"
        "     with: {model: answer, prompt: '${{ steps.prompt.output }}'}}\n"
        "  - {id: echo, uses: value, with: {value: '${{ steps.answer.output.txt }}'}}\n"
    )
    problems = [(d.line, d.path, d.message) for d in validate_file(path)]
    assert (6, "steps[0]", "expected a mapping, found string 'just text'") in problems
    assert (
        10,
        "steps[3].with.value",
        "'steps.answer.output.txt': step 'answer' (generate) output (Generation) has no field "
        "'txt'; did you mean 'text'? (fields: text, model, parsed, usage, metadata)",
    ) in problems
